package main

import (
	"fmt"
	"strings"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/prompt"
	"github.com/krb5prop/krb5prop/kadm5"
)

// This file holds the requests that change keys: change_password and
// purgekeys.

// readNewPassword is krb5_read_password with kadmin's two prompts.
func (s *session) readNewPassword(canon string) (string, error) {
	pw, err := s.in.password(fmt.Sprintf("Enter password for principal \"%s\": ", canon))
	if err != nil {
		return "", err
	}
	again, err := s.in.password(fmt.Sprintf("Re-enter password for principal \"%s\": ", canon))
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", prompt.ErrMismatch
	}
	return pw, nil
}

func (s *session) cpwUsage(msg string) {
	if msg != "" {
		s.errorf("%s\n", msg)
	}
	s.errorf("usage: change_password [-randkey] [-keepold] [-e keysaltlist] [-pw password] principal\n")
}

// cpw is kadmin_cpw. Options end at the first word not starting with "-".
func (s *session) cpw(argv []string) {
	var (
		pwarg    *string
		randkey  bool
		keepold  bool
		keysalts []krb5x.KeySalt
	)
	args := argv[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-x":
			// Accepted and ignored, as in MIT.
			if len(args) < 2 {
				s.cpwUsage("change_password: missing db argument")
				return
			}
			args = args[1:]
		case "-pw":
			if len(args) < 2 {
				s.cpwUsage("change_password: missing password arg")
				return
			}
			args = args[1:]
			pw := args[0]
			pwarg = &pw
		case "-randkey":
			randkey = true
		case "-keepold":
			keepold = true
		case "-e":
			if len(args) < 2 {
				s.cpwUsage("change_password: missing keysaltlist arg")
				return
			}
			args = args[1:]
			ks, err := krb5x.ParseKeySalts(args[0])
			if err != nil {
				s.comErr("change_password", err, "while parsing keysalts %s", args[0])
				return
			}
			keysalts = ks
		default:
			s.comErr("change_password", nil, "unrecognized option %s", args[0])
			s.cpwUsage("")
			return
		}
		args = args[1:]
	}
	if len(args) != 1 {
		if len(args) < 1 {
			s.comErr("change_password", nil, "missing principal name")
		} else {
			s.comErr("change_password", nil, "too many arguments")
		}
		s.cpwUsage("")
		return
	}
	name, err := s.parseName(args[0])
	if err != nil {
		s.comErr("change_password", err, "while parsing principal name")
		return
	}
	canon := name.String()
	switch {
	case pwarg != nil:
		if err := s.srv.ChangePassword(s.ctx, name, *pwarg, keepold, keysalts); err != nil {
			s.comErr("change_password", err, "while changing password for \"%s\".", canon)
			return
		}
		s.info("Password for \"%s\" changed.\n", canon)
	case randkey:
		if _, err := s.srv.RandomizeKeys(s.ctx, name, keepold, keysalts); err != nil {
			s.comErr("change_password", err, "while randomizing key for \"%s\".", canon)
			return
		}
		s.info("Key for \"%s\" randomized.\n", canon)
	default:
		pw, err := s.readNewPassword(canon)
		if err != nil {
			s.comErr("change_password", err, "while reading password for \"%s\".", canon)
			return
		}
		if err := s.srv.ChangePassword(s.ctx, name, pw, keepold, keysalts); err != nil {
			s.comErr("change_password", err, "while changing password for \"%s\".", canon)
			return
		}
		s.info("Password for \"%s\" changed.\n", canon)
	}
}

// purgekeys is kadmin_purgekeys.
func (s *session) purgekeys(argv []string) {
	keep, pname := -1, ""
	switch {
	case len(argv) == 4 && argv[1] == "-keepkvno":
		keep, pname = int(atoi(argv[2])), argv[3]
	case len(argv) == 3 && argv[1] == "-all":
		keep, pname = kadm5.PurgeAll, argv[2]
	case len(argv) == 2:
		pname = argv[1]
	default:
		s.errorf("usage: purgekeys [-all|-keepkvno oldest_kvno_to_keep] principal\n")
		return
	}
	name, err := s.parseName(pname)
	if err != nil {
		s.comErr("purgekeys", err, "while parsing principal")
		return
	}
	canon := name.String()
	if err := s.srv.PurgeKeys(s.ctx, name, keep); err != nil {
		s.comErr("purgekeys", err, "while purging keys for principal \"%s\"", canon)
		return
	}
	if keep == kadm5.PurgeAll {
		s.info("All keys for principal \"%s\" removed.\n", canon)
	} else {
		s.info("Old keys for principal \"%s\" purged.\n", canon)
	}
}
