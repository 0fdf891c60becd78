package krb5x

import "github.com/jcmturner/gokrb5/v8/types"

// maxNameComponents bounds the components of a decoded PrincipalName; MIT
// has no limit, but no principal a kprop peer can name has more than a
// handful, and the input length bounds the work anyway.
const maxNameComponents = 64

// appendPrincipalName appends PrincipalName ::= SEQUENCE { name-type [0]
// Int32, name-string [1] SEQUENCE OF KerberosString } (RFC 4120 §5.2.2).
func appendPrincipalName(b []byte, pn types.PrincipalName) []byte {
	var strs []byte
	for _, s := range pn.NameString {
		strs = appendTLV(strs, tagGeneralString, []byte(s))
	}
	var body []byte
	body = appendCtxInt(body, 0, int64(pn.NameType))
	body = appendHeader(body, ctxTag(1), tlvSize(len(strs)))
	body = appendTLV(body, tagSequence, strs)
	return appendTLV(b, tagSequence, body)
}

// parsePrincipalName decodes a PrincipalName TLV filling b.
func parsePrincipalName(b []byte) (types.PrincipalName, error) {
	var pn types.PrincipalName
	f, err := sequenceFields(b, tags(0, 1), tags(0, 1))
	if err != nil {
		return pn, err
	}
	if pn.NameType, err = parseInt32(f[0]); err != nil {
		return pn, err
	}
	seq, err := only(f[1], tagSequence)
	if err != nil {
		return pn, err
	}
	pn.NameString = []string{}
	for rest := seq.content; len(rest) > 0; {
		var e element
		if e, rest, err = expect(rest, tagGeneralString); err != nil {
			return pn, err
		}
		if len(pn.NameString) == maxNameComponents {
			return pn, errASN1Overflow
		}
		pn.NameString = append(pn.NameString, string(e.content))
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
