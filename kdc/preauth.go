package kdc

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// PA-DATA types (RFC 4120, RFC 6113, RFC 6806).
const (
	paTGSReq              int32 = 1
	paEncTimestamp        int32 = 2
	paPWSalt              int32 = 3
	paETypeInfo           int32 = 11
	paETypeInfo2          int32 = 19
	paFXCookie            int32 = 133
	paFXFast              int32 = 136
	paReqEncPARep         int32 = 149
	keyUsageEncTS               = 1  // PA-ENC-TIMESTAMP
	keyUsageTicket              = 2  // EncTicketPart
	keyUsageASRep               = 3  // EncASRepPart
	keyUsageTGSAuthData         = 4  // TGS-REQ enc-authorization-data, session key
	keyUsageTGSAuthDataSK       = 5  // TGS-REQ enc-authorization-data, subkey
	keyUsageTGSCksum            = 6  // TGS-REQ authenticator checksum
	keyUsageTGSAuth             = 7  // TGS-REQ authenticator
	keyUsageTGSRepSession       = 8  // EncTGSRepPart, session key
	keyUsageTGSRepSubkey        = 9  // EncTGSRepPart, subkey
	keyUsageASReq               = 56 // PA-REQ-ENC-PA-REP checksum
)

// clientKey is the key chosen for an AS reply (MIT's select_client_key).
type clientKey struct {
	kd  kdb.KeyData
	key types.EncryptionKey
}

// selectClientKey is MIT's select_client_key: the client's newest key of
// the first requested enctype it has one of.
func (h *Handler) selectClientKey(rs *requestState, client *kdb.Principal) (*clientKey, error) {
	keys := sortedKeys(client)
	for _, et := range rs.req.Body.ETypes {
		if !validEnctype(et) {
			continue
		}
		i, err := h.searchKey(keys, 0, et, newestKVNO)
		if err != nil {
			continue
		}
		k, err := h.DB.UnsealKey(rs.ctx, client, keys[i])
		if err != nil {
			return nil, err
		}
		k.KeyType = et
		return &clientKey{kd: keys[i], key: k}, nil
	}
	return nil, nil
}

// haveClientKeys is the preauth callback of the same name: the client has
// a newest key of some requested enctype.
func (h *Handler) haveClientKeys(rs *requestState, client *kdb.Principal) bool {
	keys := sortedKeys(client)
	for _, et := range rs.req.Body.ETypes {
		if _, err := h.searchKey(keys, 0, et, newestKVNO); err == nil {
			return true
		}
	}
	return false
}

// requiresInfo2 is MIT's requires_info2: some requested enctype is newer
// than ETYPE-INFO2 (anything known but DES3 and RC4), so the client reads
// ETYPE-INFO2 only.
func requiresInfo2(etypes []int32) bool {
	for _, et := range etypes {
		switch et {
		case krb5x.EnctypeDES3CBCSHA1, krb5x.EnctypeDES3CBCRaw, krb5x.EnctypeARCFOURHMAC, krb5x.EnctypeARCFOURHMACExp:
			continue
		}
		if krb5x.EnctypeKnown(et) {
			return true
		}
	}
	return false
}

// etypeInfo is MIT's add_etype_info: ETYPE-INFO for old clients, then
// ETYPE-INFO2, describing the chosen client key with its salt as the
// database computes it (for a normal salt the realm and name components of
// the database entry).
func etypeInfo(rs *requestState, client *kdb.Principal, ck *clientKey) []paData {
	if ck == nil {
		return nil
	}
	salt, err := saltOf(client.Name, ck.kd)
	if err != nil {
		return nil
	}
	var out []paData
	if !requiresInfo2(rs.req.Body.ETypes) {
		out = append(out, paData{paETypeInfo, marshalETypeInfo(ck.key.KeyType, salt)})
	}
	return append(out, paData{paETypeInfo2, marshalETypeInfo2(ck.key.KeyType, salt)})
}

// pwSalt is MIT's add_pw_salt: PW-SALT for old clients, computed from the
// name in the request.
func pwSalt(rs *requestState, ck *clientKey) []paData {
	if ck == nil || requiresInfo2(rs.req.Body.ETypes) {
		return nil
	}
	name := kdb.Name{Components: rs.req.Body.CName.NameString, Realm: rs.req.Body.Realm}
	salt, err := saltOf(name, ck.kd)
	if err != nil {
		return nil
	}
	return []paData{{paPWSalt, []byte(salt)}}
}

