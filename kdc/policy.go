package kdc

import (
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/princname"
	"math"

	"github.com/krb5prop/krb5prop/kdb"
)

// KDC options (RFC 4120 §5.4.1) as MIT's 32-bit krb5_flags, bit 0 the most
// significant.
const (
	optForwardable           uint32 = 0x40000000
	optForwarded             uint32 = 0x20000000
	optProxiable             uint32 = 0x10000000
	optProxy                 uint32 = 0x08000000
	optAllowPostdate         uint32 = 0x04000000
	optPostdated             uint32 = 0x02000000
	optRenewable             uint32 = 0x00800000
	optCNameInAddlTkt        uint32 = 0x00020000
	optCanonicalize          uint32 = 0x00010000
	optRequestAnonymous      uint32 = 0x00008000
	optDisableTransitedCheck uint32 = 0x00000020
	optRenewableOK           uint32 = 0x00000010
	optEncTktInSkey          uint32 = 0x00000008
	optRenew                 uint32 = 0x00000002
	optValidate              uint32 = 0x00000001
)

// Ticket flags (RFC 4120 §5.3).
const (
	tktForwardable          uint32 = 0x40000000
	tktForwarded            uint32 = 0x20000000
	tktProxiable            uint32 = 0x10000000
	tktProxy                uint32 = 0x08000000
	tktMayPostdate          uint32 = 0x04000000
	tktPostdated            uint32 = 0x02000000
	tktInvalid              uint32 = 0x01000000
	tktRenewable            uint32 = 0x00800000
	tktInitial              uint32 = 0x00400000
	tktPreAuth              uint32 = 0x00200000
	tktHWAuth               uint32 = 0x00100000
	tktTransitPolicyChecked uint32 = 0x00080000
	tktOKAsDelegate         uint32 = 0x00040000
	tktEncPARep             uint32 = 0x00010000
	tktAnonymous            uint32 = 0x00008000
	optsCommonFlagsMask            = optForwardable | optForwarded | optProxiable | optProxy | optAllowPostdate | optPostdated | optRequestAnonymous
	tgsCopiedFlagsMask             = tktForwarded | tktProxy | tktPreAuth | tktHWAuth | tktAnonymous
	nonTGTOptions                  = optForwarded | optProxy | optRenew | optValidate
	noReferralOptions              = nonTGTOptions | optEncTktInSkey
	asInvalidOptions               = noReferralOptions | optCNameInAddlTkt
	stktOptions                    = optCNameInAddlTkt | optEncTktInSkey
	infinity                uint32 = math.MaxUint32 // MIT's kdc_infinity (-1 as krb5_timestamp)
)

// MIT's krb5_timestamp arithmetic (k5-int.h): timestamps are 32 bits,
// compared as unsigned so they last until 2106, and differences are 32-bit
// signed deltas.

// tsAfter is ts_after(a, b).
func tsAfter(a, b uint32) bool { return a > b }

// tsIncr is ts_incr(ts, delta).
func tsIncr(ts uint32, delta int32) uint32 { return ts + uint32(delta) }

// tsDelta is ts_delta(a, b).
func tsDelta(a, b uint32) int32 { return int32(a - b) }

// tsMin is ts_min(a, b).
func tsMin(a, b uint32) uint32 {
	if tsAfter(a, b) {
		return b
	}
	return a
}

// tsWithin reports whether a and b are at most d apart (ts_within).
func tsWithin(a, b uint32, d int32) bool {
	return !tsAfter(a, tsIncr(b, d)) && !tsAfter(b, tsIncr(a, d))
}

