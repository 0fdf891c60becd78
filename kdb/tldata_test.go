package kdb

import (
	"reflect"
	"testing"
)

func TestStringAttrsStopAtMissingNUL(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []StringAttr
	}{
		{"k\x00v\x00", []StringAttr{{"k", "v"}}},
		{"k\x00v", nil},
		{"k\x00v\x00k2\x00", []StringAttr{{"k", "v"}}},
		{"a\x00\x00b\x00c\x00", []StringAttr{{"a", ""}, {"b", "c"}}},
	} {
		p := &Principal{TLData: []TLData{{TLStringAttrs, []byte(c.raw)}}}
		if got := p.StringAttrs(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q, want %q", c.raw, got, c.want)
		}
	}
}
