package kdc

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/krb5prop/krb5prop/internal/princname"
	"net"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// tgsState carries one TGS exchange.
type tgsState struct {
	rs *requestState
	// header is the PA-TGS-REQ AP-REQ and hdr its ticket's decrypted
	// part (nil until decrypted): the client of later errors.
	header       *apReq
	hdr          *encTicketPart
	headerServer *kdb.Principal
	subkey       *types.EncryptionKey
	server       *kdb.Principal
	sname        string // server name for the log: requested, then canonical
	authtime     uint32
	rep          replyEtypes
	// stkt is the decrypted second ticket of a user-to-user or S4U2Proxy
	// request.
	stkt *encTicketPart
}

// processTGS is MIT's process_tgs_req.
func (h *Handler) processTGS(rs *requestState, pkt []byte) ([]byte, error) {
	if rs.req.MsgType != krb5x.AppTGSReq {
		// MIT returns KRB5_BADMSGTYPE without a reply.
		return nil, errBadMsgType
	}
	st := &tgsState{rs: rs}
	if sn := rs.req.Body.SName; sn != nil {
		st.sname = limitString(princname.Unparse(sn.NameString, rs.req.Body.Realm))
	}
	reply, e := h.tgsExchange(st, pkt)
	cname := ""
	var crealm string
	var client *types.PrincipalName
	if st.hdr != nil {
		cname = limitString(princname.Unparse(st.hdr.CName.NameString, st.hdr.CRealm))
		crealm, client = st.hdr.CRealm, &st.hdr.CName
	}
	if e == nil {
		h.logTGS(rs, cname, st.sname, st.authtime, st.rep, nil)
		return reply, nil
	}
	h.logTGS(rs, cname, st.sname, st.authtime, replyEtypes{}, e)
	return h.errorReply(rs, e, crealm, client), nil
}

