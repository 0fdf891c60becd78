package kdc

import (
	"bytes"
	"github.com/jcmturner/gokrb5/v8/types"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// tgsFixture is a realm with alice (password), host/svc and a TGT for
// alice.
func tgsFixture(t *testing.T) (*fixture, *asResult) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	f.addPrinc("host/svc", "", nil)
	tgt := f.login("alice", "alice-pw", func(q *request) { q.options = optForwardable | optRenewable | optProxiable })
	f.logs.take()
	return f, tgt
}

func alice() types.PrincipalName {
	return types.PrincipalName{NameType: 1, NameString: []string{"alice"}}
}

func TestTGSIssue(t *testing.T) {
	f, tgt := tgsFixture(t)
	f.advance(time.Minute)
	subkey, err := krb5x.RandomKey(17)
	if err != nil {
		t.Fatal(err)
	}
	q := f.serviceReq("host/svc")
	reply := f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{subkey: &subkey}))
	// With a subkey the reply is encrypted in it, usage 9.
	r := decodeTGSRep(t, reply, subkey, keyUsageTGSRepSubkey, f.key("host/svc", 18))
	now := f.ts()
	if r.repType != 17 || r.enc.Key.KeyType != 18 {
		t.Errorf("reply etype %d session %d", r.repType, r.enc.Key.KeyType)
	}
	if r.crealm != testRealm || r.cname.NameString[0] != "alice" || r.tkt.CName.NameString[0] != "alice" {
		t.Errorf("client %v@%s", r.cname, r.crealm)
	}
	// authtime is the TGT's; the ticket starts now; its end is bounded by
	// the TGT's; the inherited flags are FORWARDABLE (asked, allowed by
	// the TGT) and PRE-AUTHENT; the transit path is checked.
	if unixOf(r.enc.AuthTime) != unixOf(tgt.enc.AuthTime) || unixOf(r.enc.StartTime) != now ||
		unixOf(r.enc.EndTime) != unixOf(tgt.enc.EndTime) {
		t.Errorf("times auth %v start %v end %v; TGT end %v", r.enc.AuthTime, r.enc.StartTime, r.enc.EndTime, tgt.enc.EndTime)
	}
	want := tktForwardable | tktPreAuth | tktTransitPolicyChecked | tktEncPARep
	if r.flags != want || flagsOf(r.tkt.Flags) != want {
		t.Errorf("flags %#x, want %#x", r.flags, want)
	}
	if r.ticket.EncPart.KVNO != 1 || strings.Join(r.ticket.SName.NameString, "/") != "host/svc" || r.ticket.SName.NameType != 2 {
		t.Errorf("ticket %+v", r.ticket.SName)
	}
	logs := f.logs.take()
	wantLog := "TGS_REQ (2 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17)}) 127.0.0.1: ISSUE: authtime 1800000000, etypes {rep=aes128-cts-hmac-sha1-96(17), tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)}, alice@KDC.TEST for host/svc@KDC.TEST"
	if len(logs) != 1 || logs[0] != wantLog {
		t.Errorf("log %q\nwant %q", logs, wantLog)
	}

	// Without a subkey: the TGT session key, usage 8.
	q = f.serviceReq("host/svc")
	q.nonce = 2
	reply = f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{}))
	decodeTGSRep(t, reply, tgt.session(), keyUsageTGSRepSession, f.key("host/svc", 18))

	// A short till, and till 0 (infinity) bounded by the TGT.
	q = f.serviceReq("host/svc")
	q.till = now + 60
	r = decodeTGSRep(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})), tgt.session(), 8, f.key("host/svc", 18))
	if unixOf(r.enc.EndTime) != now+60 {
		t.Errorf("end %v", r.enc.EndTime)
	}
	q = f.serviceReq("host/svc")
	q.till = 0
	r = decodeTGSRep(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})), tgt.session(), 8, f.key("host/svc", 18))
	if unixOf(r.enc.EndTime) != unixOf(tgt.enc.EndTime) {
		t.Errorf("end %v, want the TGT's", r.enc.EndTime)
	}
}

