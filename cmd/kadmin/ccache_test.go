package main

import (
	"encoding/binary"
	"testing"
)

func ccacheBytes(version byte, realm string, comps ...string) []byte {
	b := []byte{5, version}
	if version == 4 {
		b = append(b, 0, 12, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(comps)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(realm)))
	b = append(b, realm...)
	for _, c := range comps {
		b = binary.BigEndian.AppendUint32(b, uint32(len(c)))
		b = append(b, c...)
	}
	return b
}

func TestParseCCachePrincipal(t *testing.T) {
	n, err := parseCCachePrincipal(ccacheBytes(4, "EXAMPLE.TEST", "jdoe", "x"))
	if err != nil || n.String() != "jdoe/x@EXAMPLE.TEST" {
		t.Errorf("v4: %s, %v", n, err)
	}
	n, err = parseCCachePrincipal(ccacheBytes(3, "R", "a@b"))
	if err != nil || n.String() != `a\@b@R` {
		t.Errorf("v3: %s, %v", n, err)
	}
	for _, bad := range [][]byte{nil, {5}, {4, 4}, {5, 9}, ccacheBytes(4, "R", "x")[:20]} {
		if _, err := parseCCachePrincipal(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}

func FuzzParseCCachePrincipal(f *testing.F) {
	f.Add(ccacheBytes(4, "EXAMPLE.TEST", "jdoe"))
	f.Add(ccacheBytes(3, "R", "a", "b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseCCachePrincipal(b)
	})
}
