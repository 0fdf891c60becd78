package krb5x

import (
	"crypto/des"
	"crypto/rand"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	gokrbcrypto "github.com/jcmturner/gokrb5/v8/crypto"
	gokrbetype "github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/crypto/md4"
)

// des3SeedSize is the random input length of DES3 random-to-key (three
// 56-bit keys), MIT's krb5int_enc_des3 keybytes.
const des3SeedSize = 21

// RandomKey makes a new random key of etype, as krb5_c_make_random_key:
// random bytes of the enctype's key length, or for DES3 21 random bytes
// expanded with parity. It does not use gokrb5's key generation, which
// makes 24-byte keys for aes256-cts-hmac-sha384-192.
func RandomKey(etype int32) (types.EncryptionKey, error) {
	return randomKey(rand.Reader, etype)
}

func randomKey(random io.Reader, etype int32) (types.EncryptionKey, error) {
	n := KeySize(etype)
	if etype == EnctypeDES3CBCSHA1 {
		n = des3SeedSize
	}
	if n == 0 || etype == EnctypeDES3CBCRaw {
		return types.EncryptionKey{}, fmt.Errorf("%w: %s", ErrUnsupportedEnctype, EnctypeName(etype))
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(random, b); err != nil {
		return types.EncryptionKey{}, fmt.Errorf("random key: %w", err)
	}
	if etype == EnctypeDES3CBCSHA1 {
		b = des3RandomToKey(b)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: b}, nil
}

// des3RandomToKey is MIT's k5_rand2key_des3 (RFC 3961 §6.3.1): each 7
// bytes become an 8-byte DES key whose eighth byte collects their low
// bits, then every byte gets odd parity. Unlike gokrb5, MIT does not
// alter weak keys here, so neither do we.
func des3RandomToKey(seed []byte) []byte {
	key := make([]byte, 24)
	for i := 0; i < 3; i++ {
		k := key[i*8 : i*8+8]
		copy(k, seed[i*7:i*7+7])
		var b7 byte
		for j := 0; j < 7; j++ {
			b7 |= (k[j] & 1) << (j + 1)
		}
		k[7] = b7
		for j := range k {
			k[j] = oddParity(k[j])
		}
	}
	return key
}

// oddParity sets the low bit of b so that b has an odd number of one bits.
func oddParity(b byte) byte {
	b &^= 1
	ones := 0
	for x := b; x != 0; x &= x - 1 {
		ones++
	}
	if ones%2 == 0 {
		b |= 1
	}
	return b
}

// StringToKey derives a key from a password and salt with MIT's default
// string-to-key parameters: PBKDF2 with 4096 iterations for
// aes*-cts-hmac-sha1-96 (RFC 3962), 32768 for aes*-sha2 (RFC 8009, MIT's
// s2k_pbkdf2.c default), n-fold plus DK for DES3, and MD4 of the UTF-16LE
// password for RC4. salt is the salt string itself (for the normal salt,
// the realm followed by the name components).
func StringToKey(etype int32, password, salt string) (types.EncryptionKey, error) {
	var key []byte
	var err error
	switch etype {
	case EnctypeAES128CTSHMACSHA196, EnctypeAES256CTSHMACSHA196:
		key, err = gokrbStringToKey(etype, password, salt, "00001000")
	case EnctypeAES128CTSHMACSHA256, EnctypeAES256CTSHMACSHA384:
		key, err = gokrbStringToKey(etype, password, salt, "00008000")
	case EnctypeDES3CBCSHA1:
		key, err = des3StringToKey(password, salt)
	case EnctypeARCFOURHMAC:
		key, err = rc4StringToKey(password)
	default:
		return types.EncryptionKey{}, fmt.Errorf("string-to-key for %s: %w", EnctypeName(etype), ErrUnsupportedEnctype)
	}
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("string-to-key for %s: %w", EnctypeName(etype), err)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: key}, nil
}

func gokrbEtype(etype int32) (gokrbetype.EType, error) {
	e, err := gokrbcrypto.GetEtype(etype)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedEnctype, EnctypeName(etype))
	}
	return e, nil
}

func gokrbStringToKey(etype int32, password, salt, params string) ([]byte, error) {
	e, err := gokrbEtype(etype)
	if err != nil {
		return nil, err
	}
	return e.StringToKey(password, salt, params)
}

// des3StringToKey is MIT's krb5int_dk_string_to_key: random-to-key of the
// 168-bit n-fold of password||salt, then DK(that, "kerberos"). It is ours
// rather than gokrb5's so that random-to-key matches MIT for weak keys.
func des3StringToKey(password, salt string) ([]byte, error) {
	tkey := des3RandomToKey(nfold([]byte(password+salt), des3SeedSize))
	return dk(des.NewTripleDESCipher, tkey, []byte("kerberos"), des3RandomToKey)
}

// rc4StringToKey is RFC 4757 §2: MD4 of the password in UTF-16LE. gokrb5
// mis-encodes any non-ASCII password; MIT rejects invalid UTF-8.
func rc4StringToKey(password string) ([]byte, error) {
	if !utf8.ValidString(password) {
		return nil, fmt.Errorf("password is not valid UTF-8")
	}
	u := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(u))
	for i, v := range u {
		b[2*i], b[2*i+1] = byte(v), byte(v>>8)
	}
	h := md4.New()
	h.Write(b)
	return h.Sum(nil), nil
}
