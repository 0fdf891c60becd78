package kdc

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/asn1der"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
)

// methodData decodes a KRB-ERROR's e-data as METHOD-DATA.
func methodData(t *testing.T, edata []byte) []paData {
	t.Helper()
	pas, err := parsePADataSeq(edata)
	if err != nil {
		t.Fatalf("e-data is not METHOD-DATA: %v", err)
	}
	return pas
}

// etypeInfo2Entries decodes ETYPE-INFO2.
func etypeInfo2Entries(t *testing.T, b []byte) []types.ETypeInfo2Entry {
	t.Helper()
	var e types.ETypeInfo2
	if err := e.Unmarshal(b); err != nil {
		t.Fatalf("ETYPE-INFO2: %v", err)
	}
	return e
}

func TestASPreauthRequired(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	q := f.asReq("alice")
	q.etypes = []int32{17, 18, 23}
	reply := f.serve(q.marshal())
	e := wantError(t, reply, CodePreauthRequired, "NEEDED_PREAUTH")
	if e.CRealm != testRealm || len(e.CName.NameString) != 1 || e.CName.NameString[0] != "alice" {
		t.Errorf("error client %v@%s", e.CName, e.CRealm)
	}
	if e.Realm != testRealm || e.SName.NameType != 2 || strings.Join(e.SName.NameString, "/") != "krbtgt/"+testRealm {
		t.Errorf("error server %v@%s", e.SName, e.Realm)
	}
	if unixOf(e.STime) != f.ts() || e.Susec != 250000 {
		t.Errorf("stime %v susec %d", e.STime, e.Susec)
	}
	pas := methodData(t, e.EData)
	var got []int32
	for _, pa := range pas {
		got = append(got, pa.Type)
	}
	// MIT 1.20's hint list, as its krb5kdc sends it.
	want := []int32{paFXFast, paETypeInfo2, paEncTimestamp, paFXCookie}
	if len(got) != len(want) {
		t.Fatalf("padata types %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("padata types %v, want %v", got, want)
		}
	}
	info := etypeInfo2Entries(t, pas[1].Value)
	if len(info) != 1 || info[0].EType != 17 || info[0].Salt != testRealm+"alice" || len(info[0].S2KParams) != 0 {
		t.Errorf("ETYPE-INFO2 %+v, want one aes128 entry with salt %q", info, testRealm+"alice")
	}
	if !bytes.Equal(pas[3].Value, []byte("MIT")) {
		t.Errorf("cookie %q", pas[3].Value)
	}
	logs := f.logs.take()
	wantLog := "AS_REQ (3 etypes {aes128-cts-hmac-sha1-96(17), aes256-cts-hmac-sha1-96(18), DEPRECATED:arcfour-hmac(23)}) 127.0.0.1: NEEDED_PREAUTH: alice@KDC.TEST for krbtgt/KDC.TEST@KDC.TEST, Additional pre-authentication required"
	if len(logs) != 1 || logs[0] != wantLog {
		t.Errorf("log %q\nwant %q", logs, wantLog)
	}
}

