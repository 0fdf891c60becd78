package ldif

import "testing"

func TestLine(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"", "cn: \n"},
		{"alice@EXAMPLE.COM", "cn: alice@EXAMPLE.COM\n"},
		{" lead", "cn:: IGxlYWQ=\n"},
		{"trail ", "cn:: dHJhaWwg\n"},
		{":colon", "cn:: OmNvbG9u\n"},
		{"<url", "cn:: PHVybA==\n"},
		{"two\nlines", "cn:: dHdvCmxpbmVz\n"},
		{"caf\u00e9", "cn:: Y2Fmw6k=\n"},
	} {
		if got := Line("cn", tc.value); got != tc.want {
			t.Errorf("Line(cn, %q) = %q, want %q", tc.value, got, tc.want)
		}
	}
}