func TestTGSRawBodyChecksum(t *testing.T) {
	f, tgt := tgsFixture(t)
	// A body whose encoding is not minimal DER (a long-form length):
	// the checksum covers these exact bytes, which re-encoding a
	// decoded request would not reproduce.
	q := f.serviceReq("host/svc")
	body := q.body()
	odd := append([]byte{0x30, 0x81, byte(len(body) - 2)}, body[2:]...)
	if body[1] >= 0x80 {
		t.Skip("body too long for the test's rewrite")
	}
	der := f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{cksumBody: odd})
	der = q.marshalWith(odd)
	decodeTGSRep(t, f.serve(der), tgt.session(), 8, f.key("host/svc", 18))

	// The same checksum does not match the canonical body.
	q2 := f.serviceReq("host/svc")
	der = f.tgsReq(q2, tgt.tktDER, tgt.session(), alice(), tgsOpts{cksumBody: odd})
	wantError(t, f.serve(der), CodeBadIntegrity, "PROCESS_TGS")

	// MIT accepts an unkeyed RSA-MD5 checksum inside the encrypted
	// authenticator.
	q3 := f.serviceReq("host/svc")
	q3.nonce = 3
	decodeTGSRep(t, f.serve(f.tgsReq(q3, tgt.tktDER, tgt.session(), alice(), tgsOpts{cksumType: cksumRSAMD5})), tgt.session(), 8, f.key("host/svc", 18))
}