func TestASIssue(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	q := f.asReq("alice")
	q.padata = []paData{encTS(t, passwordKey(t, "alice", "alice-pw", 18), f.ts()), {Type: paReqEncPARep}}
	reqDER := q.marshal()
	reply := f.serve(reqDER)
	tgsKey := f.key("krbtgt/"+testRealm, 18)
	r := decodeASRep(t, reply, passwordKey(t, "alice", "alice-pw", 18), tgsKey)
	now := f.ts()
	if r.repType != 18 || r.enc.Key.KeyType != 18 || len(r.enc.Key.KeyValue) != 32 {
		t.Errorf("reply etype %d session %d/%d", r.repType, r.enc.Key.KeyType, len(r.enc.Key.KeyValue))
	}
	wantFlags := tktForwardable | tktRenewable | tktInitial | tktPreAuth | tktEncPARep
	if r.flags != wantFlags || flagsOf(r.tkt.Flags) != wantFlags {
		t.Errorf("flags %#x / ticket %#x, want %#x", r.flags, flagsOf(r.tkt.Flags), wantFlags)
	}
	if unixOf(r.enc.AuthTime) != now || !r.enc.StartTime.IsZero() || unixOf(r.enc.EndTime) != now+36000 ||
		unixOf(r.enc.RenewTill) != now+86400 {
		t.Errorf("times auth %v start %v end %v renew %v", r.enc.AuthTime, r.enc.StartTime, r.enc.EndTime, r.enc.RenewTill)
	}
	if r.enc.Nonce != 12345 || r.enc.SRealm != testRealm || strings.Join(r.enc.SName.NameString, "/") != "krbtgt/"+testRealm {
		t.Errorf("nonce %d server %v@%s", r.enc.Nonce, r.enc.SName, r.enc.SRealm)
	}
	if !bytes.Equal(r.tkt.Key.KeyValue, r.enc.Key.KeyValue) || r.tkt.CRealm != testRealm || r.tkt.CName.NameString[0] != "alice" {
		t.Errorf("ticket key or client differ")
	}
	if r.tkt.Transited.TRType != 1 || len(r.tkt.Transited.Contents) != 0 || len(r.tkt.AuthorizationData) != 0 {
		t.Errorf("transited %+v authdata %v", r.tkt.Transited, r.tkt.AuthorizationData)
	}
	if r.ticket.EncPart.KVNO != 1 {
		t.Errorf("ticket kvno %d", r.ticket.EncPart.KVNO)
	}
	// PA-ETYPE-INFO2 in the reply padata, as MIT sends it.
	if len(r.padata) != 1 || r.padata[0].PADataType != paETypeInfo2 {
		t.Fatalf("reply padata %+v", r.padata)
	}
	// RFC 6806: the checksum over the request in the reply key, and
	// an empty PA-FX-FAST.
	if len(r.enc.EncPAData) != 2 || r.enc.EncPAData[0].PADataType != paReqEncPARep || r.enc.EncPAData[1].PADataType != paFXFast {
		t.Fatalf("enc-padata %+v", r.enc.EncPAData)
	}
	f2, err := asn1der.Sequence(r.enc.EncPAData[0].PADataValue, asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := asn1der.Int32(f2[0])
	sum, _ := asn1der.Octets(f2[1])
	if ct != krb5x.CksumHMACSHA196AES256 || !krb5x.VerifyChecksum(ct, passwordKey(t, "alice", "alice-pw", 18), keyUsageASReq, sum, reqDER) {
		t.Errorf("PA-REQ-ENC-PA-REP checksum type %d does not verify", ct)
	}
	logs := f.logs.take()
	want := "AS_REQ (2 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17)}) 127.0.0.1: ISSUE: authtime 1800000000, etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)}, alice@KDC.TEST for krbtgt/KDC.TEST@KDC.TEST"
	if len(logs) != 1 || logs[0] != want {
		t.Errorf("log %q\nwant %q", logs, want)
	}
	// last_success is recorded for a principal that requires preauth.
	p := f.stored("alice")
	if p.LastSuccess != now {
		t.Errorf("last_success %d, want %d", p.LastSuccess, now)
	}
}

func TestASErrors(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	f.addPrinc("host/svc", "", nil)
	now := f.ts()
	alice := func(q *request) {
		q.padata = []paData{encTS(t, passwordKey(t, "alice", "alice-pw", 18), f.ts())}
	}
	tests := []struct {
		name   string
		setup  func()
		mod    func(*request)
		code   int32
		status string
	}{
		{"unknown client", nil, func(q *request) { q.cname = pn(1, "nobody") }, CodeCPrincipalUnknown, "CLIENT_NOT_FOUND"},
		{"no client", nil, func(q *request) { q.cname = nil }, CodeCPrincipalUnknown, "NULL_CLIENT"},
		{"unknown server", nil, func(q *request) { q.sname = pn(2, "host", "nowhere") }, CodeSPrincipalUnknown, "SERVER_NOT_FOUND"},
		{"wrong password", nil, func(q *request) {
			q.padata = []paData{encTS(t, passwordKey(t, "alice", "wrong", 18), f.ts())}
		}, CodePreauthFailed, "PREAUTH_FAILED"},
		{"timestamp enctype without key", nil, func(q *request) {
			q.padata = []paData{encTS(t, passwordKey(t, "alice", "alice-pw", 23), f.ts())}
		}, CodePreauthFailed, "PREAUTH_FAILED"},
		{"garbage timestamp", nil, func(q *request) { q.padata = []paData{{Type: paEncTimestamp, Value: []byte{1, 2, 3}}} }, CodePreauthFailed, "PREAUTH_FAILED"},
		{"skew", nil, func(q *request) {
			q.padata = []paData{encTS(t, passwordKey(t, "alice", "alice-pw", 18), f.ts()-301)}
		}, CodeSkew, "PREAUTH_FAILED"},
		{"unknown padata only", nil, func(q *request) { q.padata = []paData{{Type: 999, Value: []byte{0}}} }, CodePreauthRequired, "NEEDED_PREAUTH"},
		{"renew in AS", nil, func(q *request) { alice(q); q.options |= optRenew }, CodeBadOption, "INVALID AS OPTIONS"},
		{"enc-tkt-in-skey in AS", nil, func(q *request) { alice(q); q.options |= optEncTktInSkey }, CodeBadOption, "INVALID AS OPTIONS"},
		{"no session enctype", nil, func(q *request) { alice(q); q.etypes = []int32{23, 16} }, CodeETypeNoSupp, "BAD_ENCRYPTION_TYPE"},
		{"client revoked", func() { f.modify("alice", func(p *kdb.Principal) { p.Attributes |= kdb.AttrDisallowAllTix }) },
			alice, CodeClientRevoked, "CLIENT LOCKED OUT"},
		{"server revoked", func() { f.modify("host/svc", func(p *kdb.Principal) { p.Attributes |= kdb.AttrDisallowAllTix }) },
			func(q *request) { alice(q); q.sname = pn(1, "host", "svc") }, CodeSPrincipalUnknown, "SERVICE LOCKED OUT"},
		{"server not a service", func() { f.modify("host/svc", func(p *kdb.Principal) { p.Attributes = kdb.AttrDisallowSvr }) },
			func(q *request) { alice(q); q.sname = pn(1, "host", "svc") }, CodeMustUseUser2User, "SERVICE NOT ALLOWED"},
		{"client expired", func() { f.modify("alice", func(p *kdb.Principal) { p.Expiration = now - 1 }) },
			alice, CodeNameExp, "CLIENT EXPIRED"},
		{"server expired", func() { f.modify("host/svc", func(p *kdb.Principal) { p.Expiration = now - 1 }) },
			func(q *request) { alice(q); q.sname = pn(1, "host", "svc") }, CodeServiceExp, "SERVICE EXPIRED"},
		{"password expired", func() { f.modify("alice", func(p *kdb.Principal) { p.PwExpiration = now - 1 }) },
			alice, CodeKeyExpired, "CLIENT KEY EXPIRED"},
		{"needs password change", func() { f.modify("alice", func(p *kdb.Principal) { p.Attributes |= kdb.AttrRequiresPwChange }) },
			alice, CodeKeyExpired, "REQUIRED PWCHANGE"},
		{"postdate disallowed", func() { f.modify("alice", func(p *kdb.Principal) { p.Attributes |= kdb.AttrDisallowPostdated }) },
			func(q *request) { alice(q); q.options |= optAllowPostdate }, CodeCannotPostdate, "POSTDATE NOT ALLOWED"},
		{"server requires auth indicator", func() {
			f.modify("host/svc", func(p *kdb.Principal) { p.SetStringAttrs([]kdb.StringAttr{{Key: "require_auth", Value: "otp"}}) })
		}, func(q *request) { alice(q); q.sname = pn(1, "host", "svc") }, CodePolicy, "HIGHER_AUTHENTICATION_REQUIRED"},
		{"anonymous option for a named client", nil, func(q *request) { alice(q); q.options |= optRequestAnonymous }, CodeBadOption, "VALIDATE_ANONYMOUS_PRINCIPAL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f = newFixture(t)
			f.addPrinc("alice", "alice-pw", nil)
			f.addPrinc("host/svc", "", nil)
			if tc.setup != nil {
				tc.setup()
			}
			q := f.asReq("alice")
			tc.mod(q)
			e := wantError(t, f.serve(q.marshal()), tc.code, tc.status)
			hasEData := len(e.EData) > 0
			wantEData := tc.code == CodePreauthFailed || tc.code == CodePreauthRequired
			if hasEData != wantEData {
				t.Errorf("e-data present %v, want %v", hasEData, wantEData)
			}
			if q.cname != nil && (len(e.CName.NameString) == 0 || e.CRealm != testRealm) {
				t.Errorf("error lacks the client name")
			}
		})
	}
}

