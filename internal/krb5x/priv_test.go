package krb5x

import (
	"testing"
)

// benchPriv runs f for a 32 KiB dump block (KPROP_BUFSIZ, spec §3.3)
// with a fresh key of each enctype kprop sessions use.
func benchPriv(b *testing.B, f func(b *testing.B, s *PrivStream, m PrivMessage)) {
	for _, etype := range []int32{EnctypeAES256CTSHMACSHA196, EnctypeAES256CTSHMACSHA384} {
		b.Run(EnctypeName(etype), func(b *testing.B) {
			key, err := RandomKey(etype)
			if err != nil {
				b.Fatal(err)
			}
			s, err := NewPrivStream(key)
			if err != nil {
				b.Fatal(err)
			}
			m := PrivMessage{UserData: make([]byte, 32768), Seq: 77053947, SAddr: loopback}
			b.SetBytes(int64(len(m.UserData)))
			b.ReportAllocs()
			f(b, s, m)
		})
	}
}

// BenchmarkPrivSeal32K is kprop's data path: one KRB-PRIV per block, the
// cipher state chaining from block to block.
func BenchmarkPrivSeal32K(b *testing.B) {
	benchPriv(b, func(b *testing.B, s *PrivStream, m PrivMessage) {
		for i := 0; i < b.N; i++ {
			if _, err := s.Seal(m); err != nil {
				b.Fatal(err)
			}
			m.Seq++
		}
	})
}

// BenchmarkPrivAppendSeal32K is Seal into a reused buffer.
func BenchmarkPrivAppendSeal32K(b *testing.B) {
	benchPriv(b, func(b *testing.B, s *PrivStream, m PrivMessage) {
		var buf []byte
		for i := 0; i < b.N; i++ {
			var err error
			if buf, err = s.AppendSeal(buf[:0], m); err != nil {
				b.Fatal(err)
			}
			m.Seq++
		}
	})
}

// BenchmarkPrivOpen32K is kpropd's data path. Every iteration opens the
// same message from the same state.
func BenchmarkPrivOpen32K(b *testing.B) {
	benchPriv(b, func(b *testing.B, s *PrivStream, m PrivMessage) {
		start := append([]byte(nil), s.state...)
		der, err := s.Seal(m)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.state = start
			if _, err := s.Open(der); err != nil {
				b.Fatal(err)
			}
		}
	})
}
