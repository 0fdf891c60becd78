package krb5x

import "github.com/krb5prop/krb5prop/internal/asn1der"

// EncryptedData is RFC 4120's EncryptedData ::= SEQUENCE { etype [0]
// Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }, with KVNO 0
// when absent.
type EncryptedData struct {
	EType  int32
	KVNO   uint32
	Cipher []byte
}

// ParseEncryptedData decodes an EncryptedData TLV filling b; Cipher
// aliases b. MIT decodes kvno as a signed 32-bit value but accepts the
// unsigned encoding Windows RODCs send for large ones, so both signs are
// accepted.
func ParseEncryptedData(b []byte) (EncryptedData, error) {
	var ed EncryptedData
	f, err := asn1der.Sequence(b, asn1der.Tags(0, 1, 2), asn1der.Tags(0, 2))
	if err != nil {
		return ed, err
	}
	if ed.EType, err = asn1der.Int32(f[0]); err != nil {
		return ed, err
	}
	if f[1] != nil {
		if ed.KVNO, err = parseSeqNumber(f[1]); err != nil {
			return ed, err
		}
	}
	ed.Cipher, err = asn1der.Octets(f[2])
	return ed, err
}

// AppendEncryptedData appends ed, the kvno only when non-zero (MIT's
// opt_kvno) and as a signed 32-bit value, as MIT encodes it.
func AppendEncryptedData(b []byte, ed EncryptedData) []byte {
	var c []byte
	c = asn1der.AppendCtxInt(c, 0, int64(ed.EType))
	if ed.KVNO != 0 {
		c = asn1der.AppendCtxInt(c, 1, int64(int32(ed.KVNO)))
	}
	c = asn1der.AppendCtxString(c, 2, asn1der.TagOctetString, ed.Cipher)
	return asn1der.AppendTLV(b, asn1der.TagSequence, c)
}
