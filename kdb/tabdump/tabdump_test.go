package tabdump

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdb/dump"
)

// readDump returns the principals of an MIT dump in the order it lists
// them, which for a dump MIT wrote is its database order.
func readDump(t testing.TB, path string) []*kdb.Principal {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readDumpFrom(t, f, path)
}

func readDumpFrom(t testing.TB, r io.Reader, name string) []*kdb.Principal {
	t.Helper()
	rd, err := dump.NewReader(r, name, nil)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	var out []*kdb.Principal
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if rec.Principal != nil {
			out = append(out, rec.Principal)
		}
	}
}

// slice yields principals the way a kdb.View does.
func slice(ps []*kdb.Principal) func(func(*kdb.Principal) error) error {
	return func(fn func(*kdb.Principal) error) error {
		for _, p := range ps {
			if err := fn(p); err != nil {
				return err
			}
		}
		return nil
	}
}

func render(t testing.TB, ps []*kdb.Principal, table string, opts Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(context.Background(), &b, table, opts, slice(ps)); err != nil {
		t.Fatalf("Write %s: %v", table, err)
	}
	return b.String()
}

func golden(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// compare reports the first differing line, which says more than two
// whole tables.
func compare(t testing.TB, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Errorf("%s: line %d:\n got %q\nwant %q", what, i+1, gl, wl)
			return
		}
	}
}

// The realm of the fixture was made by MIT's tools with TZ unset; times
// are UTC whatever the local zone, which this test moves away from UTC.
func TestMITFixture(t *testing.T) {
	saved := time.Local
	time.Local = time.FixedZone("UTC+05:30", 5*3600+1800)
	t.Cleanup(func() { time.Local = saved })

	ps := readDump(t, filepath.Join("testdata", "mit-basic", "dump.r111"))
	opts := Options{LowestMKVNO: 1, DefaultRealm: "FIXTURE.TEST"}
	for _, table := range Tables() {
		t.Run(table, func(t *testing.T) {
			want := golden(t, filepath.Join("testdata", "mit-basic", "tabdump."+table+".tsv"))
			compare(t, table, render(t, ps, table, opts), want)
		})
	}
	t.Run("princ_flags -n -c", func(t *testing.T) {
		o := opts
		o.Numeric, o.CSV = true, true
		want := golden(t, filepath.Join("testdata", "mit-basic", "tabdump.princ_flags.numeric.csv"))
		compare(t, "princ_flags -n -c", render(t, ps, "princ_flags", o), want)
	})
}

// edgeOptions are the option sets testdata/edge/make.sh ran MIT with, by
// the infix of the output file names.
var edgeOptions = []struct {
	suffix string
	opts   Options
}{
	{"", Options{}},
	{".n", Options{Numeric: true}},
	{".c", Options{CSV: true}},
	{".e", Options{EmptyHex: true}},
	{".Hcen", Options{NoHeader: true, CSV: true, EmptyHex: true, Numeric: true}},
}

