package dump

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/kdb"
)

// These tests run Debian 12's MIT kdb5_util (1.20.1) in private realms
// under t.TempDir(); mittest.Require skips them when it is missing, or
// fails them when KRB5PROP_REQUIRE_MIT=1.

const mitRealm = "FIXTURE.TEST"

// newMITRealm creates an MIT database (K/M, krbtgt, kadmin/*) with a
// stash, so that MIT's dump finds its master key.
func newMITRealm(t *testing.T, opts ...mittest.Option) *mittest.Realm {
	t.Helper()
	mittest.Require(t, "kdb5_util", "kadmin.local")
	r := mittest.NewRealm(t, mitRealm, opts...)
	r.MustRun(t, "kdb5_util", "-P", "interop-master-pw", "create", "-s")
	return r
}

// mitDump runs MIT's dump with args and returns the file it wrote.
func mitDump(t *testing.T, r *mittest.Realm, args ...string) []byte {
	t.Helper()
	out := r.Path("mit-" + strings.Join(append([]string{"dump"}, args...), "_"))
	r.MustRun(t, "kdb5_util", append(append([]string{"dump"}, args...), out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mitLoad writes data to a file and loads it with MIT's kdb5_util.
func mitLoad(t *testing.T, r *mittest.Realm, name string, data []byte, args ...string) {
	t.Helper()
	path := r.Path(name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r.MustRun(t, "kdb5_util", append(append([]string{"load"}, args...), path)...)
}

// trickyPrincipals are records kadmin cannot make but a dump can carry:
// every quoted byte in components and realms, an empty component, no keys
// or no data at all, version 0 and version 2 keys with empty salt, keys
// out of kvno order (equal kvnos keep their order), tl-data of unknown and
// negative types, and every integer field at its limits.
func trickyPrincipals() []*kdb.Principal {
	n := func(realm string, comps ...string) kdb.Name { return kdb.Name{Components: comps, Realm: realm} }
	key := func(ver int16, kvno uint16, enctype int16, contents []byte, saltType int16, salt []byte) kdb.KeyData {
		return kdb.KeyData{Version: ver, KVNO: kvno, Enctype: enctype, Contents: contents, SaltType: saltType, Salt: salt}
	}
	tl := func(typ int16, contents string) kdb.TLData {
		var c []byte
		if contents != "" {
			c = []byte(contents)
		}
		return kdb.TLData{Type: typ, Contents: c}
	}
	return []*kdb.Principal{
		{Name: n(mitRealm, "sl/ash", "at@sign"), TLData: []kdb.TLData{tl(1, "\x01\x02\x03\x04")},
			KeyData: []kdb.KeyData{key(1, 1, 18, []byte{0x20, 0, 1, 2, 3}, 0, nil)}},
		{Name: n(mitRealm, "back\\slash", "tab\tnl\nbs\bnul\x00end")},
		{Name: n(mitRealm, "john doe")},
		{Name: n("WEIRD/@\\\t\n\b\x00 REALM", "x")},
		{Name: n(mitRealm, "a", "", "b")},
		{Name: n("", "norealm")},
		{Name: n(mitRealm, "nokeys"), TLData: []kdb.TLData{tl(-1, "neg"), tl(-32768, ""), tl(32766, "max"), tl(256, "\x00"), tl(0, "zero")}},
		{Name: n(mitRealm, "keys"), KeyData: []kdb.KeyData{
			key(1, 1, 17, []byte{1}, 0, nil),
			key(2, 3, 18, []byte{2}, 4, nil),
			key(0, 2, 0, nil, 0, nil),
			key(2, 3, 17, []byte{3}, 2, []byte("keys")),
			key(1, 65535, -1, []byte{4}, 0, nil),
			key(2, 0, 32767, nil, -32768, nil),
			key(1, 3, 23, []byte{5}, 0, nil),
		}},
		{Name: n(mitRealm, "bigints"), Attributes: 0xffffffff, MaxLife: -1, MaxRenewableLife: -2147483648,
			Expiration: 4294967295, PwExpiration: 2147483648, LastSuccess: 4294967295, LastFailed: 2147483648,
			FailAuthCount: 4294967295, KeyData: []kdb.KeyData{key(1, 65535, 18, []byte{6}, 0, nil)}},
		{Name: n(mitRealm, "kadmdata"), TLData: []kdb.TLData{
			tl(kdb.TLKadmData, "\x12\x34\x5c\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00"),
			tl(2, "\x00\x00\x00\x00x@y\x00"),
		}},
	}
}

func trickyPolicies() []*kdb.Policy {
	return []*kdb.Policy{
		{Name: "big", PwMinLife: 2147483648, PwMaxLife: 4294967295, PwMinLength: 2147483649, PwMinClasses: 4294967294,
			PwHistoryNum: 3000000000, PwMaxFail: 2147483650, PwFailcntInterval: 4294967293, PwLockoutDuration: 2147483651,
			Attributes: 4294967292, MaxLife: 2147483652, MaxRenewableLife: 4294967291,
			AllowedKeysalts: "aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:special",
			TLData:          []kdb.TLData{{Type: -1, Contents: []byte{1}}, {Type: 0x7fff, Contents: nil}, {Type: 300, Contents: []byte("x")}}},
		{Name: "odd!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\xff"},
		{Name: "plain", PwMinLength: 8},
	}
}

// sortedRecords orders records as MIT dumps them (spec §1.6): principals
// by unparsed name, bytewise, then policies by name.
func sortedRecords(ps []*kdb.Principal, pols []*kdb.Policy) []Record {
	ps = slices.Clone(ps)
	slices.SortStableFunc(ps, func(a, b *kdb.Principal) int { return strings.Compare(a.Name.String(), b.Name.String()) })
	pols = slices.Clone(pols)
	slices.SortStableFunc(pols, func(a, b *kdb.Policy) int { return strings.Compare(a.Name, b.Name) })
	var recs []Record
	for _, p := range ps {
		recs = append(recs, Record{Principal: p})
	}
	for _, p := range pols {
		recs = append(recs, Record{Policy: p})
	}
	return recs
}

func principalsOf(recs []Record) []*kdb.Principal {
	var ps []*kdb.Principal
	for _, r := range recs {
		if r.Principal != nil {
			ps = append(ps, r.Principal)
		}
	}
	return ps
}

// mitStored is recs as MIT's DB2 module gives them back after storing
// them: policy tl-data in reverse order, because its XDR decoder
// (xdr_krb5_tl_data) prepends each item to the list it builds [verified].
func mitStored(recs []Record) []Record {
	out := slices.Clone(recs)
	for i, r := range out {
		if r.Policy != nil {
			p := *r.Policy
			p.TLData = slices.Clone(p.TLData)
			slices.Reverse(p.TLData)
			out[i].Policy = &p
		}
	}
	return out
}

// TestMITLoadsOurDumps writes the tricky records with our Writer in each
// format, loads them with MIT, and has MIT dump them again: MIT's bytes
// must be ours, in the default format and in the one loaded.
func TestMITLoadsOurDumps(t *testing.T) {
	r := newMITRealm(t)
	_, base, _, err := readAll(t, mitDump(t, r), nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := sortedRecords(append(principalsOf(base), trickyPrincipals()...), trickyPolicies())
	for _, tt := range []struct {
		f    Format
		flag string
	}{{Version7, ""}, {Version6, "-r18"}, {Version5, "-r13"}, {Version4, "-b7"}} {
		t.Run(tt.f.Name(), func(t *testing.T) {
			ours := writeAll(t, tt.f, nil, recs)
			mitLoad(t, r, "ours", ours)
			want := mitStored(normalize(tt.f, recs))
			if got := mitDump(t, r); !bytes.Equal(got, writeAll(t, Version7, nil, want)) {
				t.Errorf("MIT's version 7 dump differs from ours\n%s", firstDiff(got, writeAll(t, Version7, nil, want)))
			}
			if tt.flag != "" {
				if got := mitDump(t, r, tt.flag); !bytes.Equal(got, ours) {
					t.Errorf("MIT's %s dump differs from ours\n%s", tt.flag, firstDiff(got, ours))
				}
			}
		})
	}
}

// TestMITLoadsOurIpropDump loads our ipropx dump with MIT's "load -i" (as
// kpropd does after a full resync) and compares MIT's "dump -i1", header
// included: MIT records the update-log position from our header.
func TestMITLoadsOurIpropDump(t *testing.T) {
	r := newMITRealm(t)
	_, base, _, err := readAll(t, mitDump(t, r), nil)
	if err != nil {
		t.Fatal(err)
	}
	// kdb5_util create refuses iprop without kadmind's iprop settings;
	// load -i and dump -i only need it on.
	prof, err := os.ReadFile(r.KDCProfile)
	if err != nil {
		t.Fatal(err)
	}
	iprop := strings.Replace(string(prof), "\t\tdatabase_name =",
		"\t\tiprop_enable = true\n\t\tiprop_logfile = "+r.Path("ulog")+"\n\t\tdatabase_name =", 1)
	if iprop == string(prof) {
		t.Fatalf("no database_name in kdc.conf:\n%s", prof)
	}
	if err := os.WriteFile(r.Path("kdc-iprop.conf"), []byte(iprop), 0o600); err != nil {
		t.Fatal(err)
	}
	r.ExtraEnv = append(r.ExtraEnv, "KRB5_KDC_PROFILE="+r.Path("kdc-iprop.conf"))
	recs := sortedRecords(append(principalsOf(base), trickyPrincipals()...), trickyPolicies())
	ih := &IpropHeader{SerialNumber: 4294967295, Sec: 1735689600, Usec: 999999}
	for _, f := range []Format{IpropX, Iprop} {
		t.Run(f.Name(), func(t *testing.T) {
			ours := writeAll(t, f, ih, recs)
			mitLoad(t, r, "ours", ours, "-i")
			flag := "-i1"
			if f == Iprop {
				flag = "-i0"
			}
			want := writeAll(t, f, ih, mitStored(recs))
			if got := mitDump(t, r, flag); !bytes.Equal(got, want) {
				t.Errorf("MIT's %s dump differs from ours\n%s", flag, firstDiff(got, want))
			}
		})
	}
}

// TestLeadingSpaceName shows why the Writer quotes a leading space: MIT's
// own dump of " lead" loads back as "lead@REALM\t" (MIT and ours read it
// the same way), while ours loads back as " lead".
func TestLeadingSpaceName(t *testing.T) {
	r := newMITRealm(t)
	r.MustRun(t, "kadmin.local", "-q", `addprinc -nokey "\ lead"`)
	theirs := mitDump(t, r)
	if !bytes.Contains(theirs, []byte("\t lead@"+mitRealm+"\t")) {
		t.Fatalf("MIT's dump lacks the raw name:\n%s", theirs)
	}
	_, recs, _, err := readAll(t, theirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	mitLoad(t, r, "theirs", theirs)
	// MIT dumps in name order, and the mangled name sorts elsewhere.
	if want, got := writeAll(t, Version7, nil, sortedRecords(principalsOf(recs), nil)), mitDump(t, r); !bytes.Equal(got, want) {
		t.Fatalf("we read MIT's dump differently from MIT\n%s", firstDiff(got, want))
	}
	if !slices.ContainsFunc(recs, func(r Record) bool { return r.Principal != nil && r.Principal.Name.Realm == mitRealm+"\t" }) {
		t.Fatal("MIT's dump of \" lead\" did not read as lead@REALM<TAB>")
	}

	var ps []*kdb.Principal
	for _, p := range principalsOf(recs) {
		if p.Name.Realm == mitRealm {
			ps = append(ps, p)
		}
	}
	ps = append(ps, &kdb.Principal{Name: kdb.Name{Components: []string{" lead"}, Realm: mitRealm}})
	ours := writeAll(t, Version7, nil, sortedRecords(ps, nil))
	if !bytes.Contains(ours, []byte("\t19\t0\t0\t0\t\\ lead@"+mitRealm+"\t")) {
		t.Fatalf("our dump does not quote the space:\n%s", ours)
	}
	mitLoad(t, r, "ours", ours)
	if got := mitDump(t, r); !bytes.Contains(got, []byte("\t18\t0\t0\t0\t lead@"+mitRealm+"\t")) {
		t.Fatalf("MIT did not load our dump of \" lead\" as \" lead\":\n%s", got)
	}
}

// TestMITDumpsReadBack reads MIT's dumps, in every format, of a realm
// made with kadmin.local and writes them again: the bytes must be what
// MIT itself writes after loading the same dump.
func TestMITDumpsReadBack(t *testing.T) {
	r := newMITRealm(t)
	for _, q := range []string{
		`addpol -minlength 8 -minclasses 3 -history 5 -maxfailure 3 -failurecountinterval 1h -lockoutduration 10m lockpol`,
		`addpol -maxlife 90d -minlife 1h -allowedkeysalts aes256-cts-hmac-sha1-96:special,aes128-cts-hmac-sha1-96:norealm ks`,
		`addprinc -randkey "sl\/ash/at\@sign"`,
		`addprinc -randkey "back\\slash"`,
		`addprinc -randkey "tab\tnl\nbs\bnul\0end/x\@y"`,
		`addprinc -randkey "john doe"`,
		`addprinc -nokey nokeys`,
		`addprinc -pw salty-pw -policy lockpol -e aes256-cts:special,aes128-cts:norealm,aes256-cts:onlyrealm salty`,
		`cpw -pw salty-pw-2 -keepold salty`,
		`addprinc -randkey -policy ks bigints`,
		`modprinc -kvno 65535 +0x80000000 -allow_tix -maxlife "1000 days" bigints`,
		`setstr bigints require_auth "otp spake"`,
		`addprinc -randkey -e aes128-cts:normal,aes256-cts:normal "a/b/c/d"`,
	} {
		r.MustRun(t, "kadmin.local", "-q", q)
	}
	for _, tt := range []struct {
		flag string
		f    Format
	}{{"", Version7}, {"-r18", Version6}, {"-r13", Version5}, {"-b7", Version4}} {
		t.Run(tt.f.Name(), func(t *testing.T) {
			var args []string
			if tt.flag != "" {
				args = []string{tt.flag}
			}
			theirs := mitDump(t, r, args...)
			rd, recs, warns, err := readAll(t, theirs, nil)
			if err != nil || len(warns) != 0 || rd.Format() != tt.f {
				t.Fatalf("%v %v %v", err, warns, rd.Format())
			}
			if got := writeAll(t, tt.f, nil, recs); !bytes.Equal(got, theirs) {
				t.Errorf("our rewrite differs from MIT's dump\n%s", firstDiff(got, theirs))
			}
		})
	}
}
