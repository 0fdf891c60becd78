package main

import (
	"errors"
	"fmt"

	"github.com/krb5prop/krb5prop/internal/getdate"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
)

// princArgs is what kadmin_parse_princ_args collects from addprinc and
// modprinc options.
type princArgs struct {
	spec kadm5.PrincipalSpec
	// policy is -policy's value; nil when none was given or -clearpolicy
	// came after it (MIT then sends a NULL policy).
	policy      *string
	clearPolicy bool
	password    *string
	randkey     bool
	nokey       bool
	keysalts    []krb5x.KeySalt
	hasKeysalts bool
	dbArgs      []string
	unlock      bool
}

// princUsage is the flag list kadmin's add and modify usages share.
const princUsageAttrs = "\tattributes are:\n" +
	"\t\tallow_postdated allow_forwardable allow_tgs_req allow_renewable\n" +
	"\t\tallow_proxiable allow_dup_skey allow_tix requires_preauth\n" +
	"\t\trequires_hwauth needchange allow_svr password_changing_service\n" +
	"\t\tok_as_delegate ok_to_auth_as_delegate no_auth_data_required\n" +
	"\t\tlockdown_keys\n" +
	"\nwhere,\n\t[-x db_princ_args]* - any number of database specific arguments.\n" +
	"\t\t\tLook at each database documentation for supported arguments\n"

func (s *session) addprincUsage() {
	s.errorf("usage: add_principal [options] principal\n")
	s.errorf("\toptions are:\n")
	s.errorf("\t\t[-randkey|-nokey] [-x db_princ_args]* [-expire expdate] [-pwexpire pwexpdate] [-maxlife maxtixlife]\n" +
		"\t\t[-kvno kvno] [-policy policy] [-clearpolicy]\n" +
		"\t\t[-pw password] [-maxrenewlife maxrenewlife]\n" +
		"\t\t[-e keysaltlist]\n\t\t[{+|-}attribute]\n")
	s.errorf("%s", princUsageAttrs)
}

func (s *session) modprincUsage() {
	s.errorf("usage: modify_principal [options] principal\n")
	s.errorf("\toptions are:\n")
	s.errorf("\t\t[-x db_princ_args]* [-expire expdate] [-pwexpire pwexpdate] [-maxlife maxtixlife]\n" +
		"\t\t[-kvno kvno] [-policy policy] [-clearpolicy]\n" +
		"\t\t[-maxrenewlife maxrenewlife] [-unlock] [{+|-}attribute]\n")
	s.errorf("%s", princUsageAttrs)
}

// parsePrincArgs is kadmin_parse_princ_args. argv[0] is the request name
// and the last word the principal; every option before it is consumed,
// and an option whose value would be the principal is an error. A word
// that is no option is a flag specifier applied to attrs (0 for addprinc,
// the current attributes for modprinc). On failure the caller prints its
// usage; date and keysalt errors have been reported already.
func (s *session) parsePrincArgs(argv []string, attrs uint32, caller string) (princArgs, bool) {
	var pa princArgs
	spec := &pa.spec
	spec.Attributes = attrs
	now := s.now()
	last := len(argv) - 1
	i := 1
	// value returns the next word, unless that word is the principal.
	value := func() (string, bool) {
		i++
		if i > last-1 {
			return "", false
		}
		return argv[i], true
	}
	for ; i < last; i++ {
		opt := argv[i]
		switch opt {
		case "-x":
			v, ok := value()
			if !ok {
				return pa, false
			}
			pa.dbArgs = append(pa.dbArgs, v)
		case "-expire", "-pwexpire":
			v, ok := value()
			if !ok {
				return pa, false
			}
			d, err := getdate.ParseDate(v, now, s.loc)
			if err != nil {
				s.errorf("%s\n", err)
				return pa, false
			}
			if opt == "-expire" {
				spec.Expiration, spec.Mask = uint32(d), spec.Mask|kadm5.MaskExpiration
			} else {
				spec.PwExpiration, spec.Mask = uint32(d), spec.Mask|kadm5.MaskPwExpiration
			}
		case "-maxlife", "-maxrenewlife":
			v, ok := value()
			if !ok {
				return pa, false
			}
			d, err := getdate.ParseInterval(v, now, s.loc)
			if err != nil {
				s.errorf("%s\n", err)
				return pa, false
			}
			if opt == "-maxlife" {
				spec.MaxLife, spec.Mask = int32(d), spec.Mask|kadm5.MaskMaxLife
			} else {
				spec.MaxRenewableLife, spec.Mask = int32(d), spec.Mask|kadm5.MaskMaxRenewableLife
			}
		case "-kvno":
			v, ok := value()
			if !ok {
				return pa, false
			}
			spec.KVNO, spec.Mask = uint16(atoi(v)), spec.Mask|kadm5.MaskKVNO
		case "-policy":
			v, ok := value()
			if !ok {
				return pa, false
			}
			pa.policy, spec.Mask = &v, spec.Mask|kadm5.MaskPolicy
		case "-clearpolicy":
			pa.policy, pa.clearPolicy = nil, true
		case "-pw":
			v, ok := value()
			if !ok {
				return pa, false
			}
			pa.password = &v
		case "-randkey":
			pa.randkey = true
		case "-nokey":
			pa.nokey = true
		case "-unlock":
			pa.unlock = true
		case "-e":
			v, ok := value()
			if !ok {
				return pa, false
			}
			ks, err := krb5x.ParseKeySalts(v)
			if err != nil {
				s.comErr(caller, err, "while parsing keysalts %s", v)
				return pa, false
			}
			pa.keysalts, pa.hasKeysalts = ks, true
		default:
			a, err := kdb.ApplyFlagSpec(spec.Attributes, opt)
			if err != nil {
				return pa, false
			}
			spec.Attributes, spec.Mask = a, spec.Mask|kadm5.MaskAttributes
		}
	}
	if i != last {
		return pa, false
	}
	name, err := s.parseName(argv[last])
	if err != nil {
		s.comErr(caller, err, "while parsing principal")
		return pa, false
	}
	spec.Name = name
	if pa.policy != nil {
		spec.Policy = *pa.policy
	}
	return pa, true
}

