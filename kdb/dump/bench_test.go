package dump

import (
	"bytes"
	"encoding/binary"
	"io"
	"strconv"
	"sync"
	"testing"

	"github.com/krb5prop/krb5prop/kdb"
)

const benchPrincipals = 100_000

// synthPrincipal is a typical user principal as kadmin makes it: aes256
// and aes128 keys under an aes256 master key, and the four tl-data items
// of section 1.4 (KADM_DATA, MOD_PRINC, MKVNO, LAST_PWD_CHANGE).
func synthPrincipal(i int) *kdb.Principal {
	key := func(n int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(i*7 + j*13)
		}
		return b
	}
	modPrinc := append(binary.LittleEndian.AppendUint32(nil, 1735689600), "root/admin@EXAMPLE.ORG\x00"...)
	return &kdb.Principal{
		Name:             kdb.Name{Components: []string{"user" + strconv.Itoa(i)}, Realm: "EXAMPLE.ORG"},
		Attributes:       128,
		MaxLife:          36000,
		MaxRenewableLife: 604800,
		TLData: []kdb.TLData{
			{Type: 3, Contents: []byte{0x12, 0x34, 0x5c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0}},
			{Type: 2, Contents: modPrinc},
			{Type: 8, Contents: []byte{1, 0}},
			{Type: 1, Contents: []byte{0x80, 0x5b, 0x74, 0x67}},
		},
		KeyData: []kdb.KeyData{
			{Version: 1, KVNO: 1, Enctype: 18, Contents: key(62)},
			{Version: 1, KVNO: 1, Enctype: 17, Contents: key(46)},
		},
	}
}

var bench = sync.OnceValues(func() ([]*kdb.Principal, []byte) {
	ps := make([]*kdb.Principal, benchPrincipals)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Version7, nil)
	if err != nil {
		panic(err)
	}
	for i := range ps {
		ps[i] = synthPrincipal(i)
		if err := w.WritePrincipal(ps[i]); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return ps, buf.Bytes()
})

func BenchmarkWrite(b *testing.B) {
	ps, dump := bench()
	b.SetBytes(int64(len(dump)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w, err := NewWriter(io.Discard, Version7, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range ps {
			if err := w.WritePrincipal(p); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPrincipals), "ns/principal")
}

func BenchmarkRead(b *testing.B) {
	_, dump := bench()
	b.SetBytes(int64(len(dump)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(dump), "bench.dump", nil)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchPrincipals {
			b.Fatalf("%d records", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPrincipals), "ns/principal")
}