func TestASPasswordChangeService(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	f.modify("alice", func(p *kdb.Principal) {
		p.PwExpiration = f.ts() - 10
		p.Attributes |= kdb.AttrRequiresPwChange
	})
	// kadmin/changepw is a PWCHANGE_SERVICE: an expired password still
	// gets a ticket for it, so that the user can change it.
	r := f.login("alice", "alice-pw", func(q *request) { q.sname = pn(1, "kadmin", "changepw") })
	if r.enc.SName.NameString[1] != "changepw" {
		t.Fatalf("server %v", r.enc.SName)
	}
	if unixOf(r.enc.KeyExpiration) != f.ts()-10 {
		t.Errorf("key-expiration %v, want the password expiration", r.enc.KeyExpiration)
	}
	// kadmin/changepw has max_life 5 minutes.
	if unixOf(r.enc.EndTime) != f.ts()+300 {
		t.Errorf("end %v", r.enc.EndTime)
	}
}

func TestASEnctypeChoice(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	f.addPrinc("old", "old-pw", func(s *kadm5.PrincipalSpec, ks *[]krb5x.KeySalt) {
		*ks = []krb5x.KeySalt{{Enctype: 17}, {Enctype: 23}}
	})
	f.addPrinc("host/sha2", "", func(s *kadm5.PrincipalSpec, ks *[]krb5x.KeySalt) {
		*ks = []krb5x.KeySalt{{Enctype: 20}, {Enctype: 17}}
	})
	f.addPrinc("host/limited", "", nil)
	f.modify("host/limited", func(p *kdb.Principal) {
		p.SetStringAttrs([]kdb.StringAttr{{Key: "session_enctypes", Value: "aes128-cts"}})
	})
	tests := []struct {
		name          string
		client, pw    string
		server        string
		etypes        []int32
		rep, tkt, ses int32
	}{
		{"first requested the client has", "old", "old-pw", "krbtgt/" + testRealm, []int32{18, 23, 17}, 23, 18, 18},
		{"ticket in the server's first key", "alice", "alice-pw", "host/sha2", []int32{17, 20}, 17, 20, 17},
		{"session enctype from the request order", "alice", "alice-pw", "host/sha2", []int32{20, 17, 18}, 17, 20, 20},
		{"session_enctypes attribute", "alice", "alice-pw", "host/limited", []int32{18, 17}, 18, 18, 17},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := f.asReq(tc.client)
			q.sname = pn(1, strings.Split(tc.server, "/")...)
			q.etypes = tc.etypes
			q.padata = []paData{encTS(t, passwordKey(t, tc.client, tc.pw, tc.rep), f.ts())}
			reply := f.serve(q.marshal())
			r := decodeASRep(t, reply, passwordKey(t, tc.client, tc.pw, tc.rep), f.key(tc.server, tc.tkt))
			if r.repType != tc.rep || r.ticket.EncPart.EType != tc.tkt || r.enc.Key.KeyType != tc.ses {
				t.Errorf("rep %d tkt %d ses %d, want %d %d %d", r.repType, r.ticket.EncPart.EType, r.enc.Key.KeyType, tc.rep, tc.tkt, tc.ses)
			}
			if len(r.enc.Key.KeyValue) != krb5x.KeySize(tc.ses) {
				t.Errorf("session key is %d bytes", len(r.enc.Key.KeyValue))
			}
		})
	}
}