// validateAS is MIT's validate_as_request (kdc_util.c) with the DB2
// module's lockout check (krb5_db2_check_policy_as), in MIT's order.
func (h *Handler) validateAS(rs *requestState, req *kdcReq, client, server *kdb.Principal, now uint32) *Error {
	opts := req.Body.Options
	if opts&asInvalidOptions != 0 {
		return fail(CodeBadOption, "INVALID AS OPTIONS")
	}
	if client.Expiration != 0 && tsAfter(now, client.Expiration) {
		return fail(CodeNameExp, "CLIENT EXPIRED")
	}
	if client.PwExpiration != 0 && tsAfter(now, client.PwExpiration) && server.Attributes&kdb.AttrPwChangeService == 0 {
		return fail(CodeKeyExpired, "CLIENT KEY EXPIRED")
	}
	if server.Expiration != 0 && tsAfter(now, server.Expiration) {
		return fail(CodeServiceExp, "SERVICE EXPIRED")
	}
	if client.Attributes&kdb.AttrRequiresPwChange != 0 && server.Attributes&kdb.AttrPwChangeService == 0 {
		return fail(CodeKeyExpired, "REQUIRED PWCHANGE")
	}
	if opts&(optAllowPostdate|optPostdated) != 0 &&
		(client.Attributes&kdb.AttrDisallowPostdated != 0 || server.Attributes&kdb.AttrDisallowPostdated != 0) {
		return fail(CodeCannotPostdate, "POSTDATE NOT ALLOWED")
	}
	if client.Attributes&kdb.AttrDisallowAllTix != 0 {
		return fail(CodeClientRevoked, "CLIENT LOCKED OUT")
	}
	if server.Attributes&kdb.AttrDisallowAllTix != 0 {
		return fail(CodeSPrincipalUnknown, "SERVICE LOCKED OUT")
	}
	if server.Attributes&kdb.AttrDisallowSvr != 0 {
		return fail(CodeMustUseUser2User, "SERVICE NOT ALLOWED")
	}
	if h.RestrictAnonymousToTGT && isAnonymous(client.Name.Components, client.Name.Realm) &&
		!isLocalTGS(*req.Body.SName, req.Body.Realm) {
		return fail(CodePolicy, "ANONYMOUS NOT ALLOWED")
	}
	locked, err := h.lockedOut(rs, client, now)
	if err != nil {
		return failWith("LOCKED_OUT", err)
	}
	if locked {
		return fail(CodeClientRevoked, "LOCKED_OUT")
	}
	return nil
}

// ticketFlags is MIT's get_ticket_flags: the flags the request options ask
// for, ENC-PA-REP (RFC 6806 support, which MIT always announces), INITIAL
// for an AS request, the header ticket's inherited flags and
// OK-AS-DELEGATE for a TGS request, less what the client, server or header
// ticket forbid.
func ticketFlags(opts uint32, client, server *kdb.Principal, header *encTicketPart) uint32 {
	flags := opts&optsCommonFlagsMask | tktEncPARep
	if opts&optPostdated != 0 {
		flags |= tktInvalid
	}
	if header != nil {
		flags |= header.Flags & tgsCopiedFlagsMask
		if server.Attributes&kdb.AttrOKAsDelegate != 0 {
			flags |= tktOKAsDelegate
		}
	} else {
		flags |= tktInitial
	}
	if client != nil && client.Attributes&kdb.AttrDisallowProxiable != 0 ||
		server.Attributes&kdb.AttrDisallowProxiable != 0 ||
		header != nil && header.Flags&tktProxiable == 0 {
		flags &^= tktProxiable
	}
	if client != nil && client.Attributes&kdb.AttrDisallowForwardable != 0 ||
		server.Attributes&kdb.AttrDisallowForwardable != 0 ||
		header != nil && header.Flags&tktForwardable == 0 {
		flags &^= tktForwardable
	}
	if header != nil && header.Flags&tktAnonymous == 0 {
		flags &^= tktAnonymous
	}
	return flags
}

// endTime is MIT's kdc_get_ticket_endtime: the requested till (0 meaning
// infinity) capped by endtime, then the lifetime capped by the client's,
// the server's and the realm's max_life (each only when non-zero).
func (h *Handler) endTime(start, endtime, till uint32, client, server *kdb.Principal) uint32 {
	if till == 0 {
		till = infinity
	}
	until := tsMin(till, endtime)
	life := tsDelta(until, start)
	if tsAfter(until, start) && life < 0 {
		life = math.MaxInt32
	}
	if client != nil && client.MaxLife != 0 {
		life = min(life, client.MaxLife)
	}
	if server.MaxLife != 0 {
		life = min(life, server.MaxLife)
	}
	if m := h.realmMaxLife(); m != 0 {
		life = min(life, m)
	}
	return tsIncr(start, life)
}

