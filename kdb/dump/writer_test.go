package dump

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/princname"
	"github.com/krb5prop/krb5prop/kdb"
)

func name(s string) kdb.Name {
	n, err := kdb.ParseName(s, "")
	if err != nil {
		panic(err)
	}
	return n
}

// writeOne writes p or pol (whichever is set) after the header of f and
// returns the record's line.
func writeOne(t *testing.T, f Format, p *kdb.Principal, pol *kdb.Policy) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	ih := &IpropHeader{1, 2, 3}
	w, err := NewWriter(&buf, f, ih)
	if err != nil {
		t.Fatal(err)
	}
	if p != nil {
		err = w.WritePrincipal(p)
	} else {
		err = w.WritePolicy(pol)
	}
	if ferr := w.Flush(); ferr != nil {
		t.Fatal(ferr)
	}
	out := buf.String()
	if !strings.HasPrefix(out, f.Header(ih)) {
		t.Fatalf("output %q lacks the header", out)
	}
	return out[len(f.Header(ih)):], err
}

func TestWritePrincipalLayout(t *testing.T) {
	full := &kdb.Principal{
		Name:             name("a/b@R"),
		Attributes:       0x80000080,
		MaxLife:          -1,
		MaxRenewableLife: 2147483647,
		Expiration:       4294967295,
		PwExpiration:     2147483648,
		LastSuccess:      1,
		LastFailed:       2,
		FailAuthCount:    4294967295,
		TLData: []kdb.TLData{
			{Type: 3, Contents: []byte{0x12, 0x34}},
			{Type: -32768, Contents: nil},
			{Type: 0x7ffe, Contents: []byte{0xAB}},
		},
		KeyData: []kdb.KeyData{
			{Version: 1, KVNO: 1, Enctype: 18, Contents: []byte{1}},
			{Version: 2, KVNO: 65535, Enctype: 17, Contents: []byte{2}, SaltType: 4, Salt: nil},
			{Version: 1, KVNO: 2, Enctype: 18, Contents: []byte{3}, SaltType: 9, Salt: []byte("ignored: version 1")},
			{Version: 0, KVNO: 65535},
			{Version: 2, KVNO: 2, Enctype: -1, Contents: nil, SaltType: 2, Salt: []byte{0xff}},
		},
	}
	orig := full.Clone()
	keys := "2\t65535\t17\t1\t02\t4\t0\t-1\t" + "0\t65535\t" +
		"1\t2\t18\t1\t03\t" + "2\t2\t-1\t0\t-1\t2\t1\tff\t" + "1\t1\t18\t1\t01\t"
	tests := []struct {
		name string
		f    Format
		p    *kdb.Principal
		want string
	}{
		{"v7", Version7, full, "princ\t38\t5\t3\t5\t0\ta/b@R\t-2147483520\t-1\t2147483647\t4294967295\t2147483648\t1\t2\t-1" +
			"\t3\t2\t1234\t-32768\t0\t-1\t32766\t1\tab\t" + keys + "-1;\n"},
		{"v5", Version5, full, "princ\t38\t5\t3\t5\t0\ta/b@R\t-2147483520\t-1\t2147483647\t4294967295\t2147483648\t1\t2\t-1" +
			"\t3\t2\t1234\t-32768\t0\t-1\t32766\t1\tab\t" + keys + "-1;\n"},
		{"b7 drops tl type 3", Version4, full, "princ\t38\t5\t2\t5\t0\ta/b@R\t-2147483520\t-1\t2147483647\t4294967295\t2147483648\t1\t2\t-1" +
			"\t-32768\t0\t-1\t32766\t1\tab\t" + keys + "-1;\n"},
		{"iprop zeroes lockout fields", Iprop, full, "princ\t38\t5\t3\t5\t0\ta/b@R\t-2147483520\t-1\t2147483647\t4294967295\t2147483648\t0\t0\t0" +
			"\t3\t2\t1234\t-32768\t0\t-1\t32766\t1\tab\t" + keys + "-1;\n"},
		{"ipropx", IpropX, full, "princ\t38\t5\t3\t5\t0\ta/b@R\t-2147483520\t-1\t2147483647\t4294967295\t2147483648\t0\t0\t0" +
			"\t3\t2\t1234\t-32768\t0\t-1\t32766\t1\tab\t" + keys + "-1;\n"},
		{"bare", Version7, &kdb.Principal{Name: name("x@")}, "princ\t38\t2\t0\t0\t0\tx@\t0\t0\t0\t0\t0\t0\t0\t0\t-1;\n"},
		{"no keys", Version7, &kdb.Principal{Name: name("x@R"), TLData: []kdb.TLData{{Type: 1, Contents: []byte{1}}}},
			"princ\t38\t3\t1\t0\t0\tx@R\t0\t0\t0\t0\t0\t0\t0\t0\t1\t1\t01\t-1;\n"},
		{"b7 only tl type 3", Version4, &kdb.Principal{Name: name("x@R"), TLData: []kdb.TLData{{Type: 3, Contents: []byte{1}}}},
			"princ\t38\t3\t0\t0\t0\tx@R\t0\t0\t0\t0\t0\t0\t0\t0\t-1;\n"},
		{"quoted name", Version7, &kdb.Principal{Name: kdb.Name{Components: []string{"a/b@c\\d", "t\tn\nb\bz\x00 "}, Realm: "R@/"}},
			"princ\t38\t30\t0\t0\t0\ta\\/b\\@c\\\\d/t\\tn\\nb\\bz\\0 @R\\@\\/\t0\t0\t0\t0\t0\t0\t0\t0\t-1;\n"},
		// MIT would write " lead@R", which its own loader reads as
		// "lead@R\t" (the leading space skipped) [verified].
		{"leading space", Version7, &kdb.Principal{Name: kdb.Name{Components: []string{" lead"}, Realm: "R"}},
			"princ\t38\t8\t0\t0\t0\t\\ lead@R\t0\t0\t0\t0\t0\t0\t0\t0\t-1;\n"},
		{"leading CR", Version7, &kdb.Principal{Name: kdb.Name{Components: []string{"\r"}, Realm: "R"}},
			"princ\t38\t4\t0\t0\t0\t\\\r@R\t0\t0\t0\t0\t0\t0\t0\t0\t-1;\n"},
		{"empty component and realm", Version7, &kdb.Principal{Name: kdb.Name{Components: []string{""}}},
			"princ\t38\t1\t0\t0\t0\t@\t0\t0\t0\t0\t0\t0\t0\t0\t-1;\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := writeOne(t, tt.f, tt.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
			// And the line reads back as the record, as far as the
			// format carries it.
			forced := &tt.f
			if tt.f < Iprop {
				forced = nil
			}
			_, recs, _, err := readAll(t, []byte(tt.f.Header(&IpropHeader{1, 2, 3})+got), forced)
			if err != nil {
				t.Fatal(err)
			}
			want := normalize(tt.f, []Record{{Principal: tt.p}})
			if !equalRecords(recs, want) {
				t.Fatalf("read back %+v\nwant %+v", recs[0].Principal, want[0].Principal)
			}
		})
	}
	if !reflect.DeepEqual(full, orig) {
		t.Fatal("WritePrincipal changed the principal")
	}
}