func TestASEtypeInfoSalts(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, client string
		ks           []krb5x.KeySalt
		want         func() string
	}{
		{"normal", "bob/admin", []krb5x.KeySalt{{Enctype: 18}}, func() string { return testRealm + "bobadmin" }},
		{"norealm", "carol", []krb5x.KeySalt{{Enctype: 18, SaltType: krb5x.SaltNoRealm}}, func() string { return "carol" }},
		{"onlyrealm", "dave", []krb5x.KeySalt{{Enctype: 18, SaltType: krb5x.SaltOnlyRealm}}, func() string { return testRealm }},
		{"special", "erin", []krb5x.KeySalt{{Enctype: 18, SaltType: krb5x.SaltSpecial}}, func() string {
			p, _ := f.store.Get(f.ctx, "erin@"+testRealm)
			return string(p.KeyData[0].Salt)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.addPrinc(tc.client, "pw-"+tc.client, func(s *kadm5.PrincipalSpec, ks *[]krb5x.KeySalt) { *ks = tc.ks })
			q := f.asReq(tc.client)
			e := wantError(t, f.serve(q.marshal()), CodePreauthRequired, "NEEDED_PREAUTH")
			pas := methodData(t, e.EData)
			info := etypeInfo2Entries(t, pas[1].Value)
			want := tc.want()
			if len(info) != 1 || info[0].Salt != want {
				t.Fatalf("ETYPE-INFO2 %+v, want salt %q", info, want)
			}
			// The salt lets the client derive the key that works.
			k, err := krb5x.StringToKey(18, "pw-"+tc.client, info[0].Salt)
			if err != nil {
				t.Fatal(err)
			}
			q.padata = []paData{encTS(t, k, f.ts())}
			decodeASRep(t, f.serve(q.marshal()), k, f.key("krbtgt/"+testRealm, 18))
		})
	}
}

