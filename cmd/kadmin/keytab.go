package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
)

// This file is kadmin's keytab.c as kadmin.local builds it (with
// -norandkey): ktadd and ktremove.

// defaultKeytab is the keytab krb5_kt_default opens: KRB5_KTNAME, else
// [libdefaults] default_keytab_name, else Debian's FILE:/etc/krb5.keytab.
const defaultKeytab = "FILE:/etc/krb5.keytab"

// errUnknownKeytabType is MIT's KRB5_KT_UNKNOWN_TYPE.
var errUnknownKeytabType = errors.New("Unknown Key table type")

// keytabName is process_keytab: the name to print and the file path to
// write. A -k name without a type becomes WRFILE:name; the default keytab
// prints as krb5_kt_get_name does, with its type.
func (s *session) keytabName(given string) (string, string, error) {
	name := given
	if name == "" {
		name = defaultKeytab
		if v, ok := s.env("KRB5_KTNAME"); ok && v != "" {
			name = v
		} else if v, ok := s.prof.Value("libdefaults", "default_keytab_name"); ok && v != "" {
			name = v
		}
		if !strings.Contains(name, ":") || strings.HasPrefix(name, "/") {
			name = "FILE:" + name
		}
	} else if !strings.Contains(name, ":") {
		name = "WRFILE:" + name
	}
	typ, rest, _ := strings.Cut(name, ":")
	switch {
	case typ == "FILE" || typ == "WRFILE":
		return name, rest, nil
	case strings.HasPrefix(name, "/"):
		return name, name, nil
	}
	return name, "", errUnknownKeytabType
}

func (s *session) ktaddUsage() {
	s.warnf("Usage: ktadd [-k[eytab] keytab] [-q] [-e keysaltlist] [-norandkey] [principal | -glob princ-exp] [...]\n")
}

func (s *session) ktremoveUsage() {
	s.warnf("Usage: ktremove [-k[eytab] keytab] [-q] principal [kvno|\"all\"|\"old\"]\n")
}

// ktOptions are the options ktadd and ktremove share.
type ktOptions struct {
	keytab    string
	quiet     bool
	norandkey bool
	keysalts  []krb5x.KeySalt
}

// ktadd is kadmin_keytab_add.
func (s *session) ktadd(argv []string) {
	var o ktOptions
	args := argv[1:]
loop:
	for len(args) > 0 {
		switch a := args[0]; {
		case strings.HasPrefix(a, "-k"):
			args = args[1:]
			if len(args) == 0 || o.keytab != "" {
				s.ktaddUsage()
				return
			}
			o.keytab = args[0]
		case a == "-q":
			o.quiet = true
		case a == "-norandkey":
			o.norandkey = true
		case a == "-e":
			if len(args) < 2 {
				s.ktaddUsage()
				return
			}
			args = args[1:]
			ks, err := krb5x.ParseKeySalts(args[0])
			if err != nil {
				s.comErr("ktadd", err, "while parsing keysalts %s", args[0])
				return
			}
			o.keysalts = ks
		default:
			break loop
		}
		args = args[1:]
	}
	if len(args) == 0 {
		s.ktaddUsage()
		return
	}
	if o.norandkey && o.keysalts != nil {
		s.warnf("cannot specify keysaltlist when not changing key\n")
		return
	}
	ktname, path, err := s.keytabName(o.keytab)
	if err != nil {
		s.comErr(s.whoami, err, "while resolving keytab %s", ktname)
		return
	}
	for len(args) > 0 {
		if args[0] != "-glob" {
			s.ktaddPrincipal(o, ktname, path, args[0])
			args = args[1:]
			continue
		}
		if len(args) < 2 {
			s.ktaddUsage()
			break
		}
		names, err := s.srv.ListPrincipals(s.ctx, args[1])
		if err != nil {
			s.comErr(s.whoami, err, "while expanding expression \"%s\".", args[1])
			args = args[2:]
			continue
		}
		for _, n := range names {
			s.ktaddPrincipal(o, ktname, path, n)
		}
		// MIT's loop does not step past the expression after expanding it,
		// so the expression is then also taken as a principal name. Kept:
		// a site swapping binaries sees the same keys and messages.
		args = args[1:]
	}
}

