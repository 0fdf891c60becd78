package krb5x

import (
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// maxNameComponents bounds the components of a decoded PrincipalName; MIT
// has no limit, but no principal a kprop peer can name has more than a
// handful, and the input length bounds the work anyway.
const maxNameComponents = 64

// appendPrincipalName appends PrincipalName ::= SEQUENCE { name-type [0]
// Int32, name-string [1] SEQUENCE OF KerberosString } (RFC 4120 §5.2.2).
func appendPrincipalName(b []byte, pn types.PrincipalName) []byte {
	var strs []byte
	for _, s := range pn.NameString {
		strs = asn1der.AppendTLV(strs, asn1der.TagGeneralString, []byte(s))
	}
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, int64(pn.NameType))
	body = asn1der.AppendHeader(body, asn1der.CtxTag(1), asn1der.TLVSize(len(strs)))
	body = asn1der.AppendTLV(body, asn1der.TagSequence, strs)
	return asn1der.AppendTLV(b, asn1der.TagSequence, body)
}

// parsePrincipalName decodes a PrincipalName TLV filling b.
func parsePrincipalName(b []byte) (types.PrincipalName, error) {
	var pn types.PrincipalName
	f, err := asn1der.Sequence(b, asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		return pn, err
	}
	if pn.NameType, err = asn1der.Int32(f[0]); err != nil {
		return pn, err
	}
	seq, err := asn1der.Only(f[1], asn1der.TagSequence)
	if err != nil {
		return pn, err
	}
	pn.NameString = []string{}
	for rest := seq.Content; len(rest) > 0; {
		var e asn1der.Element
		if e, rest, err = asn1der.Expect(rest, asn1der.TagGeneralString); err != nil {
			return pn, err
		}
		if len(pn.NameString) == maxNameComponents {
			return pn, asn1der.ErrOverflow
		}
		pn.NameString = append(pn.NameString, string(e.Content))
	}
	return pn, nil
}

// sameName reports whether two principals are the same as MIT's
// krb5_principal_compare sees it: same realm and components, whatever the
// name types.
func sameName(realmA string, a types.PrincipalName, realmB string, b types.PrincipalName) bool {
	if realmA != realmB || len(a.NameString) != len(b.NameString) {
		return false
	}
	for i := range a.NameString {
		if a.NameString[i] != b.NameString[i] {
			return false
		}
	}
	return true
}
