package kdc

import (
	"context"
	"flag"
	"fmt"
	"github.com/jcmturner/gokrb5/v8/types"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
)

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "regenerate testdata/fuzz")

// panicCounter is a log handler that counts the handler's internal
// errors (recovered panics).
type panicCounter struct {
	mu     sync.Mutex
	panics []string
}

func (p *panicCounter) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "internal error") {
		p.mu.Lock()
		p.panics = append(p.panics, r.Message)
		p.mu.Unlock()
	}
	return nil
}
func (p *panicCounter) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicCounter) WithGroup(string) slog.Handler      { return p }

// fuzzRealm is a realm for the fuzz targets: the fixture's principals in
// memory (alice with a password, a service, a u2u user, a locked-out
// policy), the handler logging into a panic counter, and valid requests
// to mutate: AS-REQs with and without preauthentication, TGS-REQs with
// and without subkey, renewals, validation, forwarding, user-to-user.
type fuzzRealm struct {
	f *fixture
	h *Handler
	// realms routes between h and a Handler for otherRealm over the
	// same principals.
	realms *Realms
	panics *panicCounter
	seeds  map[string][][]byte
	// builders rebuild a seed from a request whose fields a mutation
	// changed, recomputing the TGS-REQ checksum, so that mutations
	// reach the policy code rather than stopping at the checksum.
	builders []builder
}

// builder is a seed request and how to encode it.
type builder struct {
	q     request
	build func(*request) []byte
}

