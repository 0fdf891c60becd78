package kdc

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"github.com/krb5prop/krb5prop/internal/princname"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/asn1der"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
)

const testRealm = "KDC.TEST"

// testStart is the fixed time the test realms start at.
var testStart = time.Unix(1800000000, 250000000)

// fixture is a realm in a temporary SQLite database with a Handler in
// front of it and a clock the test moves.
type fixture struct {
	t     testing.TB
	realm string
	ctx   context.Context
	store *kdb.Store
	adm   *kadm5.Server
	db    *StoreDatabase
	h     *Handler
	from  net.Addr

	mu   sync.Mutex
	now  time.Time
	logs *logBuffer
}

// logBuffer collects log messages.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) Enabled(context.Context, slog.Level) bool { return true }
func (b *logBuffer) Handle(_ context.Context, r slog.Record) error {
	b.mu.Lock()
	b.lines = append(b.lines, r.Message)
	b.mu.Unlock()
	return nil
}
func (b *logBuffer) WithAttrs([]slog.Attr) slog.Handler { return b }
func (b *logBuffer) WithGroup(string) slog.Handler      { return b }

func (b *logBuffer) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.lines
	b.lines = nil
	return l
}

// newFixture creates realm testRealm as kdb5_util create does (K/M,
// krbtgt, kadmin/admin, kadmin/changepw) with aes256 and aes128 keys,
// default flags +preauth, max life 10 h and max renewable life 7 days.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newRealmFixture(t, testRealm)
}

// newRealmFixture is newFixture for another realm.
func newRealmFixture(t testing.TB, realm string) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := kdb.Create(filepath.Join(t.TempDir(), "principal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{t: t, realm: realm, ctx: ctx, store: store, now: testStart, logs: &logBuffer{},
		from: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}}
	params := kadm5.RealmParams{Realm: realm, MaxLife: 36000, MaxRenewableLife: 604800,
		Flags:            kdb.AttrRequiresPreAuth,
		KeySalts:         []krb5x.KeySalt{{Enctype: 18}, {Enctype: 17}},
		MasterKeyEnctype: 18}
	mkName := kdb.Name{Components: []string{"K", "M"}, Realm: realm}
	key, err := kdb.DeriveMasterKey("master-pw", mkName, 18)
	if err != nil {
		t.Fatal(err)
	}
	mk := kdb.MasterKey{KVNO: 1, Key: key}
	if err := kadm5.CreateRealm(ctx, store, params, mkName, mk, f.clock); err != nil {
		t.Fatal(err)
	}
	km, err := store.Get(ctx, mkName.String())
	if err != nil {
		t.Fatal(err)
	}
	mkeys, err := kdb.LoadMasterKeys(km, mk)
	if err != nil {
		t.Fatal(err)
	}
	f.adm = &kadm5.Server{Store: store, MKeys: mkeys, Params: params, Caller: "root/admin@" + realm, Now: f.clock}
	f.db = NewStoreDatabase(store, mkeys)
	t.Cleanup(f.db.Close)
	// The tests change entries and send the next request at once; the
	// cache's own test covers the interval.
	f.db.entries.interval = 0
	f.h = &Handler{DB: f.db, Realm: realm, Now: f.clock, Log: slog.New(f.logs), MaxLife: 10 * time.Hour}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// advance moves the clock.
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// ts is the clock as MIT's timestamp.
func (f *fixture) ts() uint32 { return uint32(f.clock().Unix()) }

