package tabdump

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdb/dump"
)

// optionSets is every combination of -H, -c, -e and -n.
func optionSets() []Options {
	var out []Options
	for m := 0; m < 16; m++ {
		out = append(out, Options{NoHeader: m&1 != 0, CSV: m&2 != 0, EmptyHex: m&4 != 0, Numeric: m&8 != 0})
	}
	return out
}

func (o Options) args() []string {
	var a []string
	for _, f := range []struct {
		on   bool
		flag string
	}{{o.NoHeader, "-H"}, {o.CSV, "-c"}, {o.EmptyHex, "-e"}, {o.Numeric, "-n"}} {
		if f.on {
			a = append(a, f.flag)
		}
	}
	return a
}

// lowestMKVNO is what MIT's master key list gives once the stash opens
// the database: the lowest kvno among the master principal's keys.
func lowestMKVNO(t testing.TB, ps []*kdb.Principal, realm string) uint32 {
	t.Helper()
	for _, p := range ps {
		if p.Name.String() != "K/M@"+realm {
			continue
		}
		low := uint32(0)
		for _, k := range p.KeyData {
			if low == 0 || uint32(k.KVNO) < low {
				low = uint32(k.KVNO)
			}
		}
		return low
	}
	t.Fatalf("no K/M@%s in the dump", realm)
	return 0
}

// compareAll runs MIT's tabdump on r's database for every table and
// option set and compares its output with ours for ps.
func compareAll(t *testing.T, r *mittest.Realm, ps []*kdb.Principal) {
	t.Helper()
	base := Options{LowestMKVNO: lowestMKVNO(t, ps, r.Name), DefaultRealm: r.Name}
	for _, table := range Tables() {
		for _, o := range optionSets() {
			args := append(append([]string{"tabdump"}, o.args()...), table)
			name := strings.Join(args[1:], " ")
			t.Run(name, func(t *testing.T) {
				want := r.MustRun(t, "kdb5_util", args...)
				o.LowestMKVNO, o.DefaultRealm = base.LowestMKVNO, base.DefaultRealm
				compare(t, name, render(t, ps, table, o), want)
			})
		}
	}
}

func mitDump(t *testing.T, r *mittest.Realm) []*kdb.Principal {
	t.Helper()
	path := r.Path("tabdump-source.dump")
	r.MustRun(t, "kdb5_util", "dump", path)
	return readDump(t, path)
}

// TestInteropKadminRealm builds a realm with MIT's own tools — a policy
// with history, special, norealm and onlyrealm salts, kept old keys,
// names and string attributes that need CSV quoting or break the
// tab-separated table, flags, expiry dates, a second master kvno — and
// compares every table under every option set.
func TestInteropKadminRealm(t *testing.T) {
	mittest.Require(t, "kdb5_util", "kadmin.local")
	r := mittest.NewRealm(t, "TABDUMP.TEST")
	// Master key kvno 3, so that principals without KRB5_TL_MKVNO (K/M,
	// krbtgt) show the lowest master kvno rather than a coincidental 1.
	r.MustRun(t, "kdb5_util", "-kv", "3", "-P", "master-pw", "create", "-s")
	for _, q := range []string{
		"addpol -maxlife 90d -minlength 6 -history 3 pwpol",
		"addprinc -pw Alice-pw-1 alice",
		"addprinc -pw Bob-pw-1 -policy pwpol -expire \"2031-05-06 07:08:09 UTC\" -pwexpire \"2040-01-01 00:00:00 UTC\" -allow_forwardable +needchange bob",
		"cpw -pw Bob-pw-2 bob",
		"cpw -keepold -e aes256-cts-hmac-sha1-96:special,aes128-cts-hmac-sha1-96:norealm -pw Alice-pw-2 alice",
		"addprinc -pw Host-pw -e aes256-cts-hmac-sha1-96:onlyrealm,aes128-cts-hmac-sha1-96:special host/server.tabdump.test",
		"addprinc -randkey -e aes256-cts-hmac-sha1-96:special service/random",
		`addprinc -pw x "comma,and""quote"`,
		`addprinc -pw x "tab\tin/na\\me"`,
		"addprinc -nokey -maxlife 1h -maxrenewlife 2d +ok_as_delegate +lockdown_keys -allow_svr nokey",
		"setstr host/server.tabdump.test session_enctypes aes256-cts",
		`setstr alice "k,ey" "va""lue"`,
		"setstr alice \"tab\tkey\" \"tab\tvalue\"",
		"setstr alice nl \"line1\nline2\"",
		"setstr alice empty \"\"",
		"modprinc -kvno 65535 service/random",
	} {
		r.MustRun(t, "kadmin.local", "-q", q)
	}
	ps := mitDump(t, r)
	if len(ps) < 11 {
		t.Fatalf("MIT dump holds %d principals; the kadmin.local setup failed", len(ps))
	}
	compareAll(t, r, ps)

	t.Run("-o", func(t *testing.T) {
		out := r.Path("flags.csv")
		r.MustRun(t, "kdb5_util", "tabdump", "-c", "-n", "-o", out, "princ_flags")
		o := Options{CSV: true, Numeric: true}
		compare(t, "-o", render(t, ps, "princ_flags", o), golden(t, out))
	})
}

