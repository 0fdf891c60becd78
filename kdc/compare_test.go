package kdc

import (
	"net"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/asn1der"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/mittest"
)

// udpExchange sends one request and waits up to wait for the reply; nil
// means none came.
func udpExchange(t *testing.T, addr string, req []byte, wait time.Duration) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// dbKey is a principal's current key from our KDC's database.
func dbKey(t *testing.T, h *Handler, name string) types.EncryptionKey {
	t.Helper()
	p, err := h.DB.Principal(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := h.currentKey(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sameError compares two KRB-ERRORs field by field; the server times may
// differ by a second.
func sameError(t *testing.T, what string, ours, mit []byte) {
	t.Helper()
	if ours == nil || mit == nil {
		t.Errorf("%s: reply ours %v, MIT %v", what, ours != nil, mit != nil)
		return
	}
	o, err := krb5x.ReadError(ours)
	if err != nil {
		t.Errorf("%s: ours is not a KRB-ERROR: %v", what, err)
		return
	}
	m, err := krb5x.ReadError(mit)
	if err != nil {
		t.Errorf("%s: MIT's is not a KRB-ERROR: %v", what, err)
		return
	}
	if d := o.STime.Sub(m.STime); d > 2*time.Second || d < -2*time.Second {
		t.Errorf("%s: stime %v vs MIT %v", what, o.STime, m.STime)
	}
	o.STime, m.STime, o.SUsec, m.SUsec = time.Time{}, time.Time{}, 0, 0
	if !reflect.DeepEqual(o, m) {
		t.Errorf("%s:\nours %d %q %+v\nMIT  %d %q %+v", what, o.Code, o.Text, *o, m.Code, m.Text, *m)
	}
}

// kdcReply is a decrypted AS-REP or TGS-REP with its ticket.
type kdcReply struct {
	padata types.PADataSequence
	cname  types.PrincipalName
	crealm string
	etype  int32
	enc    messages.EncKDCRepPart
	tkt    messages.EncTicketPart
	ticket messages.Ticket
}

func decodeReply(t *testing.T, what string, b []byte, key types.EncryptionKey, usage uint32, svc types.EncryptionKey) *kdcReply {
	t.Helper()
	r := &kdcReply{}
	var encPart types.EncryptedData
	if krb5x.IsApp(b, krb5x.AppASRep) {
		var rep messages.ASRep
		if err := rep.Unmarshal(b); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		r.padata, r.cname, r.crealm, r.ticket, encPart = rep.PAData, rep.CName, rep.CRealm, rep.Ticket, rep.EncPart
	} else {
		var rep messages.TGSRep
		if err := rep.Unmarshal(b); err != nil {
			if e, err := krb5x.ReadError(b); err == nil {
				t.Fatalf("%s: KRB-ERROR %d %q", what, e.Code, e.Text)
			}
			t.Fatalf("%s: %v", what, err)
		}
		r.padata, r.cname, r.crealm, r.ticket, encPart = rep.PAData, rep.CName, rep.CRealm, rep.Ticket, rep.EncPart
	}
	r.etype = encPart.EType
	pt, err := krb5x.Decrypt(key, usage, encPart.Cipher)
	if err != nil {
		t.Fatalf("%s: decrypt reply: %v", what, err)
	}
	if pt[0] != asn1der.AppTag(krb5x.AppEncTGSRepPart) {
		t.Errorf("%s: encrypted part tagged %#x", what, pt[0])
	}
	if err := r.enc.Unmarshal(pt); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	tp, err := krb5x.Decrypt(svc, keyUsageTicket, r.ticket.EncPart.Cipher)
	if err != nil {
		t.Fatalf("%s: decrypt ticket: %v", what, err)
	}
	if err := r.tkt.Unmarshal(tp); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return r
}

// sameReply compares two replies to the same request: everything but the
// session keys, the PAC MIT adds and the times, which are compared
// relative to authtime (or to the start, for a new TGS ticket).
func sameReply(t *testing.T, what string, o, m *kdcReply) {
	t.Helper()
	rel := func(base, tm time.Time) int64 {
		if tm.IsZero() {
			return -1
		}
		return tm.Unix() - base.Unix()
	}
	type view struct {
		PAData          types.PADataSequence
		CName           types.PrincipalName
		CRealm          string
		EType, KeyType  int32
		Nonce           int
		LastReqs        []messages.LastReq
		Flags, TktFlags []byte
		KeyExp          int64
		Start, End, Ren int64
		SRealm          string
		SName           types.PrincipalName
		CAddr           []types.HostAddress
		EncPATypes      []int32
		TktSName        types.PrincipalName
		TktEType        int32
		TktKVNO         int
		TktCName        types.PrincipalName
		Transited       messages.TransitedEncoding
		TktTimes        [3]int64
		TktCAddr        types.HostAddresses
	}
	v := func(r *kdcReply) view {
		base := r.enc.AuthTime
		if !r.enc.StartTime.IsZero() {
			base = r.enc.StartTime
		}
		var pt []int32
		for _, pa := range r.enc.EncPAData {
			pt = append(pt, pa.PADataType)
		}
		return view{r.padata, r.cname, r.crealm, r.etype, r.enc.Key.KeyType, r.enc.Nonce, r.enc.LastReqs,
			r.enc.Flags.Bytes, r.tkt.Flags.Bytes, rel(base, r.enc.KeyExpiration),
			rel(r.enc.AuthTime, r.enc.StartTime), rel(base, r.enc.EndTime), rel(base, r.enc.RenewTill),
			r.enc.SRealm, r.enc.SName, r.enc.CAddr, pt,
			r.ticket.SName, r.ticket.EncPart.EType, r.ticket.EncPart.KVNO, r.tkt.CName, r.tkt.Transited,
			[3]int64{rel(r.tkt.AuthTime, r.tkt.StartTime), rel(base, r.tkt.EndTime), rel(base, r.tkt.RenewTill)}, r.tkt.CAddr}
	}
	ov, mv := v(o), v(m)
	if !reflect.DeepEqual(ov, mv) {
		t.Errorf("%s:\nours %+v\nMIT  %+v", what, ov, mv)
	}
	if d := o.enc.AuthTime.Sub(m.enc.AuthTime); d > 2*time.Second || d < -2*time.Second {
		t.Errorf("%s: authtime %v vs MIT %v", what, o.enc.AuthTime, m.enc.AuthTime)
	}
}

// TestCompareWithMITKDC loads the same database into MIT's krb5kdc and
// ours and sends both the same requests: the errors must be identical
// (code, e-text, names, e-data) and the tickets alike in every field but
// the session keys, the times (compared relative to the authentication)
// and the PAC.
func TestCompareWithMITKDC(t *testing.T) {
	mittest.Require(t, "krb5kdc", "kdb5_util")
	r := mittest.NewRealm(t, interopRealm)
	ours := ourKDC(t, r,
		"addprinc -pw alice-pw alice",
		"addprinc -pw open-pw -requires_preauth open",
		"addprinc -randkey host/svc.interop.test",
		"addprinc -randkey -allow_svr host/nosvc.interop.test",
		"addprinc -randkey -allow_tgs_req host/notgs.interop.test",
		"addprinc -randkey +ok_as_delegate -allow_forwardable host/deleg.interop.test",
		"addprinc -pw bob-pw -allow_tix bob",
		"addprinc -pw carol-pw -maxlife 1h -maxrenewlife 2h carol",
		"addpol -maxfailure 2 -lockoutduration 1h lockpol",
		"addprinc -pw locked-pw -policy lockpol locked",
		"addprinc -pw exp-pw -expire 2000-01-01 expired",
		"addprinc -pw pwexp-pw -pwexpire 2000-01-01 pwexpired",
		"addprinc -pw change-pw +needchange needchange",
		"addprinc -pw nopd-pw -allow_postdated nopostdate",
		"addprinc -randkey -expire 2000-01-01 host/expired.interop.test",
		"addprinc -randkey host/limited.interop.test",
		"setstr host/limited.interop.test session_enctypes aes128-cts-hmac-sha1-96",
		"addprinc -randkey host/mfa.interop.test",
		"setstr host/mfa.interop.test require_auth otp")
	dump := r.Path("dump")
	r.MustRun(t, mittest.GoBinary(t, "./cmd/kdb5util"), "dump", dump)
	m := mittest.NewRealm(t, interopRealm)
	stash, err := os.ReadFile(r.Stash)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.Stash, stash, 0o600); err != nil {
		t.Fatal(err)
	}
	m.MustRun(t, "kdb5_util", "load", dump)
	mitKDC := m.Start(t, "krb5kdc", "-n")
	mitKDC.WaitPort(t, "udp", m.KDCAddr(), 10*time.Second)

	both := func(req []byte, wait time.Duration) (o, mi []byte) {
		return udpExchange(t, r.KDCAddr(), req, wait), udpExchange(t, m.KDCAddr(), req, wait)
	}
	f := &fixture{t: t, now: time.Now()}
	now := uint32(time.Now().Unix())
	tgsName := pn(2, "krbtgt", interopRealm)
	asReq := func(client string, mod func(*request)) *request {
		q := &request{app: krb5x.AppASReq, options: optForwardable | optRenewableOK, cname: pn(1, client), realm: interopRealm,
			sname: tgsName, till: now + 86400, nonce: int32(now & 0xffffff), etypes: []int32{18, 17, 23}}
		if mod != nil {
			mod(q)
		}
		return q
	}
	pwKey := func(client, pw string, et int32) types.EncryptionKey {
		k, err := krb5x.StringToKey(et, pw, interopRealm+client)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	withTS := func(client, pw string, et int32, ts uint32) func(*request) {
		return func(q *request) {
			q.padata = []paData{encTS(t, pwKey(client, pw, et), ts), {Type: paReqEncPARep}}
		}
	}

	// Errors from the AS.
	for i, tc := range []struct {
		name string
		req  *request
	}{
		{"needed preauth", asReq("alice", nil)},
		{"needed preauth, old enctypes", asReq("alice", func(q *request) { q.etypes = []int32{23, 16, 17} })},
		{"unknown client", asReq("nobody", nil)},
		{"unknown server", asReq("alice", func(q *request) { q.sname = pn(1, "host", "nowhere") })},
		{"wrong password", asReq("alice", withTS("alice", "wrong", 18, now))},
		{"skew", asReq("alice", withTS("alice", "alice-pw", 18, now-400))},
		{"client revoked", asReq("bob", withTS("bob", "bob-pw", 18, now))},
		{"not a service", asReq("alice", func(q *request) {
			withTS("alice", "alice-pw", 18, now)(q)
			q.sname = pn(1, "host", "nosvc.interop.test")
		})},
		{"renew in AS", asReq("alice", func(q *request) { withTS("alice", "alice-pw", 18, now)(q); q.options |= optRenew })},
		{"no common enctype", asReq("alice", func(q *request) { withTS("alice", "alice-pw", 18, now)(q); q.etypes = []int32{23} })},
		{"no client key", asReq("open", func(q *request) { q.etypes = []int32{23}; q.sname = tgsName })},
		{"lockout 1", asReq("locked", withTS("locked", "wrong", 18, now))},
		{"lockout 2", asReq("locked", withTS("locked", "wrong", 18, now))},
		{"locked out", asReq("locked", withTS("locked", "locked-pw", 18, now))},
		{"client expired", asReq("expired", withTS("expired", "exp-pw", 18, now))},
		{"password expired", asReq("pwexpired", withTS("pwexpired", "pwexp-pw", 18, now))},
		{"needs password change", asReq("needchange", withTS("needchange", "change-pw", 18, now))},
		{"postdate disallowed", asReq("nopostdate", func(q *request) {
			withTS("nopostdate", "nopd-pw", 18, now)(q)
			q.options |= optAllowPostdate
		})},
		{"server expired", asReq("alice", func(q *request) {
			withTS("alice", "alice-pw", 18, now)(q)
			q.sname = pn(1, "host", "expired.interop.test")
		})},
		{"server needs an indicator", asReq("alice", func(q *request) {
			withTS("alice", "alice-pw", 18, now)(q)
			q.sname = pn(1, "host", "mfa.interop.test")
		})},
	} {
		tc.req.nonce += int32(i)
		o, mi := both(tc.req.marshal(), 3*time.Second)
		sameError(t, tc.name, o, mi)
	}

	// Tickets from the AS.
	tgsKey := dbKey(t, ours.h, "krbtgt/"+interopRealm+"@"+interopRealm)
	svcKey := dbKey(t, ours.h, "host/svc.interop.test@"+interopRealm)
	changepwKey := dbKey(t, ours.h, "kadmin/changepw@"+interopRealm)
	limitedKey := dbKey(t, ours.h, "host/limited.interop.test@"+interopRealm)
	var mitTGT *kdcReply
	for i, tc := range []struct {
		name, client, pw string
		mod              func(*request)
		etype            int32
		svc              types.EncryptionKey
	}{
		{"TGT", "alice", "alice-pw", nil, 18, tgsKey},
		{"TGT, renewable, proxiable, till 0", "alice", "alice-pw", func(q *request) { q.options = optRenewable | optProxiable; q.till = 0 }, 18, tgsKey},
		{"TGT with rtime", "carol", "carol-pw", func(q *request) { q.options = optRenewable; q.rtime = now + 86400 }, 18, tgsKey},
		{"postdated", "alice", "alice-pw", func(q *request) {
			q.options = optPostdated | optAllowPostdate
			q.from = now + 3600
			q.till = now + 7200
		}, 18, tgsKey},
		{"aes128 reply key", "alice", "alice-pw", func(q *request) { q.etypes = []int32{17, 18} }, 17, tgsKey},
		{"without preauth", "open", "open-pw", func(q *request) { q.padata = nil }, 18, tgsKey},
		{"service ticket", "alice", "alice-pw", func(q *request) { q.sname = pn(1, "host", "svc.interop.test") }, 18, svcKey},
		{"addresses", "alice", "alice-pw", func(q *request) { q.addrs = []hostAddress{{Type: 2, Addr: []byte{127, 0, 0, 1}}} }, 18, tgsKey},
		{"expired password, changepw service", "pwexpired", "pwexp-pw", func(q *request) { q.sname = pn(1, "kadmin", "changepw") }, 18, changepwKey},
		{"session_enctypes", "alice", "alice-pw", func(q *request) { q.sname = pn(1, "host", "limited.interop.test") }, 18, limitedKey},
	} {
		q := asReq(tc.client, withTS(tc.client, tc.pw, tc.etype, now))
		q.nonce += int32(100 + i)
		if tc.mod != nil {
			tc.mod(q)
		}
		o, mi := both(q.marshal(), 3*time.Second)
		key := pwKey(tc.client, tc.pw, tc.etype)
		or := decodeReply(t, tc.name+" (ours)", o, key, keyUsageASRep, tc.svc)
		mr := decodeReply(t, tc.name+" (MIT)", mi, key, keyUsageASRep, tc.svc)
		sameReply(t, tc.name, or, mr)
		if i == 0 {
			mitTGT = mr
		}
	}

	// The TGS, with MIT's TGT (the two KDCs share the krbtgt key, as a
	// realm mixing MIT and krb5prop KDCs does).
	tgtDER, err := krb5x.MarshalTicket(mitTGT.ticket)
	if err != nil {
		t.Fatal(err)
	}
	session := mitTGT.enc.Key
	alice := types.PrincipalName{NameType: 1, NameString: []string{"alice"}}
	svcReq := func(svc string, mod func(*request)) *request {
		q := &request{app: krb5x.AppTGSReq, options: optForwardable, realm: interopRealm, sname: pn(1, svc),
			till: now + 86400, nonce: int32(now&0xffff) + 7, etypes: []int32{18, 17}}
		if len(svc) > 5 && svc[:5] == "host/" {
			q.sname = pn(1, "host", svc[5:])
		}
		if mod != nil {
			mod(q)
		}
		return q
	}
	for i, tc := range []struct {
		name string
		q    *request
		o    tgsOpts
	}{
		{"unknown server", svcReq("host/nowhere.interop.test", nil), tgsOpts{}},
		{"not a service", svcReq("host/nosvc.interop.test", nil), tgsOpts{}},
		{"tgt-based disallowed", svcReq("host/notgs.interop.test", nil), tgsOpts{}},
		{"bad checksum", svcReq("host/svc.interop.test", nil), tgsOpts{cksumBody: []byte("x")}},
		{"no checksum", svcReq("host/svc.interop.test", nil), tgsOpts{cksumType: -1}},
		{"skew", svcReq("host/svc.interop.test", nil), tgsOpts{ctime: now - 400}},
		{"client mismatch", svcReq("host/svc.interop.test", nil), tgsOpts{cname: pn(1, "mallory")}},
		{"validate a valid ticket", svcReq("krbtgt/"+interopRealm, func(q *request) { q.sname = tgsName; q.options = optValidate }), tgsOpts{}},
		{"proxy a TGT", svcReq("krbtgt", func(q *request) { q.sname = tgsName; q.options = optProxy }), tgsOpts{}},
		{"renew for another server", svcReq("host/svc.interop.test", func(q *request) { q.options = optRenew }), tgsOpts{}},
		{"u2u without ticket", svcReq("host/svc.interop.test", func(q *request) { q.options |= optEncTktInSkey }), tgsOpts{}},
		{"no common enctype", svcReq("host/svc.interop.test", func(q *request) { q.etypes = []int32{23} }), tgsOpts{}},
		{"disable transited check", svcReq("host/svc.interop.test", func(q *request) { q.options |= optDisableTransitedCheck }), tgsOpts{}},
		{"server expired", svcReq("host/expired.interop.test", nil), tgsOpts{}},
		{"server needs an indicator", svcReq("host/mfa.interop.test", nil), tgsOpts{}},
		{"kadmin/admin is not TGT-based", svcReq("kadmin", func(q *request) { q.sname = pn(1, "kadmin", "admin") }), tgsOpts{}},
		{"AP-REQ pvno 4", svcReq("host/svc.interop.test", nil), tgsOpts{apPVNO: 4}},
		{"ticket tkt-vno 4", svcReq("host/svc.interop.test", nil), tgsOpts{tktVNO: 4}},
		{"authenticator vno 4", svcReq("host/svc.interop.test", nil), tgsOpts{authVNO: 4}},
	} {
		tc.q.nonce += int32(i)
		tc.o.crealm = interopRealm
		req := f.tgsReq(tc.q, tgtDER, session, alice, tc.o)
		o, mi := both(req, 3*time.Second)
		sameError(t, "TGS "+tc.name, o, mi)
	}
	delegKey := dbKey(t, ours.h, "host/deleg.interop.test@"+interopRealm)
	subkey, _ := krb5x.RandomKey(17)
	for i, tc := range []struct {
		name string
		q    *request
		o    tgsOpts
		svc  types.EncryptionKey
	}{
		{"service ticket", svcReq("host/svc.interop.test", nil), tgsOpts{}, svcKey},
		{"service ticket with subkey", svcReq("host/svc.interop.test", nil), tgsOpts{subkey: &subkey}, svcKey},
		// MIT's KDC decodes the AP-REQ's msg-type but never checks it.
		{"AP-REQ msg-type 13", svcReq("host/svc.interop.test", nil), tgsOpts{apMsgType: 13}, svcKey},
		{"session_enctypes", svcReq("host/limited.interop.test", nil), tgsOpts{}, limitedKey},
		{"unkeyed checksum", svcReq("host/svc.interop.test", nil), tgsOpts{cksumType: cksumRSAMD5}, svcKey},
		{"ok-as-delegate, not forwardable", svcReq("host/deleg.interop.test", nil), tgsOpts{}, delegKey},
		{"renewable-ok", svcReq("host/svc.interop.test", func(q *request) { q.options |= optRenewableOK; q.till = 0 }), tgsOpts{}, svcKey},
		{"renew", svcReq("krbtgt", func(q *request) { q.sname = tgsName; q.options = optRenew | optRenewable }), tgsOpts{}, tgsKey},
		{"forwarded", svcReq("krbtgt", func(q *request) {
			q.sname = tgsName
			q.options = optForwarded | optForwardable
			q.addrs = []hostAddress{{Type: 2, Addr: []byte{127, 0, 0, 1}}}
		}), tgsOpts{}, tgsKey},
	} {
		tc.q.nonce += int32(100 + i)
		tc.o.crealm = interopRealm
		req := f.tgsReq(tc.q, tgtDER, session, alice, tc.o)
		o, mi := both(req, 3*time.Second)
		key, usage := session, uint32(keyUsageTGSRepSession)
		if tc.o.subkey != nil {
			key, usage = *tc.o.subkey, keyUsageTGSRepSubkey
		}
		sameReply(t, "TGS "+tc.name, decodeReply(t, tc.name+" (ours)", o, key, usage, tc.svc), decodeReply(t, tc.name+" (MIT)", mi, key, usage, tc.svc))
	}

	// Neither answers what is not a well-formed request.
	for _, g := range [][]byte{[]byte("garbage"), {0x6a, 0x03, 0x02, 0x01, 0x05}} {
		o, mi := both(g, 500*time.Millisecond)
		if o != nil || mi != nil {
			t.Errorf("%x: ours %x, MIT %x", g, o, mi)
		}
	}
	compareLogs(t, ours.logs(), m.LogFile)
}

// authtimeRE matches the authtimes in log lines, which may differ by a
// second between the two KDCs.
var authtimeRE = regexp.MustCompile(`authtime [1-9][0-9]*`)

// compareLogs checks that our KDC logged, line for line, what MIT's wrote
// to its log file for the same requests.
func compareLogs(t *testing.T, ours []string, mitLog string) {
	t.Helper()
	b, err := os.ReadFile(mitLog)
	if err != nil {
		t.Fatal(err)
	}
	var mit []string
	for _, l := range strings.Split(string(b), "\n") {
		i := strings.Index(l, "krb5kdc[")
		if i < 0 {
			continue
		}
		j := strings.Index(l[i:], "): ")
		if j < 0 {
			continue
		}
		msg := l[i+j+3:]
		if strings.HasPrefix(msg, "AS_REQ") || strings.HasPrefix(msg, "TGS_REQ") || strings.HasPrefix(msg, "preauth (") ||
			strings.Contains(msg, "while dispatching") || strings.HasPrefix(msg, "not checking") {
			mit = append(mit, msg)
		}
	}
	norm := func(l []string) string { return authtimeRE.ReplaceAllString(strings.Join(l, "\n"), "authtime T") }
	if norm(ours) != norm(mit) {
		t.Errorf("log lines differ:\nours:\n%s\nMIT:\n%s", norm(ours), norm(mit))
	}
}