func (h *Handler) tgsExchange(st *tgsState, pkt []byte) ([]byte, *Error) {
	rs := st.rs
	req := rs.req
	body := &req.Body
	if e := h.processTGSReq(st); e != nil {
		e.Status = "PROCESS_TGS"
		return nil, e
	}
	if body.SName == nil {
		return nil, fail(CodeSPrincipalUnknown, "NULL_SERVER")
	}
	// MIT's get_local_tgt: the TGS of the requested realm.
	if !isLocalTGS(st.header.Ticket.SName, st.header.Ticket.Realm) || st.header.Ticket.Realm != body.Realm {
		tgsName := princname.Unparse([]string{"krbtgt", body.Realm}, body.Realm)
		if _, err := h.DB.Principal(rs.ctx, tgsName); err != nil {
			return nil, failWith("GET_LOCAL_TGT", err)
		}
	}

	// MIT's search_sprinc, without referrals.
	server, err := h.DB.Principal(rs.ctx, princname.Unparse(body.SName.NameString, body.Realm))
	if err != nil {
		status := "LOOKING_UP_SERVER"
		if body.Options&noReferralOptions == 0 && isCrossTGS(*body.SName, body.Realm) {
			status = "UNKNOWN_SERVER"
		}
		return nil, fail(CodeSPrincipalUnknown, status)
	}
	st.server = server
	st.sname = limitString(server.Name.String())
	crossRealm := st.headerServer.Name.Realm != server.Name.Realm

	if e := h.decryptSecondTicket(st); e != nil {
		return nil, e
	}
	if e := h.validateTGS(st, crossRealm); e != nil {
		return nil, e
	}

	// MIT's gen_session_key: for user-to-user, the second ticket's
	// session key enctype if the client asked for it, since the server
	// must be able to use it.
	var sesType int32
	if body.Options&optEncTktInSkey != 0 && st.stkt != nil {
		et := st.stkt.Key.KeyType
		if !validEnctype(et) {
			return nil, fail(CodeETypeNoSupp, "BAD_ETYPE_IN_2ND_TKT")
		}
		for _, r := range body.ETypes {
			if r == et {
				sesType = et
				break
			}
		}
	}
	if sesType == 0 {
		sesType = h.sessionEnctype(server, body.ETypes)
	}
	if sesType == 0 {
		return nil, fail(CodeETypeNoSupp, "BAD_ENCRYPTION_TYPE")
	}
	session, err := krb5x.RandomKey(sesType)
	if err != nil {
		return nil, failWith("BAD_ENCRYPTION_TYPE", err)
	}
	hdr := st.hdr
	st.authtime = hdr.Times.Auth
	if e := checkIndicators(server); e != nil {
		return nil, e
	}

	tktName := *body.SName
	tkt := &encTicketPart{
		Flags:      ticketFlags(body.Options, nil, server, hdr),
		CAddrs:     hdr.CAddrs,
		HaveCAddrs: hdr.HaveCAddrs,
	}
	var repAddrs []hostAddress
	haveRepAddrs := false
	if body.Options&(optForwarded|optProxy) != 0 {
		// New addresses only for a forwarded or proxy ticket.
		tkt.CAddrs, tkt.HaveCAddrs = body.Addresses, body.HaveAddresses
		repAddrs, haveRepAddrs = body.Addresses, body.HaveAddresses
	}
	if body.Options&(optValidate|optRenew) != 0 {
		// The ticket itself, revalidated or renewed: its flags, times,
		// addresses and name.
		*tkt = *hdr
		tkt.AuthData, tkt.HaveAuthData = nil, false
		tktName = st.header.Ticket.SName
		if body.Options&optValidate != 0 {
			tkt.Flags &^= tktInvalid
		}
	}
	if body.Options&optRenew != 0 {
		oldStart := hdr.Times.startOrAuth()
		oldLife := tsDelta(hdr.Times.End, oldStart)
		tkt.Times.Start = rs.kdcNow
		tkt.Times.End = tsMin(hdr.Times.RenewTill, tsIncr(rs.kdcNow, oldLife))
	} else {
		tkt.Times.Start = rs.kdcNow
		tkt.Times.End = h.endTime(rs.kdcNow, hdr.Times.End, body.Till, nil, server)
	}
	h.renewTime(req, hdr, nil, server, tkt)
	tkt.Times.Auth = st.authtime
	if tkt.Times.Start == tkt.Times.Auth {
		tkt.Times.Start = 0
	}

	var encKey types.EncryptionKey
	var tktKVNO uint32
	if body.Options&optEncTktInSkey != 0 {
		encKey = st.stkt.Key
	} else {
		k, _, err := h.currentKey(rs.ctx, server)
		if err != nil {
			return nil, failWith("FINDING_SERVER_KEY", err)
		}
		encKey, tktKVNO = k, currentKVNO(server)
	}

	tkt.CRealm, tkt.CName = hdr.CRealm, hdr.CName
	tkt.Key = session
	if e := h.transited(st, tkt, crossRealm); e != nil {
		return nil, e
	}
	if e := h.copyAuthData(st, tkt); e != nil {
		return nil, e
	}

	tktCipher, err := krb5x.Encrypt(encKey, keyUsageTicket, marshalEncTicketPart(tkt))
	if err != nil {
		return nil, failWith("UNKNOWN_REASON", err)
	}
	ticketOut := krb5x.Ticket{Realm: body.Realm, SName: tktName,
		EncPart: krb5x.EncryptedData{EType: encKey.KeyType, KVNO: tktKVNO, Cipher: tktCipher}}
	if body.Options&(optValidate|optRenew) != 0 {
		ticketOut.Realm = st.header.Ticket.Realm
	}

	// The reply is encrypted in the authenticator's subkey if there is
	// one, else in the header ticket's session key.
	replyKey, usage := hdr.Key, uint32(keyUsageTGSRepSession)
	if st.subkey != nil {
		replyKey, usage = *st.subkey, keyUsageTGSRepSubkey
	}
	encPart := &encKDCRepPart{
		Key: session, Nonce: body.Nonce, Flags: tkt.Flags, Times: tkt.Times,
		SRealm: ticketOut.Realm, SName: tktName, CAddrs: repAddrs, HaveCAddrs: haveRepAddrs,
	}
	if encPart.EncPAData, err = protectedNegotiation(req, pkt, replyKey); err != nil {
		return nil, failWith("KDC_RETURN_ENC_PADATA", err)
	}
	repCipher, err := krb5x.Encrypt(replyKey, usage, marshalEncKDCRepPart(encPart))
	if err != nil {
		return nil, failWith("UNKNOWN_REASON", err)
	}
	st.rep = replyEtypes{rep: replyKey.KeyType, tkt: encKey.KeyType, ses: session.KeyType, haveTicket: true}
	return marshalKDCRep(krb5x.AppTGSRep, nil, tkt.CRealm, tkt.CName, ticketOut,
		krb5x.EncryptedData{EType: replyKey.KeyType, Cipher: repCipher}), nil
}

