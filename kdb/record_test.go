package kdb

import (
	"reflect"
	"testing"
)

// FuzzDecodePrincipal feeds arbitrary bytes to the record decoder: it must
// fail cleanly or return a record that encodes back to the same bytes.
func FuzzDecodePrincipal(f *testing.F) {
	n, _ := ParseName("alice", "EXAMPLE.TEST")
	p := &Principal{Name: n, Attributes: 0x80, MaxLife: 36000}
	p.SetLastPwdChange(1)
	p.KeyData = []KeyData{{Version: 2, KVNO: 3, Enctype: 18, Contents: []byte{1, 2}, SaltType: 4, Salt: []byte("s")}}
	f.Add(encodePrincipal(p))
	f.Add(encodePrincipal(&Principal{Name: n}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodePrincipal("alice@EXAMPLE.TEST", b)
		if err != nil {
			return
		}
		again, err := decodePrincipal("alice@EXAMPLE.TEST", encodePrincipal(got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoding changed the record: %v", err)
		}
	})
}
