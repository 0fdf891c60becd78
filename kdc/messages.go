package kdc

import (
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/asn1der"
	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// paData is one PA-DATA element.
type paData struct {
	Type  int32
	Value []byte
}

// hostAddress is a HostAddress.
type hostAddress struct {
	Type int32
	Addr []byte
}

// authData is one AuthorizationData element.
type authData struct {
	Type int32
	Data []byte
}

// ticketTimes are a ticket's times as MIT's 32-bit timestamps; Start and
// RenewTill are 0 when absent.
type ticketTimes struct {
	Auth, Start, End, RenewTill uint32
}

// startOrAuth is the effective start time: starttime when present, else
// authtime.
func (t ticketTimes) startOrAuth() uint32 {
	if t.Start != 0 {
		return t.Start
	}
	return t.Auth
}

// encTicketPart is an EncTicketPart (RFC 4120 §5.3).
type encTicketPart struct {
	Flags        uint32
	Key          types.EncryptionKey
	CRealm       string
	CName        types.PrincipalName
	TrType       int32
	TrContents   []byte
	Times        ticketTimes
	CAddrs       []hostAddress
	HaveCAddrs   bool // caddr present, possibly empty
	AuthData     []authData
	HaveAuthData bool
}

// kdcReq is an AS-REQ or TGS-REQ.
type kdcReq struct {
	MsgType int32
	PAData  []paData
	// RawBody is the req-body SEQUENCE exactly as received: what the
	// authenticator checksum of a TGS-REQ covers (MIT fetch_asn1_field).
	RawBody []byte
	Body    reqBody
}

// reqBody is a KDC-REQ-BODY. Absent optional times are 0.
type reqBody struct {
	Options       uint32
	CName         *types.PrincipalName
	Realm         string
	SName         *types.PrincipalName
	From          uint32
	Till          uint32
	RTime         uint32
	Nonce         int32
	ETypes        []int32
	Addresses     []hostAddress
	HaveAddresses bool
	EncAuthData   *krb5x.EncryptedData
	// Tickets are the additional tickets, each as its DER.
	Tickets [][]byte
}

// findPA returns the first PA-DATA of type t (krb5int_find_pa_data).
func (r *kdcReq) findPA(t int32) *paData {
	for i := range r.PAData {
		if r.PAData[i].Type == t {
			return &r.PAData[i]
		}
	}
	return nil
}

// Decoders.

// parseKDCReq decodes an AS-REQ (app 10) or TGS-REQ (app 12) as MIT's
// decode_krb5_as_req / decode_krb5_tgs_req: pvno must be 5 (else
// KDC_ERR_BAD_PVNO, a decoding failure), the msg-type is read but only
// checked later.
func parseKDCReq(der []byte, app int) (*kdcReq, error) {
	f, err := kdcReqFields(der, app)
	if err != nil {
		return nil, err
	}
	v, err := asn1der.Int(f[1])
	if err != nil {
		return nil, err
	}
	if v != krb5x.PVNO {
		return nil, errBadPVNO
	}
	r := &kdcReq{}
	if r.MsgType, err = asn1der.Int32(f[2]); err != nil {
		return nil, err
	}
	if f[3] != nil {
		if r.PAData, err = parsePADataSeq(f[3]); err != nil {
			return nil, err
		}
	}
	r.RawBody = f[4]
	if err := parseReqBody(f[4], &r.Body); err != nil {
		return nil, err
	}
	return r, nil
}

// kdcReqFields splits an AS-REQ or TGS-REQ into its fields: pvno [1],
// msg-type [2], padata [3] (nil when absent) and req-body [4].
func kdcReqFields(der []byte, app int) (asn1der.Fields, error) {
	top, err := asn1der.TopLevel(der, app)
	if err != nil {
		return asn1der.Fields{}, err
	}
	return asn1der.Sequence(top.Content, asn1der.Tags(1, 2, 3, 4), asn1der.Tags(1, 2, 4))
}

// errBadPVNO is MIT's KRB5KDC_ERR_BAD_PVNO from the decoder. It is a
// code of the krb5 error table's protocol range, so a TGS-REQ whose
// AP-REQ, ticket or authenticator carries another version gets
// KDC_ERR_BAD_PVNO (3) back, not KRB_ERR_GENERIC.
var errBadPVNO error = &Error{Code: CodeBadPVNO}

func parsePADataSeq(b []byte) ([]paData, error) {
	// PA-DATA ::= SEQUENCE { padata-type [1] Int32, padata-value [2] OCTET STRING }
	return parseTypedOctets(b, 1, func(typ int32, v []byte) paData { return paData{Type: typ, Value: v} })
}

// reqBodyFields splits a KDC-REQ-BODY into its fields, [0] kdc-options
// to [11] additional-tickets, nil when absent.
func reqBodyFields(b []byte) (asn1der.Fields, error) {
	return asn1der.Sequence(b, asn1der.Tags(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), asn1der.Tags(0, 2, 5, 7, 8))
}

func parseReqBody(b []byte, body *reqBody) error {
	f, err := reqBodyFields(b)
	if err != nil {
		return err
	}
	if body.Options, err = krb5x.ParseFlags(f[0]); err != nil {
		return err
	}
	if f[1] != nil {
		pn, err := krb5x.ParsePrincipalName(f[1])
		if err != nil {
			return err
		}
		body.CName = &pn
	}
	if body.Realm, err = asn1der.GeneralString(f[2]); err != nil {
		return err
	}
	if f[3] != nil {
		pn, err := krb5x.ParsePrincipalName(f[3])
		if err != nil {
			return err
		}
		body.SName = &pn
	}
	if f[4] != nil {
		if body.From, err = parseTime(f[4]); err != nil {
			return err
		}
	}
	if body.Till, err = parseTime(f[5]); err != nil {
		return err
	}
	if f[6] != nil {
		if body.RTime, err = parseTime(f[6]); err != nil {
			return err
		}
	}
	if body.Nonce, err = asn1der.Int32(f[7]); err != nil {
		return err
	}
	err = asn1der.SequenceOf(f[8], func(e []byte) error {
		et, err := asn1der.Int32(e)
		body.ETypes = append(body.ETypes, et)
		return err
	})
	if err != nil {
		return err
	}
	if f[9] != nil {
		body.HaveAddresses = true
		if body.Addresses, err = parseAddresses(f[9]); err != nil {
			return err
		}
	}
	if f[10] != nil {
		ed, err := krb5x.ParseEncryptedData(f[10])
		if err != nil {
			return err
		}
		body.EncAuthData = &ed
	}
	if f[11] != nil {
		err = asn1der.SequenceOf(f[11], func(e []byte) error {
			// MIT decodes every additional ticket up front.
			if _, err := krb5x.ParseTicket(e); err != nil {
				return err
			}
			body.Tickets = append(body.Tickets, e)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func parseAddresses(b []byte) ([]hostAddress, error) {
	return parseTypedOctets(b, 0, func(typ int32, v []byte) hostAddress { return hostAddress{Type: typ, Addr: v} })
}

// parseTypedOctets decodes the shape HostAddresses, AuthorizationData and
// METHOD-DATA share (see appendTypedOctets): SEQUENCE OF SEQUENCE {
// [first] Int32, [first+1] OCTET STRING }, both fields required.
func parseTypedOctets[T any](b []byte, first int, build func(int32, []byte) T) ([]T, error) {
	out := []T{}
	err := asn1der.SequenceOf(b, func(e []byte) error {
		f, err := asn1der.Sequence(e, asn1der.Tags(first, first+1), asn1der.Tags(first, first+1))
		if err != nil {
			return err
		}
		typ, err := asn1der.Int32(f[first])
		if err != nil {
			return err
		}
		v, err := asn1der.Octets(f[first+1])
		if err != nil {
			return err
		}
		out = append(out, build(typ, v))
		return nil
	})
	return out, err
}

// parseAuthData decodes an AuthorizationData TLV filling b.
func parseAuthData(b []byte) ([]authData, error) {
	return parseTypedOctets(b, 0, func(typ int32, v []byte) authData { return authData{Type: typ, Data: v} })
}

// parseEncTicketPart decodes a decrypted EncTicketPart.
func parseEncTicketPart(b []byte) (*encTicketPart, error) {
	e, err := asn1der.TopLevel(b, krb5x.AppEncTicketPart)
	if err != nil {
		return nil, err
	}
	f, err := asn1der.Sequence(e.Content, asn1der.Tags(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), asn1der.Tags(0, 1, 2, 3, 4, 5, 7))
	if err != nil {
		return nil, err
	}
	t := &encTicketPart{}
	if t.Flags, err = krb5x.ParseFlags(f[0]); err != nil {
		return nil, err
	}
	if t.Key, err = krb5x.ParseEncryptionKey(f[1]); err != nil {
		return nil, err
	}
	if t.CRealm, err = asn1der.GeneralString(f[2]); err != nil {
		return nil, err
	}
	if t.CName, err = krb5x.ParsePrincipalName(f[3]); err != nil {
		return nil, err
	}
	tr, err := asn1der.Sequence(f[4], asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		return nil, err
	}
	if t.TrType, err = asn1der.Int32(tr[0]); err != nil {
		return nil, err
	}
	if t.TrContents, err = asn1der.Octets(tr[1]); err != nil {
		return nil, err
	}
	if t.Times.Auth, err = parseTime(f[5]); err != nil {
		return nil, err
	}
	if f[6] != nil {
		if t.Times.Start, err = parseTime(f[6]); err != nil {
			return nil, err
		}
	}
	if t.Times.End, err = parseTime(f[7]); err != nil {
		return nil, err
	}
	if f[8] != nil {
		if t.Times.RenewTill, err = parseTime(f[8]); err != nil {
			return nil, err
		}
	}
	if f[9] != nil {
		t.HaveCAddrs = true
		if t.CAddrs, err = parseAddresses(f[9]); err != nil {
			return nil, err
		}
	}
	if f[10] != nil {
		t.HaveAuthData = true
		if t.AuthData, err = parseAuthData(f[10]); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// apReq is a decoded AP-REQ (the PA-TGS-REQ padata value).
type apReq struct {
	Options       uint32
	TicketDER     []byte
	Ticket        krb5x.Ticket
	Authenticator krb5x.EncryptedData
}

// AP options (RFC 4120 §5.5.1) as 32-bit krb5_flags.
const (
	apOptUseSessionKey  uint32 = 0x40000000
	apOptMutualRequired uint32 = 0x20000000
)

// parseAPReq decodes an AP-REQ as MIT's decode_krb5_ap_req: pvno 5
// (KDC_ERR_BAD_PVNO); the msg-type must be an integer but its value is
// not checked (MIT's KDC issues a ticket whatever it is).
func parseAPReq(b []byte) (*apReq, error) {
	top, err := asn1der.TopLevel(b, krb5x.AppAPReq)
	if err != nil {
		return nil, err
	}
	f, err := asn1der.Sequence(top.Content, asn1der.Tags(0, 1, 2, 3, 4), asn1der.Tags(0, 1, 2, 3, 4))
	if err != nil {
		return nil, err
	}
	if v, err := asn1der.Int(f[0]); err != nil {
		return nil, err
	} else if v != krb5x.PVNO {
		return nil, errBadPVNO
	}
	if _, err := asn1der.Int(f[1]); err != nil {
		return nil, err
	}
	a := &apReq{TicketDER: f[3]}
	if a.Options, err = krb5x.ParseFlags(f[2]); err != nil {
		return nil, err
	}
	if a.Ticket, err = krb5x.ParseTicket(f[3]); err != nil {
		return nil, err
	}
	if a.Authenticator, err = krb5x.ParseEncryptedData(f[4]); err != nil {
		return nil, err
	}
	return a, nil
}

// errBadMsgType is MIT's KRB5_BADMSGTYPE.
var errBadMsgType error = &asn1der.Error{Text: "Invalid message type specified for encoding"}

// checksum is a Checksum.
type checksum struct {
	Type int32
	Sum  []byte
}

// authenticator is a decrypted Authenticator.
type authenticator struct {
	CRealm   string
	CName    types.PrincipalName
	Cksum    *checksum
	CUsec    int32
	CTime    uint32
	Subkey   *types.EncryptionKey
	AuthData []authData
}

func parseAuthenticator(b []byte) (*authenticator, error) {
	e, err := asn1der.TopLevel(b, krb5x.AppAuthenticator)
	if err != nil {
		return nil, err
	}
	f, err := asn1der.Sequence(e.Content, asn1der.Tags(0, 1, 2, 3, 4, 5, 6, 7, 8), asn1der.Tags(0, 1, 2, 4, 5))
	if err != nil {
		return nil, err
	}
	if v, err := asn1der.Int(f[0]); err != nil {
		return nil, err
	} else if v != krb5x.PVNO {
		return nil, errBadPVNO
	}
	a := &authenticator{}
	if a.CRealm, err = asn1der.GeneralString(f[1]); err != nil {
		return nil, err
	}
	if a.CName, err = krb5x.ParsePrincipalName(f[2]); err != nil {
		return nil, err
	}
	if f[3] != nil {
		cf, err := asn1der.Sequence(f[3], asn1der.Tags(0, 1), asn1der.Tags(0, 1))
		if err != nil {
			return nil, err
		}
		c := &checksum{}
		if c.Type, err = asn1der.Int32(cf[0]); err != nil {
			return nil, err
		}
		if c.Sum, err = asn1der.Octets(cf[1]); err != nil {
			return nil, err
		}
		a.Cksum = c
	}
	if a.CUsec, err = asn1der.Int32(f[4]); err != nil {
		return nil, err
	}
	if a.CTime, err = parseTime(f[5]); err != nil {
		return nil, err
	}
	if f[6] != nil {
		k, err := krb5x.ParseEncryptionKey(f[6])
		if err != nil {
			return nil, err
		}
		a.Subkey = &k
	}
	if f[7] != nil {
		if _, err := asn1der.Int(f[7]); err != nil {
			return nil, err
		}
	}
	if f[8] != nil {
		if a.AuthData, err = parseAuthData(f[8]); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// parseEncTS decodes PA-ENC-TS-ENC ::= SEQUENCE { patimestamp [0]
// KerberosTime, pausec [1] Microseconds OPTIONAL }.
func parseEncTS(b []byte) (uint32, error) {
	f, err := asn1der.Sequence(b, asn1der.Tags(0, 1), asn1der.Tags(0))
	if err != nil {
		return 0, err
	}
	ts, err := parseTime(f[0])
	if err != nil {
		return 0, err
	}
	if f[1] != nil {
		if _, err := asn1der.Int32(f[1]); err != nil {
			return 0, err
		}
	}
	return ts, nil
}

// Encoders. Field presence follows MIT's encoder (asn1_k_encode.c):
// optional times are omitted when 0, kvno when 0.

func appendAddresses(b []byte, addrs []hostAddress) []byte {
	return appendTypedOctets(b, 0, addrs, func(a hostAddress) (int64, []byte) { return int64(a.Type), a.Addr })
}

func appendAuthData(b []byte, ads []authData) []byte {
	return appendTypedOctets(b, 0, ads, func(ad authData) (int64, []byte) { return int64(ad.Type), ad.Data })
}

// appendPADataSeq appends a SEQUENCE OF PA-DATA (also METHOD-DATA).
func appendPADataSeq(b []byte, pas []paData) []byte {
	return appendTypedOctets(b, 1, pas, func(pa paData) (int64, []byte) { return int64(pa.Type), pa.Value })
}

// appendTypedOctets appends the shape HostAddresses, AuthorizationData and
// METHOD-DATA share: SEQUENCE OF SEQUENCE { [first] INTEGER, [first+1]
// OCTET STRING }.
func appendTypedOctets[T any](b []byte, first int, items []T, fields func(T) (int64, []byte)) []byte {
	var body []byte
	for _, it := range items {
		typ, value := fields(it)
		var e []byte
		e = asn1der.AppendCtxInt(e, first, typ)
		e = asn1der.AppendCtxString(e, first+1, asn1der.TagOctetString, value)
		body = asn1der.AppendSequence(body, e)
	}
	return asn1der.AppendSequence(b, body)
}

// appendTicket encodes a Ticket.
// marshalEncTicketPart encodes an EncTicketPart as MIT does.
func marshalEncTicketPart(t *encTicketPart) []byte {
	var body []byte
	body = appendCtxFlags(body, 0, t.Flags)
	body = asn1der.AppendCtx(body, 1, krb5x.AppendEncryptionKey(nil, t.Key))
	body = asn1der.AppendCtxString(body, 2, asn1der.TagGeneralString, []byte(t.CRealm))
	body = asn1der.AppendCtx(body, 3, krb5x.AppendPrincipalName(nil, t.CName))
	var tr []byte
	tr = asn1der.AppendCtxInt(tr, 0, int64(t.TrType))
	tr = asn1der.AppendCtxString(tr, 1, asn1der.TagOctetString, t.TrContents)
	body = asn1der.AppendCtx(body, 4, asn1der.AppendSequence(nil, tr))
	body = appendCtxTime(body, 5, t.Times.Auth)
	if t.Times.Start != 0 {
		body = appendCtxTime(body, 6, t.Times.Start)
	}
	body = appendCtxTime(body, 7, t.Times.End)
	if t.Times.RenewTill != 0 {
		body = appendCtxTime(body, 8, t.Times.RenewTill)
	}
	if t.HaveCAddrs {
		body = asn1der.AppendCtx(body, 9, appendAddresses(nil, t.CAddrs))
	}
	if t.HaveAuthData {
		body = asn1der.AppendCtx(body, 10, appendAuthData(nil, t.AuthData))
	}
	return asn1der.AppendTLV(nil, asn1der.AppTag(krb5x.AppEncTicketPart), asn1der.AppendSequence(nil, body))
}

// encKDCRepPart is an EncASRepPart or EncTGSRepPart.
type encKDCRepPart struct {
	Key        types.EncryptionKey
	Nonce      int32
	KeyExp     uint32
	Flags      uint32
	Times      ticketTimes
	SRealm     string
	SName      types.PrincipalName
	CAddrs     []hostAddress
	HaveCAddrs bool
	EncPAData  []paData
}

// marshalEncKDCRepPart encodes the reply's encrypted part. MIT tags both
// EncASRepPart and EncTGSRepPart [APPLICATION 26] "for backwards
// compatibility" (asn1_k_encode.c); every client accepts either tag, and
// sending what MIT sends keeps our replies byte-compatible. last-req is
// MIT's single { 0, 19700101000000Z } entry; starttime is omitted when 0
// (equal to authtime) and renew-till unless the RENEWABLE flag is set.
func marshalEncKDCRepPart(p *encKDCRepPart) []byte {
	var body []byte
	body = asn1der.AppendCtx(body, 0, krb5x.AppendEncryptionKey(nil, p.Key))
	var lr []byte
	lr = asn1der.AppendCtxInt(lr, 0, 0)
	lr = appendCtxTime(lr, 1, 0)
	body = asn1der.AppendCtx(body, 1, asn1der.AppendSequence(nil, asn1der.AppendSequence(nil, lr)))
	body = asn1der.AppendCtxInt(body, 2, int64(p.Nonce))
	if p.KeyExp != 0 {
		body = appendCtxTime(body, 3, p.KeyExp)
	}
	body = appendCtxFlags(body, 4, p.Flags)
	body = appendCtxTime(body, 5, p.Times.Auth)
	if p.Times.Start != 0 {
		body = appendCtxTime(body, 6, p.Times.Start)
	}
	body = appendCtxTime(body, 7, p.Times.End)
	if p.Flags&tktRenewable != 0 {
		body = appendCtxTime(body, 8, p.Times.RenewTill)
	}
	body = asn1der.AppendCtxString(body, 9, asn1der.TagGeneralString, []byte(p.SRealm))
	body = asn1der.AppendCtx(body, 10, krb5x.AppendPrincipalName(nil, p.SName))
	if p.HaveCAddrs {
		body = asn1der.AppendCtx(body, 11, appendAddresses(nil, p.CAddrs))
	}
	if len(p.EncPAData) > 0 {
		body = asn1der.AppendCtx(body, 12, appendPADataSeq(nil, p.EncPAData))
	}
	return asn1der.AppendTLV(nil, asn1der.AppTag(krb5x.AppEncTGSRepPart), asn1der.AppendSequence(nil, body))
}

// marshalKDCRep encodes an AS-REP (app 11) or TGS-REP (app 13).
func marshalKDCRep(app int, padata []paData, crealm string, cname types.PrincipalName, tkt krb5x.Ticket, enc krb5x.EncryptedData) []byte {
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, krb5x.PVNO)
	body = asn1der.AppendCtxInt(body, 1, int64(app))
	if len(padata) > 0 {
		body = asn1der.AppendCtx(body, 2, appendPADataSeq(nil, padata))
	}
	body = asn1der.AppendCtxString(body, 3, asn1der.TagGeneralString, []byte(crealm))
	body = asn1der.AppendCtx(body, 4, krb5x.AppendPrincipalName(nil, cname))
	body = asn1der.AppendCtx(body, 5, krb5x.AppendTicket(nil, tkt))
	body = asn1der.AppendCtx(body, 6, krb5x.AppendEncryptedData(nil, enc))
	return asn1der.AppendTLV(nil, asn1der.AppTag(app), asn1der.AppendSequence(nil, body))
}

// krbError is a KRB-ERROR as the KDC sends it.
type krbError struct {
	STime  uint32
	SUsec  int32
	Code   int32
	CRealm string
	CName  *types.PrincipalName
	Realm  string
	SName  types.PrincipalName
	// Text is the e-text, sent without a trailing NUL as MIT's KDC
	// sends its status strings; empty means absent.
	Text  string
	EData []byte
}

// marshalKRBError encodes a KRB-ERROR as MIT's encode_krb5_error: no ctime
// or cusec (the KDC never sets them), crealm and cname only with a client,
// e-text and e-data only when non-empty.
func marshalKRBError(e *krbError) []byte {
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, krb5x.PVNO)
	body = asn1der.AppendCtxInt(body, 1, krb5x.AppKRBError)
	body = appendCtxTime(body, 4, e.STime)
	body = asn1der.AppendCtxInt(body, 5, int64(e.SUsec))
	body = asn1der.AppendCtxInt(body, 6, int64(uint32(e.Code)))
	if e.CName != nil {
		body = asn1der.AppendCtxString(body, 7, asn1der.TagGeneralString, []byte(e.CRealm))
		body = asn1der.AppendCtx(body, 8, krb5x.AppendPrincipalName(nil, *e.CName))
	}
	body = asn1der.AppendCtxString(body, 9, asn1der.TagGeneralString, []byte(e.Realm))
	body = asn1der.AppendCtx(body, 10, krb5x.AppendPrincipalName(nil, e.SName))
	if e.Text != "" {
		body = asn1der.AppendCtxString(body, 11, asn1der.TagGeneralString, []byte(e.Text))
	}
	if len(e.EData) > 0 {
		body = asn1der.AppendCtxString(body, 12, asn1der.TagOctetString, e.EData)
	}
	return asn1der.AppendTLV(nil, asn1der.AppTag(krb5x.AppKRBError), asn1der.AppendSequence(nil, body))
}

// marshalETypeInfo2 encodes ETYPE-INFO2 with one entry, as MIT's
// make_etype_info: the salt always present, no s2kparams (the enctype's
// default iteration count is implied).
func marshalETypeInfo2(etype int32, salt string) []byte {
	var e []byte
	e = asn1der.AppendCtxInt(e, 0, int64(etype))
	e = asn1der.AppendCtxString(e, 1, asn1der.TagGeneralString, []byte(salt))
	return asn1der.AppendSequence(nil, asn1der.AppendSequence(nil, e))
}

// marshalETypeInfo encodes ETYPE-INFO with one entry (for clients that
// request only enctypes that predate ETYPE-INFO2): the salt as an OCTET
// STRING.
func marshalETypeInfo(etype int32, salt string) []byte {
	var e []byte
	e = asn1der.AppendCtxInt(e, 0, int64(etype))
	e = asn1der.AppendCtxString(e, 1, asn1der.TagOctetString, []byte(salt))
	return asn1der.AppendSequence(nil, asn1der.AppendSequence(nil, e))
}

// marshalChecksum encodes a Checksum.
func marshalChecksum(c checksum) []byte {
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, int64(c.Type))
	body = asn1der.AppendCtxString(body, 1, asn1der.TagOctetString, c.Sum)
	return asn1der.AppendSequence(nil, body)
}