// ktaddPrincipal is keytab.c's add_principal: new random keys (or the
// current keys with -norandkey) appended to the keytab, one entry each.
func (s *session) ktaddPrincipal(o ktOptions, ktname, path, pname string) {
	name, err := kdb.ParseName(pname, s.realm)
	if err != nil {
		s.comErr(s.whoami, err, "while parsing -add principal name %s", pname)
		return
	}
	var keys []kadm5.Key
	if o.norandkey {
		keys, err = s.srv.Keys(s.ctx, name)
	} else {
		keys, err = s.srv.RandomizeKeys(s.ctx, name, false, o.keysalts)
	}
	if errors.Is(err, kadm5.ErrUnknownPrinc) {
		s.warnf("%s: Principal %s does not exist.\n", s.whoami, pname)
		return
	}
	if err != nil {
		s.comErr(s.whoami, err, "while changing %s's key", pname)
		return
	}
	kp := keytab.Principal{Components: name.Components, Realm: name.Realm, NameType: name.NameType()}
	now := s.now()
	for _, k := range keys {
		e := keytab.Entry{Principal: kp, Timestamp: now, KVNO: uint32(k.KVNO), Key: k.Key}
		if err := keytab.Add(path, e); err != nil {
			s.comErr(s.whoami, err, "while adding key to keytab")
			return
		}
		if !o.quiet {
			fmt.Fprintf(s.stdout, "Entry for principal %s with kvno %d, encryption type %s added to keytab %s.\n",
				pname, k.KVNO, etypeString(k.Key.KeyType), ktname)
		}
	}
}

// etypeString is keytab.c's etype_string.
func etypeString(etype int32) string {
	if krb5x.EnctypeKnown(etype) {
		return krb5x.EnctypeName(etype)
	}
	return fmt.Sprintf("etype %d", etype)
}

// ktremove is kadmin_keytab_remove.
func (s *session) ktremove(argv []string) {
	var o ktOptions
	args := argv[1:]
loop:
	for len(args) > 0 {
		switch a := args[0]; {
		case strings.HasPrefix(a, "-k"):
			args = args[1:]
			if len(args) == 0 || o.keytab != "" {
				s.ktremoveUsage()
				return
			}
			o.keytab = args[0]
		case a == "-q":
			o.quiet = true
		default:
			break loop
		}
		args = args[1:]
	}
	if len(args) != 1 && len(args) != 2 {
		s.ktremoveUsage()
		return
	}
	ktname, path, err := s.keytabName(o.keytab)
	if err != nil {
		s.comErr(s.whoami, err, "while resolving keytab %s", ktname)
		return
	}
	kvnoArg := ""
	if len(args) == 2 {
		kvnoArg = args[1]
	}
	s.ktremovePrincipal(o, ktname, path, args[0], kvnoArg)
}

// ktremovePrincipal is keytab.c's remove_principal: no kvno removes the
// highest kvno's entries, "all" every entry, "old" all but the highest,
// a number that kvno's.
func (s *session) ktremovePrincipal(o ktOptions, ktname, path, pname, kvnoArg string) {
	name, err := kdb.ParseName(pname, s.realm)
	if err != nil {
		s.comErr(s.whoami, err, "while parsing principal name %s", pname)
		return
	}
	kp := keytab.Principal{Components: name.Components, Realm: name.Realm}
	mode, kvno := kvnoArg, uint32(0)
	switch kvnoArg {
	case "", "all", "old":
	default:
		mode, kvno = "spec", uint32(atoi(kvnoArg))
	}
	entries, err := keytab.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.warnf("%s: Keytab %s does not exist.\n", s.whoami, ktname)
		return
	}
	if err != nil {
		s.comErr(s.whoami, err, "while retrieving highest kvno from keytab")
		return
	}
	// krb5_kt_get_entry: the highest kvno of the principal, or the asked
	// kvno, must be there.
	found, high := false, uint32(0)
	for _, e := range entries {
		if !e.Principal.Equal(kp) {
			continue
		}
		if mode == "spec" {
			if e.KVNO == kvno {
				found = true
			}
			continue
		}
		if !found || e.KVNO > high {
			found, high = true, e.KVNO
		}
	}
	if !found {
		if mode != "spec" {
			s.warnf("%s: No entry for principal %s exists in keytab %s\n", s.whoami, pname, ktname)
		} else {
			s.warnf("%s: No entry for principal %s with kvno %d exists in keytab %s\n", s.whoami, pname, kvno, ktname)
		}
		return
	}
	if mode != "spec" {
		kvno = high
	}
	var removed []keytab.Entry
	_, err = keytab.Remove(path, func(e keytab.Entry) bool {
		if !e.Principal.Equal(kp) {
			return false
		}
		match := mode == "all" || (mode == "old" && e.KVNO != kvno) || ((mode == "spec" || mode == "") && e.KVNO == kvno)
		if match {
			removed = append(removed, e)
		}
		return match
	})
	if err != nil {
		s.comErr(s.whoami, err, "while deleting entry from keytab")
		return
	}
	if !o.quiet {
		var b strings.Builder
		for _, e := range removed {
			fmt.Fprintf(&b, "Entry for principal %s with kvno %d removed from keytab %s.\n", pname, e.KVNO, ktname)
		}
		fmt.Fprint(s.stdout, b.String())
	}
	if len(removed) == 0 && mode == "old" {
		s.warnf("%s: There is only one entry for principal %s in keytab %s\n", s.whoami, pname, ktname)
	}
}