func TestTGSErrors(t *testing.T) {
	now := func(f *fixture) uint32 { return f.ts() }
	tests := []struct {
		name   string
		setup  func(f *fixture)
		req    func(f *fixture, tgt *asResult) []byte
		code   int32
		status string
		client bool // the error names the TGT's client
	}{
		{"no PA-TGS-REQ", nil, func(f *fixture, tgt *asResult) []byte {
			q := f.serviceReq("host/svc")
			return q.marshal()
		}, CodePADataTypeNoSupp, "PROCESS_TGS", false},
		{"garbage AP-REQ", nil, func(f *fixture, tgt *asResult) []byte {
			q := f.serviceReq("host/svc")
			q.padata = []paData{{Type: paTGSReq, Value: []byte{0x6e, 0x01, 0x00}}}
			return q.marshal()
		}, CodeGeneric, "PROCESS_TGS", false},
		{"bad checksum", nil, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{cksumBody: []byte("other")})
		}, CodeBadIntegrity, "PROCESS_TGS", true},
		{"no checksum", nil, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{cksumType: -1})
		}, CodeInappropriateCksum, "PROCESS_TGS", true},
		{"mutual required", nil, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{apOptions: apOptMutualRequired})
		}, CodePolicy, "PROCESS_TGS", false},
		{"authenticator client mismatch", nil, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{cname: pn(1, "mallory")})
		}, CodeBadMatch, "PROCESS_TGS", true},
		{"authenticator skew", nil, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{ctime: now(f) - 301})
		}, CodeSkew, "PROCESS_TGS", true},
		{"authenticator usage 11", nil, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{authUsage: 11})
		}, CodeBadIntegrity, "PROCESS_TGS", true},
		{"expired TGT", func(f *fixture) { f.advance(36000*time.Second + 301*time.Second) }, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodeTktExpired, "PROCESS_TGS", true},
		{"unknown server", nil, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/nowhere"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodeSPrincipalUnknown, "LOOKING_UP_SERVER", true},
		{"server revoked", func(f *fixture) {
			f.modify("host/svc", func(p *kdb.Principal) { p.Attributes |= kdb.AttrDisallowAllTix })
		}, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodeSPrincipalUnknown, "SERVER LOCKED OUT", true},
		{"server not a service", func(f *fixture) {
			f.modify("host/svc", func(p *kdb.Principal) { p.Attributes |= kdb.AttrDisallowSvr })
		}, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodeMustUseUser2User, "SERVER NOT ALLOWED", true},
		{"tgt-based disallowed", func(f *fixture) {
			f.modify("host/svc", func(p *kdb.Principal) { p.Attributes |= kdb.AttrDisallowTGTBased })
		}, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodePolicy, "TGT BASED NOT ALLOWED", true},
		{"server expired", func(f *fixture) {
			f.modify("host/svc", func(p *kdb.Principal) { p.Expiration = f.ts() - 1 })
		}, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodeServiceExp, "SERVICE EXPIRED", true},
		{"server requires preauth, TGT has it", func(f *fixture) {}, nil, 0, "", true},
		{"renewable disallowed by server", func(f *fixture) {
			f.modify("host/svc", func(p *kdb.Principal) { p.Attributes |= kdb.AttrDisallowRenewable })
		}, func(f *fixture, tgt *asResult) []byte {
			q := f.serviceReq("host/svc")
			q.options |= optRenewable
			return f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodePolicy, "NON-RENEWABLE TICKET", true},
		{"service ticket used as TGT", nil, func(f *fixture, tgt *asResult) []byte {
			st := decodeTGSRep(f.t, f.serve(f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})),
				tgt.session(), 8, f.key("host/svc", 18))
			q := f.serviceReq("host/svc")
			q.nonce = 77
			return f.tgsReq(q, st.tktDER, st.session(), alice(), tgsOpts{})
		}, CodeNotUs, "BAD TGS SERVER NAME", true},
		{"require_auth", func(f *fixture) {
			f.modify("host/svc", func(p *kdb.Principal) { p.SetStringAttrs([]kdb.StringAttr{{Key: "require_auth", Value: "pkinit"}}) })
		}, func(f *fixture, tgt *asResult) []byte {
			return f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodePolicy, "HIGHER_AUTHENTICATION_REQUIRED", true},
		{"no session enctype", nil, func(f *fixture, tgt *asResult) []byte {
			q := f.serviceReq("host/svc")
			q.etypes = []int32{23}
			return f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodeETypeNoSupp, "BAD_ENCRYPTION_TYPE", true},
		{"u2u without second ticket", nil, func(f *fixture, tgt *asResult) []byte {
			q := f.serviceReq("host/svc")
			q.options |= optEncTktInSkey
			return f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodeBadOption, "NO_2ND_TKT", true},
		{"disable transited check", nil, func(f *fixture, tgt *asResult) []byte {
			q := f.serviceReq("host/svc")
			q.options |= optDisableTransitedCheck
			return f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodePolicy, "BAD_TRANSIT", true},
		{"constrained delegation", nil, func(f *fixture, tgt *asResult) []byte {
			q := f.serviceReq("host/svc")
			q.options |= optCNameInAddlTkt
			q.tickets = [][]byte{tgt.tktDER}
			return f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodeTGTRevoked, "S4U2PROXY_NO_HEADER_PAC", true},
		{"mandatory-for-KDC authdata", nil, func(f *fixture, tgt *asResult) []byte {
			q := f.serviceReq("host/svc")
			plain := appendAuthData(nil, []authData{{Type: adMandatoryForKDC, Data: []byte{0x30, 0}}})
			ct, _ := krb5x.Encrypt(tgt.session(), keyUsageTGSAuthData, plain)
			q.encAuthData = &krb5x.EncryptedData{EType: 18, Cipher: ct}
			return f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
		}, CodePolicy, "HANDLE_AUTHDATA", true},
	}
	for _, tc := range tests {
		if tc.req == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			f, tgt := tgsFixture(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			e := wantError(t, f.serve(tc.req(f, tgt)), tc.code, tc.status)
			if got := len(e.CName.NameString) > 0; got != tc.client {
				t.Errorf("error names client %v (%v), want %v", got, e.CName, tc.client)
			}
		})
	}
}

func TestTGSRenew(t *testing.T) {
	f, tgt := tgsFixture(t)
	f.advance(2 * time.Hour)
	renew := func(tkt *asResult) []byte {
		q := f.serviceReq("krbtgt/" + testRealm)
		q.options = optRenew | optRenewable
		q.till = 0
		q.nonce = int32(f.ts())
		return f.tgsReq(q, tkt.tktDER, tkt.session(), alice(), tgsOpts{})
	}
	r := decodeTGSRep(t, f.serve(renew(tgt)), tgt.session(), 8, f.key("krbtgt/"+testRealm, 18))
	now := f.ts()
	// A renewed ticket keeps authtime and its flags, starts now, and
	// lasts its old lifetime, capped by renew-till (which it keeps).
	if unixOf(r.enc.AuthTime) != unixOf(tgt.enc.AuthTime) || unixOf(r.enc.StartTime) != now ||
		unixOf(r.enc.EndTime) != now+36000 || unixOf(r.enc.RenewTill) != unixOf(tgt.enc.RenewTill) {
		t.Errorf("renewed times auth %v start %v end %v renew %v", r.enc.AuthTime, r.enc.StartTime, r.enc.EndTime, r.enc.RenewTill)
	}
	want := tgt.flags | tktTransitPolicyChecked
	if r.flags != want {
		t.Errorf("renewed flags %#x, want %#x", r.flags, want)
	}
	if !bytes.Equal(r.tkt.Key.KeyValue, r.enc.Key.KeyValue) || bytes.Equal(r.enc.Key.KeyValue, tgt.enc.Key.KeyValue) {
		t.Errorf("renewed ticket must carry a new session key")
	}
	// Renewed every 9 hours, the last renewal ends at renew-till.
	r2 := r
	for f.ts()+36000 < unixOf(tgt.enc.RenewTill) {
		f.advance(9 * time.Hour)
		r2 = decodeTGSRep(t, f.serve(renew(r2)), r2.session(), 8, f.key("krbtgt/"+testRealm, 18))
	}
	if unixOf(r2.enc.EndTime) != unixOf(tgt.enc.RenewTill) {
		t.Errorf("end %v, want renew-till %v", r2.enc.EndTime, tgt.enc.RenewTill)
	}
	f.advance(time.Duration(unixOf(tgt.enc.RenewTill)-f.ts()) * time.Second)
	// Past renew-till: TKT_EXPIRED (the ticket itself is still within
	// its end plus the skew).
	f.advance(200 * time.Second)
	wantError(t, f.serve(renew(r2)), CodeTktExpired, "TKT_EXPIRED")

	// A ticket that is not renewable.
	g, gtgt := tgsFixture(t)
	plain := g.login("alice", "alice-pw", func(q *request) { q.options = 0 })
	q := g.serviceReq("krbtgt/" + testRealm)
	q.options = optRenew
	wantError(t, g.serve(g.tgsReq(q, plain.tktDER, plain.session(), alice(), tgsOpts{})), CodeBadOption, "TICKET NOT RENEWABLE")
	// Renewing asks for the ticket's own server.
	q = g.serviceReq("host/svc")
	q.options = optRenew
	wantError(t, g.serve(g.tgsReq(q, gtgt.tktDER, gtgt.session(), alice(), tgsOpts{})), CodeServerNoMatch,
		"SERVER DIDN'T MATCH TICKET FOR RENEW/FORWARD/ETC")
	if logs := g.logs.take(); !strings.Contains(logs[len(logs)-1], "TGS_REQ 127.0.0.1: SERVER DIDN'T MATCH TICKET FOR RENEW/FORWARD/ETC: authtime 0, alice@KDC.TEST for host/svc@KDC.TEST, 2nd tkt client <unknown>") {
		t.Errorf("log %q", logs[len(logs)-1])
	}
}

func TestTGSValidate(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	f.addPrinc("host/svc", "", nil)
	start := f.ts() + 3600
	pd := f.login("alice", "alice-pw", func(q *request) {
		q.options = optPostdated | optAllowPostdate
		q.from = start
		q.till = start + 7200
	})
	if pd.flags&(tktPostdated|tktInvalid|tktMayPostdate) != tktPostdated|tktInvalid|tktMayPostdate {
		t.Fatalf("postdated TGT flags %#x", pd.flags)
	}
	validate := func() []byte {
		q := f.serviceReq("krbtgt/" + testRealm)
		q.options = optValidate
		q.nonce = int32(f.ts())
		return f.tgsReq(q, pd.tktDER, pd.session(), alice(), tgsOpts{})
	}
	// Before its start time (beyond the skew) the ticket is not yet
	// valid to the AP-REQ check.
	wantError(t, f.serve(validate()), CodeTktNotYetValid, "PROCESS_TGS")
	// An invalid ticket gets no service ticket.
	f.advance(3601 * time.Second)
	wantError(t, f.serve(f.tgsReq(f.serviceReq("host/svc"), pd.tktDER, pd.session(), alice(), tgsOpts{})),
		CodeTktNotYetValid, "TICKET NOT VALID")
	// Validated after the start time: INVALID is cleared.
	r := decodeTGSRep(t, f.serve(validate()), pd.session(), 8, f.key("krbtgt/"+testRealm, 18))
	if r.flags&tktInvalid != 0 || r.flags&tktPostdated == 0 {
		t.Errorf("validated flags %#x", r.flags)
	}
	if unixOf(r.enc.EndTime) != start+7200 {
		t.Errorf("validated end %v", r.enc.EndTime)
	}
	// The validated ticket works.
	decodeTGSRep(t, f.serve(f.tgsReq(f.serviceReq("host/svc"), r.tktDER, r.session(), alice(), tgsOpts{})), r.session(), 8, f.key("host/svc", 18))
	// Validating a valid ticket is a bad option.
	q := f.serviceReq("krbtgt/" + testRealm)
	q.options = optValidate
	wantError(t, f.serve(f.tgsReq(q, r.tktDER, r.session(), alice(), tgsOpts{})), CodeBadOption, "VALIDATE VALID TICKET")
}

func TestTGSForwardAndProxy(t *testing.T) {
	f, tgt := tgsFixture(t)
	addr := hostAddress{Type: 2, Addr: []byte{10, 0, 0, 7}}
	q := f.serviceReq("krbtgt/" + testRealm)
	q.options = optForwarded | optForwardable
	q.addrs = []hostAddress{addr}
	r := decodeTGSRep(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})), tgt.session(), 8, f.key("krbtgt/"+testRealm, 18))
	if r.flags&(tktForwarded|tktForwardable) != tktForwarded|tktForwardable {
		t.Errorf("forwarded flags %#x", r.flags)
	}
	if len(r.tkt.CAddr) != 1 || !bytes.Equal(r.tkt.CAddr[0].Address, addr.Addr) || len(r.enc.CAddr) != 1 {
		t.Errorf("addresses ticket %v reply %v", r.tkt.CAddr, r.enc.CAddr)
	}
	// The forwarded TGT is bound to 10.0.0.7: from 127.0.0.1 it fails.
	wantError(t, f.serve(f.tgsReq(f.serviceReq("host/svc"), r.tktDER, r.session(), alice(), tgsOpts{})), CodeBadAddr, "PROCESS_TGS")
	// From 10.0.0.7 it works, and the service ticket is FORWARDED too.
	f.from = &net.UDPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 1}
	s := decodeTGSRep(t, f.serve(f.tgsReq(f.serviceReq("host/svc"), r.tktDER, r.session(), alice(), tgsOpts{})), r.session(), 8, f.key("host/svc", 18))
	if s.flags&tktForwarded == 0 || len(s.tkt.CAddr) != 1 {
		t.Errorf("service ticket from forwarded TGT: flags %#x addrs %v", s.flags, s.tkt.CAddr)
	}
	f.from = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}

	// Proxy tickets are for services, not TGTs.
	q = f.serviceReq("krbtgt/" + testRealm)
	q.options = optProxy
	wantError(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})), CodeBadOption, "CAN'T PROXY TGT")

	// Forwarding needs a forwardable TGT.
	g, _ := tgsFixture(t)
	plain := g.login("alice", "alice-pw", func(q *request) { q.options = 0 })
	q = g.serviceReq("krbtgt/" + testRealm)
	q.options = optForwarded
	wantError(t, g.serve(g.tgsReq(q, plain.tktDER, plain.session(), alice(), tgsOpts{})), CodeBadOption, "TGT NOT FORWARDABLE")
}

