// Package kdc is the Kerberos Key Distribution Center: an engine that maps
// one AS-REQ or TGS-REQ to its reply (Handler, with the principal database
// behind the small Database interface; Realms when one KDC serves several
// realms) and a UDP and TCP transport around it (Server). It follows MIT
// krb5 1.20's krb5kdc: the same checks in the same order, the same error
// codes and e-text, the same ticket times and flags, the same log lines, so
// that MIT clients and services cannot tell the two apart.
//
// Not implemented, as MIT's default build would need plugins or
// configuration for them anyway: FAST armor, PKINIT, SPAKE, OTP, S4U2Self
// and S4U2Proxy, cross-realm referrals and PACs (MIT 1.20 services and
// clients work without one).
package kdc

import (
	"context"
	"errors"
	"fmt"
	"github.com/jcmturner/gokrb5/v8/types"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/profile"
)

// MIT's defaults for the Handler settings.
const (
	// DefaultMaxLife is MIT's realm max_life when kdc.conf has none
	// (KRB5_KDB_MAX_LIFE).
	DefaultMaxLife = 24 * time.Hour
	// DefaultMaxRenewableLife is the KDC's cap on renewable life when
	// kdc.conf has no max_renewable_life (KRB5_KDB_MAX_RLIFE).
	DefaultMaxRenewableLife = 7 * 24 * time.Hour
	// DefaultClockSkew is MIT's clockskew.
	DefaultClockSkew = 300 * time.Second
	// DefaultMaxDgramReplySize is what MIT's kdc/main.c uses without
	// kdc_max_dgram_reply_size (MAX_DGRAM_SIZE).
	DefaultMaxDgramReplySize = 65536
	// DefaultLookasideSize is MIT's LOOKASIDE_MAX_SIZE (replay.c).
	DefaultLookasideSize = 10 << 20
)

// Handler answers Kerberos requests for one realm. Set the fields, then
// call ServeKerberos from any number of goroutines; do not change or copy
// a Handler after its first use. The zero value of each setting means
// MIT's default.
type Handler struct {
	// DB is the principal database.
	DB Database
	// Realm is the realm served. Alone, as MIT's krb5kdc with one
	// realm, a Handler answers requests naming any realm: a name in
	// another realm is simply not found. Realms sends each Handler the
	// requests for its own realm.
	Realm string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Log receives MIT-style log lines (AS_REQ …, TGS_REQ …) at Info
	// and failures of the KDC itself at Error; nothing is logged when
	// nil.
	Log *slog.Logger

	// MaxLife is the realm's max_life: 0 means DefaultMaxLife, a
	// negative value no realm limit (max_life = 0 in kdc.conf).
	MaxLife time.Duration
	// MaxRenewableLife is the realm's cap on renewable life: 0 means
	// DefaultMaxRenewableLife, a negative value none at all, so that no
	// ticket is renewable (max_renewable_life = 0 in kdc.conf).
	MaxRenewableLife time.Duration
	// ClockSkew is the allowed clock skew (libdefaults clockskew); 0
	// means DefaultClockSkew.
	ClockSkew time.Duration
	// MaxDgramReplySize is kdc_max_dgram_reply_size: a UDP reply longer
	// than this becomes KRB_ERR_RESPONSE_TOO_BIG, and the client retries
	// over TCP. 0 means DefaultMaxDgramReplySize.
	MaxDgramReplySize int
	// PermittedEnctypes restricts the enctypes of keys and session keys
	// (libdefaults permitted_enctypes); nil permits all the KDC can use.
	PermittedEnctypes []int32
	// RestrictAnonymousToTGT is restrict_anonymous_to_tgt.
	RestrictAnonymousToTGT bool
	// DisableLastSuccess and DisableLockout are the [dbmodules]
	// settings of the same names: no last-success time is recorded,
	// and failed preauthentication is neither counted nor enforced.
	DisableLastSuccess bool
	DisableLockout     bool
	// LookasideSize bounds the bytes of requests and replies kept to
	// answer retransmissions (MIT's lookaside cache): 0 means
	// DefaultLookasideSize, a negative value no cache.
	LookasideSize int

	once      sync.Once
	lookaside *lookaside
	lockoutMu sync.Mutex
}

