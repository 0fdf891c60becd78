package dump

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// TestScanPaths checks that the buffered fast paths read what the
// byte-at-a-time emulation of scanf reads, by feeding the same input once
// whole and once one byte per Read (which leaves the fast paths nothing to
// work on).
func TestScanPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"0", "1", "9", "5", "-", "+", " ", "\t", "\n", "x", "a", "F", "0x", "99999999999"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		b.WriteString(" ;")
		in := b.String()
		whole := newInput(strings.NewReader(in))
		slow := newInput(iotest.OneByteReader(strings.NewReader(in)))
		for step := 0; ; step++ {
			var v1, v2 uint64
			var c1, c2 conv
			switch step % 4 {
			case 0:
				v1, c1 = whole.scanInt(10, 0, true)
				v2, c2 = slow.scanInt(10, 0, true)
			case 1:
				v1, c1 = whole.scanInt(10, 0, false)
				v2, c2 = slow.scanInt(10, 0, false)
			case 2:
				b1, ok1 := whole.readHex(nil, 3)
				b2, ok2 := slow.readHex(nil, 3)
				if !bytes.Equal(b1, b2) || ok1 != ok2 {
					t.Fatalf("%q step %d: hex %x %v vs %x %v", in, step, b1, ok1, b2, ok2)
				}
				c1, c2 = conv(boolInt(!ok1)), conv(boolInt(!ok2))
			case 3:
				t1, d1 := whole.scanString(nil, 3)
				t2, d2 := slow.scanString(nil, 3)
				if string(t1) != string(t2) {
					t.Fatalf("%q step %d: %q vs %q", in, step, t1, t2)
				}
				c1, c2 = d1, d2
			}
			if v1 != v2 || c1 != c2 {
				t.Fatalf("%q step %d: %d,%d vs %d,%d", in, step, v1, c1, v2, c2)
			}
			if c1 != convOK {
				break
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestScanIntValues pins the strtol/strtoul results MIT's loader gets
// [verified with kdb5_util 1.20.1 where noted in TestLenientInput].
func TestScanIntValues(t *testing.T) {
	tests := []struct {
		in     string
		signed bool
		want   uint64
		c      conv
	}{
		{"42 ", true, 42, convOK},
		{"-1 ", true, 1<<64 - 1, convOK},
		{"-1 ", false, 1<<64 - 1, convOK},
		{"99999999999999999999 ", true, 1<<63 - 1, convOK},
		{"-99999999999999999999 ", true, 1 << 63, convOK},
		{"99999999999999999999 ", false, 1<<64 - 1, convOK},
		{"-99999999999999999999 ", false, 1<<64 - 1, convOK},
		{"18446744073709551615 ", false, 1<<64 - 1, convOK},
		{"9223372036854775808 ", true, 1<<63 - 1, convOK},
		{"-9223372036854775808 ", true, 1 << 63, convOK},
		{"0x10", true, 0, convOK},
		{"+", true, 0, convFail},
		{"-x", true, 0, convFail},
		{"x", true, 0, convFail},
		{"   ", true, 0, convEOF},
		{"", false, 0, convEOF},
	}
	for _, tt := range tests {
		for _, r := range []func(string) *input{
			func(s string) *input { return newInput(strings.NewReader(s)) },
			func(s string) *input { return newInput(iotest.OneByteReader(strings.NewReader(s))) },
		} {
			v, c := r(tt.in).scanInt(10, 0, tt.signed)
			if v != tt.want || c != tt.c {
				t.Errorf("%q signed=%v: %d %d, want %d %d", tt.in, tt.signed, v, c, tt.want, tt.c)
			}
		}
	}
}
