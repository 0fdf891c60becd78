// Package asn1der reads and writes the DER that Kerberos messages are made of,
// by hand and without reflection: the propagation and KDC hot paths encode
// and decode every message through it. The decoder is bounded and never
// panics: every length is checked against what is left of the input
// before it is used, and its errors carry MIT's ASN.1 error texts.
package asn1der

import (
	"math"
	"time"
)

// Universal tags (the first identifier octet) Kerberos uses.
const (
	TagInteger         byte = 0x02
	TagBitString       byte = 0x03
	TagOctetString     byte = 0x04
	TagSequence        byte = 0x30
	TagGeneralizedTime byte = 0x18
	TagGeneralString   byte = 0x1b
)

// Error is a decoding failure. MIT reports these with codes from its ASN.1
// error table, beyond the protocol's range, so they reach the wire as
// KRB_ERR_GENERIC; Text is MIT's (asn1_err.et).
type Error struct{ Text string }

func (e *Error) Error() string { return e.Text }

// The decoding failures, with MIT's texts.
var (
	ErrOverrun      error = &Error{"ASN.1 encoding ended unexpectedly"}
	ErrBadID        error = &Error{"ASN.1 identifier doesn't match expected value"}
	ErrBadLength    error = &Error{"ASN.1 length doesn't match expected value"}
	ErrBadFormat    error = &Error{"ASN.1 badly-formatted encoding"}
	ErrOverflow     error = &Error{"ASN.1 value too large"}
	ErrMissingField error = &Error{"ASN.1 structure is missing a required field"}
	ErrIndefinite   error = &Error{"ASN.1 indefinite encoding"}
	ErrBadTime      error = &Error{"ASN.1 failed call to system time library"}
)

// MaxElements bounds the elements of one SEQUENCE OF (etypes, addresses,
// padata, tickets). MIT has no limit; the input length bounds the work
// anyway, and no real peer sends more than a few dozen.
const MaxElements = 1024

// AppTag is the identifier octet of a constructed [APPLICATION n].
func AppTag(n int) byte { return 0x60 | byte(n) }

// CtxTag is the identifier octet of a constructed [n] (explicit tagging).
func CtxTag(n int) byte { return 0xa0 | byte(n) }

// Element is one decoded TLV.
type Element struct {
	Class       byte // 0x00 universal, 0x40 application, 0x80 context, 0xc0 private
	Constructed bool
	Tag         uint32
	Content     []byte
	Full        []byte // the whole TLV
}

// Is reports whether e has the one-octet identifier id.
func (e Element) Is(id byte) bool {
	return id&0x1f != 0x1f && e.Class == id&0xc0 && e.Constructed == (id&0x20 != 0) && e.Tag == uint32(id&0x1f)
}

// maxTagNumber bounds multi-octet tag numbers as MIT's ASN1_TAGNUM_MAX.
const maxTagNumber = 1<<31 - 1

// Next reads one TLV from b, as MIT's get_tag: definite lengths only (long
// form allowed, not necessarily minimal), multi-octet tag numbers bounded.
func Next(b []byte) (Element, []byte, error) {
	var e Element
	if len(b) == 0 {
		return e, nil, ErrOverrun
	}
	full := b
	id := b[0]
	b = b[1:]
	e.Class, e.Constructed, e.Tag = id&0xc0, id&0x20 != 0, uint32(id&0x1f)
	if id&0x1f == 0x1f {
		e.Tag = 0
		for {
			if len(b) == 0 {
				return e, nil, ErrOverrun
			}
			if e.Tag > maxTagNumber>>7 {
				return e, nil, ErrOverflow
			}
			o := b[0]
			b = b[1:]
			e.Tag = e.Tag<<7 | uint32(o&0x7f)
			if o&0x80 == 0 {
				break
			}
		}
		if e.Tag > maxTagNumber {
			return e, nil, ErrOverflow
		}
	}
	if len(b) == 0 {
		return e, nil, ErrOverrun
	}
	o := b[0]
	b = b[1:]
	n := int(o)
	if o&0x80 != 0 {
		ll := int(o & 0x7f)
		if ll == 0 {
			return e, nil, ErrIndefinite
		}
		if ll > len(b) {
			return e, nil, ErrOverrun
		}
		n = 0
		for _, c := range b[:ll] {
			if n > (math.MaxInt32 >> 8) {
				return e, nil, ErrOverrun // longer than any input we could hold
			}
			n = n<<8 | int(c)
		}
		b = b[ll:]
	}
	if n > len(b) {
		return e, nil, ErrOverrun
	}
	e.Content = b[:n:n]
	hdr := len(full) - len(b)
	e.Full = full[: hdr+n : hdr+n]
	return e, b[n:], nil
}