// hintList is MIT's get_preauth_hint_list as a METHOD-DATA: an empty
// PA-FX-FAST (MIT always announces FAST), the key information, an empty
// PA-ENC-TIMESTAMP when the client has a key for the request (and needs
// no hardware preauthentication, which no mechanism here provides), and
// MIT's trivial "MIT" PA-FX-COOKIE that prepare_error_as appends.
func (h *Handler) hintList(rs *requestState, client *kdb.Principal, ck *clientKey) []byte {
	pas := []paData{{Type: paFXFast, Value: []byte{}}}
	pas = append(pas, etypeInfo(rs, client, ck)...)
	if client.Attributes&kdb.AttrRequiresHWAuth == 0 && h.haveClientKeys(rs, client) {
		pas = append(pas, paData{Type: paEncTimestamp, Value: []byte{}})
	}
	pas = append(pas, paData{Type: paFXCookie, Value: []byte("MIT")})
	return appendPADataSeq(nil, pas)
}

// checkPreauth runs the preauthentication in the request as MIT's
// check_padata with the encrypted-timestamp module: every PA-ENC-TIMESTAMP
// is tried; one that verifies authenticates the client. It reports
// whether some verified; the error is that of the first failure, already
// filtered as MIT's filter_preauth_error does (clock skew and integrity
// errors pass, the rest become PREAUTH_FAILED), and only matters when none
// verified.
func (h *Handler) checkPreauth(rs *requestState, client *kdb.Principal) (bool, *Error) {
	var first *Error
	found := false
	for _, pa := range rs.req.PAData {
		if pa.Type != paEncTimestamp {
			continue
		}
		found = true
		err := h.verifyEncTS(rs, client, pa.Value)
		if err == nil {
			return true, nil
		}
		h.logInfo(fmt.Sprintf("preauth (encrypted_timestamp) verify failure: %v", err))
		if first == nil {
			first = filterPreauthError(err)
		}
	}
	if !found {
		return false, nil
	}
	return false, first
}

// filterPreauthError is MIT's filter_preauth_error for the errors the
// encrypted timestamp can produce.
func filterPreauthError(err error) *Error {
	var ke *Error
	if errors.As(err, &ke) && ke.Err == nil {
		switch ke.Code {
		case CodeBadIntegrity, CodeSkew, CodePreauthRequired, CodeETypeNoSupp:
			return fail(ke.Code, "PREAUTH_FAILED")
		}
	}
	return fail(CodePreauthFailed, "PREAUTH_FAILED")
}

// verifyEncTS is MIT's enc_ts_verify (kdc_preauth_encts.c): decrypt the
// timestamp with each of the client's newest keys of its enctype until one
// works (none is KDC_ERR_PREAUTH_FAILED: a wrong password), then check it
// against the clock.
func (h *Handler) verifyEncTS(rs *requestState, client *kdb.Principal, value []byte) error {
	ed, err := krb5x.ParseEncryptedData(value)
	if err != nil {
		return err
	}
	keys := sortedKeys(client)
	var plain []byte
	for start := 0; ; {
		i, err := h.searchKey(keys, start, ed.EType, newestKVNO)
		if err != nil {
			return fail(CodePreauthFailed, "")
		}
		start = i + 1
		key, err := h.DB.UnsealKey(rs.ctx, client, keys[i])
		if err != nil {
			return err
		}
		key.KeyType = ed.EType
		if plain, err = krb5x.Decrypt(key, keyUsageEncTS, ed.Cipher); err == nil {
			break
		}
	}
	ts, err := parseEncTS(plain)
	if err != nil {
		return err
	}
	if !tsWithin(ts, rs.kdcNow, h.clockSkew()) {
		return fail(CodeSkew, "")
	}
	return nil
}

