package kdc

import (
	"errors"
	"github.com/krb5prop/krb5prop/internal/princname"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// asState carries one AS exchange, as MIT's struct as_req_state.
type asState struct {
	rs      *requestState
	cname   string // the request's client, unparsed, for logs
	sname   string
	client  *kdb.Principal
	server  *kdb.Principal
	ck      *clientKey
	tkt     encTicketPart
	tktName types.PrincipalName // server name in the krb5x.Ticket
	session types.EncryptionKey
	rep     replyEtypes
}

// processAS is MIT's process_as_req and finish_process_as_req: look up
// client and server, apply the policy, choose keys and times, check the
// preauthentication, and issue the ticket; every failure is logged and
// answered with a KRB-ERROR.
func (h *Handler) processAS(rs *requestState, pkt []byte) ([]byte, error) {
	st := &asState{rs: rs}
	reply, e := h.asExchange(st, pkt)
	h.auditAS(rs, st.client, e)
	if e == nil {
		h.logAS(rs, st.cname, st.sname, st.tkt.Times.Auth, st.rep, nil)
		return reply, nil
	}
	h.logAS(rs, st.cname, st.sname, rs.kdcNow, replyEtypes{}, e)
	body := &rs.req.Body
	return h.errorReply(rs, e, body.Realm, body.CName), nil
}

func (h *Handler) asExchange(st *asState, pkt []byte) ([]byte, *Error) {
	rs := st.rs
	req := rs.req
	body := &req.Body
	if req.MsgType != krb5x.AppASReq {
		return nil, failWith("VALIDATE_MESSAGE_TYPE", errBadMsgType)
	}
	if body.CName == nil {
		return nil, fail(CodeCPrincipalUnknown, "NULL_CLIENT")
	}
	st.cname = limitString(princname.Unparse(body.CName.NameString, body.Realm))
	if body.SName == nil {
		return nil, fail(CodeSPrincipalUnknown, "NULL_SERVER")
	}
	st.sname = limitString(princname.Unparse(body.SName.NameString, body.Realm))

	var err error
	if st.client, err = h.DB.Principal(rs.ctx, princname.Unparse(body.CName.NameString, body.Realm)); err != nil {
		if errors.Is(err, kdb.ErrNotFound) {
			return nil, fail(CodeCPrincipalUnknown, "CLIENT_NOT_FOUND")
		}
		return nil, failWith("LOOKING_UP_CLIENT", err)
	}
	if l, ok, err := h.DB.Lockout(rs.ctx, st.client.Name.String()); err != nil {
		return nil, failWith("LOOKING_UP_CLIENT", err)
	} else if ok {
		st.client.ApplyLockout(l)
	}
	server, err := h.DB.Principal(rs.ctx, princname.Unparse(body.SName.NameString, body.Realm))
	if err != nil {
		if errors.Is(err, kdb.ErrNotFound) {
			return nil, fail(CodeSPrincipalUnknown, "SERVER_NOT_FOUND")
		}
		return nil, failWith("LOOKING_UP_SERVER", err)
	}
	st.server = server
	// MIT's get_local_tgt: the realm's TGS must exist (its key seals
	// FAST cookies and signs PACs in MIT).
	if !isLocalTGS(*body.SName, body.Realm) {
		tgsName := princname.Unparse([]string{"krbtgt", body.Realm}, body.Realm)
		if _, err := h.DB.Principal(rs.ctx, tgsName); err != nil {
			return nil, failWith("GET_LOCAL_TGT", err)
		}
	}
	if e := h.validateAS(rs, req, st.client, server, rs.kdcNow); e != nil {
		return nil, e
	}

	sesType := h.sessionEnctype(server, body.ETypes)
	if sesType == 0 {
		return nil, fail(CodeETypeNoSupp, "BAD_ENCRYPTION_TYPE")
	}
	if st.session, err = krb5x.RandomKey(sesType); err != nil {
		return nil, failWith("BAD_ENCRYPTION_TYPE", err)
	}

	// Canonicalization only changes the name of a TGT, to allow for
	// realm aliases (MIT's comment); it keeps the database's spelling.
	st.tktName = *body.SName
	if body.Options&optCanonicalize != 0 && princname.IsTGS(body.SName.NameString) && server.Name.IsTGS() {
		st.tktName = types.PrincipalName{NameType: server.Name.NameType(), NameString: server.Name.Components}
	}
	tkt := &st.tkt
	tkt.Flags = ticketFlags(body.Options, st.client, server, nil)
	tkt.Times.Auth = rs.kdcNow
	tkt.Key = st.session
	if body.Options&optCanonicalize != 0 {
		tkt.CName = types.PrincipalName{NameType: st.client.Name.NameType(), NameString: st.client.Name.Components}
	} else {
		tkt.CName = *body.CName
	}
	tkt.CRealm = st.client.Name.Realm
	tkt.TrType = 1 // DOMAIN-X500-COMPRESS, empty
	tkt.TrContents = []byte{}
	if body.Options&optPostdated != 0 {
		tkt.Times.Start = body.From
	} else {
		tkt.Times.Start = rs.kdcNow
	}
	tkt.Times.End = h.endTime(tkt.Times.Start, infinity, body.Till, st.client, server)
	h.renewTime(req, nil, st.client, server, tkt)
	if tkt.Times.Start == tkt.Times.Auth {
		tkt.Times.Start = 0
	}
	tkt.CAddrs, tkt.HaveCAddrs = body.Addresses, body.HaveAddresses

	if body.Options&optRequestAnonymous != 0 {
		if !isAnonymous(body.CName.NameString, body.Realm) {
			return nil, fail(CodeBadOption, "VALIDATE_ANONYMOUS_PRINCIPAL")
		}
		// MIT then requires preauthentication (anonymous PKINIT),
		// which this KDC does not offer.
		st.client.Attributes |= kdb.AttrRequiresPreAuth
	}

	if st.ck, err = h.selectClientKey(rs, st.client); err != nil {
		return nil, failWith("DECRYPT_CLIENT_KEY", err)
	}

	// MIT's finish_preauth.
	if len(req.PAData) > 0 {
		ok, e := h.checkPreauth(rs, st.client)
		if e != nil {
			if e.Code == CodePreauthFailed {
				e.EData = h.hintList(rs, st.client, st.ck)
			}
			return nil, e
		}
		if ok {
			tkt.Flags |= tktPreAuth
		}
	}
	if status := missingPreauth(st.client, tkt.Flags); status != "" {
		e := fail(CodePreauthRequired, status)
		e.EData = h.hintList(rs, st.client, st.ck)
		return nil, e
	}
	return h.finishAS(st, pkt)
}

// finishAS is MIT's finish_process_as_req: encrypt the ticket in the
// server's current key and the reply in the client's key.
func (h *Handler) finishAS(st *asState, pkt []byte) ([]byte, *Error) {
	rs := st.rs
	body := &rs.req.Body
	srvKey, srvKVNO, err := h.currentKey(rs.ctx, st.server)
	if err != nil {
		return nil, failWith("FINDING_SERVER_KEY", err)
	}
	padata := append(etypeInfo(rs, st.client, st.ck), pwSalt(rs, st.ck)...)
	if st.ck == nil {
		return nil, fail(CodeETypeNoSupp, "CANT_FIND_CLIENT_KEY")
	}
	if e := checkIndicators(st.server); e != nil {
		return nil, e
	}
	tkt := &st.tkt
	tktCipher, err := krb5x.Encrypt(srvKey, keyUsageTicket, marshalEncTicketPart(tkt))
	if err != nil {
		return nil, failWith("UNKNOWN_REASON", err)
	}
	ticketOut := krb5x.Ticket{Realm: body.Realm, SName: st.tktName,
		EncPart: krb5x.EncryptedData{EType: srvKey.KeyType, KVNO: srvKVNO, Cipher: tktCipher}}
	encPart := &encKDCRepPart{
		Key: st.session, Nonce: body.Nonce, KeyExp: keyExpiration(st.client), Flags: tkt.Flags,
		Times: tkt.Times, SRealm: body.Realm, SName: st.tktName,
		CAddrs: tkt.CAddrs, HaveCAddrs: tkt.HaveCAddrs,
	}
	encPart.EncPAData, err = protectedNegotiation(rs.req, pkt, st.ck.key)
	if err != nil {
		return nil, failWith("KDC_RETURN_ENC_PADATA", err)
	}
	repCipher, err := krb5x.Encrypt(st.ck.key, keyUsageASRep, marshalEncKDCRepPart(encPart))
	if err != nil {
		return nil, failWith("UNKNOWN_REASON", err)
	}
	// The reply's enc-part carries no kvno: MIT sets it only after
	// encoding.
	reply := marshalKDCRep(krb5x.AppASRep, padata, tkt.CRealm, tkt.CName, ticketOut,
		krb5x.EncryptedData{EType: st.ck.key.KeyType, Cipher: repCipher})
	st.rep = replyEtypes{rep: st.ck.key.KeyType, tkt: srvKey.KeyType, ses: st.session.KeyType, haveTicket: true}
	return reply, nil
}

// protectedNegotiation is MIT's kdc_handle_protected_negotiation (RFC
// 6806): when the request carries PA-REQ-ENC-PA-REP, the encrypted part
// returns a checksum over the whole request in the reply key (so the
// client detects a tampered request) and an empty PA-FX-FAST.
func protectedNegotiation(req *kdcReq, pkt []byte, replyKey types.EncryptionKey) ([]paData, error) {
	if req.findPA(paReqEncPARep) == nil {
		return nil, nil
	}
	ctype, sum, err := krb5x.MakeChecksum(0, replyKey, keyUsageASReq, pkt)
	if err != nil {
		return nil, err
	}
	return []paData{
		{Type: paReqEncPARep, Value: marshalChecksum(checksum{Type: ctype, Sum: sum})},
		{Type: paFXFast, Value: []byte{}},
	}, nil
}
