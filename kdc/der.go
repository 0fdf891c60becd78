package kdc

import (
	"math"
	"time"
)

// The KDC's messages are decoded and encoded by hand. gokrb5's
// reflection-based decoder discards the raw req-body bytes the TGS checksum
// covers, pads short KDCOptions bit strings on the wrong side and panics on
// some malformed input (gokrb5-audit.md §3); its encoder tags every
// EncKDCRepPart 25 and re-marshals decrypted tickets. The decoder here is
// bounded and never panics: every length is checked against what is left of
// the input before it is used, and it reports MIT's ASN.1 error texts.

// Universal tags (the first identifier octet) Kerberos uses.
const (
	tagInteger         byte = 0x02
	tagBitString       byte = 0x03
	tagOctetString     byte = 0x04
	tagSequence        byte = 0x30
	tagGeneralizedTime byte = 0x18
	tagGeneralString   byte = 0x1b
)

// Application tags of the messages the KDC reads and writes (RFC 4120
// §5.10).
const (
	appTicket        = 1
	appAuthenticator = 2
	appEncTicketPart = 3
	appASReq         = 10
	appASRep         = 11
	appTGSReq        = 12
	appTGSRep        = 13
	appAPReq         = 14
	appEncTGSRepPart = 26
	appKRBError      = 30
)

// pvno is the protocol version every message carries (RFC 4120).
const pvno = 5

// asn1Error is a decoding failure. MIT reports these with codes from its
// ASN.1 error table (beyond the protocol range), so they reach the wire as
// KRB_ERR_GENERIC; the texts are MIT's (asn1_err.et).
type asn1Error struct{ text string }

func (e *asn1Error) Error() string { return e.text }

var (
	errOverrun    error = &asn1Error{"ASN.1 encoding ended unexpectedly"}
	errBadID      error = &asn1Error{"ASN.1 identifier doesn't match expected value"}
	errBadLength  error = &asn1Error{"ASN.1 length doesn't match expected value"}
	errBadFormat  error = &asn1Error{"ASN.1 badly-formatted encoding"}
	errOverflow   error = &asn1Error{"ASN.1 value too large"}
	errMissing    error = &asn1Error{"ASN.1 structure is missing a required field"}
	errIndefinite error = &asn1Error{"ASN.1 indefinite encoding"}
	errBadTime    error = &asn1Error{"ASN.1 failed call to system time library"}
)

// maxElements bounds the elements of one decoded SEQUENCE OF (etypes,
// addresses, padata, name components, tickets). MIT has no limit, but the
// input length bounds the work anyway and no real client sends more than a
// few dozen.
const maxElements = 1024

// element is one decoded TLV.
type element struct {
	class       byte // 0x00 universal, 0x40 application, 0x80 context, 0xc0 private
	constructed bool
	tag         uint32
	content     []byte
	full        []byte // the whole TLV
}

// is reports whether e has the one-octet identifier id.
func (e element) is(id byte) bool {
	return id&0x1f != 0x1f && e.class == id&0xc0 && e.constructed == (id&0x20 != 0) && e.tag == uint32(id&0x1f)
}

// next reads one TLV from b as MIT's get_tag does: definite lengths only,
// long-form lengths allowed, multi-octet tag numbers bounded.
func next(b []byte) (element, []byte, error) {
	var e element
	if len(b) == 0 {
		return e, nil, errOverrun
	}
	full := b
	id := b[0]
	b = b[1:]
	e.class, e.constructed, e.tag = id&0xc0, id&0x20 != 0, uint32(id&0x1f)
	if id&0x1f == 0x1f {
		e.tag = 0
		for {
			if len(b) == 0 {
				return e, nil, errOverrun
			}
			if e.tag > math.MaxInt32>>7 {
				return e, nil, errOverflow
			}
			o := b[0]
			b = b[1:]
			e.tag = e.tag<<7 | uint32(o&0x7f)
			if o&0x80 == 0 {
				break
			}
		}
	}
	if len(b) == 0 {
		return e, nil, errOverrun
	}
	o := b[0]
	b = b[1:]
	n := int(o)
	if o&0x80 != 0 {
		ll := int(o & 0x7f)
		if ll == 0 {
			return e, nil, errIndefinite
		}
		if ll > len(b) {
			return e, nil, errOverrun
		}
		n = 0
		for _, c := range b[:ll] {
			if n > math.MaxInt32>>8 {
				return e, nil, errOverrun
			}
			n = n<<8 | int(c)
		}
		b = b[ll:]
	}
	if n > len(b) {
		return e, nil, errOverrun
	}
	e.content = b[:n:n]
	hdr := len(full) - len(b)
	e.full = full[: hdr+n : hdr+n]
	return e, b[n:], nil
}

// expect reads one TLV that must have identifier id.
func expect(b []byte, id byte) (element, []byte, error) {
	e, rest, err := next(b)
	if err != nil {
		return e, nil, err
	}
	if !e.is(id) {
		return e, nil, errBadID
	}
	return e, rest, nil
}