// processTGSReq is MIT's kdc_process_tgs_req and kdc_rd_ap_req: find and
// decode the AP-REQ, decrypt the header ticket with its server's key and
// the authenticator with the ticket's session key, check them as
// krb5_rd_req_decoded_anyflag does (the INVALID flag is the policy's
// business), and verify the authenticator's checksum over the raw request
// body.
func (h *Handler) processTGSReq(st *tgsState) *Error {
	rs := st.rs
	pa := rs.req.findPA(paTGSReq)
	if pa == nil {
		return fail(CodePADataTypeNoSupp, "")
	}
	ap, err := parseAPReq(pa.Value)
	if err != nil {
		return failWith("", err)
	}
	st.header = ap
	if ap.Options&(apOptUseSessionKey|apOptMutualRequired) != 0 {
		h.logInfo("TGS_REQ: SESSION KEY or MUTUAL")
		return fail(CodePolicy, "")
	}
	tk := &ap.Ticket
	hsName := princname.Unparse(tk.SName.NameString, tk.Realm)
	hs, err := h.DB.Principal(rs.ctx, hsName)
	if err != nil {
		if errors.Is(err, kdb.ErrNotFound) {
			h.logError(fmt.Sprintf("TGS_REQ: UNKNOWN SERVER: server='%s'", limitString(hsName)))
			return fail(CodeSPrincipalUnknown, "")
		}
		return failWith("", err)
	}
	if hs.Attributes&(kdb.AttrDisallowSvr|kdb.AttrDisallowAllTix) != 0 {
		return fail(CodeSPrincipalUnknown, "")
	}
	st.headerServer = hs

	// MIT issues tickets with the first key of the newest kvno, so for
	// its own TGS it takes the first key of the ticket's kvno whatever
	// the enctype; for other servers it matches the enctype. A krb5x.Ticket
	// without a kvno is tried with up to three kvnos, newest first.
	searchType := tk.EncPart.EType
	if isLocalTGS(tk.SName, tk.Realm) {
		searchType = anyEnctype
	}
	keys := sortedKeys(hs)
	kvno := int64(tk.EncPart.KVNO)
	var plain []byte
	var lastErr error
	for tries := 3; tries > 0; tries-- {
		search := kvno
		if search == 0 {
			search = anyKVNO
		}
		i, err := h.searchKey(keys, 0, searchType, search)
		if err != nil {
			lastErr = err
		} else {
			key, err := h.DB.UnsealKey(rs.ctx, hs, keys[i])
			if err != nil {
				return failWith("", err)
			}
			kvno = int64(keys[i].KVNO)
			if key.KeyType != tk.EncPart.EType {
				// krb5_c_decrypt refuses a ciphertext of another
				// enctype than the key's.
				lastErr = errors.New(krb5x.TextBadEnctype)
			} else if plain, lastErr = krb5x.Decrypt(key, keyUsageTicket, tk.EncPart.Cipher); lastErr == nil {
				break
			}
		}
		if tk.EncPart.KVNO != 0 || kvno <= 1 {
			break
		}
		kvno--
	}
	if plain == nil {
		return cryptoError(lastErr)
	}
	hdr, err := parseEncTicketPart(plain)
	if err != nil {
		return failWith("", err)
	}
	st.hdr = hdr

	// The authenticator.
	auth, e := decryptAuthenticator(ap, hdr)
	if e != nil {
		return e
	}
	if auth.CRealm != hdr.CRealm || !auth.CName.Equal(hdr.CName) {
		return fail(CodeBadMatch, "")
	}
	if hdr.HaveCAddrs && !addressListed(rs.from, hdr.CAddrs) {
		return fail(CodeBadAddr, "")
	}
	skew := h.clockSkew()
	if tsAfter(hdr.Times.startOrAuth(), tsIncr(rs.kdcNow, skew)) {
		return fail(CodeTktNotYetValid, "")
	}
	if tsAfter(rs.kdcNow, tsIncr(hdr.Times.End, skew)) {
		return fail(CodeTktExpired, "")
	}
	if !tsWithin(auth.CTime, rs.kdcNow, skew) {
		return fail(CodeSkew, "")
	}
	// negotiate_etype: the subkey's or the session key's enctype must be
	// permitted.
	if !h.permitted(hdr.Key.KeyType) && (auth.Subkey == nil || !h.permitted(auth.Subkey.KeyType)) {
		return failWith("", errors.New(krb5x.TextNoPermEnctype))
	}
	st.subkey = auth.Subkey
	// A ticket meant only as FAST armor must not get tickets.
	if hasAuthData(hdr.AuthData, adFXArmor) || hasAuthData(auth.AuthData, adFXArmor) {
		return fail(CodePolicy, "")
	}

	// The checksum over the request body, with the session key.
	c := auth.Cksum
	if c == nil {
		return fail(CodeInappropriateCksum, "")
	}
	if !knownCksumType(c.Type) {
		return fail(CodeSumTypeNoSupp, "")
	}
	ok, err := checksumMatches(c, hdr.Key, keyUsageTGSCksum, rs.req.RawBody)
	if err != nil {
		return failWith("", err)
	}
	if !ok {
		return fail(CodeBadIntegrity, "")
	}
	return nil
}

