package krb5x

import (
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// Ticket is a Ticket (RFC 4120 §5.3) with its encrypted part still
// encrypted.
type Ticket struct {
	Realm   string
	SName   types.PrincipalName
	EncPart EncryptedData
}

// AppendTicket appends Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0]
// 5, realm [1], sname [2], enc-part [3] }.
func AppendTicket(b []byte, t Ticket) []byte {
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, PVNO)
	body = asn1der.AppendCtxString(body, 1, asn1der.TagGeneralString, []byte(t.Realm))
	body = asn1der.AppendCtx(body, 2, AppendPrincipalName(nil, t.SName))
	body = asn1der.AppendCtx(body, 3, AppendEncryptedData(nil, t.EncPart))
	return asn1der.AppendTLV(b, asn1der.AppTag(AppTicket), asn1der.AppendSequence(nil, body))
}

// ParseTicket decodes a Ticket TLV filling b. A tkt-vno other than 5 is
// an *Error with CodeBadPVNO, MIT's KRB5KDC_ERR_BAD_PVNO from its
// krb5_version field; a KDC and kpropd alike answer it with that code.
func ParseTicket(b []byte) (Ticket, error) {
	var t Ticket
	e, err := asn1der.Only(b, asn1der.AppTag(AppTicket))
	if err != nil {
		return t, err
	}
	f, err := asn1der.Sequence(e.Content, asn1der.Tags(0, 1, 2, 3), asn1der.Tags(0, 1, 2, 3))
	if err != nil {
		return t, err
	}
	if v, err := asn1der.Int(f[0]); err != nil {
		return t, err
	} else if v != PVNO {
		return t, newError(CodeBadPVNO, nil)
	}
	if t.Realm, err = asn1der.GeneralString(f[1]); err != nil {
		return t, err
	}
	if t.SName, err = ParsePrincipalName(f[2]); err != nil {
		return t, err
	}
	t.EncPart, err = ParseEncryptedData(f[3])
	return t, err
}
