package krb5x

import (
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// AppendPrincipalName appends PrincipalName ::= SEQUENCE { name-type [0]
// Int32, name-string [1] SEQUENCE OF KerberosString } (RFC 4120 §5.2.2).
func AppendPrincipalName(b []byte, pn types.PrincipalName) []byte {
	var strs []byte
	for _, s := range pn.NameString {
		strs = asn1der.AppendTLV(strs, asn1der.TagGeneralString, []byte(s))
	}
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, int64(pn.NameType))
	body = asn1der.AppendCtx(body, 1, asn1der.AppendSequence(nil, strs))
	return asn1der.AppendSequence(b, body)
}

// ParsePrincipalName decodes a PrincipalName TLV filling b. The number of
// components is bounded by asn1der.MaxElements.
func ParsePrincipalName(b []byte) (types.PrincipalName, error) {
	var pn types.PrincipalName
	f, err := asn1der.Sequence(b, asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		return pn, err
	}
	if pn.NameType, err = asn1der.Int32(f[0]); err != nil {
		return pn, err
	}
	pn.NameString = []string{}
	err = asn1der.SequenceOf(f[1], func(e []byte) error {
		s, err := asn1der.GeneralString(e)
		pn.NameString = append(pn.NameString, s)
		return err
	})
	return pn, err
}