// TestMITEdge checks every table against MIT's output for principals with
// out-of-range and malformed fields (see testdata/edge/make.sh).
func TestMITEdge(t *testing.T) {
	ps := readDump(t, filepath.Join("testdata", "edge", "edge.dump"))
	for _, table := range Tables() {
		for _, eo := range edgeOptions {
			name := table + eo.suffix
			t.Run(name, func(t *testing.T) {
				opts := eo.opts
				opts.LowestMKVNO, opts.DefaultRealm = 1, "T.TEST"
				want := golden(t, filepath.Join("testdata", "edge", name+".out"))
				compare(t, name, render(t, ps, table, opts), want)
			})
		}
	}
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func modPrincTL(t uint32, name string) kdb.TLData {
	return kdb.TLData{Type: kdb.TLModPrinc, Contents: append(append(le32(t), name...), 0)}
}

// errorCases are principals on which MIT's princ_meta stops, with the
// message it prints; each was checked against MIT's kdb5_util (and is
// again by TestInteropErrors).
var errorCases = []struct {
	name   string
	tl     []kdb.TLData
	lowest uint32
	want   error
	msg    string
}{
	{"no MOD_PRINC", []kdb.TLData{{Type: kdb.TLLastPwdChange, Contents: le32(5)}}, 1,
		ErrTruncatedRecord, "Database record is incomplete or corrupted"},
	{"MOD_PRINC without NUL", []kdb.TLData{{Type: kdb.TLModPrinc, Contents: append(le32(5), "x@T.TEST"...)}}, 1,
		ErrTruncatedRecord, "Database record is incomplete or corrupted"},
	{"MOD_PRINC too short", []kdb.TLData{{Type: kdb.TLModPrinc, Contents: []byte{1, 0, 0, 0}}}, 1,
		ErrTruncatedRecord, "Database record is incomplete or corrupted"},
	{"MKVNO of three bytes", []kdb.TLData{modPrincTL(1, "x@T.TEST"), {Type: kdb.TLMKVNO, Contents: []byte{1, 0, 0}}}, 1,
		ErrTruncatedRecord, "Database record is incomplete or corrupted"},
	// The mkvno is looked up first, so its error wins.
	{"MKVNO before MOD_PRINC", []kdb.TLData{{Type: kdb.TLModPrinc, Contents: []byte{1, 0, 0, 0, 0}}, {Type: kdb.TLMKVNO, Contents: []byte{1, 0, 0}}}, 1,
		ErrTruncatedRecord, "Database record is incomplete or corrupted"},
	{"modifier with two realms", []kdb.TLData{modPrincTL(1, "a@b@c")}, 1,
		kdb.ErrMalformedName, "Malformed representation of principal"},
	{"modifier ending in a backslash", []kdb.TLData{modPrincTL(1, `a\`)}, 1,
		kdb.ErrMalformedName, "Malformed representation of principal"},
	{"no master key list", []kdb.TLData{modPrincTL(1, "x@T.TEST"), {Type: kdb.TLMKVNO, Contents: []byte{1, 0}}}, 0,
		ErrDBNotInitialized, "Database has not been initialized"},
}

func okPrincipal(name string) *kdb.Principal {
	return &kdb.Principal{
		Name:   kdb.Name{Components: []string{name}, Realm: "T.TEST"},
		TLData: []kdb.TLData{modPrincTL(7, "root/admin@T.TEST")},
	}
}

// TestRecordErrors checks that princ_meta stops where MIT does: after the
// rows before the failing principal and its bare name, with MIT's message.
func TestRecordErrors(t *testing.T) {
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			bad := &kdb.Principal{Name: kdb.Name{Components: []string{"b"}, Realm: "T.TEST"}, TLData: c.tl}
			ps := []*kdb.Principal{okPrincipal("a"), bad, okPrincipal("c")}
			var b bytes.Buffer
			err := Write(context.Background(), &b, "princ_meta", Options{LowestMKVNO: c.lowest, DefaultRealm: "T.TEST"}, slice(ps))
			want := "name\tmodby\tmodtime\tlastpwd\tpolicy\tmkvno\thist_kvno\n" +
				"a@T.TEST\troot/admin@T.TEST\t1970-01-01T00:00:07Z\t1970-01-01T00:00:00Z\t\t1\t0\n" +
				"b@T.TEST"
			if c.lowest == 0 {
				want = "name\tmodby\tmodtime\tlastpwd\tpolicy\tmkvno\thist_kvno\na@T.TEST"
			}
			compare(t, "output", b.String(), want)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("error %T, want *RecordError", err)
			}
			if got, want := re.MITMessage("kdb5_util"), "kdb5_util: "+c.msg+" performing tabular dump"; got != want {
				t.Errorf("MITMessage %q, want %q", got, want)
			}
		})
	}
}

// Without a master key list MIT's other tables still work.
func TestNoMasterKeyOtherTables(t *testing.T) {
	ps := readDump(t, filepath.Join("testdata", "edge", "edge.dump"))
	for _, table := range Tables() {
		if table == "princ_meta" {
			continue
		}
		var b bytes.Buffer
		if err := Write(context.Background(), &b, table, Options{}, slice(ps)); err != nil {
			t.Errorf("%s: %v", table, err)
		}
	}
}

func TestUnknownTable(t *testing.T) {
	var b bytes.Buffer
	called := false
	err := Write(context.Background(), &b, "princ", Options{}, func(func(*kdb.Principal) error) error {
		called = true
		return nil
	})
	if !errors.Is(err, ErrUnknownTable) {
		t.Fatalf("error %v, want ErrUnknownTable", err)
	}
	if b.Len() != 0 || called {
		t.Errorf("wrote %q, iterated %v; want nothing", b.String(), called)
	}
}

func TestTables(t *testing.T) {
	want := []string{"keydata", "keyinfo", "princ_flags", "princ_lockout", "princ_meta", "princ_stringattrs", "princ_tktpolicy"}
	if got := Tables(); !slices.Equal(got, want) {
		t.Errorf("Tables() = %q, want %q", got, want)
	}
	for _, name := range want {
		if _, ok := lookup(name); !ok {
			t.Errorf("lookup(%q) failed", name)
		}
	}
}

// An empty database still gets its header line, and -H then gives nothing.
func TestEmpty(t *testing.T) {
	if got := render(t, nil, "keyinfo", Options{}); got != "name\tkeyindex\tkvno\tenctype\tsalttype\tsalt\n" {
		t.Errorf("got %q", got)
	}
	if got := render(t, nil, "keyinfo", Options{NoHeader: true, CSV: true}); got != "" {
		t.Errorf("-H: got %q", got)
	}
}

// The keys are listed in kvno order without reordering the caller's
// principal, which may be shared with a cache.
func TestKeysNotReordered(t *testing.T) {
	p := &kdb.Principal{
		Name: kdb.Name{Components: []string{"k"}, Realm: "T.TEST"},
		KeyData: []kdb.KeyData{
			{Version: 1, KVNO: 1, Enctype: 17, Contents: []byte{1}},
			{Version: 1, KVNO: 3, Enctype: 18, Contents: []byte{3}},
			{Version: 2, KVNO: 1, Enctype: 18, Contents: []byte{2}, SaltType: 2, Salt: []byte("k")},
		},
	}
	got := render(t, []*kdb.Principal{p}, "keydata", Options{NoHeader: true})
	want := "k@T.TEST\t0\t3\taes256-cts-hmac-sha1-96\t03\tnormal\t-1\n" +
		"k@T.TEST\t1\t1\taes128-cts-hmac-sha1-96\t01\tnormal\t-1\n" +
		"k@T.TEST\t2\t1\taes256-cts-hmac-sha1-96\t02\tnorealm\t6b\n"
	compare(t, "keydata", got, want)
	if p.KeyData[0].KVNO != 1 || p.KeyData[1].KVNO != 3 {
		t.Errorf("caller's keys reordered: %+v", p.KeyData)
	}
}

type failWriter struct{ after int }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(b []byte) (int, error) {
	if w.after < len(b) {
		n := w.after
		w.after = 0
		return n, errDiskFull
	}
	w.after -= len(b)
	return len(b), nil
}

// A write error stops the iteration instead of rendering the rest of the
// database into a dead buffer.
func TestWriteError(t *testing.T) {
	var ps []*kdb.Principal
	for i := 0; i < 1000; i++ {
		ps = append(ps, okPrincipal(strings.Repeat("x", 100)))
	}
	seen := 0
	each := func(fn func(*kdb.Principal) error) error {
		for _, p := range ps {
			seen++
			if err := fn(p); err != nil {
				return err
			}
		}
		return nil
	}
	err := Write(context.Background(), &failWriter{after: 10}, "princ_flags", Options{}, each)
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("error %v, want %v", err, errDiskFull)
	}
	if seen == len(ps) {
		t.Errorf("iterated all %d principals after the write failed", seen)
	}
}

func TestIterationError(t *testing.T) {
	errDB := errors.New("database gone")
	err := Write(context.Background(), io.Discard, "princ_lockout", Options{}, func(fn func(*kdb.Principal) error) error {
		if err := fn(okPrincipal("a")); err != nil {
			return err
		}
		return errDB
	})
	if !errors.Is(err, errDB) {
		t.Fatalf("error %v, want %v", err, errDB)
	}
}

func TestContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Write(ctx, io.Discard, "princ_lockout", Options{}, func(fn func(*kdb.Principal) error) error {
		for {
			n++
			if n == 3 {
				cancel()
			}
			if err := fn(okPrincipal("a")); err != nil {
				return err
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// Rows reach the writer while the iteration is still going: the output is
// streamed, not collected.
func TestStreams(t *testing.T) {
	var b bytes.Buffer
	streamed := false
	err := Write(context.Background(), &b, "princ_flags", Options{}, func(fn func(*kdb.Principal) error) error {
		for i := 0; i < 100; i++ {
			if err := fn(okPrincipal("a")); err != nil {
				return err
			}
		}
		streamed = b.Len() > 0
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !streamed {
		t.Error("nothing written before the iteration ended")
	}
}

// A modifier name without a realm gets the default realm, or failing that
// the listed principal's own.
func TestModifierRealm(t *testing.T) {
	p := &kdb.Principal{
		Name:   kdb.Name{Components: []string{"p"}, Realm: "OWN.REALM"},
		TLData: []kdb.TLData{modPrincTL(0, `admin\/x`)},
	}
	for _, c := range []struct{ realm, want string }{
		{"DEF.REALM", `admin\/x@DEF.REALM`},
		{"", `admin\/x@OWN.REALM`},
	} {
		got := render(t, []*kdb.Principal{p}, "princ_meta", Options{NoHeader: true, LowestMKVNO: 3, DefaultRealm: c.realm})
		want := "p@OWN.REALM\t" + c.want + "\t1970-01-01T00:00:00Z\t1970-01-01T00:00:00Z\t\t3\t0\n"
		compare(t, "realm "+c.realm, got, want)
	}
}

// FuzzWrite feeds arbitrary tl-data and keys to every table: whatever the
// bytes, a table renders or stops with a RecordError, and never panics.
func FuzzWrite(f *testing.F) {
	f.Fuzz(func(t *testing.T, lastPwd, modPrinc, kadm, mkvno, strs, key, salt []byte, ver int16, attrs uint32) {
		p := &kdb.Principal{
			Name:       kdb.Name{Components: []string{"f"}, Realm: "T.TEST"},
			Attributes: attrs,
			TLData: []kdb.TLData{
				{Type: kdb.TLLastPwdChange, Contents: lastPwd},
				{Type: kdb.TLModPrinc, Contents: modPrinc},
				{Type: kdb.TLKadmData, Contents: kadm},
				{Type: kdb.TLMKVNO, Contents: mkvno},
				{Type: kdb.TLStringAttrs, Contents: strs},
			},
			KeyData: []kdb.KeyData{{Version: ver, KVNO: 1, Enctype: ver, Contents: key, SaltType: ver, Salt: salt}},
		}
		for _, table := range Tables() {
			for _, o := range []Options{{LowestMKVNO: 1}, {CSV: true, Numeric: true, EmptyHex: true}} {
				err := Write(context.Background(), io.Discard, table, o, slice([]*kdb.Principal{p}))
				var re *RecordError
				if err != nil && (table != "princ_meta" || !errors.As(err, &re)) {
					t.Fatalf("%s: %v", table, err)
				}
			}
		}
	})
}
