package main

import (
	"fmt"

	"github.com/krb5prop/krb5prop/internal/getdate"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kadm5"
)

// addmodpolUsage is kadmin_addmodpol_usage, semicolon and all.
func (s *session) addmodpolUsage(fn string) {
	s.errorf("usage; %s [options] policy\n", fn)
	s.errorf("\toptions are:\n")
	s.errorf("\t\t[-maxlife time] [-minlife time] [-minlength length]\n" +
		"\t\t[-minclasses number] [-history number]\n" +
		"\t\t[-maxfailure number] [-failurecountinterval time]\n" +
		"\t\t[-allowedkeysalts keysalts]\n")
	s.errorf("\t\t[-lockoutduration time]\n")
}

// parsePolicyArgs is kadmin_parse_policy_args: options up to the last
// word, which names the policy. Errors have been reported except the
// usage, which the caller prints.
func (s *session) parsePolicyArgs(argv []string, caller string) (kadm5.PolicySpec, bool) {
	var spec kadm5.PolicySpec
	now := s.now()
	last := len(argv) - 1
	i := 1
	value := func() (string, bool) {
		i++
		if i > last-1 {
			return "", false
		}
		return argv[i], true
	}
	interval := func() (uint32, bool) {
		v, ok := value()
		if !ok {
			return 0, false
		}
		d, err := getdate.ParseInterval(v, now, s.loc)
		if err != nil {
			s.errorf("%s\n", err)
			return 0, false
		}
		return uint32(d), true
	}
	number := func() (uint32, bool) {
		v, ok := value()
		return uint32(atoi(v)), ok
	}
	for ; i < last; i++ {
		var ok bool
		switch argv[i] {
		case "-maxlife":
			spec.PwMaxLife, ok = interval()
			spec.Mask |= kadm5.PolMaxLife
		case "-minlife":
			spec.PwMinLife, ok = interval()
			spec.Mask |= kadm5.PolMinLife
		case "-minlength":
			spec.PwMinLength, ok = number()
			spec.Mask |= kadm5.PolMinLength
		case "-minclasses":
			spec.PwMinClasses, ok = number()
			spec.Mask |= kadm5.PolMinClasses
		case "-history":
			spec.PwHistoryNum, ok = number()
			spec.Mask |= kadm5.PolHistory
		case "-maxfailure":
			spec.PwMaxFail, ok = number()
			spec.Mask |= kadm5.PolMaxFail
		case "-failurecountinterval":
			spec.PwFailcntInterval, ok = interval()
			spec.Mask |= kadm5.PolFailcntInterval
		case "-lockoutduration":
			spec.PwLockoutDuration, ok = interval()
			spec.Mask |= kadm5.PolLockoutDuration
		case "-allowedkeysalts":
			var v string
			if v, ok = value(); !ok {
				break
			}
			// "-" clears the list.
			if v != "-" {
				if _, err := krb5x.ParseKeySalts(v); err != nil {
					s.comErr(caller, err, "while parsing keysalts %s", v)
					return spec, false
				}
				spec.AllowedKeysalts = v
			}
			spec.Mask |= kadm5.PolAllowedKeysalts
		}
		if !ok {
			return spec, false
		}
	}
	if i != last {
		s.errorf("%s: parser lost count!\n", caller)
		return spec, false
	}
	spec.Name = argv[last]
	return spec, true
}

// addpol is kadmin_addpol; it prints nothing on success.
func (s *session) addpol(argv []string) {
	spec, ok := s.parsePolicyArgs(argv, "add_policy")
	if !ok {
		s.addmodpolUsage("add_policy")
		return
	}
	if err := s.srv.CreatePolicy(s.ctx, spec); err != nil {
		s.comErr("add_policy", err, "while creating policy \"%s\".", spec.Name)
	}
}

// modpol is kadmin_modpol; it prints nothing on success.
func (s *session) modpol(argv []string) {
	spec, ok := s.parsePolicyArgs(argv, "modify_policy")
	if !ok {
		s.addmodpolUsage("modify_policy")
		return
	}
	if err := s.srv.ModifyPolicy(s.ctx, spec); err != nil {
		s.comErr("modify_policy", err, "while modifying policy \"%s\".", spec.Name)
	}
}

// delpol is kadmin_delpol. Its error prefix really is "delete_policy:".
func (s *session) delpol(argv []string) {
	if !(len(argv) == 2 || (len(argv) == 3 && argv[1] == "-force")) {
		s.errorf("usage: delete_policy [-force] policy\n")
		return
	}
	name := argv[len(argv)-1]
	if len(argv) == 2 && !s.script {
		if !s.in.confirm(fmt.Sprintf("Are you sure you want to delete the policy \"%s\"? (yes/no): ", name)) {
			s.warnf("Policy \"%s\" not deleted.\n", name)
			return
		}
	}
	if err := s.srv.DeletePolicy(s.ctx, name); err != nil {
		s.comErr("delete_policy:", err, "while deleting policy \"%s\"", name)
	}
}

// getpol is kadmin_getpol.
func (s *session) getpol(argv []string) {
	if !(len(argv) == 2 || (len(argv) == 3 && argv[1] == "-terse")) {
		s.errorf("usage: get_policy [-terse] policy\n")
		return
	}
	name := argv[len(argv)-1]
	p, err := s.srv.GetPolicy(s.ctx, name)
	if err != nil {
		s.comErr("get_policy", err, "while retrieving policy \"%s\".", name)
		return
	}
	writeGetpol(s.stdout, p, len(argv) == 3)
}

// listpols is kadmin_getpols.
func (s *session) listpols(argv []string) {
	if len(argv) > 2 {
		s.errorf("usage: get_policies [expression]\n")
		return
	}
	glob := ""
	if len(argv) == 2 {
		glob = argv[1]
	}
	names, err := s.srv.ListPolicies(s.ctx, glob)
	if err != nil {
		s.comErr("get_policies", err, "while retrieving list.")
		return
	}
	writeLines(s.stdout, names)
}