func TestWritePolicyLayout(t *testing.T) {
	big := &kdb.Policy{
		Name: "big", PwMinLife: 2147483648, PwMaxLife: 4294967295, PwMinLength: 3, PwMinClasses: 4,
		PwHistoryNum: 5, PwMaxFail: 6, PwFailcntInterval: 7, PwLockoutDuration: 2147483649,
		Attributes: 9, MaxLife: 4294967294, MaxRenewableLife: 11,
		AllowedKeysalts: "aes256-cts:normal", TLData: []kdb.TLData{{Type: -1, Contents: nil}, {Type: 300, Contents: []byte{0xde, 0xad}}},
	}
	plain := &kdb.Policy{Name: "p"}
	tests := []struct {
		f    Format
		p    *kdb.Policy
		want string
	}{
		{Version4, big, "policy\tbig\t-2147483648\t-1\t3\t4\t5\t0\n"},
		{Version5, big, "policy\tbig\t-2147483648\t-1\t3\t4\t5\t0\n"},
		{Iprop, big, "policy\tbig\t-2147483648\t-1\t3\t4\t5\t0\n"},
		{Version6, big, "policy\tbig\t-2147483648\t-1\t3\t4\t5\t0\t6\t7\t-2147483647\n"},
		{Version7, big, "policy\tbig\t-2147483648\t-1\t3\t4\t5\t0\t6\t7\t-2147483647\t9\t-2\t11\taes256-cts:normal\t2\t-1\t0\t-1\t300\t2\tdead\n"},
		{IpropX, big, "policy\tbig\t-2147483648\t-1\t3\t4\t5\t0\t6\t7\t-2147483647\t9\t-2\t11\taes256-cts:normal\t2\t-1\t0\t-1\t300\t2\tdead\n"},
		{Version7, plain, "policy\tp\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t-\t0\n"},
	}
	for _, tt := range tests {
		got, err := writeOne(t, tt.f, nil, tt.p)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%v: got\n%q\nwant\n%q", tt.f, got, tt.want)
		}
	}
}

