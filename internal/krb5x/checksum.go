package krb5x

import (
	"crypto/aes"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto/rfc8009"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/memo"
)

// Checksum types (RFC 3961 §8 registry) MIT 1.20 knows
// (src/lib/crypto/krb/cksumtypes.c).
const (
	CksumRSAMD4           int32 = 2
	CksumRSAMD5           int32 = 7
	CksumNISTSHA          int32 = 9
	CksumHMACSHA1DES3     int32 = 12
	CksumSHA1             int32 = 14
	CksumHMACSHA196AES128 int32 = 15
	CksumHMACSHA196AES256 int32 = 16
	CksumCMACCamellia128  int32 = 17
	CksumCMACCamellia256  int32 = 18
	CksumHMACSHA256AES128 int32 = 19
	CksumHMACSHA384AES256 int32 = 20
	CksumMD5HMACARCFOUR   int32 = -137
	CksumHMACMD5ARCFOUR   int32 = -138
	keyUsageKRBSafeCksum        = 15
)

// cksumKnown reports whether MIT 1.20 has cksumtype in its table
// (krb5_c_valid_cksumtype); an unknown type in a KRB-SAFE is
// KRB5_PROG_SUMTYPE_NOSUPP.
func cksumKnown(t int32) bool {
	switch t {
	case CksumRSAMD4, CksumRSAMD5, CksumNISTSHA, CksumHMACSHA1DES3, CksumSHA1,
		CksumHMACSHA196AES128, CksumHMACSHA196AES256, CksumCMACCamellia128, CksumCMACCamellia256,
		CksumHMACSHA256AES128, CksumHMACSHA384AES256, CksumMD5HMACARCFOUR, CksumHMACMD5ARCFOUR:
		return true
	}
	return false
}

// cksumKeyed reports whether a known checksum type is keyed; in MIT 1.20
// every keyed type is also collision-proof, and only those are acceptable
// in a KRB-SAFE (else KRB5KRB_AP_ERR_INAPP_CKSUM).
func cksumKeyed(t int32) bool {
	switch t {
	case CksumRSAMD4, CksumRSAMD5, CksumNISTSHA, CksumSHA1:
		return false
	}
	return cksumKnown(t)
}

// MandatoryCksumType is the keyed checksum RFC 3961 makes mandatory for
// etype, which MIT's krb5_mk_safe uses when the auth context names none
// (krb5int_c_mandatory_cksumtype), or 0 when unknown.
func MandatoryCksumType(etype int32) int32 {
	switch etype {
	case EnctypeDES3CBCSHA1:
		return CksumHMACSHA1DES3
	case EnctypeAES128CTSHMACSHA196:
		return CksumHMACSHA196AES128
	case EnctypeAES256CTSHMACSHA196:
		return CksumHMACSHA196AES256
	case EnctypeAES128CTSHMACSHA256:
		return CksumHMACSHA256AES128
	case EnctypeAES256CTSHMACSHA384:
		return CksumHMACSHA384AES256
	case EnctypeARCFOURHMAC, EnctypeARCFOURHMACExp:
		return CksumHMACMD5ARCFOUR
	case EnctypeCamellia128CTSCMAC:
		return CksumCMACCamellia128
	case EnctypeCamellia256CTSCMAC:
		return CksumCMACCamellia256
	}
	return 0
}