// Configure sets the Handler's settings from the realm's kdc.conf
// settings, as krb5kdc reads them at startup.
func (h *Handler) Configure(rs profile.RealmSettings, kd profile.KDCDefaults) {
	h.Realm = rs.Name
	h.MaxLife = rs.MaxLife
	if h.MaxLife == 0 {
		h.MaxLife = -1
	}
	h.MaxRenewableLife = rs.KDCMaxRenewableLife
	if h.MaxRenewableLife == 0 {
		h.MaxRenewableLife = -1
	}
	h.MaxDgramReplySize = kd.MaxDgramReplySize
	h.RestrictAnonymousToTGT = rs.RestrictAnonymousToTGT
	h.DisableLastSuccess = rs.DisableLastSuccess
	h.DisableLockout = rs.DisableLockout
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// realmMaxLife is realm_maxlife in seconds (0: no limit).
func (h *Handler) realmMaxLife() int32 { return durationSetting(h.MaxLife, DefaultMaxLife) }

// realmMaxRenewableLife is realm_maxrlife in seconds.
func (h *Handler) realmMaxRenewableLife() int32 {
	return durationSetting(h.MaxRenewableLife, DefaultMaxRenewableLife)
}

func (h *Handler) clockSkew() int32 { return durationSetting(h.ClockSkew, DefaultClockSkew) }

// durationSetting maps a setting to MIT's seconds: 0 is the default, a
// negative value 0.
func durationSetting(d, def time.Duration) int32 {
	switch {
	case d == 0:
		d = def
	case d < 0:
		return 0
	}
	s := d / time.Second
	if s > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(s)
}

func (h *Handler) maxDgram() int {
	if h.MaxDgramReplySize > 0 {
		return h.MaxDgramReplySize
	}
	return DefaultMaxDgramReplySize
}

func (h *Handler) cache() *lookaside {
	h.once.Do(func() {
		size := h.LookasideSize
		if size == 0 {
			size = DefaultLookasideSize
		}
		if size > 0 {
			h.lookaside = newLookaside(size)
		}
	})
	return h.lookaside
}

// logInfo and logError write one log line.
func (h *Handler) logInfo(msg string) {
	if h.Log != nil {
		h.Log.Info(msg)
	}
}

func (h *Handler) logError(msg string) {
	if h.Log != nil {
		h.Log.Error(msg)
	}
}

// requestState is what the reply to one request is built from; the panic
// handler uses it to address a KRB-ERROR.
type requestState struct {
	ctx    context.Context
	from   net.Addr
	now    time.Time
	kdcNow uint32 // MIT's kdc_time
	req    *kdcReq
}

// ServeKerberos answers one request: an AS-REQ or TGS-REQ (req, the
// message's DER) from address from, received over TCP if tcp is set. It
// returns the reply to send: an AS-REP, TGS-REP or KRB-ERROR. It returns
// nil when MIT's KDC sends nothing: for a message that is not a well-formed
// AS-REQ or TGS-REQ (a UDP KDC must not answer garbage, which would make it
// a reflector), for one that names no server (a KRB-ERROR needs one), and
// for a retransmission of a request still being processed.
//
// A reply too large for UDP becomes KRB_ERR_RESPONSE_TOO_BIG when tcp is
// false. An identical request seen within two minutes gets the same reply
// bytes (MIT's lookaside cache), so a retransmitted request is not
// processed twice. ServeKerberos never panics: an internal failure is
// logged and answered with KRB_ERR_GENERIC.
func (h *Handler) ServeKerberos(ctx context.Context, req []byte, from net.Addr, tcp bool) (reply []byte) {
	rs := &requestState{ctx: ctx, from: from, now: h.now()}
	rs.kdcNow = uint32(rs.now.Unix())
	la := h.cache()
	key := string(req)
	if la != nil {
		if cached, done, hit := la.get(key, rs.kdcNow); hit {
			if done {
				h.logInfo(fmt.Sprintf("DISPATCH: repeated (retransmitted?) request from %s, resending previous response", addrString(from)))
				return h.sized(cached, tcp, rs)
			}
			h.logInfo(fmt.Sprintf("DISPATCH: repeated (retransmitted?) request from %s during request processing, dropping repeated request", addrString(from)))
			return nil
		}
		la.begin(key, rs.kdcNow)
	}
	var resp []byte
	defer func() {
		if p := recover(); p != nil {
			h.logError(fmt.Sprintf("internal error while processing request from %s: %v\n%s", addrString(from), p, debug.Stack()))
			resp = h.panicReply(rs)
			reply = h.sized(resp, tcp, rs)
		}
		if la != nil {
			la.finish(key, resp, rs.kdcNow)
		}
	}()
	var err error
	resp, err = h.dispatch(rs, req)
	if err != nil {
		h.logError(dispatchFailure(err, tcp))
		return nil
	}
	return h.sized(resp, tcp, rs)
}

// dispatchFailure is the line MIT's transport logs for a request that gets
// no reply because of err (net-server.c's com_err "while dispatching").
func dispatchFailure(err error, tcp bool) string {
	proto := "udp"
	if tcp {
		proto = "tcp"
	}
	return fmt.Sprintf("%v - while dispatching (%s)", err, proto)
}

// dispatch decodes the request and runs the exchange, as MIT's dispatch().
// An error means no reply.
func (h *Handler) dispatch(rs *requestState, msg []byte) ([]byte, error) {
	req, app, err := decodeRequest(msg)
	if err != nil {
		return nil, err
	}
	rs.req = req
	if app == krb5x.AppTGSReq {
		return h.processTGS(rs, msg)
	}
	return h.processAS(rs, msg)
}

// errMsgType is MIT's KRB5KRB_AP_ERR_MSG_TYPE for a message that is neither
// an AS-REQ nor a TGS-REQ.
var errMsgType = errors.New("Invalid message type")

// requestApp tells a TGS-REQ from an AS-REQ by its tag, TGS-REQs first as
// MIT's dispatch() tries them, as they are the more common.
func requestApp(msg []byte) (int, error) {
	switch {
	case krb5x.IsApp(msg, krb5x.AppTGSReq):
		return krb5x.AppTGSReq, nil
	case krb5x.IsApp(msg, krb5x.AppASReq):
		return krb5x.AppASReq, nil
	}
	return 0, errMsgType
}

// decodeRequest decodes an AS-REQ or TGS-REQ and returns it with its
// application tag.
func decodeRequest(msg []byte) (*kdcReq, int, error) {
	app, err := requestApp(msg)
	if err != nil {
		return nil, 0, err
	}
	req, err := parseKDCReq(msg, app)
	return req, app, err
}

// sized turns a reply too large for a UDP datagram into
// KRB_ERR_RESPONSE_TOO_BIG, addressed from the realm's TGS, as MIT's
// finish_dispatch does after the lookaside cache has kept the full reply
// (so a client retrying over TCP gets it).
func (h *Handler) sized(resp []byte, tcp bool, rs *requestState) []byte {
	if resp == nil || tcp || len(resp) <= h.maxDgram() {
		return resp
	}
	return marshalKRBError(&krbError{
		STime: uint32(rs.now.Unix()), SUsec: int32(rs.now.Nanosecond() / 1000),
		Code: CodeResponseTooBig, Realm: h.Realm, SName: h.tgsName(),
	})
}

// TooLongError is the reply MIT's TCP transport sends before closing a
// connection whose length prefix exceeds its buffer:
// KRB_ERR_FIELD_TOOLONG from the realm's TGS.
func (h *Handler) TooLongError() []byte {
	now := h.now()
	return marshalKRBError(&krbError{
		STime: uint32(now.Unix()), SUsec: int32(now.Nanosecond() / 1000),
		Code: CodeFieldTooLong, Realm: h.Realm, SName: h.tgsName(),
	})
}

// tgsName is krbtgt/REALM, MIT's tgs_server, with the name type
// krb5_build_principal infers for it.
func (h *Handler) tgsName() types.PrincipalName {
	return types.PrincipalName{NameType: kdb.NameTypeSrvInst, NameString: []string{"krbtgt", h.Realm}}
}

// panicReply is the KRB_ERR_GENERIC sent after an internal failure,
// addressed like the request's other errors when the request was decoded.
func (h *Handler) panicReply(rs *requestState) []byte {
	e := &krbError{
		STime: uint32(rs.now.Unix()), SUsec: int32(rs.now.Nanosecond() / 1000),
		Code: CodeGeneric, Realm: h.Realm, SName: h.tgsName(), Text: "UNKNOWN_REASON",
	}
	if rs.req != nil && rs.req.Body.SName != nil {
		e.Realm, e.SName = rs.req.Body.Realm, *rs.req.Body.SName
	}
	return marshalKRBError(e)
}

// errorReply encodes the KRB-ERROR for a failed request: MIT's
// prepare_error_as / prepare_error_tgs with the status as e-text. It
// returns nil when the request names no server, as MIT cannot encode a
// KRB-ERROR without one and sends nothing.
func (h *Handler) errorReply(rs *requestState, e *Error, crealm string, cname *types.PrincipalName) []byte {
	body := &rs.req.Body
	if body.SName == nil {
		return nil
	}
	code := e.Code
	if code < 0 || code > 127 { // KRB_ERR_MAX
		code = CodeGeneric
	}
	return marshalKRBError(&krbError{
		STime: uint32(rs.now.Unix()), SUsec: int32(rs.now.Nanosecond() / 1000),
		Code: code, CRealm: crealm, CName: cname,
		Realm: body.Realm, SName: *body.SName,
		Text: e.Status, EData: e.EData,
	})
}

// addrIP is the IP address of a client's transport address, nil for
// another kind of address.
func addrIP(a net.Addr) net.IP {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.IP
	case *net.TCPAddr:
		return v.IP
	case *net.IPAddr:
		return v.IP
	}
	return nil
}

// addrString formats the client address as MIT's logs do (inet_ntop).
func addrString(a net.Addr) string {
	ip := addrIP(a)
	if ip == nil {
		return "<unknown>"
	}
	return ip.String()
}
