package krb5x

import (
	"math"
	"time"
)

// The Kerberos messages here are encoded by hand rather than with
// gofork's reflection-based marshaller: it copies octet strings a byte at a
// time (gokrb5-audit.md, Benchmarks), and a kprop session moves every byte
// of a dump through EncKrbPrivPart. The decoders are bounded and never
// panic: every length is checked against what is left of the input before
// it is used.

// Universal tags (first identifier octet) used by Kerberos.
const (
	tagInteger         byte = 0x02
	tagBitString       byte = 0x03
	tagOctetString     byte = 0x04
	tagSequence        byte = 0x30
	tagGeneralizedTime byte = 0x18
	tagGeneralString   byte = 0x1b
)

// Application tags of the messages (RFC 4120 §5.10 and each message's
// definition).
const (
	appTicket        = 1
	appAuthenticator = 2
	appEncTicketPart = 3
	appAPReq         = 14
	appAPRep         = 15
	appKRBSafe       = 20
	appKRBPriv       = 21
	appEncAPRepPart  = 27
	appEncKrbPriv    = 28
	appKRBError      = 30
)

// pvno is the protocol version number every message carries (RFC 4120).
const pvno = 5

// appTag is the identifier octet of a constructed [APPLICATION n].
func appTag(n int) byte { return 0x60 | byte(n) }

// ctxTag is the identifier octet of a constructed [n] (explicit tagging).
func ctxTag(n int) byte { return 0xa0 | byte(n) }

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

// tlvSize is the size of a TLV with n content octets and a one-octet tag.
func tlvSize(n int) int { return 1 + lenSize(n) + n }

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

