package kdb

import (
	"errors"
	"testing"
)

func TestParseName(t *testing.T) {
	cases := []struct {
		in    string
		comps []string
		realm string
		out   string
	}{
		{"alice", []string{"alice"}, "R", "alice@R"},
		{"host/a.example.com@EXAMPLE.COM", []string{"host", "a.example.com"}, "EXAMPLE.COM", "host/a.example.com@EXAMPLE.COM"},
		{`odd\@x/y@FIXTURE.TEST`, []string{"odd@x", "y"}, "FIXTURE.TEST", `odd\@x/y@FIXTURE.TEST`},
		{`a\/b\\c\t\n\b\0@R`, []string{"a/b\\c\t\n\b\x00"}, "R", `a\/b\\c\t\n\b\0@R`},
		{`\q@R`, []string{"q"}, "R", "q@R"},
		{"a//b@", []string{"a", "", "b"}, "", "a//b@"},
		{"user@REALM/WITH", nil, "", ""},
	}
	for _, c := range cases {
		n, err := ParseName(c.in, "R")
		if c.comps == nil {
			if !errors.Is(err, ErrMalformedName) {
				t.Errorf("ParseName(%q) = %v, want malformed", c.in, err)
			}
			continue
		}
		if err != nil || !n.Equal(Name{c.comps, c.realm}) || n.String() != c.out {
			t.Errorf("ParseName(%q) = %q %q (%v), String %q", c.in, n.Components, n.Realm, err, n.String())
		}
	}
	for _, bad := range []string{`trailing\`, "a@b@c", "a@b/c"} {
		if _, err := ParseName(bad, "R"); !errors.Is(err, ErrMalformedName) {
			t.Errorf("ParseName(%q) = %v, want malformed", bad, err)
		}
	}
}

// FuzzParseName checks that any input either fails cleanly or parses to a
// name whose unparsed form parses back to the same name.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"alice", "host/a@R", `odd\@x/y@R`, `\0\t\n\b\\`, "a@", "@", "/", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s, "DEF")
		if err != nil {
			return
		}
		again, err := ParseName(n.String(), "OTHER")
		if err != nil || !again.Equal(n) {
			t.Fatalf("%q -> %q -> %+v (%v)", s, n.String(), again, err)
		}
	})
}
