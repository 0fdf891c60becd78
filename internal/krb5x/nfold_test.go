package krb5x

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto/rfc3961"
)

// TestNfoldRFC3961 checks the n-fold test vectors of RFC 3961 appendix
// A.1.
func TestNfoldRFC3961(t *testing.T) {
	for _, v := range []struct {
		bits int
		in   string
		want string
	}{
		{64, "012345", "be072631276b1955"},
		{56, "password", "78a07b6caf85fa"},
		{64, "Rough Consensus, and Running Code", "bb6ed30870b7f0e0"},
		{168, "password", "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"},
		{192, "MASSACHVSETTS INSTITVTE OF TECHNOLOGY", "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"},
		{168, "Q", "518a54a215a8452a518a54a215a8452a518a54a215"},
		{168, "ba", "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"},
		{64, "kerberos", "6b65726265726f73"},
		{128, "kerberos", "6b65726265726f737b9b5b2b93132b93"},
		{168, "kerberos", "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4"},
		{256, "kerberos", "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4"},
	} {
		if got := hex.EncodeToString(nfold([]byte(v.in), v.bits/8)); got != v.want {
			t.Errorf("%d-fold(%q) = %s, want %s", v.bits, v.in, got, v.want)
		}
	}
}

// TestNfoldMatchesBitwise compares with gokrb5's bit-at-a-time n-fold on
// random inputs of every length a key derivation or DES3 string-to-key
// can pass.
func TestNfoldMatchesBitwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		in := make([]byte, 1+rng.IntN(64))
		for j := range in {
			in[j] = byte(rng.Uint32())
		}
		if i%7 == 0 {
			// Runs of 0xff exercise the end-around carry.
			for j := range in {
				in[j] = 0xff
			}
		}
		size := []int{8, 16, 21, 24, 32}[rng.IntN(5)]
		if got, want := nfold(in, size), rfc3961.Nfold(in, size*8); !bytes.Equal(got, want) {
			t.Fatalf("%d-fold(%x) = %x, want %x", size*8, in, got, want)
		}
	}
}

func BenchmarkNfoldUsageConstant(b *testing.B) {
	c := usageConstant(2, 0xAA)
	for b.Loop() {
		nfold(c, 16)
	}
}
