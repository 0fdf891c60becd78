package kdc

import (
	"time"

	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// The KDC's messages are decoded and encoded by hand. gokrb5's
// reflection-based decoder discards the raw req-body bytes the TGS checksum
// covers, pads short KDCOptions bit strings on the wrong side and panics on
// some malformed input (gokrb5-audit.md §3); its encoder tags every
// EncKDCRepPart 25 and re-marshals decrypted tickets. The decoder here is
// bounded and never panics: every length is checked against what is left of
// the input before it is used, and it reports MIT's ASN.1 error texts.

// parseTime decodes a KerberosTime ("YYYYMMDDhhmmssZ") into MIT's 32-bit
// timestamp: krb5_timestamp holds the low 32 bits of the Unix time, which
// MIT treats as unsigned, so 19700101000000Z is 0 (MIT's "unset" and, as
// till, infinity).
func parseTime(b []byte) (uint32, error) {
	t, err := asn1der.KerberosTime(b)
	if err != nil {
		return 0, err
	}
	return uint32(t.Unix()), nil
}

// The encoding functions below each append one complete TLV.

// appendCtxTime appends [n] KerberosTime for MIT's 32-bit timestamp ts,
// which MIT reads as unsigned (ts2tt).
func appendCtxTime(b []byte, n int, ts uint32) []byte {
	var tmp [17]byte
	return asn1der.AppendCtx(b, n, asn1der.AppendKerberosTime(tmp[:0], time.Unix(int64(ts), 0)))
}

// appendCtxFlags appends [n] KerberosFlags as MIT encodes krb5_flags: four
// content octets, no unused bits.
func appendCtxFlags(b []byte, n int, flags uint32) []byte {
	return asn1der.AppendCtx(b, n, []byte{asn1der.TagBitString, 5, 0, byte(flags >> 24), byte(flags >> 16), byte(flags >> 8), byte(flags)})
}
