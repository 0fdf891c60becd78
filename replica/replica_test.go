package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/profile"
)

const testRealm = "EXAMPLE.TEST"

// testRealmDB is a realm to change with kadm5 and deliver from.
type testRealmDB struct {
	path  string
	adm   *kadm5.Server
	mkeys *kdb.MasterKeys
	clock time.Time
}

func newTestRealm(t *testing.T) *testRealmDB {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "principal")
	store, err := kdb.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	params := kadm5.RealmParams{Realm: testRealm, MaxLife: 36000, MaxRenewableLife: 604800, Flags: kdb.AttrRequiresPreAuth,
		KeySalts: []krb5x.KeySalt{{Enctype: 18}, {Enctype: 17}}, MasterKeyEnctype: 18}
	mkName := kdb.Name{Components: []string{"K", "M"}, Realm: testRealm}
	key, err := kdb.DeriveMasterKey("master-pw", mkName, 18)
	if err != nil {
		t.Fatal(err)
	}
	mk := kdb.MasterKey{KVNO: 1, Key: key}
	r := &testRealmDB{path: path, clock: time.Unix(1800000000, 0)}
	now := func() time.Time { return r.clock }
	if err := kadm5.CreateRealm(ctx, store, params, mkName, mk, now); err != nil {
		t.Fatal(err)
	}
	km, err := store.Get(ctx, mkName.String())
	if err != nil {
		t.Fatal(err)
	}
	if r.mkeys, err = kdb.LoadMasterKeys(km, mk); err != nil {
		t.Fatal(err)
	}
	r.adm = &kadm5.Server{Store: store, MKeys: r.mkeys, Params: params, Caller: "root/admin@" + testRealm, Now: now}
	return r
}

func (r *testRealmDB) name(t *testing.T, s string) kdb.Name {
	t.Helper()
	n, err := kdb.ParseName(s, testRealm)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *testRealmDB) addprinc(t *testing.T, name, password string) {
	t.Helper()
	r.clock = r.clock.Add(time.Minute)
	if err := r.adm.CreatePrincipal(context.Background(), kadm5.PrincipalSpec{Name: r.name(t, name)}, kadm5.KeysFromPassword, password, nil); err != nil {
		t.Fatal(err)
	}
}