// decryptAuthenticator decrypts the AP-REQ's authenticator with the
// ticket's session key, usage 7 (a TGS-REQ authenticator).
func decryptAuthenticator(ap *apReq, hdr *encTicketPart) (*authenticator, *Error) {
	if ap.Authenticator.EType != hdr.Key.KeyType {
		return nil, failWith("", errors.New(krb5x.TextBadEnctype))
	}
	plain, err := krb5x.Decrypt(hdr.Key, keyUsageTGSAuth, ap.Authenticator.Cipher)
	if err != nil {
		return nil, cryptoError(err)
	}
	auth, err := parseAuthenticator(plain)
	if err != nil {
		return nil, failWith("", err)
	}
	return auth, nil
}

// cryptoError maps a decryption or key-search failure to MIT's code: an
// integrity failure is KRB_AP_ERR_BAD_INTEGRITY, anything else (a short
// ciphertext, a missing key) goes out as KRB_ERR_GENERIC.
func cryptoError(err error) *Error {
	if errors.Is(err, krb5x.ErrIntegrity) {
		return fail(CodeBadIntegrity, "")
	}
	if err == nil {
		err = errNoMatchingKey
	}
	return failWith("", err)
}

// checksumMatches is comp_cksum's verification: it fails with an error
// when a keyed checksum type does not suit the key (MIT's
// KRB5_BAD_ENCTYPE) and reports a mismatch otherwise.
func checksumMatches(c *checksum, key types.EncryptionKey, usage uint32, data []byte) (bool, error) {
	switch c.Type {
	case cksumRSAMD4, cksumRSAMD5, cksumNISTSHA, cksumSHA1:
		return verifyChecksum(c, key, usage, data), nil
	}
	if _, _, err := krb5x.MakeChecksum(c.Type, key, usage, data); err != nil {
		return false, errors.New(krb5x.TextBadEnctype)
	}
	return verifyChecksum(c, key, usage, data), nil
}

// addressListed is krb5_address_search of the client's address in the
// ticket's addresses.
func addressListed(from net.Addr, addrs []hostAddress) bool {
	a := krb5x.AddressOf(addrIP(from))
	for _, t := range addrs {
		if t.Type == a.Type && bytes.Equal(t.Addr, a.Addr) {
			return true
		}
	}
	return false
}

