package kdc

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// otherRealm is the second realm of the tests that serve two.
const otherRealm = "OTHER.TEST"

// twoRealms is testRealm and otherRealm, each holding alice (with a
// password of its own) and host/svc, behind one Realms.
func twoRealms(t *testing.T) (a, b *fixture, r *Realms, logs *logBuffer) {
	t.Helper()
	a, b = newFixture(t), newRealmFixture(t, otherRealm)
	for _, f := range []*fixture{a, b} {
		f.addPrinc("alice", "pw-"+f.realm, nil)
		f.addPrinc("host/svc", "", nil)
	}
	logs = &logBuffer{}
	r, err := NewRealms(slog.New(logs), a.h, b.h)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, r, logs
}

// TestRealmsRoute gets a TGT and a service ticket in each realm through
// one Realms: each request is answered from its own realm's database
// (the replies decrypt only with that realm's keys) and logged by its
// realm's Handler.
func TestRealmsRoute(t *testing.T) {
	a, b, r, logs := twoRealms(t)
	for _, f := range []*fixture{a, b} {
		other := a
		if f == a {
			other = b
		}
		tgt := f.loginVia(r, "alice", "pw-"+f.realm, nil)
		if tgt.crealm != f.realm {
			t.Errorf("%s: TGT for realm %s", f.realm, tgt.crealm)
		}
		q := f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		reply := r.ServeKerberos(f.ctx, q, f.from, true)
		decodeTGSRep(t, reply, tgt.session(), keyUsageTGSRepSession, f.key("host/svc", 18))

		lines := f.logs.take()
		if !containsLine(lines, "AS_REQ") || !containsLine(lines, "alice@"+f.realm+" for krbtgt/"+f.realm+"@"+f.realm) ||
			!containsLine(lines, "TGS_REQ") || !containsLine(lines, "host/svc@"+f.realm) {
			t.Errorf("%s's log: %q", f.realm, lines)
		}
		if lines := other.logs.take(); len(lines) > 0 {
			t.Errorf("%s's request logged by %s: %q", f.realm, other.realm, lines)
		}
	}
	if lines := logs.take(); len(lines) > 0 {
		t.Errorf("Realms logged %q", lines)
	}
}

// TestRealmsLookaside sends a request twice through the Realms: the
// retransmission gets the first reply from its realm's lookaside cache.
func TestRealmsLookaside(t *testing.T) {
	_, b, r, _ := twoRealms(t)
	req := b.asReq("alice").marshal()
	first := r.ServeKerberos(b.ctx, req, b.from, false)
	if first == nil {
		t.Fatal("no reply")
	}
	b.logs.take()
	if again := r.ServeKerberos(b.ctx, req, b.from, false); !bytes.Equal(again, first) {
		t.Errorf("retransmission: %x, first reply %x", again, first)
	}
	if lines := b.logs.take(); !containsLine(lines, "DISPATCH: repeated (retransmitted?) request from 127.0.0.1, resending previous response") {
		t.Errorf("%s's log: %q", b.realm, lines)
	}
}

// TestRealmsNoReply checks the requests Realms drops and what it logs for
// them: MIT's KRB5KDC_ERR_WRONG_REALM for a realm not served or a request
// naming no server, the decoding error for a malformed request, whether
// or not its realm is served.
func TestRealmsNoReply(t *testing.T) {
	a, b, r, logs := twoRealms(t)
	nowhere := a.asReq("alice")
	nowhere.realm = "NOWHERE.TEST"
	nowhere.sname = pn(2, "krbtgt", "NOWHERE.TEST")
	noServer := a.asReq("alice")
	noServer.sname = nil
	lower := a.asReq("alice")
	lower.realm = strings.ToLower(testRealm)
	for _, tc := range []struct {
		name string
		msg  []byte
		tcp  bool
		log  string // the Realms' log line
		own  string // a line in the first realm's log
	}{
		{"unknown realm", nowhere.marshal(), false, "Realm not local to KDC - while dispatching (udp)", ""},
		{"unknown realm over TCP", nowhere.marshal(), true, "Realm not local to KDC - while dispatching (tcp)", ""},
		// Realm names are compared exactly, as MIT's find_realm_data.
		{"realm in lower case", lower.marshal(), false, "Realm not local to KDC - while dispatching (udp)", ""},
		{"no server", noServer.marshal(), false, "Realm not local to KDC - while dispatching (udp)", ""},
		{"garbage", []byte("hello"), false, "Invalid message type - while dispatching (udp)", ""},
		{"empty", nil, false, "Invalid message type - while dispatching (udp)", ""},
		{"truncated", nowhere.marshal()[:20], false, "while dispatching (udp)", ""},
		{"unknown realm, bad krb5x.PVNO", nowhere.marshalPVNO(4), false, "Requested protocol version not supported - while dispatching (udp)", ""},
		{"known realm, bad krb5x.PVNO", a.asReq("alice").marshalPVNO(4), false, "", "Requested protocol version not supported - while dispatching (udp)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if reply := r.ServeKerberos(a.ctx, tc.msg, a.from, tc.tcp); reply != nil {
				t.Errorf("reply %x", reply)
			}
			lines, own := logs.take(), a.logs.take()
			if tc.log != "" && (len(lines) != 1 || !strings.HasSuffix(lines[0], tc.log)) {
				t.Errorf("Realms logged %q, want %q", lines, tc.log)
			}
			if tc.log == "" && len(lines) > 0 {
				t.Errorf("Realms logged %q", lines)
			}
			if tc.own != "" && !containsLine(own, tc.own) || tc.own == "" && len(own) > 0 {
				t.Errorf("%s logged %q, want %q", a.realm, own, tc.own)
			}
			if lines := b.logs.take(); len(lines) > 0 {
				t.Errorf("%s logged %q", b.realm, lines)
			}
		})
	}
}

// TestRealmsOne checks that Realms with one Handler answers requests
// naming any realm from it, as MIT's krb5kdc with one realm: the client
// is simply not found there.
func TestRealmsOne(t *testing.T) {
	a := newFixture(t)
	r, err := NewRealms(nil, a.h)
	if err != nil {
		t.Fatal(err)
	}
	q := a.asReq("alice")
	q.realm = "NOWHERE.TEST"
	wantError(t, r.ServeKerberos(a.ctx, q.marshal(), a.from, false), CodeCPrincipalUnknown, "CLIENT_NOT_FOUND")
	if lines := a.logs.take(); !containsLine(lines, "CLIENT_NOT_FOUND: alice@NOWHERE.TEST for krbtgt/KDC.TEST@NOWHERE.TEST") {
		t.Errorf("log: %q", lines)
	}
}

// TestRealmsTooLong checks that a request too long to read is answered
// from the first realm's TGS, as MIT's make_toolong_error.
func TestRealmsTooLong(t *testing.T) {
	_, _, r, _ := twoRealms(t)
	e := krbErrorOf(t, r.TooLongError())
	if e.ErrorCode != CodeFieldTooLong || e.Realm != testRealm || e.SName.PrincipalNameString() != "krbtgt/"+testRealm {
		t.Errorf("KRB-ERROR %d from %s@%s", e.ErrorCode, e.SName.PrincipalNameString(), e.Realm)
	}
}

func TestNewRealmsErrors(t *testing.T) {
	a := newFixture(t)
	for name, hs := range map[string][]*Handler{
		"none":     nil,
		"no realm": {{DB: a.db}},
		"twice":    {a.h, {DB: a.db, Realm: testRealm}},
	} {
		if _, err := NewRealms(nil, hs...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