// policyLabel is how MIT's printf shows a NULL policy name.
func policyLabel(p *string) string {
	if p == nil {
		return "(null)"
	}
	return *p
}

// exists reports whether a principal is in the database.
func (s *session) exists(name kdb.Name) bool {
	_, err := s.srv.GetPrincipal(s.ctx, name)
	return err == nil
}

// addprinc is kadmin_addprinc.
func (s *session) addprinc(argv []string) {
	pa, ok := s.parsePrincArgs(argv, 0, "add_principal")
	if !ok {
		s.addprincUsage()
		return
	}
	spec := &pa.spec
	canon := spec.Name.String()
	if spec.Mask&kadm5.MaskPolicy != 0 {
		if !s.script && (pa.policy == nil || !s.policyExists(*pa.policy)) {
			s.warnf("WARNING: policy \"%s\" does not exist\n", policyLabel(pa.policy))
		}
	} else if !pa.clearPolicy {
		// A policy named "default" is assigned to new principals that name
		// none, even in script mode.
		if s.policyExists("default") {
			if !s.script {
				s.warnf("No policy specified for %s; assigning \"default\"\n", canon)
			}
			def := "default"
			pa.policy, spec.Policy, spec.Mask = &def, def, spec.Mask|kadm5.MaskPolicy
		} else if !s.script {
			s.warnf("No policy specified for %s; defaulting to no policy\n", canon)
		}
	}
	mode, password := kadm5.KeysFromPassword, ""
	switch {
	case pa.nokey:
		mode = kadm5.KeysNone
	case pa.randkey:
		mode = kadm5.KeysRandom
	case pa.password != nil:
		password = *pa.password
	default:
		pw, err := s.readNewPassword(canon)
		if err != nil {
			s.comErr("add_principal", err, "while reading password for \"%s\".", canon)
			return
		}
		password = pw
	}
	err := s.createPrincipal(pa, mode, password)
	if errors.Is(err, kadm5.ErrBadMask) && pa.nokey {
		s.errorf("Admin server does not support -nokey while creating \"%s\"\n", canon)
		return
	}
	if err != nil {
		s.comErr("add_principal", err, "while creating \"%s\".", canon)
		return
	}
	s.info("Principal \"%s\" created.\n", canon)
}

// createPrincipal applies kadm5_create_principal's field-mask rules,
// which kadm5.PrincipalSpec cannot express, then creates the principal.
func (s *session) createPrincipal(pa princArgs, mode kadm5.KeyMode, password string) error {
	if pa.unlock || (pa.spec.Mask&kadm5.MaskPolicy != 0 && pa.policy == nil) {
		return kadm5.ErrBadMask
	}
	if len(pa.dbArgs) > 0 {
		// The database rejects the arguments when it stores the entry.
		if s.exists(pa.spec.Name) {
			return kadm5.ErrDup
		}
		return checkDBArgs(pa.dbArgs, false)
	}
	return s.srv.CreatePrincipal(s.ctx, pa.spec, mode, password, pa.keysalts)
}