// makeChecksum computes a keyed checksum of data with key and usage, as
// MIT's krb5_k_make_checksum. The key must suit the checksum type (MIT's
// verify_key: the DK and RFC 8009 types need a key of their own cipher;
// hmac-md5-rc4 takes any key of at most 64 bytes).
func makeChecksum(cksumtype int32, key types.EncryptionKey, usage uint32, data ...[]byte) ([]byte, error) {
	badKey := fmt.Errorf("%w: checksum type %d with a %s key", ErrUnsupportedEnctype, cksumtype, EnctypeName(key.KeyType))
	if len(key.KeyValue) != KeySize(key.KeyType) {
		return nil, badKey
	}
	switch cksumtype {
	case CksumHMACSHA1DES3:
		if key.KeyType != EnctypeDES3CBCSHA1 {
			return nil, badKey
		}
		kc, err := checksumKey(cksumtype, usage, key.KeyValue, func() ([]byte, error) {
			return dk(des.NewTripleDESCipher, key.KeyValue, usageConstant(usage, 0x99), des3RandomToKey)
		})
		if err != nil {
			return nil, err
		}
		return hmacSum(sha1.New, kc, data...), nil
	case CksumHMACSHA196AES128, CksumHMACSHA196AES256:
		want := EnctypeAES128CTSHMACSHA196
		if cksumtype == CksumHMACSHA196AES256 {
			want = EnctypeAES256CTSHMACSHA196
		}
		if key.KeyType != want {
			return nil, badKey
		}
		kc, err := checksumKey(cksumtype, usage, key.KeyValue, func() ([]byte, error) {
			return dk(aes.NewCipher, key.KeyValue, usageConstant(usage, 0x99), nil)
		})
		if err != nil {
			return nil, err
		}
		return hmacSum(sha1.New, kc, data...)[:12], nil
	case CksumHMACSHA256AES128, CksumHMACSHA384AES256:
		// RFC 8009 §5: Kc = KDF-HMAC-SHA2(base, usage | 0x99, k) with
		// k the checksum length in bits; the checksum is the HMAC
		// truncated to k.
		want, kbits, h := EnctypeAES128CTSHMACSHA256, 128, sha256.New
		if cksumtype == CksumHMACSHA384AES256 {
			want, kbits, h = EnctypeAES256CTSHMACSHA384, 192, sha512.New384
		}
		if key.KeyType != want {
			return nil, badKey
		}
		e, err := gokrbEtype(want)
		if err != nil {
			return nil, err
		}
		kc, _ := checksumKey(cksumtype, usage, key.KeyValue, func() ([]byte, error) {
			return rfc8009.KDF_HMAC_SHA2(key.KeyValue, usageConstant(usage, 0x99), nil, kbits, e), nil
		})
		return hmacSum(h, kc, data...)[:kbits/8], nil
	case CksumHMACMD5ARCFOUR, CksumMD5HMACARCFOUR:
		// RFC 4757 §4: HMAC-MD5(Ksign, MD5(usage LE32 | data)), Ksign =
		// HMAC-MD5(key, "signaturekey\0"); MIT's md5-hmac variant uses
		// the key itself and needs an RC4 key.
		if len(key.KeyValue) > 64 {
			return nil, badKey
		}
		ks := key.KeyValue
		if cksumtype == CksumHMACMD5ARCFOUR {
			ks = hmacSum(md5.New, key.KeyValue, []byte("signaturekey\x00"))
		} else if key.KeyType != EnctypeARCFOURHMAC && key.KeyType != EnctypeARCFOURHMACExp {
			return nil, badKey
		}
		var t [4]byte
		binary.LittleEndian.PutUint32(t[:], rc4ChecksumUsage(usage))
		m := md5.New()
		m.Write(t[:])
		for _, d := range data {
			m.Write(d)
		}
		return hmacSum(md5.New, ks, m.Sum(nil)), nil
	}
	return nil, fmt.Errorf("%w: checksum type %d", ErrUnsupportedEnctype, cksumtype)
}

// checksumKeys keeps derived checksum keys (Kc), as ciphers keeps
// Ciphers: a KDC checks every TGS request's checksum with its TGT's
// session key, which a client uses for hours.
var checksumKeys = memo.New[[]byte](1024)

// checksumKey returns the checksum key of type cksumtype for usage and
// base, deriving it with derive when it is not kept.
func checksumKey(cksumtype int32, usage uint32, base []byte, derive func() ([]byte, error)) ([]byte, error) {
	id := derivationID(cksumtype, usage, base)
	if kc, ok := checksumKeys.Get(id); ok {
		return kc, nil
	}
	kc, err := derive()
	if err != nil {
		return nil, err
	}
	checksumKeys.Put(id, kc)
	return kc, nil
}

// rc4ChecksumUsage is MIT's krb5int_arcfour_translate_usage.
func rc4ChecksumUsage(usage uint32) uint32 {
	switch usage {
	case 3:
		return 8
	case 23:
		return 13
	}
	return usage
}

// verifyChecksum reports whether sum is the checksum of data. Any failure
// to compute it (a key that does not suit the type, a wrong length) is a
// mismatch: MIT's krb5_rd_safe reads its uninitialised "valid" flag in
// that case and in practice reports the message as modified.
func verifyChecksum(cksumtype int32, key types.EncryptionKey, usage uint32, sum []byte, data ...[]byte) bool {
	want, err := makeChecksum(cksumtype, key, usage, data...)
	return err == nil && hmac.Equal(want, sum)
}