// only reads exactly one TLV of identifier id filling b, as the content of
// an explicit tag must be.
func only(b []byte, id byte) (element, error) {
	e, rest, err := expect(b, id)
	if err != nil {
		return e, err
	}
	if len(rest) != 0 {
		return e, errBadLength
	}
	return e, nil
}

// isApp reports whether a message starts with [APPLICATION app], with either
// value of the constructed bit, as MIT's krb5int_is_app_tag: the test MIT's
// dispatcher uses to tell an AS-REQ from a TGS-REQ.
func isApp(der []byte, app int) bool {
	return len(der) > 0 && der[0]&^0x20 == 0x40|byte(app)
}

// appTag is the identifier octet of a constructed [APPLICATION n].
func appTag(n int) byte { return 0x60 | byte(n) }

// ctxTag is the identifier octet of a constructed [n].
func ctxTag(n int) byte { return 0xa0 | byte(n) }

// topLevel reads the outer [APPLICATION app] of a message. Octets after it
// are ignored, as MIT's decoders ignore trailing data (decrypted DES3
// plaintext carries zero padding after the encoding).
func topLevel(b []byte, app int) (element, error) {
	e, _, err := expect(b, appTag(app))
	return e, err
}

// fields holds the inner encodings (the TLV inside each [n]) of one
// SEQUENCE's explicitly tagged fields; nil means absent.
type fields [13][]byte

// tags is the set of context tag numbers given.
func tags(n ...int) uint16 {
	var m uint16
	for _, t := range n {
		m |= 1 << t
	}
	return m
}

// sequence reads a SEQUENCE TLV filling b whose elements are explicitly
// tagged fields numbered as in known. Like MIT's decoder, fields come in
// increasing tag order and the sequence is extensible: the first element
// that is not a later known field ends it. Fields in required must be
// present.
func sequence(b []byte, known, required uint16) (fields, error) {
	seq, err := only(b, tagSequence)
	if err != nil {
		return fields{}, err
	}
	return sequenceContent(seq.content, known, required)
}

// sequenceContent is sequence on the content octets of a SEQUENCE.
func sequenceContent(c []byte, known, required uint16) (fields, error) {
	var f fields
	var seen uint16
	nextTag := uint32(0)
	for rest := c; len(rest) > 0; {
		var e element
		var err error
		if e, rest, err = next(rest); err != nil {
			return f, err
		}
		if e.class != 0x80 || !e.constructed || e.tag < nextTag || e.tag >= uint32(len(f)) || known&(1<<e.tag) == 0 {
			break
		}
		if len(e.content) == 0 {
			return f, errOverrun
		}
		f[e.tag] = e.content
		seen |= 1 << e.tag
		nextTag = e.tag + 1
	}
	if seen&required != required {
		return f, errMissing
	}
	return f, nil
}

// sequenceOf calls elem on each element TLV of the SEQUENCE OF filling b.
func sequenceOf(b []byte, elem func([]byte) error) error {
	seq, err := only(b, tagSequence)
	if err != nil {
		return err
	}
	n := 0
	for rest := seq.content; len(rest) > 0; n++ {
		if n == maxElements {
			return errOverflow
		}
		var e element
		if e, rest, err = next(rest); err != nil {
			return err
		}
		if err := elem(e.full); err != nil {
			return err
		}
	}
	return nil
}

// intContent decodes INTEGER content octets: sign-extended, at most 8
// octets (MIT's k5_asn1_decode_int).
func intContent(c []byte) (int64, error) {
	if len(c) == 0 {
		return 0, errBadLength
	}
	if len(c) > 8 {
		return 0, errOverflow
	}
	var n int64
	if c[0]&0x80 != 0 {
		n = -1
	}
	for _, o := range c {
		n = n<<8 | int64(o)
	}
	return n, nil
}

// parseInt decodes an INTEGER TLV filling b.
func parseInt(b []byte) (int64, error) {
	e, err := only(b, tagInteger)
	if err != nil {
		return 0, err
	}
	return intContent(e.content)
}

// parseInt32 decodes an INTEGER that must fit 32 signed bits (MIT's
// store_int gives ASN1_OVERFLOW otherwise; nonces are decoded this way).
func parseInt32(b []byte) (int32, error) {
	v, err := parseInt(b)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, errOverflow
	}
	return int32(v), nil
}

// parseUint32 decodes an unsigned INTEGER of at most 32 bits (kvno).
func parseUint32(b []byte) (uint32, error) {
	e, err := only(b, tagInteger)
	if err != nil {
		return 0, err
	}
	c := e.content
	if len(c) == 0 {
		return 0, errBadLength
	}
	if c[0]&0x80 != 0 {
		return 0, errOverflow
	}
	var v uint64
	for _, o := range c {
		if v > math.MaxUint32>>8 {
			return 0, errOverflow
		}
		v = v<<8 | uint64(o)
	}
	return uint32(v), nil
}

// parseOctets decodes an OCTET STRING TLV filling b; the result aliases b.
func parseOctets(b []byte) ([]byte, error) {
	e, err := only(b, tagOctetString)
	return e.content, err
}