// Expect reads one TLV that must have identifier id; anything else is
// ASN1_BAD_ID, as MIT's check_atype_tag.
func Expect(b []byte, id byte) (Element, []byte, error) {
	e, rest, err := Next(b)
	if err != nil {
		return e, nil, err
	}
	if !e.Is(id) {
		return e, nil, ErrBadID
	}
	return e, rest, nil
}

// Only reads exactly one TLV of identifier id filling b, as the content of
// an explicit tag must be (MIT: trailing octets are ASN1_BAD_LENGTH).
func Only(b []byte, id byte) (Element, error) {
	e, rest, err := Expect(b, id)
	if err != nil {
		return e, err
	}
	if len(rest) != 0 {
		return e, ErrBadLength
	}
	return e, nil
}

// TopLevel reads the outer [APPLICATION app] of a message. Octets after it
// are ignored, as MIT's k5_asn1_full_decode does (decrypted DES3 plaintext
// carries zero padding after the encoding).
func TopLevel(b []byte, app int) (Element, error) {
	e, _, err := Expect(b, AppTag(app))
	return e, err
}

// Fields holds the inner encodings (the TLV inside each [n] wrapper) of
// the fields of one SEQUENCE; nil means absent.
type Fields [13][]byte

// Tags is the set of context tag numbers given, for Sequence.
func Tags(n ...int) uint16 {
	var m uint16
	for _, t := range n {
		m |= 1 << t
	}
	return m
}

// Sequence reads a SEQUENCE TLV filling b whose elements are explicitly
// tagged fields with the tag numbers in known. Like MIT's decode_sequence,
// fields are taken in increasing tag order and the sequence is extensible:
// the first element that is not a later known field ends it, and what
// follows is ignored. Fields in required must be present
// (ASN1_MISSING_FIELD otherwise).
func Sequence(b []byte, known, required uint16) (Fields, error) {
	seq, err := Only(b, TagSequence)
	if err != nil {
		return Fields{}, err
	}
	return SequenceContent(seq.Content, known, required)
}

// SequenceContent is Sequence on the content octets of a SEQUENCE.
func SequenceContent(c []byte, known, required uint16) (Fields, error) {
	var f Fields
	var seen uint16
	nextTag := uint32(0)
	for rest := c; len(rest) > 0; {
		var e Element
		var err error
		if e, rest, err = Next(rest); err != nil {
			return f, err
		}
		if e.Class != 0x80 || !e.Constructed || e.Tag < nextTag || e.Tag >= uint32(len(f)) || known&(1<<e.Tag) == 0 {
			break
		}
		if len(e.Content) == 0 {
			return f, ErrOverrun
		}
		f[e.Tag] = e.Content
		seen |= 1 << e.Tag
		nextTag = e.Tag + 1
	}
	if seen&required != required {
		return f, ErrMissingField
	}
	return f, nil
}

// SequenceOf calls elem on each element TLV of the SEQUENCE OF filling b,
// at most MaxElements of them.
func SequenceOf(b []byte, elem func([]byte) error) error {
	seq, err := Only(b, TagSequence)
	if err != nil {
		return err
	}
	n := 0
	for rest := seq.Content; len(rest) > 0; n++ {
		if n == MaxElements {
			return ErrOverflow
		}
		var e Element
		if e, rest, err = Next(rest); err != nil {
			return err
		}
		if err := elem(e.Full); err != nil {
			return err
		}
	}
	return nil
}

