package dump

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzReader reads arbitrary bytes as a dump, detected (forced = 0) or
// forced to format forced. The reader must not panic, and whatever it
// reads must write back in the same format and read again as the same
// records (less what the format does not carry), with the second write
// byte-identical to the first.
func FuzzReader(f *testing.F) {
	f.Add([]byte(hdr7+princLine()), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, forced uint8) {
		var fp *Format
		if forced != 0 {
			fp = ptr(Format(forced%6 + 1))
		}
		r, err := NewReader(bytes.NewReader(data), "fuzz.dump", fp)
		if err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("header: %v (%T)", err, err)
			}
			return
		}
		r.DefaultRealm = "FUZZ.TEST"
		var recs []Record
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("record: %v (%T)", err, err)
				}
				break
			}
			if (rec.Principal == nil) == (rec.Policy == nil) {
				t.Fatalf("record %+v", rec)
			}
			recs = append(recs, rec)
		}
		if len(recs) == 0 {
			return
		}
		first := writeAll(t, r.Format(), r.Iprop(), recs)
		var again *Format
		if r.Format() >= Iprop {
			again = ptr(Iprop)
		}
		r2, recs2, warns, err := readAll(t, first, again)
		if err != nil {
			t.Fatalf("re-reading what was written: %v\n%q", err, first)
		}
		if r2.Format() != r.Format() || len(warns) != 0 {
			t.Fatalf("re-read as %v with warnings %v", r2.Format(), warns)
		}
		if want := normalize(r.Format(), recs); !equalRecords(recs2, want) {
			t.Fatalf("records changed through a write:\n got %s\nwant %s", dumpRecords(recs2), dumpRecords(want))
		}
		if second := writeAll(t, r.Format(), r.Iprop(), recs2); !bytes.Equal(first, second) {
			t.Fatalf("second write differs\n%s", firstDiff(second, first))
		}
	})
}

func dumpRecords(recs []Record) string {
	var b bytes.Buffer
	for _, r := range recs {
		if r.Principal != nil {
			fmt.Fprintf(&b, "%+v\n", *r.Principal)
		} else {
			fmt.Fprintf(&b, "%+v\n", *r.Policy)
		}
	}
	return b.String()
}

// TestWriteSeedCorpus regenerates testdata/fuzz/FuzzReader from the MIT
// dumps and bad inputs when KRB5PROP_WRITE_CORPUS=1.
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("KRB5PROP_WRITE_CORPUS") != "1" {
		t.Skip("set KRB5PROP_WRITE_CORPUS=1 to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seeds := map[string]uint8{
		"dump.r111": 0, "dump.r18": 0, "dump.r13": 0, "dump.b7": 0, "dump.alice-only": 0,
		"dump.iprop": uint8(Iprop - 1), "dump.ipropx": uint8(IpropX - 1), "tricky.dump": 0,
		"rollover.1-after-add_mkey": 0, "redump.b7": 0,
		"bad.dump": 0, "hdr-space.dump": 0, "hdr-crlf.dump": 0, "hdr-v8.dump": 0,
	}
	for file, forced := range seeds {
		writeSeed(t, dir, "mit-"+file, testdata(t, "mit/"+file), forced)
	}
	crafted := map[string]string{
		"lenient":   hdr7 + "\n\n" + princLine(17, "AB -f", 7, "99999999999999999999", 10, "-1") + "End\n",
		"trash":     hdr7 + princLine(23, "-1 ;junk") + princLine(),
		"policy18":  hdr7 + "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\npolicy\tq\t1\t2\t3\t4\t5\t0\t6\t7\t8\t9\t10\t11\tks\t1\t-1\t1\t00\n",
		"names":     hdr7 + princLine(2, "18", 6, "\\ a\\\\b\\0c/d@R\\@S\x00z") + princLine(2, "1", 6, "x"),
		"keyver":    hdr7 + princLine(18, "2", 21, "0", 22, "-1\t4\t0\t-1"),
		"newline":   hdr7 + princLine(2, "16", 6, "x\n\ny@EXAMPLE.ORG"),
		"ipropx0":   "ipropx 0 1 2 3\n" + princLine() + "policy\tp\t1\t2\t3\t4\t5\t0\n",
		"hex0x":     hdr7 + princLine(17, "0x\t0X"),
		"truncated": hdr7 + princLine() + "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t30",
	}
	for name, data := range crafted {
		forced := uint8(0)
		if name == "ipropx0" {
			forced = uint8(Iprop - 1)
		}
		writeSeed(t, dir, name, []byte(data), forced)
	}
}

// writeSeed writes one corpus entry; forced is the fuzz argument, which
// FuzzReader maps to Format(forced%6+1) when non-zero (Iprop-1 = 4 is Iprop).
func writeSeed(t *testing.T, dir, name string, data []byte, forced uint8) {
	t.Helper()
	text := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\nuint8(" + strconv.Itoa(int(forced)) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
