package krb5x

import "testing"

// TestParseFlags checks decode_krb5_flags's rules, which gokrb5 gets
// wrong for strings shorter than four octets.
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		der  []byte
		want uint32
		bad  bool
	}{
		{"four octets", []byte{0x03, 0x05, 0x00, 0x40, 0x81, 0x00, 0x10}, 0x40810010, false},
		{"short string leaves the low bits zero", []byte{0x03, 0x02, 0x00, 0x50}, 0x50000000, false},
		{"unused bits of the last octet cleared", []byte{0x03, 0x03, 0x04, 0x40, 0xff}, 0x40f00000, false},
		{"one octet is kept whole", []byte{0x03, 0x02, 0x04, 0xff}, 0xff000000, false},
		{"octets past four ignored", []byte{0x03, 0x06, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05}, 0x01020304, false},
		{"no content", []byte{0x03, 0x00}, 0, true},
		{"more than 7 unused bits", []byte{0x03, 0x02, 0x08, 0x00}, 0, true},
		{"not a bit string", []byte{0x04, 0x01, 0x00}, 0, true},
	} {
		got, err := ParseFlags(tc.der)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("%s: %#08x, %v; want %#08x (error %v)", tc.name, got, err, tc.want, tc.bad)
		}
	}
}
