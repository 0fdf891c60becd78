package propagation

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSizeCodec(t *testing.T) {
	tests := []struct {
		size uint64
		hex  string
	}{
		{0, "000000000000000000000000"},
		{1, "00000001"},
		{67319, "000106f7"}, // the size in the captured MIT session (spec §3.2)
		{0xfffffffe, "fffffffe"},
		{0xffffffff, "ffffffff"},
		{0x100000000, "000000000000000100000000"},
		{0x100000001, "000000000000000100000001"},
		{1<<63 - 1, "000000007fffffffffffffff"},
		{1<<64 - 1, "00000000ffffffffffffffff"},
	}
	for _, tt := range tests {
		got := hex.EncodeToString(AppendSize(nil, tt.size))
		if got != tt.hex {
			t.Errorf("AppendSize(%d) = %s, want %s", tt.size, got, tt.hex)
		}
		b, _ := hex.DecodeString(tt.hex)
		v, err := DecodeSize(b)
		if err != nil || v != tt.size {
			t.Errorf("DecodeSize(%s) = %d, %v; want %d", tt.hex, v, err, tt.size)
		}
	}
}

func TestDecodeSizeRejects(t *testing.T) {
	for _, h := range []string{
		"",
		"00",
		"000000",
		"0000000001",                 // 5 bytes
		"00000000000000000000000000", // 13 bytes
		"000000000000000000000001",   // 1 in the 12-byte form
		"0000000000000000ffffffff",   // 2^32-1 in the 12-byte form
		"000000010000000000000000",   // non-zero high word
		"800000000000000100000000",
		"0000000000000000000000", // 11 bytes
	} {
		b, _ := hex.DecodeString(h)
		if v, err := DecodeSize(b); !errors.Is(err, ErrMalformedSize) {
			t.Errorf("DecodeSize(%q) = %d, %v; want ErrMalformedSize", h, v, err)
		}
	}
	// The 4-byte form of 0 is not what kprop sends, but MIT accepts it.
	if v, err := DecodeSize([]byte{0, 0, 0, 0}); err != nil || v != 0 {
		t.Errorf("4-byte zero: %d, %v", v, err)
	}
}

func FuzzSize(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1})
	f.Add(make([]byte, 12))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeSize(b)
		if err != nil {
			return
		}
		// Every accepted encoding other than the 4-byte zero is canonical.
		if got := AppendSize(nil, v); !bytes.Equal(got, b) && !(len(b) == 4 && v == 0) {
			t.Fatalf("DecodeSize(%x) = %d, which encodes as %x", b, v, got)
		}
	})
}
