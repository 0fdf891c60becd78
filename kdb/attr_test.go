package kdb

import (
	"strings"
	"testing"
)

func TestApplyFlagSpec(t *testing.T) {
	tests := []struct {
		flags uint32
		spec  string
		want  uint32
	}{
		{0, "+requires_preauth", 0x80},
		{0x80, "-requires_preauth", 0},
		{0x80, "requires_preauth", 0x80},
		{0x40, "+allow_tix", 0},
		{0, "-allow_tix", 0x40},
		{0, "allow_tix", 0},
		{0xff, "-0x0f", 0xf0},
		{0, "+Ok-As-Delegate", 0x100000},
	}
	for _, tt := range tests {
		if got, err := ApplyFlagSpec(tt.flags, tt.spec); err != nil || got != tt.want {
			t.Errorf("ApplyFlagSpec(%#x, %q) = %#x, %v; want %#x", tt.flags, tt.spec, got, err, tt.want)
		}
	}
	if got, err := ApplyFlagSpec(0x80, "+nonsense"); err == nil || got != 0x80 {
		t.Errorf("ApplyFlagSpec(nonsense) = %#x, %v; want unchanged and an error", got, err)
	}
}

func TestApplyFlagSpecRejectsMalformedHex(t *testing.T) {
	for _, spec := range []string{"0x12zz", "0x100000000", "0x"} {
		if _, err := ApplyFlagSpec(0, spec); err == nil {
			t.Errorf("ApplyFlagSpec(%q) accepted", spec)
		}
	}
}

func TestAttrStrings(t *testing.T) {
	got := strings.Join(AttrStrings(0x800040|0x80|0x400), " ")
	if want := "DISALLOW_ALL_TIX REQUIRES_PRE_AUTH 0x00000400 LOCKDOWN_KEYS"; got != want {
		t.Errorf("AttrStrings = %q, want %q", got, want)
	}
}