func (r *testRealmDB) modprinc(t *testing.T, spec kadm5.PrincipalSpec) {
	t.Helper()
	r.clock = r.clock.Add(time.Minute)
	if err := r.adm.ModifyPrincipal(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
}

func (r *testRealmDB) source() Source {
	return Source{DBPath: r.path, MasterKeys: func(context.Context, *kdb.Store) (*kdb.MasterKeys, error) { return r.mkeys, nil }}
}

// recorder is a compiled-in plugin that keeps what it is given and
// answers what the test sets.
type recorder struct {
	calls      []string
	deliveries []recorded
	answer     error   // Apply's outcome
	answers    []error // consumed first, one per Apply
	stopAfter  int     // stop reading after this many changes (0: read all)
}

type recorded struct {
	header  Header
	changes []*Change
	err     error
}

func (p *recorder) AuthInit(_ context.Context, id Identity) error {
	p.calls = append(p.calls, "auth-init")
	return nil
}

func (p *recorder) InitReinit(context.Context, Identity) error {
	p.calls = append(p.calls, "init-reinit")
	return nil
}

func (p *recorder) Stop(context.Context, Identity) error {
	p.calls = append(p.calls, "stop")
	return nil
}

func (p *recorder) Destroy(context.Context, Identity) error {
	p.calls = append(p.calls, "destroy")
	return nil
}

func (p *recorder) Apply(_ context.Context, d *Delivery) error {
	p.calls = append(p.calls, "apply")
	rec := recorded{header: d.Header}
	for c := range d.Changes {
		rec.changes = append(rec.changes, c)
		if p.stopAfter > 0 && len(rec.changes) == p.stopAfter {
			break
		}
	}
	rec.err = d.Err()
	p.deliveries = append(p.deliveries, rec)
	if len(p.answers) > 0 {
		a := p.answers[0]
		p.answers = p.answers[1:]
		return a
	}
	return p.answer
}

func (p *recorder) last(t *testing.T) recorded {
	t.Helper()
	if len(p.deliveries) == 0 {
		t.Fatal("no delivery")
	}
	return p.deliveries[len(p.deliveries)-1]
}

func newTestReplica(t *testing.T, r *testRealmDB, p Plugin, mod func(*Config)) *Replica {
	t.Helper()
	cfg := Config{Name: "test", Plugin: "/bin/true", Realm: testRealm, RetryInterval: 30 * time.Second,
		MaxRetryInterval: 4 * time.Minute, Timeout: time.Minute, StateDir: filepath.Join(t.TempDir(), "state")}
	if mod != nil {
		mod(&cfg)
	}
	rep, err := New(cfg, r.source(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p != nil {
		rep.plugin = p
	}
	return rep
}

// ops summarises changes as "op name [parts]".
func ops(changes []*Change) []string {
	var out []string
	for _, c := range changes {
		s := string(c.Op) + " " + c.Name
		if len(c.Parts) > 0 {
			s += fmt.Sprint(" ", c.Parts)
		}
		out = append(out, s)
	}
	return out
}

func deliver(t *testing.T, rep *Replica) Report {
	t.Helper()
	got, err := rep.Deliver(context.Background())
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return got
}

func TestFirstDeliveryIsFullAndIdentityIsKept(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	p := &recorder{}
	rep := newTestReplica(t, r, p, nil)
	got := deliver(t, rep)
	if !got.Delivered || !got.Reinit || got.Seq != 1 || got.State != InService {
		t.Fatalf("report %+v", got)
	}
	d := p.last(t)
	if !d.header.Reinit || d.header.Seq != 1 || d.header.PrevSeq != 0 || d.header.Realm != testRealm {
		t.Errorf("header %+v", d.header)
	}
	if _, err := uuid.Parse(d.header.UUID); err != nil {
		t.Errorf("uuid %q: %v", d.header.UUID, err)
	}
	names := []string{}
	for _, c := range d.changes {
		if c.Op != PrincipalAdd {
			t.Errorf("full delivery has %s", c.Op)
		}
		names = append(names, c.Name)
	}
	want := []string{"K/M@EXAMPLE.TEST", "alice@EXAMPLE.TEST", "kadmin/admin@EXAMPLE.TEST", "kadmin/changepw@EXAMPLE.TEST", "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"}
	if !slices.Equal(names, want) {
		// kadm5.CreateRealm's set; the order is byte order of names.
		t.Logf("names %v", names)
	}
	if !slices.IsSorted(names) || !slices.Contains(names, "alice@EXAMPLE.TEST") {
		t.Errorf("names %v", names)
	}
	if slices.Compare(p.calls, []string{"auth-init", "apply"}) != 0 {
		t.Errorf("calls %v", p.calls)
	}
	// Nothing changed: no call, same identity.
	got = deliver(t, rep)
	if got.Delivered || got.Seq != 1 {
		t.Errorf("second report %+v", got)
	}
	if len(p.deliveries) != 1 {
		t.Errorf("%d deliveries for an unchanged database", len(p.deliveries))
	}
	info, err := rep.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.UUID != d.header.UUID || info.Seq != 1 || info.State != InService {
		t.Errorf("info %+v", info.Status)
	}
}

func TestChangesNameTheirParts(t *testing.T) {
	r := newTestRealm(t)
	ctx := context.Background()
	r.addprinc(t, "alice", "pw-alice")
	r.addprinc(t, "bob", "pw-bob")
	r.addprinc(t, "carol", "pw-carol")
	r.addprinc(t, "dave", "pw-dave")
	p := &recorder{}
	rep := newTestReplica(t, r, p, nil)
	deliver(t, rep)

	if err := r.adm.CreatePolicy(ctx, kadm5.PolicySpec{Name: "strict", Mask: kadm5.PolMinLength, Policy: kdb.Policy{PwMinLength: 12}}); err != nil {
		t.Fatal(err)
	}
	r.modprinc(t, kadm5.PrincipalSpec{Name: r.name(t, "alice"), Mask: kadm5.MaskAttributes | kadm5.MaskExpiration,
		Attributes: kdb.AttrRequiresPreAuth | kdb.AttrDisallowSvr, Expiration: 1900000000})
	r.modprinc(t, kadm5.PrincipalSpec{Name: r.name(t, "bob"), Mask: kadm5.MaskPolicy, Policy: "strict"})
	if err := r.adm.ChangePassword(ctx, r.name(t, "carol"), "new-pw-carol", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.adm.RenamePrincipal(ctx, r.name(t, "dave"), r.name(t, "dave2")); err != nil {
		t.Fatal(err)
	}
	r.addprinc(t, "erin", "pw-erin")
	got := deliver(t, rep)
	if !got.Delivered || got.Reinit || got.Seq != 2 {
		t.Fatalf("report %+v", got)
	}
	d := p.last(t)
	if d.header.Seq != 2 || d.header.PrevSeq != 1 || d.header.Reinit {
		t.Errorf("header %+v", d.header)
	}
	want := []string{
		"policy_add strict",
		"principal_replace alice@EXAMPLE.TEST [attributes expiration tl_data]",
		"principal_replace bob@EXAMPLE.TEST [policy tl_data]",
		"principal_add_key_version carol@EXAMPLE.TEST [keys tl_data]",
		// Byte order: '2' comes before '@'.
		"principal_add dave2@EXAMPLE.TEST",
		"principal_delete dave@EXAMPLE.TEST",
		"principal_add erin@EXAMPLE.TEST",
	}
	if g := ops(d.changes); !slices.Equal(g, want) {
		t.Errorf("changes\n got %q\nwant %q", g, want)
	}
	for _, c := range d.changes {
		switch c.Name {
		case "alice@EXAMPLE.TEST":
			if !slices.Contains(c.Principal.Flags, "DISALLOW_SVR") || c.Principal.Expiration == nil || c.Principal.Expiration.Unix() != 1900000000 {
				t.Errorf("alice %+v", c.Principal)
			}
		case "bob@EXAMPLE.TEST":
			if c.Principal.Policy == nil || *c.Principal.Policy != "strict" {
				t.Errorf("bob's policy %v", c.Principal.Policy)
			}
		case "carol@EXAMPLE.TEST":
			if c.OldKVNO != 1 || c.Principal.KVNO != 2 || c.Principal.Keys[0].KVNO != 2 || c.Principal.Keys[0].Key != "" {
				t.Errorf("carol %+v (old kvno %d)", c.Principal, c.OldKVNO)
			}
		case "strict":
			if c.Policy.PwMinLength != 12 {
				t.Errorf("policy %+v", c.Policy)
			}
		}
	}

	// A policy goes after the last principal that used it.
	r.modprinc(t, kadm5.PrincipalSpec{Name: r.name(t, "bob"), Mask: kadm5.MaskPolicyClear})
	if err := r.adm.DeletePolicy(ctx, "strict"); err != nil {
		t.Fatal(err)
	}
	deliver(t, rep)
	want = []string{"principal_replace bob@EXAMPLE.TEST [policy tl_data]", "policy_delete strict"}
	if g := ops(p.last(t).changes); !slices.Equal(g, want) {
		t.Errorf("changes\n got %q\nwant %q", g, want)
	}
}

func TestCantProcessKeepsAndMergesChanges(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	p := &recorder{}
	rep := newTestReplica(t, r, p, nil)
	deliver(t, rep)
	clock := time.Unix(1800000000, 0)
	rep.now = func() time.Time { return clock }

	p.answer = fmt.Errorf("directory down: %w", ErrCantProcess)
	r.addprinc(t, "bob", "pw-bob")
	if _, err := rep.Deliver(context.Background()); !errors.Is(err, ErrCantProcess) {
		t.Fatalf("Deliver: %v", err)
	}
	info, _ := rep.Info()
	if info.State != CantProcess || info.Retries != 1 || !info.NextRetry.Equal(clock.Add(30*time.Second)) || info.Seq != 1 {
		t.Errorf("after one failure: %+v", info.Status)
	}
	if !slices.Equal(ops(p.last(t).changes), []string{"principal_add bob@EXAMPLE.TEST"}) {
		t.Errorf("first try %q", ops(p.last(t).changes))
	}
	// Back-off doubles up to the maximum.
	r.addprinc(t, "carol", "pw-carol")
	var waits []time.Duration
	for range 5 {
		rep.Deliver(context.Background())
		info, _ := rep.Info()
		waits = append(waits, info.NextRetry.Sub(clock))
	}
	if want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	// The retry that succeeds carries both changes, with the sequence
	// numbers of the failed tries.
	p.answer = nil
	got := deliver(t, rep)
	d := p.last(t)
	if want := []string{"principal_add bob@EXAMPLE.TEST", "principal_add carol@EXAMPLE.TEST"}; !slices.Equal(ops(d.changes), want) {
		t.Errorf("merged %q", ops(d.changes))
	}
	if d.header.Seq != 2 || d.header.PrevSeq != 1 || got.Seq != 2 {
		t.Errorf("header %+v", d.header)
	}
	info, _ = rep.Info()
	if info.State != InService || info.Retries != 0 || info.LastError != "" || !info.NextRetry.IsZero() {
		t.Errorf("after success: %+v", info.Status)
	}
}

func TestRequestReinitDeliversEverything(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	p := &recorder{}
	rep := newTestReplica(t, r, p, nil)
	deliver(t, rep)
	r.addprinc(t, "bob", "pw-bob")
	p.answers = []error{ErrRequestReinit}
	got := deliver(t, rep)
	if !got.Reinit || got.Seq != 2 {
		t.Errorf("report %+v", got)
	}
	if want := []string{"auth-init", "apply", "apply", "init-reinit", "apply"}; !slices.Equal(p.calls, want) {
		t.Errorf("calls %v, want %v", p.calls, want)
	}
	d := p.last(t)
	if !d.header.Reinit || d.header.Seq != 2 || d.header.PrevSeq != 1 || len(d.changes) < 6 {
		t.Errorf("reinit header %+v, %d changes", d.header, len(d.changes))
	}
	// The admin's reinit does the same.
	if _, err := rep.Reinit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := p.last(t); !d.header.Reinit || d.header.Seq != 3 {
		t.Errorf("admin reinit header %+v", d.header)
	}
}

func TestIncludeKeys(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	p := &recorder{}
	rep := newTestReplica(t, r, p, func(c *Config) { c.IncludeKeys = true })
	deliver(t, rep)
	var alice *Principal
	for _, c := range p.last(t).changes {
		if c.Name == "alice@EXAMPLE.TEST" {
			alice = c.Principal
		}
	}
	if alice == nil || len(alice.Keys) != 2 {
		t.Fatalf("alice %+v", alice)
	}
	want, err := krb5x.StringToKey(18, "pw-alice", "EXAMPLE.TESTalice")
	if err != nil {
		t.Fatal(err)
	}
	if k := alice.Keys[0]; k.Enctype != "aes256-cts-hmac-sha1-96" || k.Salt != "normal" || k.Key != fmt.Sprintf("%x", want.KeyValue) {
		t.Errorf("key %+v, want %x", k, want.KeyValue)
	}
	// Nothing secret on disk.
	filepath.WalkDir(rep.cfg.StateDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			if containsHex(b, want.KeyValue) {
				t.Errorf("%s holds alice's key", path)
			}
		}
		return nil
	})
}

func containsHex(b, key []byte) bool {
	return bytes.Contains(b, key) || bytes.Contains(b, []byte(fmt.Sprintf("%x", key)))
}

func TestStopStartDestroy(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	p := &recorder{}
	rep := newTestReplica(t, r, p, nil)
	deliver(t, rep)
	ctx := context.Background()
	if err := rep.Stop(ctx, true); err != nil {
		t.Fatal(err)
	}
	r.addprinc(t, "bob", "pw-bob")
	if got := deliver(t, rep); got.State != Stopped || got.Delivered {
		t.Errorf("stopped replica: %+v", got)
	}
	got, err := rep.Start(ctx)
	if err != nil || !got.Delivered || got.Changes != 1 {
		t.Errorf("start: %+v, %v", got, err)
	}
	old, _ := rep.Info()
	if err := rep.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rep.cfg.StateDir); !os.IsNotExist(err) {
		t.Errorf("state dir after destroy: %v", err)
	}
	if want := []string{"auth-init", "apply", "stop", "apply", "destroy"}; !slices.Equal(p.calls, want) {
		t.Errorf("calls %v, want %v", p.calls, want)
	}
	// Still configured: a new identity and a full delivery.
	got = deliver(t, rep)
	info, _ := rep.Info()
	if !got.Reinit || got.Seq != 1 || info.UUID == old.UUID {
		t.Errorf("after destroy: %+v, uuid %s (was %s)", got, info.UUID, old.UUID)
	}
}

func TestPluginStoppingEarlyIsItsCall(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	p := &recorder{stopAfter: 1}
	rep := newTestReplica(t, r, p, nil)
	got := deliver(t, rep)
	if !got.Delivered || len(p.last(t).changes) != 1 || p.last(t).err != nil {
		t.Errorf("report %+v, delivery %+v", got, p.last(t))
	}
}

func TestDamagedSnapshotNeedsReinit(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	p := &recorder{}
	rep := newTestReplica(t, r, p, nil)
	deliver(t, rep)
	snap := rep.path(snapshotFile)
	b, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 0xff
	os.WriteFile(snap, b, 0o600)
	r.addprinc(t, "bob", "pw-bob")
	_, err = rep.Deliver(context.Background())
	if !errors.Is(err, errCorrupt) {
		t.Fatalf("Deliver with a damaged snapshot: %v", err)
	}
	if len(p.deliveries) != 1 {
		t.Error("a delivery went out from a damaged snapshot")
	}
	got, err := rep.Reinit(context.Background())
	if err != nil || !got.Reinit || got.Seq != 2 {
		t.Errorf("reinit: %+v, %v", got, err)
	}
}

// TestCompiledInPlugin: a plugin registered by name is chosen by a
// plugin relation naming it.
// compiledIn is the plugin the factory TestCompiledInPlugin registers
// returns; Register refuses a name twice, so the factory is registered
// once per test binary (go test -count=N runs the test N times).
var (
	compiledIn         *recorder
	registerCompiledIn sync.Once
)

func TestCompiledInPlugin(t *testing.T) {
	r := newTestRealm(t)
	p := &recorder{}
	compiledIn = p
	registerCompiledIn.Do(func() {
		Register("test-compiled-in", func(c Config) (Plugin, error) {
			if c.Name != "compiled" {
				return nil, fmt.Errorf("factory got the configuration of %q", c.Name)
			}
			return compiledIn, nil
		})
	})
	conf := filepath.Join(t.TempDir(), "kdc.conf")
	text := "[secondary_replicas]\n compiled = {\n  plugin = test-compiled-in\n  realm = " + testRealm + "\n  state_dir = " + t.TempDir() + "/state\n }\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	prof, err := profile.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := Configs(prof, testRealm, r.path)
	if err != nil || len(cs) != 1 {
		t.Fatalf("Configs: %v, %v", cs, err)
	}
	rep, err := New(cs[0], r.source(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, rep); !got.Delivered || len(p.deliveries) != 1 {
		t.Errorf("report %+v, %d deliveries", got, len(p.deliveries))
	}
}