// modprinc is kadmin_modprinc.
func (s *session) modprinc(argv []string) {
	if len(argv) < 2 {
		s.modprincUsage()
		return
	}
	name, err := s.parseName(argv[len(argv)-1])
	if err != nil {
		s.comErr("modify_principal", err, "while parsing principal")
		return
	}
	canon := name.String()
	old, err := s.srv.GetPrincipal(s.ctx, name)
	if err != nil {
		s.comErr("modify_principal", err, "while getting \"%s\".", canon)
		return
	}
	pa, ok := s.parsePrincArgs(argv, old.Attributes, "modify_principal")
	if !ok || pa.hasKeysalts || pa.randkey || pa.nokey || pa.password != nil {
		s.modprincUsage()
		return
	}
	spec := pa.spec
	if spec.Mask&kadm5.MaskPolicy != 0 && !s.script && (pa.policy == nil || !s.policyExists(*pa.policy)) {
		s.warnf("WARNING: policy \"%s\" does not exist\n", policyLabel(pa.policy))
	}
	if pa.clearPolicy {
		spec.Mask |= kadm5.MaskPolicyClear
	}
	if pa.unlock {
		spec.Mask |= kadm5.MaskFailAuthCount
	}
	// With nothing to change MIT skips the call but still reports success.
	if spec.Mask != 0 || len(pa.dbArgs) > 0 {
		switch {
		case spec.Mask&kadm5.MaskPolicy != 0 && (pa.policy == nil || spec.Mask&kadm5.MaskPolicyClear != 0):
			err = kadm5.ErrBadMask
		case len(pa.dbArgs) > 0:
			err = checkDBArgs(pa.dbArgs, false)
		default:
			err = s.srv.ModifyPrincipal(s.ctx, spec)
		}
	}
	if err != nil {
		s.comErr("modify_principal", err, "while modifying \"%s\".", canon)
		return
	}
	s.info("Principal \"%s\" modified.\n", canon)
}

// delprinc is kadmin_delprinc.
func (s *session) delprinc(argv []string) {
	if !(len(argv) == 2 || (len(argv) == 3 && argv[1] == "-force")) {
		s.errorf("usage: delete_principal [-force] principal\n")
		return
	}
	name, err := s.parseName(argv[len(argv)-1])
	if err != nil {
		s.comErr("delete_principal", err, "while parsing principal name")
		return
	}
	canon := name.String()
	if len(argv) == 2 && !s.script {
		if !s.in.confirm(fmt.Sprintf("Are you sure you want to delete the principal \"%s\"? (yes/no): ", canon)) {
			s.warnf("Principal \"%s\" not deleted\n", canon)
			return
		}
	}
	if err := s.srv.DeletePrincipal(s.ctx, name); err != nil {
		s.comErr("delete_principal", err, "while deleting principal \"%s\"", canon)
		return
	}
	s.info("Principal \"%s\" deleted.\n", canon)
	s.info("Make sure that you have removed this principal from all ACLs before reusing.\n")
}

// renprinc is kadmin_renameprinc.
func (s *session) renprinc(argv []string) {
	if !(len(argv) == 3 || (len(argv) == 4 && argv[1] == "-force")) {
		s.errorf("usage: rename_principal [-force] old_principal new_principal\n")
		return
	}
	from, err := s.parseName(argv[len(argv)-2])
	if err != nil {
		s.comErr("rename_principal", err, "while parsing old principal name")
		return
	}
	to, err := s.parseName(argv[len(argv)-1])
	if err != nil {
		s.comErr("rename_principal", err, "while parsing new principal name")
		return
	}
	ocanon, ncanon := from.String(), to.String()
	if len(argv) == 3 && !s.script {
		if !s.in.confirm(fmt.Sprintf("Are you sure you want to rename the principal \"%s\" to \"%s\"? (yes/no): ", ocanon, ncanon)) {
			s.warnf("Principal \"%s\" not renamed\n", ocanon)
			return
		}
	}
	if err := s.srv.RenamePrincipal(s.ctx, from, to); err != nil {
		if errors.Is(err, kadm5.ErrUnknownPrinc) {
			// MIT's rename reaches the database layer before noticing.
			err = errNoEntry
		}
		s.comErr("rename_principal", err, "while renaming principal \"%s\" to \"%s\"", ocanon, ncanon)
		return
	}
	s.info("Principal \"%s\" renamed to \"%s\".\n", ocanon, ncanon)
	s.info("Make sure that you have removed the old principal from all ACLs before reusing.\n")
}
