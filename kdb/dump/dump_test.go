package dump

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/kdb"
)

func ptr[T any](v T) *T { return &v }

// readAll reads every record of data; forced as for NewReader.
func readAll(t testing.TB, data []byte, forced *Format) (*Reader, []Record, []Warning, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "test.dump", forced)
	if err != nil {
		return nil, nil, nil, err
	}
	var warns []Warning
	r.Warn = func(w Warning) { warns = append(warns, w) }
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r, recs, warns, nil
		}
		if err != nil {
			return r, recs, warns, err
		}
		recs = append(recs, rec)
	}
}

// writeAll writes recs in format f.
func writeAll(t testing.TB, f Format, ih *IpropHeader, recs []Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, f, ih)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.Principal != nil {
			err = w.WritePrincipal(rec.Principal)
		} else {
			err = w.WritePolicy(rec.Policy)
		}
		if err != nil {
			t.Fatalf("line %d: %v", rec.Line, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTripMIT reads each dump MIT wrote and writes it again in its
// own format: the bytes must be MIT's.
func TestRoundTripMIT(t *testing.T) {
	tests := []struct {
		file   string
		forced *Format
		format Format
	}{
		{"dump.r111", nil, Version7},
		{"dump.r18", nil, Version6},
		{"dump.r13", nil, Version5},
		{"dump.b7", nil, Version4},
		{"dump.alice-only", nil, Version7},
		{"dump.iprop", ptr(Iprop), Iprop},
		{"dump.ipropx", ptr(Iprop), IpropX},
		{"dump.ipropx", ptr(IpropX), IpropX},
		{"redump.b7", nil, Version7},
		{"redump.r13", nil, Version7},
		{"redump.r18", nil, Version7},
		{"rollover.0-initial", nil, Version7},
		{"rollover.1-after-add_mkey", nil, Version7},
		{"rollover.2-after-update_princ_encryption", nil, Version7},
		{"rollover.3-after-purge_mkeys", nil, Version7},
		{"rollover.4-mkey_convert", nil, Version7},
		{"tricky.dump", nil, Version7},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := testdata(t, "mit/"+tt.file)
			r, recs, warns, err := readAll(t, data, tt.forced)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tt.format {
				t.Fatalf("format %v, want %v", r.Format(), tt.format)
			}
			if len(warns) != 0 {
				t.Errorf("warnings: %v", warns)
			}
			if got := writeAll(t, r.Format(), r.Iprop(), recs); !bytes.Equal(got, data) {
				t.Errorf("rewritten dump differs from MIT's\n%s", firstDiff(got, data))
			}
		})
	}
}

// TestOldFormatsToVersion7 loads each older format and writes version 7:
// the result must be what MIT dumps after loading the same file (spec §9
// item 3: b7 loses tl-data type 3, b7 and r13 the lockout fields of
// policies, r18 allowed_keysalts).
func TestOldFormatsToVersion7(t *testing.T) {
	for _, f := range []string{"b7", "r13", "r18"} {
		t.Run(f, func(t *testing.T) {
			_, recs, _, err := readAll(t, testdata(t, "mit/dump."+f), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := testdata(t, "mit/redump."+f)
			if got := writeAll(t, Version7, nil, recs); !bytes.Equal(got, want) {
				t.Errorf("differs from MIT's re-dump\n%s", firstDiff(got, want))
			}
		})
	}
}

// TestWriteOtherFormats writes the records of MIT's version 7 dump in
// every other format: each must equal MIT's dump of the same database in
// that format.
func TestWriteOtherFormats(t *testing.T) {
	_, recs, _, err := readAll(t, testdata(t, "mit/dump.r111"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ipx := testdata(t, "mit/dump.ipropx")
	rd, _, _, err := readAll(t, ipx, ptr(Iprop))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    Format
		file string
	}{
		{Version4, "dump.b7"}, {Version5, "dump.r13"}, {Version6, "dump.r18"},
		{Iprop, "dump.iprop"}, {IpropX, "dump.ipropx"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			want := testdata(t, "mit/"+tt.file)
			if got := writeAll(t, tt.f, rd.Iprop(), recs); !bytes.Equal(got, want) {
				t.Errorf("differs from MIT's\n%s", firstDiff(got, want))
			}
		})
	}
}

func firstDiff(got, want []byte) string {
	gl := strings.SplitAfter(string(got), "\n")
	wl := strings.SplitAfter(string(want), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + quoteLine(g) + "\nwant: " + quoteLine(w)
		}
	}
	return "(same)"
}