// decryptSecondTicket is MIT's decrypt_2ndtkt for user-to-user and
// S4U2Proxy requests: the first additional ticket, decrypted with the key
// of its server (matching enctype and kvno).
func (h *Handler) decryptSecondTicket(st *tgsState) *Error {
	rs := st.rs
	body := &rs.req.Body
	if body.Options&stktOptions == 0 || len(body.Tickets) == 0 {
		return nil
	}
	t, err := krb5x.ParseTicket(body.Tickets[0])
	if err != nil {
		return failWith("2ND_TKT_SERVER", err)
	}
	srv, err := h.DB.Principal(rs.ctx, princname.Unparse(t.SName.NameString, t.Realm))
	if err != nil {
		if errors.Is(err, kdb.ErrNotFound) {
			return fail(CodeSPrincipalUnknown, "2ND_TKT_SERVER")
		}
		return failWith("2ND_TKT_SERVER", err)
	}
	if srv.Attributes&(kdb.AttrDisallowSvr|kdb.AttrDisallowAllTix) != 0 {
		return fail(CodeSPrincipalUnknown, "2ND_TKT_SERVER")
	}
	kvno := anyKVNO
	if t.EncPart.KVNO != 0 {
		kvno = int64(t.EncPart.KVNO)
	}
	keys := sortedKeys(srv)
	i, err := h.searchKey(keys, 0, t.EncPart.EType, kvno)
	if err != nil {
		return failWith("2ND_TKT_SERVER", err)
	}
	key, err := h.DB.UnsealKey(rs.ctx, srv, keys[i])
	if err != nil {
		return failWith("2ND_TKT_SERVER", err)
	}
	plain, err := krb5x.Decrypt(key, keyUsageTicket, t.EncPart.Cipher)
	if err != nil {
		e := cryptoError(err)
		e.Status = "2ND_TKT_DECRYPT"
		return e
	}
	stkt, err := parseEncTicketPart(plain)
	if err != nil {
		return failWith("2ND_TKT_DECRYPT", err)
	}
	st.stkt = stkt
	return nil
}

