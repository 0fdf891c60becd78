package kdc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// errWrongRealm is MIT's KRB5KDC_ERR_WRONG_REALM, with which its dispatch()
// drops a request for a realm the KDC does not serve.
var errWrongRealm = errors.New("Realm not local to KDC")

// Realms answers requests for several realms from one KDC, as MIT's
// krb5kdc does when given more than one -r: each request goes to the
// Handler of the realm its req-body names for the server (MIT's
// setup_server_realm). With a single Handler every request goes to it,
// whatever realm it names, as with MIT's single realm.
//
// A request for no realm served, or naming no server, gets no reply and
// is logged as "Realm not local to KDC - while dispatching", as MIT's
// dispatch() does with KRB5KDC_ERR_WRONG_REALM. A malformed request is
// logged with its decoding error, as MIT decodes the request before
// looking for its realm.
//
// Each Handler keeps its own lookaside cache: a retransmission names the
// same realm as the original, so it finds the reply where MIT's one cache
// for all realms would.
type Realms struct {
	handlers map[string]*Handler
	first    *Handler
	log      *slog.Logger
}

// NewRealms returns the Realms answering from handlers, each serving the
// realm in its Realm field; the first is the one MIT names in replies that
// belong to no request (see TooLongError). log receives the requests for
// no realm served and may be nil.
func NewRealms(log *slog.Logger, handlers ...*Handler) (*Realms, error) {
	if len(handlers) == 0 {
		return nil, errors.New("no realm to serve")
	}
	r := &Realms{handlers: make(map[string]*Handler, len(handlers)), first: handlers[0], log: log}
	for _, h := range handlers {
		if h.Realm == "" {
			return nil, errors.New("a handler serves no realm")
		}
		if _, dup := r.handlers[h.Realm]; dup {
			return nil, fmt.Errorf("realm %s served twice", h.Realm)
		}
		r.handlers[h.Realm] = h
	}
	return r, nil
}

// ServeKerberos answers one request from the Handler of its realm; see
// Handler.ServeKerberos.
func (r *Realms) ServeKerberos(ctx context.Context, req []byte, from net.Addr, tcp bool) []byte {
	if len(r.handlers) == 1 {
		return r.first.ServeKerberos(ctx, req, from, tcp)
	}
	if realm, ok := serverRealm(req); ok {
		if h := r.handlers[realm]; h != nil {
			return h.ServeKerberos(ctx, req, from, tcp)
		}
	}
	err := errWrongRealm
	if _, _, derr := decodeRequest(req); derr != nil {
		err = derr
	}
	if r.log != nil {
		r.log.Error(dispatchFailure(err, tcp))
	}
	return nil
}

// TooLongError is the first realm's KRB_ERR_FIELD_TOOLONG: MIT's
// make_toolong_error names the first realm's TGS, as the request that was
// too long to read names no realm.
func (r *Realms) TooLongError() []byte { return r.first.TooLongError() }

// serverRealm returns the realm a request names for its server, the
// req-body realm, decoding no more of the request than it needs to; ok is
// false for a message that is not an AS-REQ or TGS-REQ, is malformed up to
// the realm, or names no server. The Handler decodes the whole request.
func serverRealm(msg []byte) (realm string, ok bool) {
	app, err := requestApp(msg)
	if err != nil {
		return "", false
	}
	req, err := kdcReqFields(msg, app)
	if err != nil {
		return "", false
	}
	body, err := reqBodyFields(req[4])
	if err != nil || body[3] == nil {
		return "", false
	}
	realm, err = asn1der.GeneralString(body[2])
	return realm, err == nil
}