func TestUnrepresentable(t *testing.T) {
	long := strings.Repeat("x", 70000)
	principals := []*kdb.Principal{
		{}, // no component: krb5_parse_name always makes at least one
		{Name: kdb.Name{Components: []string{strings.Repeat("a", 32765)}, Realm: "R"}},
		{Name: kdb.Name{Components: []string{strings.Repeat("/", 17000)}, Realm: "R"}},
		{Name: name("x@R"), TLData: []kdb.TLData{{Type: 1, Contents: []byte(long)}}},
		{Name: name("x@R"), TLData: make([]kdb.TLData, 32768)},
		{Name: name("x@R"), TLData: []kdb.TLData{{Type: 0x7fff, Contents: []byte("a\x00")}}},
		{Name: name("x@R"), KeyData: make([]kdb.KeyData, 32768)},
		{Name: name("x@R"), KeyData: []kdb.KeyData{{Version: 3}}},
		{Name: name("x@R"), KeyData: []kdb.KeyData{{Version: -1}}},
		{Name: name("x@R"), KeyData: []kdb.KeyData{{Version: 1, Contents: []byte(long)}}},
		{Name: name("x@R"), KeyData: []kdb.KeyData{{Version: 2, Salt: []byte(long)}}},
	}
	for i, p := range principals {
		got, err := writeOne(t, Version7, p, nil)
		if !errors.Is(err, ErrUnrepresentable) || got != "" {
			t.Errorf("principal %d: %v, wrote %d bytes", i, err, len(got))
		}
	}
	policies := []*kdb.Policy{
		{Name: ""},
		{Name: "a b"},
		{Name: "a\nb"},
		{Name: "a\x00b"},
		{Name: strings.Repeat("p", 1024)},
		{Name: "p", AllowedKeysalts: "a b"},
		{Name: "p", AllowedKeysalts: "-"},
		{Name: "p", AllowedKeysalts: strings.Repeat("k", 513)},
		{Name: "p", TLData: []kdb.TLData{{Type: 1, Contents: []byte(long)}}},
		{Name: "p", TLData: make([]kdb.TLData, 32768)},
	}
	for i, p := range policies {
		got, err := writeOne(t, Version7, nil, p)
		if !errors.Is(err, ErrUnrepresentable) || got != "" {
			t.Errorf("policy %d: %v, wrote %q", i, err, got)
		}
	}
	// The limits themselves are fine, and the older layouts do not carry
	// allowed_keysalts or tl-data at all.
	if _, err := writeOne(t, Version7, &kdb.Principal{Name: kdb.Name{Components: []string{strings.Repeat("a", 32764)}, Realm: "R"}}, nil); err != nil {
		t.Error(err)
	}
	if _, err := writeOne(t, Version7, nil, &kdb.Policy{Name: strings.Repeat("p", 1023), AllowedKeysalts: strings.Repeat("k", 512)}); err != nil {
		t.Error(err)
	}
	if _, err := writeOne(t, Version6, nil, &kdb.Policy{Name: "p", AllowedKeysalts: "a b", TLData: make([]kdb.TLData, 40000)}); err != nil {
		t.Error(err)
	}
}

func TestNewWriterErrors(t *testing.T) {
	if _, err := NewWriter(&bytes.Buffer{}, Iprop, nil); err == nil {
		t.Error("iprop without a position")
	}
	if _, err := NewWriter(&bytes.Buffer{}, Format(0), nil); err == nil {
		t.Error("format 0")
	}
	boom := errors.New("disk full")
	w, err := NewWriter(errWriter{boom}, Version7, nil)
	if err != nil {
		t.Fatal(err) // buffered: nothing reached the writer yet
	}
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush: %v", err)
	}
	if err := w.WritePrincipal(basePrincipal); !errors.Is(err, boom) {
		t.Fatalf("WritePrincipal after a failure: %v", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// TestUnparseMatchesKDB checks the Writer's name formatting against
// kdb.Name.String, the form the database keys on.
func TestUnparseMatchesKDB(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab/@\\\t\n\b\x00 \r\xff")
	str := func() string {
		b := make([]byte, rng.IntN(6))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 5000 {
		n := kdb.Name{Realm: str()}
		for range rng.IntN(4) {
			n.Components = append(n.Components, str())
		}
		if got := string(appendUnparsed(nil, n)); got != n.String() {
			t.Fatalf("%q: got %q, want %q", n, got, n.String())
		}
		if got := princname.Len(n.Components, n.Realm); got != len(n.String()) {
			t.Fatalf("%q: princname.Len %d, want %d", n, got, len(n.String()))
		}
	}
}