// validateTGS is MIT's validate_tgs_request (tgs_policy.c), in its order.
func (h *Handler) validateTGS(st *tgsState, crossRealm bool) *Error {
	rs := st.rs
	body := &rs.req.Body
	opts := body.Options
	hdr := st.hdr
	server := st.server

	// check_tgs_opts: options that need a flag in the header ticket.
	for _, r := range []struct {
		opts, flag uint32
		status     string
	}{
		{optForwarded, tktForwardable, "TGT NOT FORWARDABLE"},
		{optProxy, tktProxiable, "TGT NOT PROXIABLE"},
		{optAllowPostdate | optPostdated, tktMayPostdate, "TGT NOT POSTDATABLE"},
		{optValidate, tktInvalid, "VALIDATE VALID TICKET"},
		{optRenew, tktRenewable, "TICKET NOT RENEWABLE"},
	} {
		if opts&r.opts != 0 && hdr.Flags&r.flag == 0 {
			return fail(CodeBadOption, r.status)
		}
	}
	if hdr.Flags&tktInvalid != 0 && opts&optValidate == 0 {
		return fail(CodeTktNotYetValid, "TICKET NOT VALID")
	}

	// check_tgs_times.
	if opts&optValidate != 0 && tsAfter(hdr.Times.startOrAuth(), rs.kdcNow) {
		return fail(CodeTktNotYetValid, "NOT_YET_VALID")
	}
	if opts&optRenew != 0 && tsAfter(rs.kdcNow, hdr.Times.RenewTill) {
		return fail(CodeTktExpired, "TKT_EXPIRED")
	}

	// check_tgs_svc_policy: what the service forbids or requires.
	switch {
	case opts&optRenewable != 0 && server.Attributes&kdb.AttrDisallowRenewable != 0:
		return fail(CodePolicy, "NON-RENEWABLE TICKET")
	case opts&optAllowPostdate != 0 && server.Attributes&kdb.AttrDisallowPostdated != 0:
		return fail(CodeCannotPostdate, "NON-POSTDATABLE TICKET")
	case opts&optEncTktInSkey != 0 && server.Attributes&kdb.AttrDisallowDupSkey != 0:
		return fail(CodePolicy, "DUP_SKEY DISALLOWED")
	}
	if server.Attributes&kdb.AttrDisallowAllTix != 0 {
		return fail(CodeSPrincipalUnknown, "SERVER LOCKED OUT")
	}
	if server.Attributes&kdb.AttrDisallowSvr != 0 && opts&optEncTktInSkey == 0 {
		return fail(CodeMustUseUser2User, "SERVER NOT ALLOWED")
	}
	if server.Attributes&kdb.AttrDisallowTGTBased != 0 && princname.IsTGS(st.header.Ticket.SName.NameString) {
		return fail(CodePolicy, "TGT BASED NOT ALLOWED")
	}
	if server.Attributes&kdb.AttrRequiresHWAuth != 0 && hdr.Flags&tktHWAuth == 0 {
		return fail(CodeGeneric, "NO HW PREAUTH")
	}
	if server.Attributes&kdb.AttrRequiresPreAuth != 0 && hdr.Flags&tktPreAuth == 0 {
		return fail(CodeGeneric, "NO PREAUTH")
	}
	if server.Expiration != 0 && tsAfter(rs.kdcNow, server.Expiration) {
		return fail(CodeServiceExp, "SERVICE EXPIRED")
	}

	if opts&nonTGTOptions != 0 {
		// check_tgs_nontgt: renewing, validating or forwarding a
		// ticket keeps its server.
		tk := st.header.Ticket
		if tk.Realm != body.Realm || !tk.SName.Equal(*body.SName) {
			return fail(CodeServerNoMatch, "SERVER DIDN'T MATCH TICKET FOR RENEW/FORWARD/ETC")
		}
		if opts&optProxy != 0 && princname.IsTGS(body.SName.NameString) {
			return fail(CodeBadOption, "CAN'T PROXY TGT")
		}
	} else {
		// check_tgs_tgt: a new ticket needs a TGT of the server's
		// realm.
		tk := st.header.Ticket.SName
		if !princname.IsTGS(tk.NameString) {
			return fail(CodeNotUs, "BAD TGS SERVER NAME")
		}
		if tk.NameString[1] != body.Realm {
			return fail(CodeNotUs, "BAD TGS SERVER INSTANCE")
		}
	}

	// check_tgs_lineage: a foreign realm may not vouch for our own users.
	if crossRealm && hdr.CRealm == server.Name.Realm {
		return fail(CodePolicy, "INVALID LINEAGE")
	}

	if opts&optEncTktInSkey != 0 {
		// check_tgs_u2u.
		if st.stkt == nil {
			return fail(CodeBadOption, "NO_2ND_TKT")
		}
		t, _ := krb5x.ParseTicket(body.Tickets[0])
		if !isLocalTGS(t.SName, t.Realm) || t.SName.NameString[1] != server.Name.Realm {
			return fail(CodePolicy, "2ND_TKT_NOT_TGS")
		}
		srvName := types.PrincipalName{NameString: server.Name.Components}
		if st.stkt.CRealm != server.Name.Realm || !srvName.Equal(st.stkt.CName) {
			return fail(CodeServerNoMatch, "2ND_TKT_MISMATCH")
		}
	}

	if opts&optCNameInAddlTkt != 0 {
		// check_tgs_s4u2proxy: constrained delegation needs the
		// impersonator's PAC in the header ticket, which this KDC never
		// issues, so every request ends at MIT's missing-PAC error.
		switch {
		case st.stkt == nil:
			return fail(CodeBadOption, "NO_2ND_TKT")
		case st.stkt.Flags&tktForwardable == 0:
			return fail(CodeBadOption, "EVIDENCE_TKT_NOT_FORWARDABLE")
		case opts&(nonTGTOptions|optEncTktInSkey) != 0:
			return fail(CodeBadOption, "INVALID_S4U2PROXY_OPTIONS")
		case princname.IsTGS(body.SName.NameString):
			return fail(CodePolicy, "NOT_ALLOWED_TO_DELEGATE")
		}
		return fail(CodeTGTRevoked, "S4U2PROXY_NO_HEADER_PAC")
	}

	if h.RestrictAnonymousToTGT && isAnonymous(hdr.CName.NameString, hdr.CRealm) && !isLocalTGS(*body.SName, body.Realm) {
		return fail(CodePolicy, "ANONYMOUS NOT ALLOWED")
	}
	return nil
}

// transited sets the new ticket's transited field and
// TRANSIT-POLICY-CHECKED flag as MIT does: a ticket from our own realm's
// TGS, or from the client's own realm, keeps the header ticket's transited
// encoding; an empty one passes the check. MIT rejects a ticket whose
// transit path was not checked (reject_bad_transit, on by default), which
// includes a request with DISABLE-TRANSITED-CHECK. Paths through
// intermediate realms are not supported.
func (h *Handler) transited(st *tgsState, tkt *encTicketPart, crossRealm bool) *Error {
	hdr := st.hdr
	if crossRealm && st.header.Ticket.Realm != tkt.CRealm {
		return failWith("ADD_TO_TRANSITED_LIST", errors.New("cross-realm transit through intermediate realms is not supported"))
	}
	tkt.TrType, tkt.TrContents = hdr.TrType, hdr.TrContents
	if st.rs.req.Body.Options&optDisableTransitedCheck == 0 {
		if len(tkt.TrContents) == 0 {
			tkt.Flags |= tktTransitPolicyChecked
		}
	} else {
		h.logInfo("not checking transit path")
	}
	if tkt.Flags&tktTransitPolicyChecked == 0 {
		return fail(CodePolicy, "BAD_TRANSIT")
	}
	return nil
}