// IntContent decodes INTEGER content octets as MIT's k5_asn1_decode_int:
// sign-extended, at most 8 octets, not necessarily minimal.
func IntContent(c []byte) (int64, error) {
	if len(c) == 0 {
		return 0, ErrBadLength
	}
	if len(c) > 8 {
		return 0, ErrOverflow
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

// Int decodes an INTEGER TLV filling b.
func Int(b []byte) (int64, error) {
	e, err := Only(b, TagInteger)
	if err != nil {
		return 0, err
	}
	return IntContent(e.Content)
}

// Int32 decodes an INTEGER that must fit 32 signed bits (MIT's store_int
// gives ASN1_OVERFLOW otherwise).
func Int32(b []byte) (int32, error) {
	v, err := Int(b)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, ErrOverflow
	}
	return int32(v), nil
}

// Uint32 decodes an unsigned INTEGER as MIT's k5_asn1_decode_uint (no
// negative values) that fits 32 bits.
func Uint32(b []byte) (uint32, error) {
	e, err := Only(b, TagInteger)
	if err != nil {
		return 0, err
	}
	c := e.Content
	if len(c) == 0 {
		return 0, ErrBadLength
	}
	if c[0]&0x80 != 0 {
		return 0, ErrOverflow
	}
	var v uint64
	for _, o := range c {
		if v > math.MaxUint32>>8 {
			return 0, ErrOverflow
		}
		v = v<<8 | uint64(o)
	}
	return uint32(v), nil
}

// Octets decodes an OCTET STRING TLV filling b; the result aliases b.
func Octets(b []byte) ([]byte, error) {
	e, err := Only(b, TagOctetString)
	return e.Content, err
}

// GeneralString decodes a GeneralString (KerberosString, Realm).
func GeneralString(b []byte) (string, error) {
	e, err := Only(b, TagGeneralString)
	return string(e.Content), err
}

// KerberosTime decodes a GeneralizedTime in the one form Kerberos allows,
// "YYYYMMDDhhmmssZ" (MIT's k5_asn1_decode_generaltime).
func KerberosTime(b []byte) (time.Time, error) {
	e, err := Only(b, TagGeneralizedTime)
	if err != nil {
		return time.Time{}, err
	}
	s := e.Content
	if len(s) != 15 {
		return time.Time{}, ErrBadLength
	}
	if s[14] != 'Z' {
		return time.Time{}, ErrBadFormat
	}
	var v [14]int
	for i := 0; i < 14; i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, ErrBadTime
		}
		v[i] = int(s[i] - '0')
	}
	year := v[0]*1000 + v[1]*100 + v[2]*10 + v[3]
	mon, day := v[4]*10+v[5], v[6]*10+v[7]
	hour, min, sec := v[8]*10+v[9], v[10]*10+v[11], v[12]*10+v[13]
	// MIT's krb5int_gmt_mktime rejects fields out of range rather than
	// normalising them.
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 {
		return time.Time{}, ErrBadTime
	}
	return time.Date(year, time.Month(mon), day, hour, min, sec, 0, time.UTC), nil
}

// LenSize is the number of octets DER needs for a length n.
func LenSize(n int) int {
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

// TLVSize is the size of a TLV with n content octets and a one-octet tag.
func TLVSize(n int) int { return 1 + LenSize(n) + n }

// AppendHeader appends an identifier octet and a DER length.
func AppendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	switch LenSize(n) {
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

// AppendTLV appends tag, length and content.
func AppendTLV(b []byte, tag byte, content []byte) []byte {
	return append(AppendHeader(b, tag, len(content)), content...)
}

// AppendInt appends a DER INTEGER in the fewest two's-complement octets,
// as MIT's k5_asn1_encode_int; an unsigned 32-bit value passed as int64
// gets the leading zero octet MIT's k5_asn1_encode_uint gives it.
func AppendInt(b []byte, v int64) []byte {
	n := 1
	for n < 8 && v>>(8*n-1) != 0 && v>>(8*n-1) != -1 {
		n++
	}
	b = append(b, TagInteger, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// AppendCtx wraps inner (a complete TLV) in the explicit tag [n].
func AppendCtx(b []byte, n int, inner []byte) []byte { return AppendTLV(b, CtxTag(n), inner) }

// AppendCtxInt appends [n] INTEGER v.
func AppendCtxInt(b []byte, n int, v int64) []byte {
	var tmp [10]byte
	return AppendCtx(b, n, AppendInt(tmp[:0], v))
}

// AppendCtxString appends [n] holding a string TLV of tag.
func AppendCtxString(b []byte, n int, tag byte, s []byte) []byte {
	b = AppendHeader(b, CtxTag(n), TLVSize(len(s)))
	return AppendTLV(b, tag, s)
}

// AppendKerberosTime appends a GeneralizedTime "YYYYMMDDhhmmssZ" of t in
// UTC, whole seconds (RFC 4120 §5.2.3).
func AppendKerberosTime(b []byte, t time.Time) []byte {
	var s [15]byte
	t.UTC().AppendFormat(s[:0], "20060102150405Z")
	return AppendTLV(b, TagGeneralizedTime, s[:])
}

// AppendSequence wraps content in a SEQUENCE.
func AppendSequence(b []byte, content []byte) []byte { return AppendTLV(b, TagSequence, content) }
