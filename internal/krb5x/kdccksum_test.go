package krb5x

import (
	"testing"

	"github.com/jcmturner/gokrb5/v8/types"
)

func TestMakeVerifyChecksum(t *testing.T) {
	data := []byte("req-body")
	for _, et := range []int32{EnctypeAES128CTSHMACSHA196, EnctypeAES256CTSHMACSHA196, EnctypeAES128CTSHMACSHA256,
		EnctypeAES256CTSHMACSHA384, EnctypeDES3CBCSHA1, EnctypeARCFOURHMAC} {
		key, err := RandomKey(et)
		if err != nil {
			t.Fatal(err)
		}
		// Type 0 is the enctype's mandatory checksum, as
		// krb5_c_make_checksum chooses it.
		ct, sum, err := MakeChecksum(0, key, 6, data)
		if err != nil || ct != MandatoryCksumType(et) {
			t.Fatalf("%s: type %d, %v", EnctypeName(et), ct, err)
		}
		if !VerifyChecksum(ct, key, 6, sum, data) {
			t.Errorf("%s: checksum does not verify", EnctypeName(et))
		}
		if VerifyChecksum(ct, key, 7, sum, data) || VerifyChecksum(ct, key, 6, sum, []byte("other")) {
			t.Errorf("%s: checksum verifies with another usage or data", EnctypeName(et))
		}
	}
	// A keyed type with a key of another enctype is an error to make and
	// does not verify.
	k17, _ := RandomKey(EnctypeAES128CTSHMACSHA196)
	if _, _, err := MakeChecksum(CksumHMACSHA196AES256, k17, 6, data); err == nil {
		t.Error("aes256 checksum made with an aes128 key")
	}
	if VerifyChecksum(CksumHMACSHA196AES256, k17, 6, make([]byte, 12), data) {
		t.Error("aes256 checksum verified with an aes128 key")
	}
	if VerifyChecksum(CksumHMACSHA196AES128, types.EncryptionKey{KeyType: 17}, 6, nil, data) {
		t.Error("checksum verified with an empty key")
	}
}
