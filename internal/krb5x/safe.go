package krb5x

import (
	"fmt"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// SafeMessage is the content of a KRB-SAFE as kprop and kpropd use it
// (spec §3.2): user data, a sequence number and the sender's address, an
// optional recipient address, and no timestamp (MIT's auth contexts for
// kprop have DO_TIME off).
type SafeMessage struct {
	UserData []byte
	Seq      uint32
	SAddr    Address
	RAddr    *Address
}

// zeroChecksum is the Checksum MIT encodes in place of the real one when
// it computes a KRB-SAFE's checksum: [3] { cksumtype [0] 0, checksum [1] ""
// } (mk_safe.c create_krbsafe, rd_safe.c read_krbsafe).
const zeroChecksum = "\xa3\x0b\x30\x09\xa0\x03\x02\x01\x00\xa1\x02\x04\x00"

// appendSafeBody appends KRB-SAFE-BODY: user-data [0], seq-number [3]
// (omitted when 0, as MIT's opt_seqno), s-address [4], r-address [5] when
// given; timestamp [1] and usec [2] are never sent (no DO_TIME).
func appendSafeBody(b []byte, m SafeMessage) []byte {
	var tail []byte
	if m.Seq != 0 {
		tail = asn1der.AppendCtx(tail, 3, appendUint(nil, m.Seq))
	}
	tail = asn1der.AppendHeader(tail, asn1der.CtxTag(4), addressSize(m.SAddr))
	tail = appendAddress(tail, m.SAddr)
	if m.RAddr != nil {
		tail = asn1der.AppendHeader(tail, asn1der.CtxTag(5), addressSize(*m.RAddr))
		tail = appendAddress(tail, *m.RAddr)
	}
	b = asn1der.AppendHeader(b, asn1der.TagSequence, asn1der.TLVSize(asn1der.TLVSize(len(m.UserData)))+len(tail))
	b = asn1der.AppendCtxString(b, 0, asn1der.TagOctetString, m.UserData)
	return append(b, tail...)
}

// appendSafe appends a whole KRB-SAFE around an encoded body and an
// encoded [3] checksum field.
func appendSafe(b, body, cksumField []byte) []byte {
	var hdr []byte
	hdr = asn1der.AppendCtxInt(hdr, 0, PVNO)
	hdr = asn1der.AppendCtxInt(hdr, 1, AppKRBSafe)
	inner := len(hdr) + asn1der.TLVSize(len(body)) + len(cksumField)
	b = asn1der.AppendHeader(b, asn1der.AppTag(AppKRBSafe), asn1der.TLVSize(inner))
	b = asn1der.AppendHeader(b, asn1der.TagSequence, inner)
	b = append(b, hdr...)
	b = asn1der.AppendCtx(b, 2, body)
	return append(b, cksumField...)
}

// appendChecksumField appends [3] Checksum { cksumtype [0], checksum [1] }.
func appendChecksumField(b []byte, cksumtype int32, sum []byte) []byte {
	var c []byte
	c = asn1der.AppendCtxInt(c, 0, int64(cksumtype))
	c = asn1der.AppendCtxString(c, 1, asn1der.TagOctetString, sum)
	b = asn1der.AppendHeader(b, asn1der.CtxTag(3), asn1der.TLVSize(len(c)))
	return asn1der.AppendTLV(b, asn1der.TagSequence, c)
}

// MakeSafe encodes a KRB-SAFE as MIT's krb5_mk_safe does with no
// checksum type configured (spec §3.2): the checksum is the mandatory
// keyed checksum of key's enctype, with key usage 15, over the encoding
// of the whole message carrying the checksum {0, ""}.
func MakeSafe(key types.EncryptionKey, m SafeMessage) ([]byte, error) {
	cksumtype := MandatoryCksumType(key.KeyType)
	if cksumtype == 0 {
		return nil, fmt.Errorf("krb-safe: %w: %s", ErrUnsupportedEnctype, EnctypeName(key.KeyType))
	}
	body := appendSafeBody(nil, m)
	zero := appendSafe(nil, body, []byte(zeroChecksum))
	sum, err := makeChecksum(cksumtype, key, keyUsageKRBSafeCksum, zero)
	if err != nil {
		return nil, fmt.Errorf("krb-safe: %w", err)
	}
	return appendSafe(zero[:0], body, appendChecksumField(nil, cksumtype, sum)), nil
}

// ReadSafe decodes a KRB-SAFE and verifies its checksum with key as MIT's
// krb5_rd_safe does: first over the message re-encoded with the received
// body octets verbatim and the checksum {0, ""} (what MIT sends), then
// over the body alone (RFC 1510 senders). Failures are *Error values with
// MIT's codes: 40 not a KRB-SAFE, 3 wrong pvno, 60 undecodable (ASN.1
// text), a wrong msg-type (KRB5_BADMSGTYPE text) or an unknown checksum
// type (KRB5_PROG_SUMTYPE_NOSUPP text), 50 an unkeyed checksum type, 41 a
// checksum that does not verify.
//
// Like MIT's receivers in kprop and kpropd, which have no remote address,
// ReadSafe does not compare addresses, and it does not check the sequence
// number: the caller compares Seq with the one it expects (42) and, if it
// cares, an RAddr with its own address (38).
func ReadSafe(key types.EncryptionKey, der []byte) (SafeMessage, error) {
	if !IsApp(der, AppKRBSafe) {
		return SafeMessage{}, newError(CodeMsgType, nil)
	}
	m, err := readSafe(key, der)
	if err != nil {
		return SafeMessage{}, wireError(err)
	}
	return m, nil
}

func readSafe(key types.EncryptionKey, der []byte) (SafeMessage, error) {
	var m SafeMessage
	top, err := asn1der.TopLevel(der, AppKRBSafe)
	if err != nil {
		return m, err
	}
	f, err := asn1der.Sequence(top.Content, asn1der.Tags(0, 1, 2, 3), asn1der.Tags(0, 1, 2, 3))
	if err != nil {
		return m, err
	}
	if err := checkHeader(f[0], f[1], AppKRBSafe); err != nil {
		return m, err
	}
	body := f[2]
	bf, err := asn1der.Sequence(body, asn1der.Tags(0, 1, 2, 3, 4, 5), asn1der.Tags(0, 4))
	if err != nil {
		return m, err
	}
	if m, err = parseSafeOrPrivFields(bf); err != nil {
		return m, err
	}
	cf, err := asn1der.Sequence(f[3], asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		return m, err
	}
	cksumtype, err := asn1der.Int32(cf[0])
	if err != nil {
		return m, err
	}
	sum, err := asn1der.Octets(cf[1])
	if err != nil {
		return m, err
	}
	if !cksumKnown(cksumtype) {
		return m, genericError(TextSumtypeNoSupp, nil)
	}
	if !cksumKeyed(cksumtype) {
		return m, newError(CodeInappCksum, nil)
	}
	zero := appendSafe(make([]byte, 0, len(der)), body, []byte(zeroChecksum))
	if !verifyChecksum(cksumtype, key, keyUsageKRBSafeCksum, sum, zero) &&
		!verifyChecksum(cksumtype, key, keyUsageKRBSafeCksum, sum, body) {
		return m, newError(CodeModified, nil)
	}
	m.UserData = append([]byte{}, m.UserData...)
	m.SAddr.Addr = append([]byte(nil), m.SAddr.Addr...)
	if m.RAddr != nil {
		r := Address{Type: m.RAddr.Type, Addr: append([]byte(nil), m.RAddr.Addr...)}
		m.RAddr = &r
	}
	return m, nil
}

// parseSafeOrPrivFields decodes the fields KRB-SAFE-BODY and
// EncKrbPrivPart share: user-data [0], timestamp [1], usec [2],
// seq-number [3], s-address [4], r-address [5]. The timestamp and usec
// are checked for form and dropped, as kprop's receivers ignore them.
// The slices returned alias the input.
func parseSafeOrPrivFields(f asn1der.Fields) (SafeMessage, error) {
	var m SafeMessage
	var err error
	if m.UserData, err = asn1der.Octets(f[0]); err != nil {
		return m, err
	}
	if f[1] != nil {
		if _, err := asn1der.KerberosTime(f[1]); err != nil {
			return m, err
		}
	}
	if f[2] != nil {
		if _, err := asn1der.Int32(f[2]); err != nil {
			return m, err
		}
	}
	if f[3] != nil {
		if m.Seq, err = parseSeqNumber(f[3]); err != nil {
			return m, err
		}
	}
	if m.SAddr, err = parseAddress(f[4]); err != nil {
		return m, err
	}
	if f[5] != nil {
		r, err := parseAddress(f[5])
		if err != nil {
			return m, err
		}
		m.RAddr = &r
	}
	return m, nil
}