func TestTGSOKAsDelegateAndPreauthRequirement(t *testing.T) {
	f, tgt := tgsFixture(t)
	f.addPrinc("host/deleg", "", attrs(kdb.AttrOKAsDelegate|kdb.AttrRequiresPreAuth))
	r := decodeTGSRep(t, f.serve(f.tgsReq(f.serviceReq("host/deleg"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})),
		tgt.session(), 8, f.key("host/deleg", 18))
	if r.flags&tktOKAsDelegate == 0 {
		t.Errorf("flags %#x lack OK-AS-DELEGATE", r.flags)
	}
	// A server requiring preauth refuses a TGT obtained without it.
	f.addPrinc("open", "open-pw", attrs(0))
	q := f.asReq("open")
	open := decodeASRep(t, f.serve(q.marshal()), passwordKey(t, "open", "open-pw", 18), f.key("krbtgt/"+testRealm, 18))
	wantError(t, f.serve(f.tgsReq(f.serviceReq("host/deleg"), open.tktDER, open.session(),
		types.PrincipalName{NameType: 1, NameString: []string{"open"}}, tgsOpts{})), CodeGeneric, "NO PREAUTH")
}

func TestTGSUserToUser(t *testing.T) {
	f, tgt := tgsFixture(t)
	// bob is a user acting as a server with his own TGT's session key.
	f.addPrinc("bob", "bob-pw", attrs(kdb.AttrRequiresPreAuth|kdb.AttrDisallowSvr))
	bobTGT := f.login("bob", "bob-pw", nil)
	q := f.serviceReq("bob")
	q.sname = pn(1, "bob")
	q.options = optEncTktInSkey
	q.tickets = [][]byte{bobTGT.tktDER}
	r := decodeTGSRep(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})), tgt.session(), 8, bobTGT.session())
	if r.ticket.EncPart.KVNO != 0 || r.tkt.CName.NameString[0] != "alice" {
		t.Errorf("u2u ticket kvno %d client %v", r.ticket.EncPart.KVNO, r.tkt.CName)
	}
	// Without ENC-TKT-IN-SKEY bob is not a service.
	q = f.serviceReq("bob")
	q.sname = pn(1, "bob")
	wantError(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})), CodeMustUseUser2User, "SERVER NOT ALLOWED")
	// The second ticket must belong to the server asked for.
	q = f.serviceReq("host/svc")
	q.options = optEncTktInSkey
	q.tickets = [][]byte{bobTGT.tktDER}
	wantError(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})), CodeServerNoMatch, "2ND_TKT_MISMATCH")
}

