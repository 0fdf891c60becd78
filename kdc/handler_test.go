package kdc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/asn1der"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// memDB is an in-memory Database copied from a fixture's store, for the
// fuzz tests (a SQLite read per request would dominate them).
type memDB struct {
	mu       sync.Mutex
	princs   map[string]*kdb.Principal
	policies map[string]*kdb.Policy
	inner    *StoreDatabase
}

func newMemDB(t testing.TB, f *fixture) *memDB {
	t.Helper()
	m := &memDB{princs: map[string]*kdb.Principal{}, policies: map[string]*kdb.Policy{}, inner: f.db}
	err := f.store.Snapshot(f.ctx, func(v *kdb.View) error {
		if err := v.Principals(f.ctx, false, func(p *kdb.Principal) error {
			m.princs[p.Name.String()] = p
			return nil
		}); err != nil {
			return err
		}
		return v.Policies(f.ctx, func(p *kdb.Policy) error {
			m.policies[p.Name] = p
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *memDB) Principal(_ context.Context, name string) (*kdb.Principal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.princs[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, kdb.ErrNotFound)
	}
	return p.Clone(), nil
}

func (m *memDB) Policy(_ context.Context, name string) (*kdb.Policy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.policies[name]
	if !ok {
		return nil, kdb.ErrPolicyMissing
	}
	return p, nil
}

func (m *memDB) Lockout(_ context.Context, name string) (kdb.Lockout, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.princs[name]
	if !ok {
		return kdb.Lockout{}, false, nil
	}
	return kdb.Lockout{LastSuccess: p.LastSuccess, LastFailed: p.LastFailed, FailCount: p.FailAuthCount}, true, nil
}

func (m *memDB) SetLockout(_ context.Context, name string, l kdb.Lockout) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.princs[name]; ok {
		p.LastSuccess, p.LastFailed, p.FailAuthCount = l.LastSuccess, l.LastFailed, l.FailCount
	}
	return nil
}

func (m *memDB) UnsealKey(ctx context.Context, p *kdb.Principal, kd kdb.KeyData) (types.EncryptionKey, error) {
	return m.inner.UnsealKey(ctx, p, kd)
}

// panicDB panics on every lookup.
type panicDB struct{ Database }

func (panicDB) Principal(context.Context, string) (*kdb.Principal, error) { panic("database exploded") }

// failDB fails every lookup.
type failDB struct{ Database }

func (failDB) Principal(context.Context, string) (*kdb.Principal, error) {
	return nil, errors.New("disk on fire")
}

func TestHandlerNoReply(t *testing.T) {
	f := newFixture(t)
	for name, msg := range map[string][]byte{
		"empty":           nil,
		"garbage":         []byte("hello"),
		"AP-REQ":          {0x6e, 0x00},
		"truncated":       {0x6a, 0x10, 0x30},
		"bad krb5x.PVNO":  (&request{app: krb5x.AppASReq, realm: testRealm, sname: pn(2, "krbtgt", testRealm), etypes: []int32{18}}).marshalPVNO(4),
		"TGS msg-type 10": (&request{app: krb5x.AppTGSReq, realm: testRealm, sname: pn(2, "krbtgt", testRealm), etypes: []int32{18}}).marshalMsgType(10),
		"no server":       (&request{app: krb5x.AppASReq, realm: testRealm, cname: pn(1, "x"), etypes: []int32{18}}).marshal(),
	} {
		if reply := f.serve(msg); reply != nil {
			t.Errorf("%s: got a reply %x", name, reply)
		}
	}
	logs := f.logs.take()
	if !containsLine(logs, "ASN.1 identifier doesn't match expected value - while dispatching (udp)") &&
		!containsLine(logs, "Invalid message type - while dispatching (udp)") {
		t.Errorf("logs %q", logs)
	}
}

// marshalPVNO encodes the request with another protocol version.
func (q *request) marshalPVNO(v int64) []byte {
	var b []byte
	b = asn1der.AppendCtxInt(b, 1, v)
	b = asn1der.AppendCtxInt(b, 2, int64(q.app))
	b = asn1der.AppendCtx(b, 4, q.body())
	return asn1der.AppendTLV(nil, asn1der.AppTag(q.app), asn1der.AppendSequence(nil, b))
}

// marshalMsgType encodes the request with another msg-type.
func (q *request) marshalMsgType(mt int64) []byte {
	var b []byte
	b = asn1der.AppendCtxInt(b, 1, krb5x.PVNO)
	b = asn1der.AppendCtxInt(b, 2, mt)
	b = asn1der.AppendCtx(b, 4, q.body())
	return asn1der.AppendTLV(nil, asn1der.AppTag(q.app), asn1der.AppendSequence(nil, b))
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestHandlerASMsgType(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	q := f.asReq("alice")
	// An [APPLICATION 10] whose msg-type says TGS-REQ: MIT's
	// process_as_req answers KRB5_BADMSGTYPE as a generic error.
	wantError(t, f.serve(q.marshalMsgType(krb5x.AppTGSReq)), CodeGeneric, "VALIDATE_MESSAGE_TYPE")
}

func TestHandlerLookaside(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	q := f.asReq("alice")
	q.padata = []paData{encTS(t, passwordKey(t, "alice", "wrong", 18), f.ts())}
	req := q.marshal()
	first := f.serve(req)
	f.advance(time.Second)
	second := f.serve(req)
	// The retransmission gets the same bytes, and the wrong password
	// counts once.
	mustEqual(t, "retransmitted reply", second, first)
	p := f.stored("alice")
	if p.FailAuthCount != 1 {
		t.Errorf("fail count %d, want 1", p.FailAuthCount)
	}
	if logs := f.logs.take(); !containsLine(logs, "DISPATCH: repeated (retransmitted?) request from 127.0.0.1, resending previous response") {
		t.Errorf("logs %q", logs)
	}
	// After two minutes the request is processed again.
	f.advance(121 * time.Second)
	third := f.serve(req)
	e := krbErrorOf(t, third)
	if e.ErrorCode != CodePreauthFailed {
		t.Fatalf("code %d", e.ErrorCode)
	}
	p = f.stored("alice")
	if p.FailAuthCount != 2 {
		t.Errorf("fail count %d, want 2", p.FailAuthCount)
	}
}

func TestLookasideBounds(t *testing.T) {
	c := newLookaside(1000)
	c.begin("a", 1)
	if _, done, hit := c.get("a", 1); !hit || done {
		t.Fatal("in-progress entry not found")
	}
	c.finish("a", make([]byte, 100), 1)
	if r, done, hit := c.get("a", 1); !hit || !done || len(r) != 100 {
		t.Fatal("finished entry not found")
	}
	// Entries past the size push the oldest out.
	for i := 0; i < 20; i++ {
		k := fmt.Sprint("req", i)
		c.begin(k, 2)
		c.finish(k, make([]byte, 100), 2)
	}
	if c.size > 1000 {
		t.Errorf("size %d over the bound", c.size)
	}
	if _, _, hit := c.get("a", 2); hit {
		t.Error("oldest entry survived")
	}
	// An entry bigger than the cache is not kept.
	c.finish("huge", make([]byte, 5000), 2)
	if _, _, hit := c.get("huge", 2); hit {
		t.Error("oversized entry kept")
	}
	// A failed request leaves nothing.
	c.begin("fail", 3)
	c.finish("fail", nil, 3)
	if _, _, hit := c.get("fail", 3); hit {
		t.Error("failed request kept")
	}
}

func TestHandlerInProgressDuplicate(t *testing.T) {
	f := newFixture(t)
	la := f.h.cache()
	req := []byte("in flight")
	la.begin(string(req), f.ts())
	if reply := f.serve(req); reply != nil {
		t.Errorf("duplicate of a request in progress got %x", reply)
	}
}

func TestHandlerResponseTooBig(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("open", "open-pw", attrs(0))
	f.h.MaxDgramReplySize = 200
	q := f.asReq("open")
	req := q.marshal()
	e := wantError(t, f.serve(req), CodeResponseTooBig, "")
	if e.Realm != testRealm || strings.Join(e.SName.NameString, "/") != "krbtgt/"+testRealm || len(e.CName.NameString) != 0 {
		t.Errorf("RESPONSE_TOO_BIG addressed %v@%s client %v", e.SName, e.Realm, e.CName)
	}
	// The same request over TCP gets the full reply, from the cache.
	full := f.h.ServeKerberos(f.ctx, req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, true)
	decodeASRep(t, full, passwordKey(t, "open", "open-pw", 18), f.key("krbtgt/"+testRealm, 18))
}

func TestHandlerRecoversFromPanic(t *testing.T) {
	f := newFixture(t)
	f.h.DB = panicDB{f.db}
	q := f.asReq("alice")
	e := wantError(t, f.serve(q.marshal()), CodeGeneric, "UNKNOWN_REASON")
	if strings.Join(e.SName.NameString, "/") != "krbtgt/"+testRealm {
		t.Errorf("server %v", e.SName)
	}
	if logs := f.logs.take(); !containsLine(logs, "database exploded") {
		t.Errorf("panic not logged: %q", logs)
	}
}

func TestHandlerDatabaseFailure(t *testing.T) {
	f := newFixture(t)
	f.h.DB = failDB{f.db}
	q := f.asReq("alice")
	wantError(t, f.serve(q.marshal()), CodeGeneric, "LOOKING_UP_CLIENT")
	if logs := f.logs.take(); !containsLine(logs, "LOOKING_UP_CLIENT: alice@KDC.TEST for krbtgt/KDC.TEST@KDC.TEST, disk on fire") {
		t.Errorf("logs %q", logs)
	}
}

func TestEnctypeLogNames(t *testing.T) {
	got := ktypesString([]int32{18, 17, 20, 19, 16, 23, 25, 26, 1, 9, -128})
	want := "11 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17), aes256-cts-hmac-sha384-192(20), " +
		"aes128-cts-hmac-sha256-128(19), DEPRECATED:des3-cbc-sha1(16), DEPRECATED:arcfour-hmac(23), " +
		"camellia128-cts-cmac(25), camellia256-cts-cmac(26), UNSUPPORTED:(1), UNSUPPORTED:id-dsa-with-sha1-CmsOID(9), UNSUPPORTED:(-128)}"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if s := (replyEtypes{}).String(); s != "etypes {rep=UNSUPPORTED:(0)}" {
		t.Errorf("empty reply etypes %q", s)
	}
}

func TestParseEnctypeList(t *testing.T) {
	got := parseEnctypeList("aes -aes128-cts-hmac-sha1-96, rc4 bogus")
	want := []int32{18, 20, 19, 23}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestMasterKeyReload(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	// A propagation brings a K/M with a new master key and alice's keys
	// re-encrypted in it; the KDC, still holding the old list, re-reads
	// K/M with the key it was opened with (through MKEY_AUX).
	newKey, err := krb5x.RandomKey(18)
	if err != nil {
		t.Fatal(err)
	}
	mkName := f.adm.MKeys.Name.String()
	err = f.store.Update(f.ctx, func(tx *kdb.Tx) error {
		km, err := tx.Get(f.ctx, mkName)
		if err != nil {
			return err
		}
		if err := kdb.AddMasterKey(km, f.adm.MKeys, newKey, 2); err != nil {
			return err
		}
		if err := tx.Put(f.ctx, km); err != nil {
			return err
		}
		alice, err := tx.Get(f.ctx, "alice@"+testRealm)
		if err != nil {
			return err
		}
		if err := kdb.ConvertKeys(alice, f.adm.MKeys, kdb.MasterKey{KVNO: 2, Key: newKey}); err != nil {
			return err
		}
		return tx.Put(f.ctx, alice)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.login("alice", "alice-pw", nil)
	if r.flags&tktPreAuth == 0 {
		t.Errorf("flags %#x", r.flags)
	}
	if _, ok := f.db.mkeys.ByKVNO(2); !ok {
		t.Error("master key list not reloaded")
	}
}