// parseGeneralString decodes a GeneralString (KerberosString, Realm).
func parseGeneralString(b []byte) (string, error) {
	e, err := only(b, tagGeneralString)
	return string(e.content), err
}

// parseTime decodes a KerberosTime ("YYYYMMDDhhmmssZ") into MIT's 32-bit
// timestamp: krb5_timestamp holds the low 32 bits of the Unix time, which
// MIT treats as unsigned, so 19700101000000Z is 0 (MIT's "unset" and, as
// till, infinity).
func parseTime(b []byte) (uint32, error) {
	e, err := only(b, tagGeneralizedTime)
	if err != nil {
		return 0, err
	}
	s := e.content
	if len(s) != 15 {
		return 0, errBadLength
	}
	if s[14] != 'Z' {
		return 0, errBadFormat
	}
	var v [14]int
	for i := 0; i < 14; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errBadTime
		}
		v[i] = int(s[i] - '0')
	}
	year := v[0]*1000 + v[1]*100 + v[2]*10 + v[3]
	mon, day := v[4]*10+v[5], v[6]*10+v[7]
	hour, min, sec := v[8]*10+v[9], v[10]*10+v[11], v[12]*10+v[13]
	// MIT's krb5int_gmt_mktime rejects out-of-range fields rather than
	// normalising them.
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 {
		return 0, errBadTime
	}
	return uint32(time.Date(year, time.Month(mon), day, hour, min, sec, 0, time.UTC).Unix()), nil
}

// parseFlags decodes a KerberosFlags BIT STRING into 32 bits, bit 0 the
// most significant, as MIT's decode_krb5_flags: the first four octets
// count, and a shorter string leaves the low bits zero. gokrb5 pads short
// strings on the left instead, which shifts every bit.
func parseFlags(b []byte) (uint32, error) {
	e, err := only(b, tagBitString)
	if err != nil {
		return 0, err
	}
	c := e.content
	if len(c) == 0 {
		return 0, errBadLength
	}
	unused := c[0]
	if unused > 7 {
		return 0, errBadFormat
	}
	bits := c[1:]
	var f uint32
	for i := 0; i < len(bits) && i < 4; i++ {
		o := bits[i]
		if i == len(bits)-1 {
			o &= 0xff << unused
		}
		f |= uint32(o) << (8 * (3 - i))
	}
	return f, nil
}

// The encoding functions below each append one complete TLV.

// lenSize is the number of octets DER needs for a length n.
func lenSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffff:
		return 4
	}
	return 5
}

// appendHeader appends an identifier octet and a DER length.
func appendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	switch lenSize(n) {
	case 1:
		return append(b, byte(n))
	case 2:
		return append(b, 0x81, byte(n))
	case 3:
		return append(b, 0x82, byte(n>>8), byte(n))
	case 4:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// appendTLV appends tag, length and content.
func appendTLV(b []byte, tag byte, content []byte) []byte {
	return append(appendHeader(b, tag, len(content)), content...)
}

// appendInt appends a DER INTEGER in the fewest two's-complement octets.
func appendInt(b []byte, v int64) []byte {
	n := 1
	for n < 8 && v>>(8*n-1) != 0 && v>>(8*n-1) != -1 {
		n++
	}
	b = append(b, tagInteger, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// appendCtx wraps inner (a complete TLV) in the explicit tag [n].
func appendCtx(b []byte, n int, inner []byte) []byte { return appendTLV(b, ctxTag(n), inner) }

// appendCtxInt appends [n] INTEGER v.
func appendCtxInt(b []byte, n int, v int64) []byte {
	var tmp [10]byte
	return appendCtx(b, n, appendInt(tmp[:0], v))
}

// appendCtxString appends [n] holding a string TLV with tag.
func appendCtxString(b []byte, n int, tag byte, s []byte) []byte {
	var tmp []byte
	tmp = appendTLV(tmp, tag, s)
	return appendCtx(b, n, tmp)
}

// appendCtxTime appends [n] KerberosTime for MIT's 32-bit timestamp ts,
// which MIT reads as unsigned (ts2tt).
func appendCtxTime(b []byte, n int, ts uint32) []byte {
	var s [15]byte
	time.Unix(int64(ts), 0).UTC().AppendFormat(s[:0], "20060102150405Z")
	var tmp [17]byte
	return appendCtx(b, n, appendTLV(tmp[:0], tagGeneralizedTime, s[:]))
}

// appendCtxFlags appends [n] KerberosFlags as MIT encodes krb5_flags: four
// content octets, no unused bits.
func appendCtxFlags(b []byte, n int, flags uint32) []byte {
	return appendCtx(b, n, []byte{tagBitString, 5, 0, byte(flags >> 24), byte(flags >> 16), byte(flags >> 8), byte(flags)})
}

// appendSequence wraps content in a SEQUENCE.
func appendSequence(b []byte, content []byte) []byte { return appendTLV(b, tagSequence, content) }
