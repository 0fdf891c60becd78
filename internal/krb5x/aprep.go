package krb5x

import (
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// keyUsageAPRepEncPart is the key usage of EncAPRepPart (RFC 4120 §7.5.1).
const keyUsageAPRepEncPart = 12

// MakeAPRep encodes the AP-REP MIT's krb5_mk_rep sends for kprop (spec
// §2.5): EncAPRepPart { ctime, cusec } echoing the authenticator, no
// subkey, seq-number when non-zero, encrypted with the session key, usage
// 12, in an EncryptedData without kvno.
func MakeAPRep(sessionKey types.EncryptionKey, ctime time.Time, cusec int, seq uint32) ([]byte, error) {
	return makeAPRep(rand.Reader, sessionKey, ctime, cusec, seq)
}

func makeAPRep(random io.Reader, sessionKey types.EncryptionKey, ctime time.Time, cusec int, seq uint32) ([]byte, error) {
	var body []byte
	body = asn1der.AppendCtx(body, 0, appendKerberosTime(nil, ctime))
	body = asn1der.AppendCtxInt(body, 1, int64(int32(cusec)))
	if seq != 0 {
		body = asn1der.AppendCtx(body, 3, appendUint(nil, seq))
	}
	enc := asn1der.AppendTLV(nil, asn1der.AppTag(AppEncAPRepPart), asn1der.AppendTLV(nil, asn1der.TagSequence, body))
	c, err := NewCipher(sessionKey, keyUsageAPRepEncPart)
	if err != nil {
		return nil, fmt.Errorf("ap-rep: %w", err)
	}
	ct, _, err := c.seal(random, nil, enc)
	if err != nil {
		return nil, fmt.Errorf("ap-rep: %w", err)
	}
	var rep []byte
	rep = asn1der.AppendCtxInt(rep, 0, PVNO)
	rep = asn1der.AppendCtxInt(rep, 1, AppAPRep)
	rep = asn1der.AppendCtx(rep, 2, AppendEncryptedData(nil, EncryptedData{EType: sessionKey.KeyType, Cipher: ct}))
	return asn1der.AppendTLV(nil, asn1der.AppTag(AppAPRep), asn1der.AppendTLV(nil, asn1der.TagSequence, rep)), nil
}

// ReadAPRep decrypts and checks an AP-REP as MIT's krb5_rd_rep does on
// the client side (spec §2.5): ctime and cusec must equal those of the
// authenticator the client sent (else KRB5_MUTUAL_FAILED, on the wire 60
// "Mutual authentication failed"). It returns the server's initial
// sequence number (0 when absent) and the subkey the server chose, if
// any, which MIT then uses for both directions. Other failures are
// *Error values: 40 not an AP-REP, 3 wrong pvno, 60 undecodable or of
// another enctype than the session key, 31 integrity.
func ReadAPRep(sessionKey types.EncryptionKey, der []byte, ctime time.Time, cusec int) (seq uint32, subkey *types.EncryptionKey, err error) {
	if !IsApp(der, AppAPRep) {
		return 0, nil, newError(CodeMsgType, nil)
	}
	seq, subkey, err = readAPRep(sessionKey, der, ctime, cusec)
	if err != nil {
		return 0, nil, wireError(err)
	}
	return seq, subkey, nil
}

func readAPRep(sessionKey types.EncryptionKey, der []byte, ctime time.Time, cusec int) (uint32, *types.EncryptionKey, error) {
	top, err := asn1der.TopLevel(der, AppAPRep)
	if err != nil {
		return 0, nil, err
	}
	f, err := asn1der.Sequence(top.Content, asn1der.Tags(0, 1, 2), asn1der.Tags(0, 1, 2))
	if err != nil {
		return 0, nil, err
	}
	if err := checkHeader(f[0], f[1], AppAPRep); err != nil {
		return 0, nil, err
	}
	pt, err := decryptEncryptedData(sessionKey, keyUsageAPRepEncPart, f[2])
	if err != nil {
		return 0, nil, err
	}
	rtime, rusec, subkey, seq, err := parseEncAPRepPart(pt)
	if err != nil {
		return 0, nil, err
	}
	if rtime.Unix() != kerberosSeconds(ctime) || rusec != int32(cusec) {
		return 0, nil, genericError(TextMutualFailed, nil)
	}
	return seq, subkey, nil
}

// parseEncAPRepPart decodes EncAPRepPart ::= [APPLICATION 27] SEQUENCE {
// ctime [0], cusec [1], subkey [2] OPTIONAL, seq-number [3] OPTIONAL }.
func parseEncAPRepPart(pt []byte) (ctime time.Time, cusec int32, subkey *types.EncryptionKey, seq uint32, err error) {
	enc, err := asn1der.TopLevel(pt, AppEncAPRepPart)
	if err != nil {
		return
	}
	ef, err := asn1der.Sequence(enc.Content, asn1der.Tags(0, 1, 2, 3), asn1der.Tags(0, 1))
	if err != nil {
		return
	}
	if ctime, err = asn1der.KerberosTime(ef[0]); err != nil {
		return
	}
	if cusec, err = asn1der.Int32(ef[1]); err != nil {
		return
	}
	if ef[2] != nil {
		k, kerr := ParseEncryptionKey(ef[2])
		if kerr != nil {
			return ctime, cusec, nil, 0, kerr
		}
		subkey = &k
	}
	if ef[3] != nil {
		seq, err = parseSeqNumber(ef[3])
	}
	return
}

// kerberosSeconds is t as a Kerberos timestamp: whole seconds, with the
// zero time.Time meaning MIT's 0.
func kerberosSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// decryptEncryptedData decrypts an EncryptedData TLV with key and usage,
// as MIT's krb5_c_decrypt: the etype must be the key's (or MIT's
// ENCTYPE_UNKNOWN), else "Bad encryption type".
func decryptEncryptedData(key types.EncryptionKey, usage uint32, b []byte) ([]byte, error) {
	ed, err := ParseEncryptedData(b)
	if err != nil {
		return nil, err
	}
	return decryptWith(key, usage, ed.EType, ed.Cipher)
}

// decryptWith decrypts ciphertext ct that claims enctype etype.
func decryptWith(key types.EncryptionKey, usage uint32, etype int32, ct []byte) ([]byte, error) {
	if etype != key.KeyType && etype != enctypeUnknown {
		return nil, genericError(TextBadEnctype, nil)
	}
	c, err := NewCipher(key, usage)
	if err != nil {
		return nil, genericError(TextBadEnctype, err)
	}
	pt, _, err := c.Decrypt(nil, ct)
	return pt, err
}

// AppendEncryptionKey appends EncryptionKey ::= SEQUENCE { keytype [0]
// Int32, keyvalue [1] OCTET STRING }.
func AppendEncryptionKey(b []byte, k types.EncryptionKey) []byte {
	var c []byte
	c = asn1der.AppendCtxInt(c, 0, int64(k.KeyType))
	c = asn1der.AppendCtxString(c, 1, asn1der.TagOctetString, k.KeyValue)
	return asn1der.AppendTLV(b, asn1der.TagSequence, c)
}

// ParseEncryptionKey decodes an EncryptionKey TLV; the key value is
// copied, so the key outlives the message.
func ParseEncryptionKey(b []byte) (types.EncryptionKey, error) {
	var k types.EncryptionKey
	f, err := asn1der.Sequence(b, asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		return k, err
	}
	if k.KeyType, err = asn1der.Int32(f[0]); err != nil {
		return k, err
	}
	v, err := asn1der.Octets(f[1])
	if err != nil {
		return k, err
	}
	k.KeyValue = append([]byte{}, v...)
	return k, nil
}