func TestASOldClientEtypeInfo(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("old", "old-pw", func(s *kadm5.PrincipalSpec, ks *[]krb5x.KeySalt) {
		*ks = []krb5x.KeySalt{{Enctype: 23}, {Enctype: 18}}
	})
	f.addPrinc("host/old", "", func(s *kadm5.PrincipalSpec, ks *[]krb5x.KeySalt) {
		*ks = []krb5x.KeySalt{{Enctype: 23}}
	})
	q := f.asReq("old")
	q.sname = pn(1, "host", "old")
	q.etypes = []int32{23}
	e := wantError(t, f.serve(q.marshal()), CodePreauthRequired, "NEEDED_PREAUTH")
	var got []int32
	for _, pa := range methodData(t, e.EData) {
		got = append(got, pa.Type)
	}
	// A client asking only for RC4 also gets ETYPE-INFO (MIT's
	// requires_info2).
	if len(got) != 5 || got[1] != paETypeInfo || got[2] != paETypeInfo2 {
		t.Fatalf("padata types %v", got)
	}
}

func TestASTimes(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	f.addPrinc("short", "short-pw", func(s *kadm5.PrincipalSpec, _ *[]krb5x.KeySalt) {
		s.Mask |= kadm5.MaskMaxLife | kadm5.MaskMaxRenewableLife
		s.MaxLife, s.MaxRenewableLife = 3600, 7200
	})
	f.addPrinc("norenew", "norenew-pw", attrs(kdb.AttrRequiresPreAuth|kdb.AttrDisallowRenewable))
	now := f.ts()
	tests := []struct {
		name      string
		client    string
		mod       func(*request)
		start     uint32
		end       uint32
		renewTill uint32 // 0: not renewable
		flags     uint32
	}{
		{"till capped by realm max_life", "alice", nil, 0, now + 36000, now + 86400, tktForwardable | tktRenewable},
		{"till zero is infinity", "alice", func(q *request) { q.till = 0; q.options = 0 }, 0, now + 36000, 0, 0},
		{"short till", "alice", func(q *request) { q.till = now + 600; q.options = 0 }, 0, now + 600, 0, 0},
		{"client max_life", "short", func(q *request) { q.options = 0 }, 0, now + 3600, 0, 0},
		{"renewable with rtime", "alice", func(q *request) { q.options = optRenewable; q.rtime = now + 3*86400 }, 0, now + 36000, now + 3*86400, tktRenewable},
		{"renewable without rtime capped at realm", "alice", func(q *request) { q.options = optRenewable }, 0, now + 36000, now + 7*86400, tktRenewable},
		{"renewable capped by client", "short", func(q *request) { q.options = optRenewable }, 0, now + 3600, now + 7200, tktRenewable},
		{"renewable-ok below end", "alice", func(q *request) { q.options = optRenewableOK; q.till = now + 600 }, 0, now + 600, 0, 0},
		{"renewable disallowed", "norenew", func(q *request) { q.options = optRenewable }, 0, now + 36000, 0, 0},
		{"postdated", "alice", func(q *request) {
			q.options = optPostdated | optAllowPostdate
			q.from = now + 3600
			q.till = now + 7200
		},
			now + 3600, now + 7200, 0, tktPostdated | tktInvalid | tktMayPostdate},
		{"proxiable", "alice", func(q *request) { q.options = optProxiable }, 0, now + 36000, 0, tktProxiable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pw := tc.client + "-pw"
			r := f.login(tc.client, pw, tc.mod)
			if unixOf(r.enc.StartTime) != tc.start || unixOf(r.enc.EndTime) != tc.end || unixOf(r.enc.RenewTill) != tc.renewTill {
				t.Errorf("start %d end %d renew %d, want %d %d %d", unixOf(r.enc.StartTime), unixOf(r.enc.EndTime),
					unixOf(r.enc.RenewTill), tc.start, tc.end, tc.renewTill)
			}
			if unixOf(r.tkt.StartTime) != tc.start || unixOf(r.tkt.EndTime) != tc.end || unixOf(r.tkt.RenewTill) != tc.renewTill {
				t.Errorf("ticket times differ from the reply's")
			}
			want := tc.flags | tktInitial | tktPreAuth | tktEncPARep
			if r.flags != want {
				t.Errorf("flags %#x, want %#x", r.flags, want)
			}
		})
	}
}