func (f *fixture) name(s string) kdb.Name {
	n, err := kdb.ParseName(s, f.realm)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// addPrinc adds a principal with a password (or random keys when pw is
// empty); mod may change the spec and the key/salt list.
func (f *fixture) addPrinc(name, pw string, mod func(*kadm5.PrincipalSpec, *[]krb5x.KeySalt)) {
	f.t.Helper()
	spec := kadm5.PrincipalSpec{Name: f.name(name)}
	var ks []krb5x.KeySalt
	if mod != nil {
		mod(&spec, &ks)
	}
	mode := kadm5.KeysFromPassword
	if pw == "" {
		mode = kadm5.KeysRandom
	}
	if err := f.adm.CreatePrincipal(f.ctx, spec, mode, pw, ks); err != nil {
		f.t.Fatalf("create %s: %v", name, err)
	}
}

// modify changes a stored principal.
func (f *fixture) modify(name string, fn func(*kdb.Principal)) {
	f.t.Helper()
	err := f.store.Update(f.ctx, func(tx *kdb.Tx) error {
		p, err := tx.Get(f.ctx, f.name(name).String())
		if err != nil {
			return err
		}
		fn(p)
		return tx.Put(f.ctx, p)
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// attrs sets a principal's attributes.
func attrs(a uint32) func(*kadm5.PrincipalSpec, *[]krb5x.KeySalt) {
	return func(s *kadm5.PrincipalSpec, _ *[]krb5x.KeySalt) {
		s.Mask |= kadm5.MaskAttributes
		s.Attributes = a
	}
}

// key returns a principal's newest key of etype.
func (f *fixture) key(name string, etype int32) types.EncryptionKey {
	f.t.Helper()
	p, err := f.store.Get(f.ctx, f.name(name).String())
	if err != nil {
		f.t.Fatal(err)
	}
	keys := sortedKeys(p)
	for _, kd := range keys {
		if kd.KVNO == keys[0].KVNO && int32(kd.Enctype) == etype {
			k, err := f.db.UnsealKey(f.ctx, p, kd)
			if err != nil {
				f.t.Fatal(err)
			}
			return k
		}
	}
	f.t.Fatalf("%s has no %d key", name, etype)
	return types.EncryptionKey{}
}

// serve sends a request over UDP from 127.0.0.1.
// stored returns the principal as the database holds it once the KDC's
// pending lockout counters are written.
func (f *fixture) stored(name string) *kdb.Principal {
	f.t.Helper()
	f.db.lockout.flush()
	p, err := f.store.Get(f.ctx, f.name(name).String())
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) serve(req []byte) []byte { return f.h.ServeKerberos(f.ctx, req, f.from, false) }

// pn builds a principal name.
func pn(nameType int32, comps ...string) *types.PrincipalName {
	return &types.PrincipalName{NameType: nameType, NameString: comps}
}

// request describes a KDC-REQ for the tests.
type request struct {
	app         int // krb5x.AppASReq or krb5x.AppTGSReq
	options     uint32
	cname       *types.PrincipalName
	realm       string
	sname       *types.PrincipalName
	from        uint32
	till        uint32
	rtime       uint32
	nonce       int32
	etypes      []int32
	addrs       []hostAddress
	haveAddrs   bool
	padata      []paData
	tickets     [][]byte
	encAuthData *krb5x.EncryptedData
	// optionsBits, when set, is the KDCOptions BIT STRING content.
	optionsBits []byte
}

// asReq is a typical AS-REQ: forwardable, renewable-ok, aes256 and
// aes128, for the realm's TGT, valid for a day.
func (f *fixture) asReq(client string) *request {
	return &request{app: krb5x.AppASReq, options: optForwardable | optRenewableOK,
		cname: pn(1, strings.Split(client, "/")...), realm: f.realm,
		sname: pn(2, "krbtgt", f.realm), till: f.ts() + 86400, nonce: 12345,
		etypes: []int32{18, 17}}
}

func (q *request) body() []byte {
	var b []byte
	if q.optionsBits != nil {
		b = asn1der.AppendCtx(b, 0, asn1der.AppendTLV(nil, asn1der.TagBitString, q.optionsBits))
	} else {
		b = appendCtxFlags(b, 0, q.options)
	}
	if q.cname != nil {
		b = asn1der.AppendCtx(b, 1, krb5x.AppendPrincipalName(nil, *q.cname))
	}
	b = asn1der.AppendCtxString(b, 2, asn1der.TagGeneralString, []byte(q.realm))
	if q.sname != nil {
		b = asn1der.AppendCtx(b, 3, krb5x.AppendPrincipalName(nil, *q.sname))
	}
	if q.from != 0 {
		b = appendCtxTime(b, 4, q.from)
	}
	b = appendCtxTime(b, 5, q.till)
	if q.rtime != 0 {
		b = appendCtxTime(b, 6, q.rtime)
	}
	b = asn1der.AppendCtxInt(b, 7, int64(q.nonce))
	var et []byte
	for _, e := range q.etypes {
		et = asn1der.AppendInt(et, int64(e))
	}
	b = asn1der.AppendCtx(b, 8, asn1der.AppendSequence(nil, et))
	if q.haveAddrs || len(q.addrs) > 0 {
		b = asn1der.AppendCtx(b, 9, appendAddresses(nil, q.addrs))
	}
	if q.encAuthData != nil {
		b = asn1der.AppendCtx(b, 10, krb5x.AppendEncryptedData(nil, *q.encAuthData))
	}
	if len(q.tickets) > 0 {
		var tk []byte
		for _, t := range q.tickets {
			tk = append(tk, t...)
		}
		b = asn1der.AppendCtx(b, 11, asn1der.AppendSequence(nil, tk))
	}
	return asn1der.AppendSequence(nil, b)
}

// marshal encodes the request with body as its req-body.
func (q *request) marshalWith(body []byte) []byte {
	var b []byte
	b = asn1der.AppendCtxInt(b, 1, krb5x.PVNO)
	b = asn1der.AppendCtxInt(b, 2, int64(q.app))
	if len(q.padata) > 0 {
		b = asn1der.AppendCtx(b, 3, appendPADataSeq(nil, q.padata))
	}
	b = asn1der.AppendCtx(b, 4, body)
	return asn1der.AppendTLV(nil, asn1der.AppTag(q.app), asn1der.AppendSequence(nil, b))
}

func (q *request) marshal() []byte { return q.marshalWith(q.body()) }

// encTS makes a PA-ENC-TIMESTAMP for time ts with key.
func encTS(t testing.TB, key types.EncryptionKey, ts uint32) paData {
	t.Helper()
	var b []byte
	b = appendCtxTime(b, 0, ts)
	b = asn1der.AppendCtxInt(b, 1, 123)
	ct, err := krb5x.Encrypt(key, keyUsageEncTS, asn1der.AppendSequence(nil, b))
	if err != nil {
		t.Fatal(err)
	}
	return paData{Type: paEncTimestamp, Value: krb5x.AppendEncryptedData(nil, krb5x.EncryptedData{EType: key.KeyType, Cipher: ct})}
}

// passwordKey derives a principal's key from its password with the
// normal salt.
func passwordKey(t testing.TB, name, pw string, etype int32) types.EncryptionKey {
	t.Helper()
	n, err := kdb.ParseName(name, testRealm)
	if err != nil {
		t.Fatal(err)
	}
	k, err := krb5x.StringToKey(etype, pw, n.Salt())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// krbError decodes a reply that must be a KRB-ERROR.
func krbErrorOf(t testing.TB, reply []byte) messages.KRBError {
	t.Helper()
	var e messages.KRBError
	if err := e.Unmarshal(reply); err != nil {
		t.Fatalf("reply is not a KRB-ERROR: %v (%x)", err, reply)
	}
	return e
}

// wantError checks a reply's error code and e-text.
func wantError(t testing.TB, reply []byte, code int32, etext string) messages.KRBError {
	t.Helper()
	if reply == nil {
		t.Fatalf("no reply, want error %d %q", code, etext)
	}
	e := krbErrorOf(t, reply)
	if e.ErrorCode != code || e.EText != etext {
		t.Fatalf("error %d %q, want %d %q", e.ErrorCode, e.EText, code, etext)
	}
	return e
}

// asResult is a decoded AS-REP or TGS-REP.
type asResult struct {
	raw     []byte
	ticket  messages.Ticket
	tktDER  []byte
	enc     messages.EncKDCRepPart
	encRaw  []byte
	tkt     messages.EncTicketPart
	flags   uint32
	padata  types.PADataSequence
	cname   types.PrincipalName
	crealm  string
	repType int32
}

// flagsOf turns a gokrb5 BitString into MIT's 32-bit flags.
func flagsOf(bs asn1.BitString) uint32 {
	var b [4]byte
	copy(b[:], bs.Bytes)
	return binary.BigEndian.Uint32(b[:])
}

// decodeASRep decrypts an AS-REP with the client key and its ticket with
// the server key.
func decodeASRep(t testing.TB, reply []byte, clientKey, serverKey types.EncryptionKey) *asResult {
	t.Helper()
	var rep messages.ASRep
	if err := rep.Unmarshal(reply); err != nil {
		if e, err2 := krb5x.ReadError(reply); err2 == nil {
			t.Fatalf("got KRB-ERROR %d %q", e.Code, e.Text)
		}
		t.Fatalf("reply is not an AS-REP: %v", err)
	}
	r := &asResult{raw: reply, ticket: rep.Ticket, padata: rep.PAData, cname: rep.CName, crealm: rep.CRealm, repType: rep.EncPart.EType}
	if rep.EncPart.KVNO != 0 {
		t.Errorf("AS-REP enc-part has kvno %d; MIT sends none", rep.EncPart.KVNO)
	}
	pt, err := krb5x.Decrypt(clientKey, keyUsageASRep, rep.EncPart.Cipher)
	if err != nil {
		t.Fatalf("decrypt AS-REP: %v", err)
	}
	r.fill(t, pt, rep.Ticket, serverKey)
	return r
}

// decodeTGSRep decrypts a TGS-REP with key and usage and its ticket with
// the server key.
func decodeTGSRep(t testing.TB, reply []byte, key types.EncryptionKey, usage uint32, serverKey types.EncryptionKey) *asResult {
	t.Helper()
	var rep messages.TGSRep
	if err := rep.Unmarshal(reply); err != nil {
		if e, err2 := krb5x.ReadError(reply); err2 == nil {
			t.Fatalf("got KRB-ERROR %d %q", e.Code, e.Text)
		}
		t.Fatalf("reply is not a TGS-REP: %v", err)
	}
	r := &asResult{raw: reply, ticket: rep.Ticket, cname: rep.CName, crealm: rep.CRealm, repType: rep.EncPart.EType}
	pt, err := krb5x.Decrypt(key, usage, rep.EncPart.Cipher)
	if err != nil {
		t.Fatalf("decrypt TGS-REP: %v", err)
	}
	r.fill(t, pt, rep.Ticket, serverKey)
	return r
}

func (r *asResult) fill(t testing.TB, pt []byte, tk messages.Ticket, serverKey types.EncryptionKey) {
	t.Helper()
	if len(pt) == 0 || pt[0] != asn1der.AppTag(krb5x.AppEncTGSRepPart) {
		t.Errorf("encrypted part tag %#x, want [APPLICATION 26] as MIT", pt[0])
	}
	r.encRaw = pt
	if err := r.enc.Unmarshal(pt); err != nil {
		t.Fatalf("EncKDCRepPart: %v", err)
	}
	r.flags = flagsOf(r.enc.Flags)
	der, err := krb5x.MarshalTicket(tk)
	if err != nil {
		t.Fatal(err)
	}
	r.tktDER = der
	if serverKey.KeyType == 0 {
		return
	}
	if tk.EncPart.EType != serverKey.KeyType {
		t.Fatalf("ticket enctype %d, want %d", tk.EncPart.EType, serverKey.KeyType)
	}
	tp, err := krb5x.Decrypt(serverKey, keyUsageTicket, tk.EncPart.Cipher)
	if err != nil {
		t.Fatalf("decrypt ticket: %v", err)
	}
	if err := r.tkt.Unmarshal(tp); err != nil {
		t.Fatalf("EncTicketPart: %v", err)
	}
}

// unixOf is MIT's timestamp of a decoded time.
func unixOf(tm time.Time) uint32 {
	if tm.IsZero() {
		return 0
	}
	return uint32(tm.Unix())
}

// login runs the AS exchange with a password and returns the TGT.
func (f *fixture) login(client, pw string, mod func(*request)) *asResult {
	f.t.Helper()
	return f.loginVia(f.h, client, pw, mod)
}

// loginVia is login with the request sent to s.
func (f *fixture) loginVia(s RequestHandler, client, pw string, mod func(*request)) *asResult {
	f.t.Helper()
	q := f.asReq(client)
	if mod != nil {
		mod(q)
	}
	key := passwordKey(f.t, client+"@"+f.realm, pw, q.etypes[0])
	q.padata = append(q.padata, encTS(f.t, key, f.ts()))
	reply := s.ServeKerberos(f.ctx, q.marshal(), f.from, false)
	srv := f.key(princname.Unparse(q.sname.NameString, f.realm), 18)
	return decodeASRep(f.t, reply, key, srv)
}

// tgsOpts describes the AP-REQ of a TGS-REQ.
type tgsOpts struct {
	subkey    *types.EncryptionKey
	cksumType int32 // 0: the session key's mandatory type; -1: none
	cksumBody []byte
	cname     *types.PrincipalName
	crealm    string
	ctime     uint32
	apOptions uint32
	authUsage uint32
	authData  []authData
	// Protocol version numbers other than 5 (0 keeps 5): the AP-REQ's
	// pvno and msg-type, the ticket's tkt-vno, the authenticator's
	// authenticator-vno.
	apPVNO, apMsgType, tktVNO, authVNO int64
}

// tgsReq builds a TGS-REQ for sname with the ticket tkt (its DER) and
// session key.
func (f *fixture) tgsReq(q *request, tktDER []byte, session types.EncryptionKey, cname types.PrincipalName, o tgsOpts) []byte {
	f.t.Helper()
	body := q.body()
	if o.cksumBody != nil {
		body = o.cksumBody
	}
	or := func(v, def int64) int64 {
		if v != 0 {
			return v
		}
		return def
	}
	var a []byte
	a = asn1der.AppendCtxInt(a, 0, or(o.authVNO, krb5x.PVNO))
	crealm := f.realm
	if o.crealm != "" {
		crealm = o.crealm
	}
	a = asn1der.AppendCtxString(a, 1, asn1der.TagGeneralString, []byte(crealm))
	if o.cname != nil {
		cname = *o.cname
	}
	a = asn1der.AppendCtx(a, 2, krb5x.AppendPrincipalName(nil, cname))
	if o.cksumType != -1 {
		ct := o.cksumType
		var sum []byte
		switch ct {
		case cksumRSAMD5:
			s := md5.Sum(body)
			sum = s[:]
		default:
			var err error
			ct, sum, err = krb5x.MakeChecksum(ct, session, keyUsageTGSCksum, body)
			if err != nil {
				f.t.Fatal(err)
			}
		}
		a = asn1der.AppendCtx(a, 3, marshalChecksum(checksum{Type: ct, Sum: sum}))
	}
	a = asn1der.AppendCtxInt(a, 4, 4242)
	ctime := f.ts()
	if o.ctime != 0 {
		ctime = o.ctime
	}
	a = appendCtxTime(a, 5, ctime)
	if o.subkey != nil {
		a = asn1der.AppendCtx(a, 6, krb5x.AppendEncryptionKey(nil, *o.subkey))
	}
	a = asn1der.AppendCtxInt(a, 7, 777)
	if len(o.authData) > 0 {
		a = asn1der.AppendCtx(a, 8, appendAuthData(nil, o.authData))
	}
	usage := uint32(keyUsageTGSAuth)
	if o.authUsage != 0 {
		usage = o.authUsage
	}
	authCT, err := krb5x.Encrypt(session, usage, asn1der.AppendTLV(nil, asn1der.AppTag(krb5x.AppAuthenticator), asn1der.AppendSequence(nil, a)))
	if err != nil {
		f.t.Fatal(err)
	}
	if o.tktVNO != 0 {
		// tkt-vno [0] INTEGER is the first field of the ticket.
		vno := []byte{0xa0, 0x03, 0x02, 0x01, krb5x.PVNO}
		tktDER = bytes.Replace(tktDER, vno, append(vno[:4:4], byte(o.tktVNO)), 1)
	}
	var ap []byte
	ap = asn1der.AppendCtxInt(ap, 0, or(o.apPVNO, krb5x.PVNO))
	ap = asn1der.AppendCtxInt(ap, 1, or(o.apMsgType, krb5x.AppAPReq))
	ap = appendCtxFlags(ap, 2, o.apOptions)
	ap = asn1der.AppendCtx(ap, 3, tktDER)
	ap = asn1der.AppendCtx(ap, 4, krb5x.AppendEncryptedData(nil, krb5x.EncryptedData{EType: session.KeyType, Cipher: authCT}))
	q.padata = []paData{{Type: paTGSReq, Value: asn1der.AppendTLV(nil, asn1der.AppTag(krb5x.AppAPReq), asn1der.AppendSequence(nil, ap))}}
	q.app = krb5x.AppTGSReq
	return q.marshalWith(q.body())
}

// serviceReq is a TGS-REQ body for a service ticket.
func (f *fixture) serviceReq(service string) *request {
	return &request{app: krb5x.AppTGSReq, options: optForwardable, realm: f.realm,
		sname: pn(2, strings.Split(service, "/")...), till: f.ts() + 86400, nonce: 999,
		etypes: []int32{18, 17}}
}

// sessionOf is the session key of a result.
func (r *asResult) session() types.EncryptionKey { return r.enc.Key }

// mustEqual compares bytes.
func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %x, want %x", what, got, want)
	}
}
