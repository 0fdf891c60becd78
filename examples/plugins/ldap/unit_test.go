package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestEscapeRDNValue(t *testing.T) {
	for in, want := range map[string]string{
		"alice@EXAMPLE.COM":   "alice@EXAMPLE.COM",
		"host/a.b@R":          "host/a.b@R",
		`a,b+c=d"<>;\e`:       `a\2Cb\2Bc\3Dd\22\3C\3E\3B\5Ce`,
		" lead":               `\20lead`,
		"trail ":              `trail\20`,
		"#hash":               `\23hash`,
		"mid #and space":      "mid #and space",
		"nul\x00":             `nul\00`,
		"jürgen":              "jürgen",
		" ":                   `\20`,
		"":                    "",
		"tab\there@EXAMPLE.C": "tab\there@EXAMPLE.C",
	} {
		if got := escapeRDNValue(in); got != want {
			t.Errorf("escapeRDNValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLDIFWriter(t *testing.T) {
	var b bytes.Buffer
	w := newLDIFWriter(&b)
	w.add("cn=a,o=x", []attribute{{"objectClass", []string{"top"}}, {"description", []string{" lead", "jü", "plain"}}, {"absent", nil}})
	w.replace("cn=b,o=x", []attribute{{"sn", []string{"b"}}, {"gone", nil}})
	w.remove("cn=jü,o=x")
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	want := `dn: cn=a,o=x
changetype: add
objectClass: top
description:: IGxlYWQ=
description:: asO8
description: plain

dn: cn=b,o=x
changetype: modify
replace: sn
sn: b
-
replace: gone
-

dn:: Y249asO8LG89eA==
changetype: delete

`
	if b.String() != want {
		t.Errorf("LDIF:\n%s\nwant:\n%s", b.String(), want)
	}
	if w.records != 3 {
		t.Errorf("records = %d, want 3", w.records)
	}
}

func TestReadLDIF(t *testing.T) {
	in := "dn: cn=a,o=x\nkrb5propPrincipalName: a@R\n\n" +
		"dn:: Y249asO8\n LG89eA==\nkrb5propprincipalname:: asO8\n QFI=\n\n" +
		"# pagedresults: cookie=\n"
	var got []ldifRecord
	err := readLDIF(strings.NewReader(in), func(r ldifRecord) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ldifRecord{
		{dn: "cn=a,o=x", attrs: map[string][]string{"krb5propprincipalname": {"a@R"}}},
		{dn: "cn=jü,o=x", attrs: map[string][]string{"krb5propprincipalname": {"jü@R"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records = %+v\nwant %+v", got, want)
	}
}

func TestDeliveryReader(t *testing.T) {
	const hdr = `{"type":"header","version":1,"seq":2,"prev_seq":1,"reinit":false}` + "\n"
	const chg = `{"type":"change","op":"principal_delete","name":"a@R"}` + "\n"
	tests := []struct {
		name, in string
		changes  int
		err      string // "" for success
	}{
		{"empty delivery", hdr + `{"type":"end","changes":0}`, 0, ""},
		{"two changes", hdr + chg + chg + `{"type":"end","changes":2}` + "\n", 2, ""},
		{"no end", hdr + chg, 1, "no end line"},
		{"cut inside a line", hdr + chg + `{"type":"ch`, 1, "inside a line"},
		{"wrong count", hdr + chg + `{"type":"end","changes":2}`, 1, "counts 2"},
		{"end without count", hdr + `{"type":"end"}`, 0, "counts no"},
		{"after the end", hdr + `{"type":"end","changes":0}` + chg, 0, "after its end"},
		{"unknown line", hdr + `{"type":"trailer"}`, 0, `"trailer"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeliveryReader(strings.NewReader(tt.in))
			h, err := d.readHeader()
			if err != nil || h.Seq != 2 || h.PrevSeq != 1 {
				t.Fatalf("header %+v, %v", h, err)
			}
			n := 0
			for {
				_, ok, err := d.readChange()
				if err != nil {
					if tt.err == "" || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("error %v, want one containing %q", err, tt.err)
					}
					break
				}
				if !ok {
					if tt.err != "" {
						t.Fatalf("no error, want one containing %q", tt.err)
					}
					break
				}
				n++
			}
			if n != tt.changes {
				t.Errorf("%d changes, want %d", n, tt.changes)
			}
		})
	}

	for name, in := range map[string]string{
		"no header":     chg,
		"version 2":     `{"type":"header","version":2}`,
		"empty":         "",
		"not JSON":      "header\n",
		"header is cut": `{"type":"header","vers`,
	} {
		if _, err := newDeliveryReader(strings.NewReader(in)).readHeader(); err == nil {
			t.Errorf("%s: readHeader succeeded", name)
		}
	}
}

// TestDeliveryReaderHidesKeys: a malformed line is reported by offset,
// never by content, so a key in it does not reach the log.
func TestDeliveryReaderHidesKeys(t *testing.T) {
	in := `{"type":"header","version":1,"seq":1,"prev_seq":0,"reinit":true}` + "\n" +
		`{"type":"change","op":"principal_add","principal":{"name":"a@R","keys":[{"kvno":1,"key":"5ec12e7aa"}],"kvno":"5ec12e7bb"}}` + "\n"
	d := newDeliveryReader(strings.NewReader(in))
	if _, err := d.readHeader(); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.readChange()
	if err == nil || strings.Contains(err.Error(), keyMark) {
		t.Errorf("error %v: want one without the line's content", err)
	}
}

func TestSeqFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq")
	if seq, known, err := readSeq(path); seq != 0 || !known || err != nil {
		t.Errorf("missing file: %d %v %v, want 0 true nil", seq, known, err)
	}
	if err := writeSeq(path, 42); err != nil {
		t.Fatal(err)
	}
	if seq, known, err := readSeq(path); seq != 42 || !known || err != nil {
		t.Errorf("after writeSeq(42): %d %v %v", seq, known, err)
	}
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, known, err := readSeq(path); known || err != nil {
		t.Errorf("garbage: known %v, err %v; want unknown, no error", known, err)
	}
	if err := removeSeq(path); err != nil {
		t.Fatal(err)
	}
	if err := removeSeq(path); err != nil {
		t.Errorf("removing a missing seq file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("left behind %v", entries)
	}
}

func TestGeneralizedTime(t *testing.T) {
	for in, want := range map[string]string{
		"2027-01-01T00:00:00Z":      "20270101000000Z",
		"2026-10-01T12:00:00+02:00": "20261001100000Z",
		"2026-10-01T00:30:00-01:00": "20261001013000Z",
	} {
		got, err := generalizedTime(&in)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("generalizedTime(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if got, err := generalizedTime(nil); got != nil || err != nil {
		t.Errorf("generalizedTime(nil) = %v, %v", got, err)
	}
	bad := "yesterday"
	if _, err := generalizedTime(&bad); err == nil {
		t.Error("generalizedTime(yesterday): no error")
	}
}