func TestASFlagsPolicy(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", attrs(kdb.AttrRequiresPreAuth|kdb.AttrDisallowForwardable))
	f.addPrinc("host/deleg", "", attrs(kdb.AttrOKAsDelegate|kdb.AttrDisallowProxiable))
	r := f.login("alice", "alice-pw", func(q *request) {
		q.options = optForwardable | optProxiable
		q.sname = pn(1, "host", "deleg")
	})
	// Forwardable is refused by the client, proxiable by the server;
	// OK-AS-DELEGATE only goes into service tickets from the TGS, as
	// MIT's get_ticket_flags does.
	if want := tktInitial | tktPreAuth | tktEncPARep; r.flags != want {
		t.Errorf("flags %#x, want %#x", r.flags, want)
	}
}

func TestASNoPreauthPrincipal(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("open", "open-pw", attrs(0))
	q := f.asReq("open")
	r := decodeASRep(t, f.serve(q.marshal()), passwordKey(t, "open", "open-pw", 18), f.key("krbtgt/"+testRealm, 18))
	if r.flags&tktPreAuth != 0 || r.flags&tktInitial == 0 {
		t.Errorf("flags %#x", r.flags)
	}
	// A client without a key of any requested enctype gets
	// ETYPE_NOSUPP once a ticket could be issued.
	f.addPrinc("rc4only", "rc4-pw", func(s *kadm5.PrincipalSpec, ks *[]krb5x.KeySalt) {
		s.Mask |= kadm5.MaskAttributes
		*ks = []krb5x.KeySalt{{Enctype: 23}}
	})
	q = f.asReq("rc4only")
	wantError(t, f.serve(q.marshal()), CodeETypeNoSupp, "CANT_FIND_CLIENT_KEY")
}