// renewTime is MIT's kdc_get_ticket_renewtime: it sets or clears the
// RENEWABLE flag and renew-till of tkt. A renewable ticket needs RENEWABLE
// (or RENEWABLE-OK with a till beyond the end time) in the request, no
// DISALLOW_RENEWABLE on client or server, and for a TGS request a
// renewable header ticket; renew-till is capped by the header ticket's and
// by start plus the smallest of the server's, the realm's and the client's
// max_renewable_life.
func (h *Handler) renewTime(req *kdcReq, header *encTicketPart, client, server *kdb.Principal, tkt *encTicketPart) {
	tkt.Flags &^= tktRenewable
	tkt.Times.RenewTill = 0
	if server.Attributes&kdb.AttrDisallowRenewable != 0 ||
		client != nil && client.Attributes&kdb.AttrDisallowRenewable != 0 ||
		header != nil && header.Flags&tktRenewable == 0 {
		return
	}
	opts := req.Body.Options
	var rtime uint32
	switch {
	case opts&optRenewable != 0:
		rtime = req.Body.RTime
		if rtime == 0 {
			rtime = infinity
		}
	case opts&optRenewableOK != 0 && tsAfter(req.Body.Till, tkt.Times.End):
		rtime = req.Body.Till
	default:
		return
	}
	if header != nil {
		rtime = tsMin(rtime, header.Times.RenewTill)
	}
	maxRLife := min(server.MaxRenewableLife, h.realmMaxRenewableLife())
	if client != nil {
		maxRLife = min(maxRLife, client.MaxRenewableLife)
	}
	rtime = tsMin(rtime, tsIncr(tkt.Times.Start, maxRLife))
	if opts&optRenewable == 0 && !tsAfter(rtime, tkt.Times.End) {
		return
	}
	tkt.Flags |= tktRenewable
	tkt.Times.RenewTill = rtime
}

// keyExpiration is MIT's get_key_exp (RFC 4120 §5.4.2): the earlier of the
// principal's expiration and password expiration, ignoring unset ones.
func keyExpiration(p *kdb.Principal) uint32 {
	switch {
	case p.Expiration == 0:
		return p.PwExpiration
	case p.PwExpiration == 0:
		return p.Expiration
	}
	return tsMin(p.Expiration, p.PwExpiration)
}

// missingPreauth is MIT's missing_required_preauth.
func missingPreauth(client *kdb.Principal, flags uint32) string {
	if client.Attributes&kdb.AttrRequiresPreAuth != 0 && flags&tktPreAuth == 0 {
		return "NEEDED_PREAUTH"
	}
	if client.Attributes&kdb.AttrRequiresHWAuth != 0 && flags&tktHWAuth == 0 {
		return "NEEDED_HW_PREAUTH"
	}
	return ""
}

// checkIndicators is MIT's check_indicators: a server with the
// require_auth string attribute accepts only tickets carrying one of the
// space-separated authentication indicators it lists. This KDC asserts no
// indicators (its only preauthentication, the encrypted timestamp, adds
// none), so any such requirement fails, as it does in MIT for the same
// request.
func checkIndicators(server *kdb.Principal) *Error {
	for _, a := range server.StringAttrs() {
		if a.Key == "require_auth" {
			e := fail(CodePolicy, "HIGHER_AUTHENTICATION_REQUIRED")
			e.Msg = "Required auth indicators not present in ticket: " + a.Value
			return e
		}
	}
	return nil
}

// isAnonymous reports whether a name is WELLKNOWN/ANONYMOUS in any realm
// (krb5_principal_compare_any_realm with krb5_anonymous_principal).
func isAnonymous(components []string, _ string) bool {
	return len(components) == 2 && components[0] == "WELLKNOWN" && components[1] == "ANONYMOUS"
}

// isLocalTGS reports whether name@realm is krbtgt/realm@realm.
func isLocalTGS(name types.PrincipalName, realm string) bool {
	return princname.IsTGS(name.NameString) && name.NameString[1] == realm
}

// isCrossTGS reports whether name@realm is krbtgt/OTHER@realm.
func isCrossTGS(name types.PrincipalName, realm string) bool {
	return princname.IsTGS(name.NameString) && name.NameString[1] != realm
}