func newFuzzRealm(t testing.TB) *fuzzRealm {
	f := newFixture(t)
	f.addPrinc("alice", "alice-pw", nil)
	f.addPrinc("host/svc", "", nil)
	f.addPrinc("bob", "bob-pw", attrs(kdb.AttrRequiresPreAuth|kdb.AttrDisallowSvr))
	f.addPrinc("open", "open-pw", func(s *kadm5.PrincipalSpec, ks *[]krb5x.KeySalt) {
		s.Mask |= kadm5.MaskAttributes
		*ks = []krb5x.KeySalt{{Enctype: 17}, {Enctype: 23}, {Enctype: 16}, {Enctype: 19}, {Enctype: 20}, {Enctype: 18, SaltType: krb5x.SaltSpecial}}
	})
	err := f.adm.CreatePolicy(f.ctx, kadm5.PolicySpec{Name: "lock", Mask: kadm5.PolMaxFail | kadm5.PolLockoutDuration,
		Policy: kdb.Policy{PwMaxFail: 2, PwLockoutDuration: 60}})
	if err != nil {
		t.Fatal(err)
	}
	f.addPrinc("locked", "locked-pw", func(s *kadm5.PrincipalSpec, _ *[]krb5x.KeySalt) {
		s.Mask |= kadm5.MaskPolicy
		s.Policy = "lock"
	})
	tgt := f.login("alice", "alice-pw", func(q *request) { q.options = optForwardable | optRenewable | optProxiable })
	bobTGT := f.login("bob", "bob-pw", nil)
	pdTGT := f.login("alice", "alice-pw", func(q *request) {
		q.options = optPostdated | optAllowPostdate
		q.from = f.ts() + 60
	})
	subkey, _ := krb5x.RandomKey(17)

	as := f.asReq("alice")
	asPlain := as.marshal()
	as.padata = []paData{encTS(t, passwordKey(t, "alice", "alice-pw", 18), f.ts()), {Type: paReqEncPARep}}
	asPA := as.marshal()
	open := f.asReq("open")
	open.etypes = []int32{20, 19, 16, 23, 17, 18}
	open.addrs = []hostAddress{{Type: 2, Addr: []byte{127, 0, 0, 1}}}
	lockedReq := f.asReq("locked")
	lockedReq.padata = []paData{encTS(t, passwordKey(t, "locked", "wrong", 18), f.ts())}

	svc := f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{subkey: &subkey})
	svcNoSub := f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
	rq := f.serviceReq("krbtgt/" + testRealm)
	rq.options = optRenew | optRenewable
	renew := f.tgsReq(rq, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
	fq := f.serviceReq("krbtgt/" + testRealm)
	fq.options = optForwarded | optForwardable
	fq.addrs = []hostAddress{{Type: 2, Addr: []byte{127, 0, 0, 1}}}
	fwd := f.tgsReq(fq, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
	vq := f.serviceReq("krbtgt/" + testRealm)
	vq.options = optValidate
	validate := f.tgsReq(vq, pdTGT.tktDER, pdTGT.session(), alice(), tgsOpts{})
	uq := f.serviceReq("bob")
	uq.sname = pn(1, "bob")
	uq.options = optEncTktInSkey
	uq.tickets = [][]byte{bobTGT.tktDER}
	u2u := f.tgsReq(uq, tgt.tktDER, tgt.session(), alice(), tgsOpts{})
	aq := f.serviceReq("host/svc")
	ct, _ := krb5x.Encrypt(subkey, keyUsageTGSAuthDataSK, appendAuthData(nil, []authData{{Type: 77, Data: []byte("x")}}))
	aq.encAuthData = &krb5x.EncryptedData{EType: 17, Cipher: ct}
	authz := f.tgsReq(aq, tgt.tktDER, tgt.session(), alice(), tgsOpts{subkey: &subkey, cksumType: cksumRSAMD5})

	asBuild := func(q *request) []byte { return q.marshal() }
	tgsBuild := func(tkt *asResult, o tgsOpts) func(*request) []byte {
		return func(q *request) []byte { return f.tgsReq(q, tkt.tktDER, tkt.session(), alice(), o) }
	}
	builders := []builder{
		{*as, asBuild}, {*open, asBuild}, {*lockedReq, asBuild},
		{*f.serviceReq("host/svc"), tgsBuild(tgt, tgsOpts{subkey: &subkey})},
		{*rq, tgsBuild(tgt, tgsOpts{})},
		{*fq, tgsBuild(tgt, tgsOpts{})},
		{*vq, tgsBuild(pdTGT, tgsOpts{})},
		{*uq, tgsBuild(tgt, tgsOpts{})},
		{*aq, tgsBuild(tgt, tgsOpts{subkey: &subkey})},
	}
	pc := &panicCounter{}
	db := newMemDB(t, f)
	h := &Handler{DB: db, Realm: testRealm, Now: f.clock, Log: slog.New(pc)}
	other := &Handler{DB: db, Realm: otherRealm, Now: f.clock, Log: slog.New(pc)}
	realms, err := NewRealms(slog.New(pc), h, other)
	if err != nil {
		t.Fatal(err)
	}
	return &fuzzRealm{f: f, h: h, realms: realms, panics: pc, builders: builders, seeds: map[string][][]byte{
		"FuzzASReq":  {asPlain, asPA, open.marshal(), lockedReq.marshal()},
		"FuzzTGSReq": {svc, svcNoSub, renew, fwd, validate, u2u, authz},
	}}
}

// check serves one input through s (the realm's Handler or the Realms)
// and fails on a recovered panic or a reply that is neither a KDC reply
// nor a KRB-ERROR.
func (r *fuzzRealm) check(t testing.TB, s RequestHandler, in []byte, tcp bool) []byte {
	reply, err := r.try(s, in, tcp)
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

func (r *fuzzRealm) try(s RequestHandler, in []byte, tcp bool) ([]byte, error) {
	reply := s.ServeKerberos(context.Background(), in, r.f.from, tcp)
	r.panics.mu.Lock()
	p := r.panics.panics
	r.panics.panics = nil
	r.panics.mu.Unlock()
	if len(p) > 0 {
		return nil, fmt.Errorf("input %x panicked: %s", in, p[0])
	}
	if reply != nil && !krb5x.IsApp(reply, krb5x.AppASRep) && !krb5x.IsApp(reply, krb5x.AppTGSRep) && !krb5x.IsApp(reply, krb5x.AppKRBError) {
		return nil, fmt.Errorf("input %x: reply %x is not a KDC reply", in, reply)
	}
	if reply != nil && krb5x.IsApp(reply, krb5x.AppKRBError) {
		if _, err := krb5x.ReadError(reply); err != nil {
			return nil, fmt.Errorf("input %x: malformed KRB-ERROR: %v", in, err)
		}
	}
	return reply, nil
}

func addSeeds(f *testing.F, r *fuzzRealm, names ...string) {
	for _, n := range names {
		for _, s := range r.seeds[n] {
			f.Add(s)
		}
	}
}

func FuzzASReq(f *testing.F) {
	r := newFuzzRealm(f)
	addSeeds(f, r, "FuzzASReq")
	f.Fuzz(func(t *testing.T, in []byte) { r.check(t, r.h, in, false) })
}

func FuzzTGSReq(f *testing.F) {
	r := newFuzzRealm(f)
	addSeeds(f, r, "FuzzTGSReq")
	f.Fuzz(func(t *testing.T, in []byte) { r.check(t, r.h, in, true) })
}

func FuzzHandler(f *testing.F) {
	r := newFuzzRealm(f)
	addSeeds(f, r, "FuzzASReq", "FuzzTGSReq")
	f.Add([]byte{})
	f.Add([]byte{0x6a, 0x80})
	f.Fuzz(func(t *testing.T, in []byte) {
		r.check(t, r.h, in, false)
		r.check(t, r.realms, in, true)
		// Realms reads the server's realm without the full decoder: the
		// two must agree on every request the full decoder accepts.
		realm, ok := serverRealm(in)
		if req, _, err := decodeRequest(in); err == nil && req.Body.SName != nil && (!ok || realm != req.Body.Realm) {
			t.Fatalf("input %x: serverRealm %q, %v; the request's realm is %q", in, realm, ok, req.Body.Realm)
		}
		// The decoders on their own.
		for _, app := range []int{krb5x.AppASReq, krb5x.AppTGSReq} {
			if req, err := parseKDCReq(in, app); err == nil {
				for _, pa := range req.PAData {
					parseAPReq(pa.Value)
					krb5x.ParseEncryptedData(pa.Value)
					parseEncTS(pa.Value)
				}
			}
		}
		parseEncTicketPart(in)
		parseAuthenticator(in)
		parseAuthData(in)
	})
}

// mutate returns a random variation of seed: flipped bits, changed,
// inserted or removed bytes, a truncation, a duplicated or spliced run,
// or a changed DER length octet.
func mutate(rng *rand.Rand, seed, other []byte) []byte {
	b := append([]byte(nil), seed...)
	for n := 1 + rng.IntN(3); n > 0; n-- {
		if len(b) == 0 {
			return []byte{byte(rng.Uint32())}
		}
		i := rng.IntN(len(b))
		switch rng.IntN(8) {
		case 0:
			b[i] ^= 1 << rng.IntN(8)
		case 1:
			b[i] = byte(rng.Uint32())
		case 2:
			b = append(b[:i], append([]byte{byte(rng.Uint32())}, b[i:]...)...)
		case 3:
			b = append(b[:i], b[i+1:]...)
		case 4:
			b = b[:i]
		case 5:
			j := i + rng.IntN(len(b)-i)
			b = append(b[:j], append(append([]byte(nil), b[i:j]...), b[j:]...)...)
		case 6:
			if len(other) > 0 {
				j := rng.IntN(len(other))
				b = append(b[:i], other[j:]...)
			}
		case 7:
			// Lengths: the octet after a constructed tag.
			for k := i; k+1 < len(b); k++ {
				if b[k]&0x20 != 0 {
					b[k+1] = []byte{0, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff, b[k+1] + 1, b[k+1] - 1}[rng.IntN(9)]
					break
				}
			}
		}
	}
	return b
}

// mutateFields changes one or more fields of a copy of q: options,
// enctypes, times, names, realm, addresses, padata, additional tickets.
func mutateFields(rng *rand.Rand, q request, now uint32, tickets [][]byte) *request {
	names := []*types.PrincipalName{nil, pn(1, "alice"), pn(1, "bob"), pn(2, "host", "svc"), pn(2, "krbtgt", testRealm),
		pn(2, "krbtgt", otherRealm), pn(1, "WELLKNOWN", "ANONYMOUS"), pn(1), pn(1, ""), pn(10, "alice@KDC.TEST"), pn(1, "locked"), pn(1, "open")}
	times := []uint32{0, now, now - 301, now + 301, now + 86400, now + 30*86400, 1, 0xffffffff, 0x7fffffff}
	etypes := []int32{-1, 0, 1, 3, 16, 17, 18, 19, 20, 23, 24, 25, 26, 65, -128}
	for n := 1 + rng.IntN(3); n > 0; n-- {
		switch rng.IntN(12) {
		case 0, 1:
			q.options ^= 1 << rng.IntN(32)
		case 2:
			q.options = rng.Uint32()
		case 3:
			q.etypes = nil
			for k := rng.IntN(5); k > 0; k-- {
				q.etypes = append(q.etypes, etypes[rng.IntN(len(etypes))])
			}
		case 4:
			q.till = times[rng.IntN(len(times))]
		case 5:
			q.from, q.rtime = times[rng.IntN(len(times))], times[rng.IntN(len(times))]
		case 6:
			q.cname = names[rng.IntN(len(names))]
		case 7:
			q.sname = names[rng.IntN(len(names))]
		case 8:
			q.realm = []string{testRealm, otherRealm, "", "kdc.test"}[rng.IntN(4)]
		case 9:
			q.addrs = []hostAddress{{Type: int32(rng.IntN(30)), Addr: []byte{127, 0, 0, 1}}}
			q.haveAddrs = rng.IntN(2) == 0
		case 10:
			q.padata = append([]paData(nil), q.padata...)
			if len(q.padata) > 0 {
				i := rng.IntN(len(q.padata))
				q.padata[i].Value = mutate(rng, q.padata[i].Value, nil)
			} else {
				q.padata = append(q.padata, paData{Type: int32(rng.IntN(200)), Value: []byte{0x30, 0}})
			}
		case 11:
			q.tickets = nil
			if rng.IntN(2) == 0 {
				t := tickets[rng.IntN(len(tickets))]
				q.tickets = [][]byte{mutate(rng, t, nil)}
			} else if rng.IntN(2) == 0 {
				q.tickets = [][]byte{tickets[rng.IntN(len(tickets))]}
			}
		}
	}
	return &q
}

// TestMutatedRequests feeds 100,000 mutations of valid requests through the
// handler, half of them by way of a two-realm Realms: none may panic, and
// every reply must be a KDC message.
func TestMutatedRequests(t *testing.T) {
	r := newFuzzRealm(t)
	var seeds [][]byte
	for _, s := range r.seeds {
		seeds = append(seeds, s...)
	}
	n := 100000
	if testing.Short() {
		n = 10000
	}
	var tickets [][]byte
	for _, b := range r.builders {
		tickets = append(tickets, b.q.tickets...)
	}
	tickets = append(tickets, seeds[0])
	workers := runtime.GOMAXPROCS(0)
	seed := uint64(time.Now().UnixNano())
	start := time.Now()
	var mu sync.Mutex
	var errs, issued, silent int
	var failure error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), seed))
			var e, iss, sil int
			for i := w; i < n; i += workers {
				var in []byte
				if i%3 == 0 {
					in = mutate(rng, seeds[rng.IntN(len(seeds))], seeds[rng.IntN(len(seeds))])
				} else {
					b := r.builders[rng.IntN(len(r.builders))]
					in = b.build(mutateFields(rng, b.q, r.f.ts(), tickets))
				}
				// Every other pair of requests goes through the
				// Realms, which the realm mutations route.
				var via RequestHandler = r.h
				if i%4 >= 2 {
					via = r.realms
				}
				reply, err := r.try(via, in, i%2 == 0)
				switch {
				case err != nil:
					mu.Lock()
					if failure == nil {
						failure = err
					}
					mu.Unlock()
					return
				case reply == nil:
					sil++
				case krb5x.IsApp(reply, krb5x.AppKRBError):
					e++
				default:
					iss++
				}
			}
			mu.Lock()
			errs, issued, silent = errs+e, issued+iss, silent+sil
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failure != nil {
		t.Fatalf("seed %d: %v", seed, failure)
	}
	t.Logf("%d mutated requests in %v: %d errors, %d tickets, %d without reply", n, time.Since(start), errs, issued, silent)
}

// TestWriteFuzzSeeds regenerates testdata/fuzz when run with
// -write-fuzz-seeds. The TGS-REQs carry tickets of a realm with random
// keys, so on replay they exercise the decoding and key search, not the
// issuing.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeFuzzSeeds {
		t.Skip("run with -write-fuzz-seeds to regenerate the seed corpora")
	}
	r := newFuzzRealm(t)
	r.seeds["FuzzHandler"] = append(append([][]byte(nil), r.seeds["FuzzASReq"]...), r.seeds["FuzzTGSReq"]...)
	for target, list := range r.seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, b := range list {
			content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