func TestASLockout(t *testing.T) {
	f := newFixture(t)
	err := f.adm.CreatePolicy(f.ctx, kadm5.PolicySpec{Name: "strict",
		Mask:   kadm5.PolMaxFail | kadm5.PolFailcntInterval | kadm5.PolLockoutDuration,
		Policy: kdb.Policy{PwMaxFail: 3, PwFailcntInterval: 600, PwLockoutDuration: 1800}})
	if err != nil {
		t.Fatal(err)
	}
	f.addPrinc("alice", "alice-pw", func(s *kadm5.PrincipalSpec, _ *[]krb5x.KeySalt) {
		s.Mask |= kadm5.MaskPolicy
		s.Policy = "strict"
	})
	try := func(pw string) []byte {
		q := f.asReq("alice")
		q.nonce = int32(f.ts()) // a new request each time
		q.padata = []paData{encTS(t, passwordKey(t, "alice", pw, 18), f.ts())}
		return f.serve(q.marshal())
	}
	for i := 0; i < 3; i++ {
		wantError(t, try("wrong"), CodePreauthFailed, "PREAUTH_FAILED")
		f.advance(time.Second)
	}
	p := f.stored("alice")
	if p.FailAuthCount != 3 || p.LastFailed != f.ts()-1 {
		t.Fatalf("fail count %d last failed %d", p.FailAuthCount, p.LastFailed)
	}
	// Locked: even the right password is refused, and nothing counts.
	wantError(t, try("alice-pw"), CodeClientRevoked, "LOCKED_OUT")
	wantError(t, try("wrong"), CodeClientRevoked, "LOCKED_OUT")
	p = f.stored("alice")
	if p.FailAuthCount != 3 {
		t.Fatalf("fail count %d while locked", p.FailAuthCount)
	}
	// The lockout runs out after its duration; a success resets the
	// count.
	f.advance(1801 * time.Second)
	decodeASRep(t, try("alice-pw"), passwordKey(t, "alice", "alice-pw", 18), f.key("krbtgt/"+testRealm, 18))
	p = f.stored("alice")
	if p.FailAuthCount != 0 || p.LastSuccess != f.ts() {
		t.Fatalf("after success: fail count %d last success %d", p.FailAuthCount, p.LastSuccess)
	}
	// Failures further apart than the interval start a new count.
	for i := 0; i < 3; i++ {
		wantError(t, try("wrong"), CodePreauthFailed, "PREAUTH_FAILED")
		f.advance(601 * time.Second)
	}
	p = f.stored("alice")
	if p.FailAuthCount != 1 {
		t.Fatalf("fail count %d, want 1 after spaced failures", p.FailAuthCount)
	}
	// An administrative unlock clears a lock.
	for i := 0; i < 3; i++ {
		wantError(t, try("wrong"), CodePreauthFailed, "PREAUTH_FAILED")
		f.advance(time.Second)
	}
	wantError(t, try("alice-pw"), CodeClientRevoked, "LOCKED_OUT")
	f.advance(time.Second)
	unlock := f.ts()
	f.modify("alice", func(p *kdb.Principal) {
		p.SetTL(kdb.TLLastAdminUnlock, []byte{byte(unlock), byte(unlock >> 8), byte(unlock >> 16), byte(unlock >> 24)})
	})
	f.advance(time.Second)
	decodeASRep(t, try("alice-pw"), passwordKey(t, "alice", "alice-pw", 18), f.key("krbtgt/"+testRealm, 18))

	// With disable_lockout nothing is counted or enforced.
	f.h.DisableLockout = true
	for i := 0; i < 5; i++ {
		wantError(t, try("wrong"), CodePreauthFailed, "PREAUTH_FAILED")
		f.advance(time.Second)
	}
	decodeASRep(t, try("alice-pw"), passwordKey(t, "alice", "alice-pw", 18), f.key("krbtgt/"+testRealm, 18))
}

func TestASShortKDCOptions(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	// A one-octet BIT STRING 0x40 means forwardable: the missing octets
	// are zeros on the right (gokrb5 would shift them in on the left).
	r := f.login("alice", "alice-pw", func(q *request) { q.optionsBits = []byte{0, 0x40} })
	if r.flags&tktForwardable == 0 {
		t.Errorf("flags %#x lack forwardable", r.flags)
	}
	// Unused bits are masked.
	r = f.login("alice", "alice-pw", func(q *request) { q.optionsBits = []byte{7, 0x40, 0x7f} })
	if r.flags&tktForwardable == 0 || r.flags&tktRenewable != 0 {
		t.Errorf("flags %#x", r.flags)
	}
}

func TestASCanonicalize(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	r := f.login("alice", "alice-pw", func(q *request) {
		q.options |= optCanonicalize
		q.cname = pn(10, "alice") // the name type comes from the database
	})
	if r.cname.NameType != 1 || r.tkt.CName.NameType != 1 {
		t.Errorf("cname type %d, want 1", r.cname.NameType)
	}
}