// Authorization data types (RFC 4120 §5.2.6, RFC 6113, MIT).
const (
	adIfRelevant      int32 = 1
	adKDCIssued       int32 = 4
	adMandatoryForKDC int32 = 8
	adFXArmor         int32 = 71
	adCAMMAC          int32 = 96
	adAuthIndicator   int32 = 97
	adWin2kPAC        int32 = 128
	adSignTicket      int32 = 512
)

// hasAuthData is krb5_find_authdata's test: an element of type t at the
// top level or inside an AD-IF-RELEVANT container.
func hasAuthData(ads []authData, t int32) bool {
	for _, ad := range ads {
		if ad.Type == t {
			return true
		}
		if ad.Type == adIfRelevant {
			if inner, err := parseAuthData(ad.Data); err == nil && hasAuthData(inner, t) {
				return true
			}
		}
	}
	return false
}

// kdcIssued is MIT's is_kdc_issued_authdatum: authorization data only the
// KDC may create (PACs, CAMMACs, indicators…), alone or in an IF-RELEVANT
// container.
func kdcIssued(ad authData) bool {
	types := []int32{ad.Type}
	if ad.Type == adIfRelevant {
		inner, err := parseAuthData(ad.Data)
		if err != nil {
			return false
		}
		types = types[:0]
		for _, in := range inner {
			types = append(types, in.Type)
		}
	}
	for _, t := range types {
		switch t {
		case adSignTicket, adKDCIssued, adWin2kPAC, adCAMMAC, adAuthIndicator:
			return true
		}
	}
	return false
}

// copyAuthData is the copying part of MIT's handle_authdata: the
// request's enc-authorization-data (in the session key with usage 4, or
// the subkey with usage 5), then the header ticket's authorization data,
// less what only the KDC may issue. Data the KDC must understand
// (AD-MANDATORY-FOR-KDC) is refused. No PAC is added.
func (h *Handler) copyAuthData(st *tgsState, tkt *encTicketPart) *Error {
	body := &st.rs.req.Body
	var out []authData
	if ed := body.EncAuthData; ed != nil {
		plain, err := krb5x.Decrypt(withType(st.hdr.Key, ed.EType), keyUsageTGSAuthData, ed.Cipher)
		if err != nil {
			key := st.hdr.Key
			if st.subkey != nil {
				key = *st.subkey
			}
			plain, err = krb5x.Decrypt(withType(key, ed.EType), keyUsageTGSAuthDataSK, ed.Cipher)
		}
		if err != nil {
			e := cryptoError(err)
			e.Status = "HANDLE_AUTHDATA"
			return e
		}
		ads, err := parseAuthData(plain)
		if err != nil {
			return failWith("HANDLE_AUTHDATA", err)
		}
		if e := appendFiltered(&out, ads); e != nil {
			return e
		}
	}
	if e := appendFiltered(&out, st.hdr.AuthData); e != nil {
		return e
	}
	tkt.AuthData, tkt.HaveAuthData = out, len(out) > 0
	return nil
}

// withType returns key if its enctype is etype; otherwise a key that
// fails to decrypt (MIT's krb5_c_decrypt refuses a ciphertext of another
// enctype than the key's).
func withType(key types.EncryptionKey, etype int32) types.EncryptionKey {
	if key.KeyType == etype {
		return key
	}
	return types.EncryptionKey{KeyType: etype}
}

// appendFiltered is add_filtered_authdata after
// has_mandatory_for_kdc_authdata.
func appendFiltered(out *[]authData, ads []authData) *Error {
	for _, ad := range ads {
		if ad.Type == adMandatoryForKDC {
			return fail(CodePolicy, "HANDLE_AUTHDATA")
		}
	}
	for _, ad := range ads {
		if !kdcIssued(ad) {
			*out = append(*out, authData{Type: ad.Type, Data: append([]byte(nil), ad.Data...)})
		}
	}
	return nil
}
