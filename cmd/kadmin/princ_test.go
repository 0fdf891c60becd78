package main

import (
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
)

func TestParsePrincArgs(t *testing.T) {
	const now = 1800000000 // 2027-01-15 08:00:00 UTC
	tests := []struct {
		name   string
		argv   string
		attrs  uint32
		ok     bool
		check  func(t *testing.T, pa princArgs)
		stderr string
	}{
		{name: "flags start from the given attributes", argv: "addprinc +requires_preauth -allow_tix alice", ok: true,
			check: func(t *testing.T, pa princArgs) {
				if pa.spec.Mask != kadm5.MaskAttributes || pa.spec.Attributes != kdb.AttrRequiresPreAuth|kdb.AttrDisallowAllTix {
					t.Errorf("mask %#x attrs %#x", pa.spec.Mask, pa.spec.Attributes)
				}
				if pa.spec.Name.String() != "alice@EXAMPLE.TEST" {
					t.Errorf("name %s", pa.spec.Name)
				}
			}},
		{name: "modprinc keeps other bits", argv: "modprinc +allow_tix x", attrs: kdb.AttrDisallowAllTix | kdb.AttrRequiresPreAuth, ok: true,
			check: func(t *testing.T, pa princArgs) {
				if pa.spec.Attributes != kdb.AttrRequiresPreAuth {
					t.Errorf("attrs %#x", pa.spec.Attributes)
				}
			}},
		{name: "values", argv: `addprinc -pw secret -e aes128-cts:norealm -policy p -kvno 3 -maxlife 1d -maxrenewlife "2 days" -expire never -pwexpire "+1 day" -x a -unlock -randkey -nokey bob@OTHER`, ok: true,
			check: func(t *testing.T, pa princArgs) {
				s := pa.spec
				want := kadm5.MaskPolicy | kadm5.MaskKVNO | kadm5.MaskMaxLife | kadm5.MaskMaxRenewableLife | kadm5.MaskExpiration | kadm5.MaskPwExpiration
				if s.Mask != want {
					t.Errorf("mask %#x, want %#x", s.Mask, want)
				}
				if *pa.password != "secret" || s.Policy != "p" || s.KVNO != 3 || s.MaxLife != 86400 || s.MaxRenewableLife != 172800 ||
					s.Expiration != 0 || s.PwExpiration != now+86400 || !pa.unlock || !pa.randkey || !pa.nokey {
					t.Errorf("%+v", pa)
				}
				if len(pa.keysalts) != 1 || pa.keysalts[0] != (krb5x.KeySalt{Enctype: krb5x.EnctypeAES128CTSHMACSHA196, SaltType: krb5x.SaltNoRealm}) {
					t.Errorf("keysalts %v", pa.keysalts)
				}
				if len(pa.dbArgs) != 1 || s.Name.String() != "bob@OTHER" {
					t.Errorf("dbArgs %v name %s", pa.dbArgs, s.Name)
				}
			}},
		{name: "clearpolicy drops the policy but keeps the mask", argv: "addprinc -policy p -clearpolicy x", ok: true,
			check: func(t *testing.T, pa princArgs) {
				if pa.policy != nil || !pa.clearPolicy || pa.spec.Mask&kadm5.MaskPolicy == 0 {
					t.Errorf("%+v", pa)
				}
			}},
		{name: "a value may not be the principal", argv: "addprinc -pw x", ok: false},
		{name: "too few words take the option as principal", argv: "addprinc -pw", ok: true,
			check: func(t *testing.T, pa princArgs) {
				if pa.spec.Name.String() != "-pw@EXAMPLE.TEST" || pa.password != nil {
					t.Errorf("%+v", pa)
				}
			}},
		{name: "unknown flag", argv: "addprinc +bogus x", ok: false},
		{name: "two principals", argv: "addprinc x y", ok: false},
		{name: "bad date", argv: "addprinc -expire junk x", ok: false, stderr: "Invalid date specification \"junk\".\n"},
		{name: "past interval", argv: "addprinc -maxlife yesterday x", ok: false, stderr: "Interval specification \"yesterday\" is in the past.\n"},
		{name: "bad keysalt", argv: "addprinc -e nosuch x", ok: false, stderr: "add_principal: invalid enctype \"nosuch\" while parsing keysalts nosuch\n"},
		{name: "bad name", argv: "addprinc a@b@c", ok: false, stderr: "add_principal: Malformed representation of principal while parsing principal\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, errb := testSession(false)
			argv, err := ssParse(tt.argv)
			if err != nil {
				t.Fatal(err)
			}
			pa, ok := s.parsePrincArgs(argv, tt.attrs, "add_principal")
			if ok != tt.ok {
				t.Fatalf("ok = %v, stderr %q", ok, errb.String())
			}
			if tt.check != nil {
				tt.check(t, pa)
			}
			if errb.String() != tt.stderr {
				t.Errorf("stderr %q, want %q", errb.String(), tt.stderr)
			}
		})
	}
}

func TestParseNameAddsRealm(t *testing.T) {
	s, _, _ := testSession(false)
	for in, want := range map[string]string{
		"alice":       "alice@EXAMPLE.TEST",
		"host/h":      "host/h@EXAMPLE.TEST",
		"a@R":         "a@R",
		`a\@b`:        `a\@b@EXAMPLE.TEST`,
		"":            "@EXAMPLE.TEST",
		"quoted name": "quoted name@EXAMPLE.TEST",
	} {
		n, err := s.parseName(in)
		if err != nil || n.String() != want {
			t.Errorf("parseName(%q) = %s, %v; want %s", in, n, err, want)
		}
	}
	// An "@" in first place does not count as a realm separator, so the
	// default realm is added and the name has two.
	if _, err := s.parseName("@R"); err == nil {
		t.Error("@R parsed")
	}
}

func TestCpwOptionErrors(t *testing.T) {
	for argv, want := range map[string]string{
		"cpw":          "change_password: missing principal name\nusage: change_password [-randkey] [-keepold] [-e keysaltlist] [-pw password] principal\n",
		"cpw a b":      "change_password: too many arguments\nusage: change_password [-randkey] [-keepold] [-e keysaltlist] [-pw password] principal\n",
		"cpw -pw":      "change_password: missing password arg\nusage: change_password [-randkey] [-keepold] [-e keysaltlist] [-pw password] principal\n",
		"cpw -bogus a": "change_password: unrecognized option -bogus\nusage: change_password [-randkey] [-keepold] [-e keysaltlist] [-pw password] principal\n",
	} {
		s, _, errb := testSession(false)
		s.cpw(strings.Fields(argv))
		if errb.String() != want {
			t.Errorf("%s: stderr %q, want %q", argv, errb.String(), want)
		}
	}
}
