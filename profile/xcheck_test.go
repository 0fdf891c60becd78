package profile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Temporary differential driver: for each input in $XCHECK_DIR/*.in writes
// *.go.out with our dump or error marker.
func TestXcheck(t *testing.T) {
	dir := os.Getenv("XCHECK_DIR")
	if dir == "" {
		t.Skip()
	}
	ins, _ := filepath.Glob(filepath.Join(dir, "*.in"))
	for _, in := range ins {
		p, err := Load(in)
		out := ""
		if err != nil {
			out = "ERROR\n"
		} else if len(p.files) == 0 {
			out = "EMPTY\n"
		} else {
			out = dumpMIT(p.files[0])
		}
		if err := os.WriteFile(in[:len(in)-3]+".go.out", []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println(len(ins))
}

func TestXcheckPairs(t *testing.T) {
	dir := os.Getenv("XCHECK_PAIRS")
	if dir == "" {
		t.Skip()
	}
	qs, _ := os.ReadFile(filepath.Join(dir, "../queries.txt"))
	ins, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	for _, in := range ins {
		b := in[:len(in)-2]
		p, err := Load(b+".1", b+".2", b+".3")
		out := ""
		if err != nil {
			out = "ERROR\n"
		} else {
			for _, q := range strings.Fields(string(qs)) {
				var path []string
				if q[2:] != "" {
					path = strings.Split(q[2:], "/")
				}
				out += q + ":"
				var vals []string
				if q[0] == 'V' {
					vals = p.Values(path...)
				} else {
					vals = p.Subsections(path...)
				}
				if q[0] == 'V' && len(vals) == 0 {
					out += " ERR"
				}
				for _, v := range vals {
					out += " [" + v + "]"
				}
				out += "\n"
			}
		}
		os.WriteFile(b+".go.out", []byte(out), 0o644)
	}
}

func TestXcheckDeltat(t *testing.T) {
	in := os.Getenv("XCHECK_DT")
	if in == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(in)
	r := strings.NewReplacer(`\s`, " ", `\t`, "\t", `\n`, "\n", `\r`, "\r", `\v`, "\v", `\f`, "\f")
	var out strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		s := r.Replace(l)
		d, err := ParseDuration(s)
		if err != nil {
			lx := deltatLexer{s: s}
			for {
				if tk, _ := lx.next(); tk == tokEOF {
					break
				}
			}
			if lx.garbage {
				if d2, err2 := ParseDuration(s[:lx.pos-1]); err2 == nil {
					fmt.Fprintf(&out, "%d\n", int64(d2.Seconds()))
					continue
				}
			}
			out.WriteString("ERR\n")
		} else {
			fmt.Fprintf(&out, "%d\n", int64(d.Seconds()))
		}
	}
	os.WriteFile(in+".go", []byte(out.String()), 0o644)
}

func TestXcheckTimestamp(t *testing.T) {
	in := os.Getenv("XCHECK_TS")
	if in == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(in)
	loc, _ := time.LoadLocation(os.Getenv("XCHECK_TZ"))
	now := time.Unix(1718446830, 0).In(loc)
	var out strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		s := strings.ReplaceAll(l, "_", " ")
		ts, err := ParseTimestamp(s, now)
		if err != nil {
			out.WriteString("ERR\n")
		} else {
			fmt.Fprintf(&out, "%d\n", ts.Unix())
		}
	}
	os.WriteFile(in+".go", []byte(out.String()), 0o644)
}