// TestInteropEdge loads testdata/edge/edge.dump into an MIT realm and
// compares every table under every option set, as make.sh does for the
// golden files with a few of them.
func TestInteropEdge(t *testing.T) {
	mittest.Require(t, "kdb5_util")
	r := edgeRealm(t)
	src := filepath.Join("testdata", "edge", "edge.dump")
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	r.MustRun(t, "kdb5_util", "load", abs)
	// edge.dump lists its principals in MIT's database order, with each
	// principal's keys as stored (not kvno-sorted): read it, not MIT's
	// re-dump, which sorts the keys.
	compareAll(t, r, readDump(t, src))
}

// edgeRealm is a realm edge.dump loads into: its K/M is encrypted in the
// master key MIT derives from "pw" for T.TEST.
func edgeRealm(t *testing.T) *mittest.Realm {
	t.Helper()
	r := mittest.NewRealm(t, "T.TEST")
	r.MustRun(t, "kdb5_util", "-P", "pw", "create", "-s")
	return r
}

// TestInteropErrors loads each principal princ_meta fails on into an MIT
// realm and compares what MIT writes before failing, its message and its
// exit status with ours.
func TestInteropErrors(t *testing.T) {
	mittest.Require(t, "kdb5_util")
	r := edgeRealm(t)
	base := mitDump(t, r)
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			bad := &kdb.Principal{
				Name:       kdb.Name{Components: []string{"b"}, Realm: r.Name},
				MaxLife:    36000,
				TLData:     c.tl,
				Attributes: kdb.AttrRequiresPreAuth,
			}
			ps := append(slices.Clone(base), bad)
			slices.SortFunc(ps, func(a, b *kdb.Principal) int { return strings.Compare(a.Name.String(), b.Name.String()) })
			path := r.Path("error.dump")
			writeDump(t, path, ps)
			r.MustRun(t, "kdb5_util", "load", path)

			wantExit := 1
			if c.lowest == 0 {
				// MIT carries on without the master key (one error
				// counted) and then fails the table (another).
				hidden := r.Stash + ".hidden"
				if err := os.Rename(r.Stash, hidden); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Rename(hidden, r.Stash) })
				wantExit = 2
			}
			stdout, stderr, exit := r.Run(t, "kdb5_util", "tabdump", "princ_meta")
			if exit != wantExit {
				t.Errorf("MIT exit %d, want %d", exit, wantExit)
			}

			var b bytes.Buffer
			opts := Options{DefaultRealm: r.Name}
			if c.lowest != 0 {
				opts.LowestMKVNO = lowestMKVNO(t, ps, r.Name)
			}
			err := Write(t.Context(), &b, "princ_meta", opts, slice(ps))
			compare(t, "output", b.String(), stdout)
			re, ok := err.(*RecordError)
			if !ok {
				t.Fatalf("error %v, want a *RecordError", err)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if got, want := re.MITMessage("kdb5_util"), lines[len(lines)-1]; got != want {
				t.Errorf("message %q, MIT's %q", got, want)
			}
		})
	}
}

func writeDump(t *testing.T, path string, ps []*kdb.Principal) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := dump.NewWriter(f, dump.Version7, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := w.WritePrincipal(p); err != nil {
			t.Fatalf("dump %s: %v", p.Name, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