func TestTGSAuthorizationData(t *testing.T) {
	f, tgt := tgsFixture(t)
	subkey, _ := krb5x.RandomKey(18)
	ad := []authData{{Type: 77, Data: []byte("app data")}, {Type: adWin2kPAC, Data: []byte("forged")}}
	plain := appendAuthData(nil, ad)
	ct, _ := krb5x.Encrypt(subkey, keyUsageTGSAuthDataSK, plain)
	q := f.serviceReq("host/svc")
	q.encAuthData = &krb5x.EncryptedData{EType: 18, Cipher: ct}
	r := decodeTGSRep(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{subkey: &subkey})),
		subkey, keyUsageTGSRepSubkey, f.key("host/svc", 18))
	// The request's authorization data is copied; what only a KDC may
	// issue (a PAC) is dropped.
	if len(r.tkt.AuthorizationData) != 1 || r.tkt.AuthorizationData[0].ADType != 77 {
		t.Fatalf("ticket authdata %+v", r.tkt.AuthorizationData)
	}
}

func TestTGSOldKVNO(t *testing.T) {
	f, tgt := tgsFixture(t)
	// Rekey krbtgt keeping the old keys: the old TGT still works (its
	// kvno selects the key) and new tickets use the new key.
	if _, err := f.adm.RandomizeKeys(f.ctx, f.name("krbtgt/"+testRealm), true, nil); err != nil {
		t.Fatal(err)
	}
	q := f.serviceReq("krbtgt/" + testRealm)
	r := decodeTGSRep(t, f.serve(f.tgsReq(q, tgt.tktDER, tgt.session(), alice(), tgsOpts{})), tgt.session(), 8, f.key("krbtgt/"+testRealm, 18))
	if r.ticket.EncPart.KVNO != 2 {
		t.Errorf("new TGT kvno %d", r.ticket.EncPart.KVNO)
	}
	// A ticket whose kvno is unknown.
	bad := tgt.ticket
	bad.EncPart.KVNO = 9
	der, _ := krb5x.MarshalTicket(bad)
	wantError(t, f.serve(f.tgsReq(f.serviceReq("host/svc"), der, tgt.session(), alice(), tgsOpts{})), CodeGeneric, "PROCESS_TGS")
	// Without a kvno the newest key is tried, then older ones.
	bad.EncPart.KVNO = 0
	der, _ = krb5x.MarshalTicket(bad)
	decodeTGSRep(t, f.serve(f.tgsReq(f.serviceReq("host/svc"), der, tgt.session(), alice(), tgsOpts{})), tgt.session(), 8, f.key("host/svc", 18))
}