// lockoutPolicy returns the lockout settings of the client's password
// policy (MIT's lookup_lockout_policy): all zero without a policy, or when
// the policy cannot be read.
func (h *Handler) lockoutPolicy(rs *requestState, p *kdb.Principal) (maxFail, interval, duration uint32, err error) {
	ad, ok, err := p.KadmData()
	if err != nil || !ok || ad.Policy == "" {
		return 0, 0, 0, err
	}
	pol, err := h.DB.Policy(rs.ctx, ad.Policy)
	if err != nil {
		return 0, 0, 0, nil
	}
	return pol.PwMaxFail, pol.PwFailcntInterval, pol.PwLockoutDuration, nil
}

// lastAdminUnlock returns KRB5_TL_LAST_ADMIN_UNLOCK.
func lastAdminUnlock(p *kdb.Principal) (uint32, bool) {
	b, ok := p.TL(kdb.TLLastAdminUnlock)
	if !ok || len(b) < 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

// lockedCheck is MIT's locked_check_p: the principal failed maxFail times
// since its last administrative unlock, and the lockout has not run out
// (a duration of 0 locks until an administrator unlocks it).
func lockedCheck(now, maxFail, duration uint32, p *kdb.Principal) bool {
	if unlock, ok := lastAdminUnlock(p); ok && !tsAfter(p.LastFailed, unlock) {
		return false
	}
	if maxFail == 0 || p.FailAuthCount < maxFail {
		return false
	}
	if duration == 0 {
		return true
	}
	return tsAfter(tsIncr(p.LastFailed, int32(duration)), now)
}

// lockedOut is the DB2 module's check_policy_as.
func (h *Handler) lockedOut(rs *requestState, client *kdb.Principal, now uint32) (bool, error) {
	if h.DisableLockout {
		return false, nil
	}
	maxFail, _, duration, err := h.lockoutPolicy(rs, client)
	if err != nil {
		return false, err
	}
	return lockedCheck(now, maxFail, duration, client), nil
}

// auditAS is MIT's krb5_db2_lockout_audit after an AS request: a success
// of a principal that requires preauthentication resets its failure count
// and records the time; a failed preauthentication counts, restarting the
// count after the policy's failure-count interval or an administrative
// unlock. A locked principal's counters are left alone. The counters are
// re-read under a lock, so concurrent requests do not lose counts.
func (h *Handler) auditAS(rs *requestState, client *kdb.Principal, e *Error) {
	if client == nil {
		return
	}
	success := e == nil
	failed := e != nil && e.Err == nil && (e.Code == CodePreauthFailed || e.Code == CodeBadIntegrity)
	if !success && !failed {
		return
	}
	if success && (client.Attributes&kdb.AttrRequiresPreAuth == 0 || h.DisableLastSuccess && h.DisableLockout) {
		return
	}
	if failed && h.DisableLockout {
		return
	}
	h.lockoutMu.Lock()
	defer h.lockoutMu.Unlock()
	name := client.Name.String()
	live, ok, err := h.DB.Lockout(rs.ctx, name)
	if err != nil {
		h.logError(fmt.Sprintf("lockout: reading %s: %v", name, err))
		return
	}
	entry := *client
	p := &entry
	if ok {
		p.ApplyLockout(live)
	}
	var maxFail, interval, duration uint32
	if !h.DisableLockout {
		if maxFail, interval, duration, err = h.lockoutPolicy(rs, p); err != nil {
			return
		}
	}
	now := rs.kdcNow
	if lockedCheck(now, maxFail, duration, p) {
		return
	}
	l := kdb.Lockout{LastSuccess: p.LastSuccess, LastFailed: p.LastFailed, FailCount: p.FailAuthCount}
	if success {
		if !h.DisableLockout {
			l.FailCount = 0
		}
		if !h.DisableLastSuccess {
			l.LastSuccess = now
		}
	} else {
		if unlock, ok := lastAdminUnlock(p); ok && !tsAfter(p.LastFailed, unlock) {
			l.FailCount = 0
		}
		if interval != 0 && tsAfter(now, tsIncr(p.LastFailed, int32(interval))) {
			l.FailCount = 0
		}
		l.LastFailed = now
		l.FailCount++
	}
	if l == (kdb.Lockout{LastSuccess: p.LastSuccess, LastFailed: p.LastFailed, FailCount: p.FailAuthCount}) {
		return
	}
	if err := h.DB.SetLockout(rs.ctx, name, l); err != nil {
		h.logError(fmt.Sprintf("lockout: updating %s: %v", name, err))
	}
}