// appendInt appends a DER INTEGER in the fewest two's-complement octets,
// as MIT's k5_asn1_encode_int.
func appendInt(b []byte, v int64) []byte {
	n := 1
	for n < 8 && (v>>(8*n-1) != 0 && v>>(8*n-1) != -1) {
		n++
	}
	b = append(b, tagInteger, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// appendUint appends a DER INTEGER of an unsigned value, with a leading
// zero octet when the top bit is set (MIT's k5_asn1_encode_uint). Sequence
// numbers and error codes are encoded this way.
func appendUint(b []byte, v uint32) []byte { return appendInt(b, int64(v)) }

// appendCtx wraps inner (a complete TLV) in the explicit tag [n].
func appendCtx(b []byte, n int, inner []byte) []byte { return appendTLV(b, ctxTag(n), inner) }

// appendCtxInt appends [n] INTEGER v.
func appendCtxInt(b []byte, n int, v int64) []byte {
	var tmp [10]byte
	return appendCtx(b, n, appendInt(tmp[:0], v))
}

// appendCtxString appends [n] with a string TLV of tag inside.
func appendCtxString(b []byte, n int, tag byte, s []byte) []byte {
	b = appendHeader(b, ctxTag(n), tlvSize(len(s)))
	return appendTLV(b, tag, s)
}

// appendKerberosTime appends a GeneralizedTime "YYYYMMDDhhmmssZ" of t in
// UTC, whole seconds (RFC 4120 §5.2.3). The zero time.Time and the Unix
// epoch both encode as MIT's zero timestamp, 19700101000000Z.
func appendKerberosTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	var s [15]byte
	t.UTC().AppendFormat(s[:0], "20060102150405Z")
	return appendTLV(b, tagGeneralizedTime, s[:])
}

// appendBitString32 appends a 32-bit flags BIT STRING the way MIT always
// encodes krb5_flags: four content octets, no unused bits.
func appendBitString32(b []byte, flags uint32) []byte {
	return append(b, tagBitString, 5, 0, byte(flags>>24), byte(flags>>16), byte(flags>>8), byte(flags))
}

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

// maxTagNumber bounds multi-octet tag numbers as MIT's ASN1_TAGNUM_MAX.
const maxTagNumber = 1<<31 - 1

// next reads one TLV from b, as MIT's get_tag: definite lengths only (long
// form allowed, not necessarily minimal), multi-octet tag numbers bounded.
func next(b []byte) (element, []byte, error) {
	var e element
	if len(b) == 0 {
		return e, nil, errASN1Overrun
	}
	full := b
	id := b[0]
	b = b[1:]
	e.class, e.constructed, e.tag = id&0xc0, id&0x20 != 0, uint32(id&0x1f)
	if id&0x1f == 0x1f {
		e.tag = 0
		for {
			if len(b) == 0 {
				return e, nil, errASN1Overrun
			}
			if e.tag > maxTagNumber>>7 {
				return e, nil, errASN1Overflow
			}
			o := b[0]
			b = b[1:]
			e.tag = e.tag<<7 | uint32(o&0x7f)
			if o&0x80 == 0 {
				break
			}
		}
		if e.tag > maxTagNumber {
			return e, nil, errASN1Overflow
		}
	}
	if len(b) == 0 {
		return e, nil, errASN1Overrun
	}
	o := b[0]
	b = b[1:]
	n := int(o)
	if o&0x80 != 0 {
		ll := int(o & 0x7f)
		if ll == 0 {
			return e, nil, errASN1Indef
		}
		if ll > len(b) {
			return e, nil, errASN1Overrun
		}
		n = 0
		for _, c := range b[:ll] {
			if n > (math.MaxInt32 >> 8) {
				return e, nil, errASN1Overrun // longer than any input we could hold
			}
			n = n<<8 | int(c)
		}
		b = b[ll:]
	}
	if n > len(b) {
		return e, nil, errASN1Overrun
	}
	e.content = b[:n:n]
	hdr := len(full) - len(b)
	e.full = full[: hdr+n : hdr+n]
	return e, b[n:], nil
}

// expect reads one TLV that must have identifier id; anything else is
// ASN1_BAD_ID, as MIT's check_atype_tag.
func expect(b []byte, id byte) (element, []byte, error) {
	e, rest, err := next(b)
	if err != nil {
		return e, nil, err
	}
	if !e.is(id) {
		return e, nil, errASN1BadID
	}
	return e, rest, nil
}

// only reads exactly one TLV of identifier id filling b, as the content of
// an explicit tag must be (MIT: trailing octets are ASN1_BAD_LENGTH).
func only(b []byte, id byte) (element, error) {
	e, rest, err := expect(b, id)
	if err != nil {
		return e, err
	}
	if len(rest) != 0 {
		return e, errASN1BadLength
	}
	return e, nil
}

// topLevel reads the outer [APPLICATION app] of a message. Octets after it
// are ignored, as MIT's k5_asn1_full_decode does (decrypted DES3 plaintext
// carries zero padding after the encoding).
func topLevel(b []byte, app int) (element, error) {
	e, _, err := expect(b, appTag(app))
	return e, err
}

// fieldSet holds the inner encodings (the TLV inside each [n] wrapper) of
// the fields of one SEQUENCE; nil means absent.
type fieldSet [13][]byte

// tags is the set of context tag numbers given, for sequenceFields.
func tags(n ...int) uint16 {
	var m uint16
	for _, t := range n {
		m |= 1 << t
	}
	return m
}

// sequenceFields reads a SEQUENCE TLV filling b whose elements are
// explicitly tagged fields with the tag numbers in known. Like MIT's
// decode_sequence, fields are taken in increasing tag order and the
// sequence is extensible: the first element that is not a later known
// field ends it, and what follows is ignored. Fields in required must be
// present (ASN1_MISSING_FIELD otherwise).
func sequenceFields(b []byte, known, required uint16) (fieldSet, error) {
	var f fieldSet
	seq, err := only(b, tagSequence)
	if err != nil {
		return f, err
	}
	rest := seq.content
	var seen uint16
	nextField := uint32(0)
	for len(rest) > 0 {
		var e element
		if e, rest, err = next(rest); err != nil {
			return f, err
		}
		if e.class != 0x80 || !e.constructed || e.tag < nextField || e.tag >= uint32(len(f)) || known&(1<<e.tag) == 0 {
			break
		}
		if len(e.content) == 0 {
			return f, errASN1Overrun
		}
		f[e.tag] = e.content
		seen |= 1 << e.tag
		nextField = e.tag + 1
	}
	if seen&required != required {
		return f, errASN1MissingField
	}
	return f, nil
}

// parseIntContent decodes INTEGER content octets as MIT's
// k5_asn1_decode_int: sign-extended, at most 8 octets, not necessarily
// minimal.
func parseIntContent(c []byte) (int64, error) {
	if len(c) == 0 {
		return 0, errASN1BadLength
	}
	if len(c) > 8 {
		return 0, errASN1Overflow
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
	return parseIntContent(e.content)
}

// parseInt32 decodes an INTEGER that must fit Int32 (MIT store_int gives
// ASN1_OVERFLOW otherwise).
func parseInt32(b []byte) (int32, error) {
	v, err := parseInt(b)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, errASN1Overflow
	}
	return int32(v), nil
}

// parseSeqNumber decodes a sequence number: MIT's decode_seqno accepts
// -2^31..2^32-1, so that the negative encodings of old MIT and Heimdal
// peers become the same uint32.
func parseSeqNumber(b []byte) (uint32, error) {
	v, err := parseInt(b)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxUint32 {
		return 0, errASN1Overflow
	}
	return uint32(v), nil
}

// parseUint32 decodes an unsigned INTEGER as MIT's k5_asn1_decode_uint
// (no negative values) that fits 32 bits.
func parseUint32(b []byte) (uint32, error) {
	e, err := only(b, tagInteger)
	if err != nil {
		return 0, err
	}
	c := e.content
	if len(c) == 0 {
		return 0, errASN1BadLength
	}
	if c[0]&0x80 != 0 {
		return 0, errASN1Overflow
	}
	var v uint64
	for _, o := range c {
		if v > math.MaxUint32>>8 {
			return 0, errASN1Overflow
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

// parseKerberosTime decodes a GeneralizedTime in the one form Kerberos
// allows, "YYYYMMDDhhmmssZ" (MIT's k5_asn1_decode_generaltime).
func parseKerberosTime(b []byte) (time.Time, error) {
	e, err := only(b, tagGeneralizedTime)
	if err != nil {
		return time.Time{}, err
	}
	s := e.content
	if len(s) != 15 {
		return time.Time{}, errASN1BadLength
	}
	if s[14] != 'Z' {
		return time.Time{}, errASN1BadFormat
	}
	var v [14]int
	for i := 0; i < 14; i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, errASN1BadTimeFormat
		}
		v[i] = int(s[i] - '0')
	}
	year := v[0]*1000 + v[1]*100 + v[2]*10 + v[3]
	mon, day := v[4]*10+v[5], v[6]*10+v[7]
	hour, min, sec := v[8]*10+v[9], v[10]*10+v[11], v[12]*10+v[13]
	// MIT's krb5int_gmt_mktime rejects fields out of range rather than
	// normalising them.
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 {
		return time.Time{}, errASN1BadTimeFormat
	}
	return time.Date(year, time.Month(mon), day, hour, min, sec, 0, time.UTC), nil
}

// parseBitString32 decodes a flags BIT STRING into 32 bits, most
// significant first, as MIT's decode_krb5_flags: up to the first four
// octets count, shorter strings leave the low bits zero.
func parseBitString32(b []byte) (uint32, error) {
	e, err := only(b, tagBitString)
	if err != nil {
		return 0, err
	}
	c := e.content
	if len(c) == 0 {
		return 0, errASN1BadLength
	}
	unused := c[0]
	if unused > 7 {
		return 0, errASN1BadFormat
	}
	bits := c[1:]
	var f uint32
	for i := 0; i < len(bits) && i < 4; i++ {
		o := bits[i]
		if i == len(bits)-1 && len(bits) > 1 {
			o &= 0xff << unused
		}
		f |= uint32(o) << (8 * (3 - i))
	}
	return f, nil
}
