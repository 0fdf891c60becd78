package krb5x

import (
	"crypto/hmac"

	"github.com/jcmturner/gokrb5/v8/types"
)

// MakeChecksum computes a keyed checksum of data as MIT's
// krb5_k_make_checksum: cksumtype 0 means the mandatory checksum of the
// key's enctype (MandatoryCksumType), as krb5_c_make_checksum chooses it.
// The KDC uses it for the PA-REQ-ENC-PA-REP checksum over an AS-REQ (RFC
// 6806). A type that needs another kind of key, or that this package
// cannot compute, is an error.
func MakeChecksum(cksumtype int32, key types.EncryptionKey, usage uint32, data []byte) (int32, []byte, error) {
	if cksumtype == 0 {
		cksumtype = MandatoryCksumType(key.KeyType)
	}
	sum, err := makeChecksum(cksumtype, key, usage, data)
	return cksumtype, sum, err
}

// VerifyChecksum reports whether sum is the keyed checksum of data, as
// krb5_c_verify_checksum: the KDC checks a TGS-REQ authenticator's
// checksum over the request body with it. A checksum this package cannot
// compute for the key does not verify.
func VerifyChecksum(cksumtype int32, key types.EncryptionKey, usage uint32, sum, data []byte) bool {
	want, err := makeChecksum(cksumtype, key, usage, data)
	return err == nil && hmac.Equal(want, sum)
}
