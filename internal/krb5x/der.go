package krb5x

import (
	"math"
	"time"

	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// The Kerberos messages here are encoded by hand rather than with
// gofork's reflection-based marshaller: it copies octet strings a byte at a
// time (gokrb5-audit.md, Benchmarks), and a kprop session moves every byte
// of a dump through EncKrbPrivPart. The decoders are bounded and never
// panic: every length is checked against what is left of the input before
// it is used.

// Application tags of the Kerberos messages (RFC 4120 §5.10 and each
// message's definition), for the KDC's and kprop's hand-written codecs.
const (
	AppTicket        = 1
	AppAuthenticator = 2
	AppEncTicketPart = 3
	AppASReq         = 10
	AppASRep         = 11
	AppTGSReq        = 12
	AppTGSRep        = 13
	AppAPReq         = 14
	AppAPRep         = 15
	AppKRBSafe       = 20
	AppKRBPriv       = 21
	AppEncASRepPart  = 25
	AppEncTGSRepPart = 26
	AppEncAPRepPart  = 27
	AppEncKrbPriv    = 28
	AppKRBError      = 30
)

// PVNO is the protocol version number every message carries (RFC 4120).
const PVNO = 5

// IsApp reports whether a message starts with [APPLICATION app], with
// either value of the constructed bit, as MIT's krb5int_is_app_tag: the
// test MIT's dispatcher uses to tell one message from another.
func IsApp(der []byte, app int) bool {
	return len(der) > 0 && der[0]&^0x20 == 0x40|byte(app)
}

// appendUint appends a DER INTEGER of an unsigned value, with a leading
// zero octet when the top bit is set (MIT's k5_asn1_encode_uint). Sequence
// numbers and error codes are encoded this way.
func appendUint(b []byte, v uint32) []byte { return asn1der.AppendInt(b, int64(v)) }

// appendKerberosTime appends a GeneralizedTime "YYYYMMDDhhmmssZ" of t in
// UTC, whole seconds (RFC 4120 §5.2.3). The zero time.Time and the Unix
// epoch both encode as MIT's zero timestamp, 19700101000000Z.
func appendKerberosTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return asn1der.AppendKerberosTime(b, t)
}

// appendBitString32 appends a 32-bit flags BIT STRING the way MIT always
// encodes krb5_flags: four content octets, no unused bits.
func appendBitString32(b []byte, flags uint32) []byte {
	return append(b, asn1der.TagBitString, 5, 0, byte(flags>>24), byte(flags>>16), byte(flags>>8), byte(flags))
}

// parseSeqNumber decodes a sequence number: MIT's decode_seqno accepts
// -2^31..2^32-1, so that the negative encodings of old MIT and Heimdal
// peers become the same uint32.
func parseSeqNumber(b []byte) (uint32, error) {
	v, err := asn1der.Int(b)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxUint32 {
		return 0, asn1der.ErrOverflow
	}
	return uint32(v), nil
}

// ParseFlags decodes a KerberosFlags BIT STRING (KDCOptions, APOptions,
// TicketFlags) into 32 bits, bit 0 the most significant, as MIT's
// decode_krb5_flags: up to the first four octets count, a shorter string
// leaves the low bits zero (gokrb5 pads on the left instead, shifting
// every bit), and the unused bits of the last octet are cleared only when
// there is more than one octet, as k5_asn1_decode_bitstring does.
func ParseFlags(b []byte) (uint32, error) {
	e, err := asn1der.Only(b, asn1der.TagBitString)
	if err != nil {
		return 0, err
	}
	c := e.Content
	if len(c) == 0 {
		return 0, asn1der.ErrBadLength
	}
	unused := c[0]
	if unused > 7 {
		return 0, asn1der.ErrBadFormat
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