func quoteLine(s string) string {
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return strings.NewReplacer("\t", "␉", "\n", "⏎").Replace(s)
}

// normalize is what writing recs in format f and reading them back gives:
// version 4 drops tl-data type 3, the iprop formats zero the lockout
// counters, and the 7-field and 10-field policy layouts drop the fields
// they do not carry.
func normalize(f Format, recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, rec := range recs {
		if p := rec.Principal; p != nil {
			c := p.Clone()
			if f.dropsKadmData() {
				c.DeleteTL(kdb.TLKadmData)
			}
			if f.omitsNonReplicated() {
				c.LastSuccess, c.LastFailed, c.FailAuthCount = 0, 0, 0
			}
			c.SortKeys()
			canonPrincipal(c)
			out[i].Principal = c
			continue
		}
		p := *rec.Policy
		p.TLData = append([]kdb.TLData(nil), p.TLData...)
		if f.policyFields() < 15 {
			p.Attributes, p.MaxLife, p.MaxRenewableLife, p.AllowedKeysalts, p.TLData = 0, 0, 0, "", nil
		}
		if f.policyFields() < 10 {
			p.PwMaxFail, p.PwFailcntInterval, p.PwLockoutDuration = 0, 0, 0
		}
		canonTL(p.TLData)
		if len(p.TLData) == 0 {
			p.TLData = nil
		}
		out[i].Policy = &p
	}
	return out
}

// canonPrincipal makes empty slices nil and drops what a key's version
// does not carry, so reflect.DeepEqual compares what a dump can hold.
func canonPrincipal(p *kdb.Principal) {
	if len(p.TLData) == 0 {
		p.TLData = nil
	}
	canonTL(p.TLData)
	if len(p.KeyData) == 0 {
		p.KeyData = nil
	}
	for i := range p.KeyData {
		k := &p.KeyData[i]
		if k.Version < 1 {
			k.Enctype, k.Contents = 0, nil
		}
		if k.Version < 2 {
			k.SaltType, k.Salt = 0, nil
		}
		if len(k.Contents) == 0 {
			k.Contents = nil
		}
		if len(k.Salt) == 0 {
			k.Salt = nil
		}
	}
	if len(p.Name.Components) == 0 {
		p.Name.Components = nil
	}
}

func canonTL(tl []kdb.TLData) {
	for i := range tl {
		if len(tl[i].Contents) == 0 {
			tl[i].Contents = nil
		}
	}
}

func equalRecords(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Line, y.Line = 0, 0
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func TestHeaders(t *testing.T) {
	ih := &IpropHeader{SerialNumber: 7, Sec: 4294967295, Usec: 12}
	for _, tt := range []struct {
		f          Format
		name, head string
	}{
		{Version4, "Kerberos version 5", "kdb5_util load_dump version 4\n"},
		{Version5, "Kerberos version 5 release 1.3", "kdb5_util load_dump version 5\n"},
		{Version6, "Kerberos version 5 release 1.8", "kdb5_util load_dump version 6\n"},
		{Version7, "Kerberos version 5 release 1.11", "kdb5_util load_dump version 7\n"},
		{Iprop, "Kerberos iprop version", "iprop 7 4294967295 12\n"},
		{IpropX, "Kerberos iprop extensible version", "ipropx 1 7 4294967295 12\n"},
	} {
		if got := tt.f.Name(); got != tt.name {
			t.Errorf("%d: Name %q, want %q", tt.f, got, tt.name)
		}
		if got := tt.f.Header(ih); got != tt.head {
			t.Errorf("%d: Header %q, want %q", tt.f, got, tt.head)
		}
	}
}
