package kdc

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/internal/realm"
	"github.com/krb5prop/krb5prop/kdb"
)

func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }

const interopRealm = "INTEROP.TEST"

// kdcUnderTest is our KDC serving a mittest realm.
type kdcUnderTest struct {
	h    *Handler
	logs func() []string
}

// ourKDC creates r's database with our kdb5util and kadmin (as separate
// programs, as a site would run them), then serves it from this process on
// r's KDC port, UDP and TCP, configured from r's kdc.conf as krb5kdc would
// be.
func ourKDC(t *testing.T, r *mittest.Realm, setup ...string) *kdcUnderTest {
	t.Helper()
	kdb5util := mittest.GoBinary(t, "./cmd/kdb5util")
	kadmin := mittest.GoBinary(t, "./cmd/kadmin")
	r.MustRun(t, kdb5util, "-P", "master-pw", "create", "-s")
	for _, q := range setup {
		r.MustRun(t, kadmin, "-q", q)
	}
	env := map[string]string{}
	for _, kv := range r.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := realm.Load(realm.Options{Env: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	store, err := kdb.Open(cfg.DBName, kdb.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	mkeys, err := cfg.FetchMasterKeys(ctx, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := cfg.Profile.Realm(cfg.Realm)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := cfg.Profile.KDCDefaults()
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	db := NewStoreDatabase(store, mkeys)
	h := &Handler{DB: db, Log: slog.New(logs)}
	h.Configure(rs, kd)
	srv := &Server{Handler: h, Log: h.Log}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, rs.KDCListen, rs.KDCTCPListen, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("KDC: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("KDC: %v", err)
		}
		db.Close()
		store.Close()
		if t.Failed() {
			for _, l := range logs.take() {
				t.Log("kdc: " + l)
			}
		}
	})
	var all []string
	return &kdcUnderTest{h: h, logs: func() []string {
		all = append(all, logs.take()...)
		return all
	}}
}

// TestMITClients runs MIT's kinit, kvno and klist against our KDC: a
// password login with preauthentication (PREAUTH_REQUIRED, ETYPE-INFO2,
// PA-ENC-TIMESTAMP, RFC 6806), a wrong password, service tickets, renewal,
// a service ticket straight from the AS, and an unknown service, over UDP
// and over TCP.
func TestMITClients(t *testing.T) {
	mittest.Require(t, "kinit", "kvno", "klist")
	for _, tcp := range []bool{false, true} {
		name := "udp"
		var opts []mittest.Option
		if tcp {
			name = "tcp"
			opts = append(opts, mittest.WithKRB5Conf("libdefaults", "udp_preference_limit", "1"))
		}
		t.Run(name, func(t *testing.T) {
			r := mittest.NewRealm(t, interopRealm, opts...)
			kdc := ourKDC(t, r,
				"addprinc -pw alice-pw alice",
				"addprinc -randkey host/svc.interop.test",
				"addprinc -randkey -allow_svr host/nosvc.interop.test")

			_, stderr, exit := r.RunStdin(t, "wrong-pw\n", "kinit", "alice")
			if exit == 0 || !strings.Contains(stderr, "Password incorrect while getting initial credentials") {
				t.Errorf("kinit with a wrong password: exit %d, %q", exit, stderr)
			}
			_, stderr, exit = r.RunStdin(t, "alice-pw\n", "kinit", "-f", "-r", "2d", "alice")
			if exit != 0 {
				t.Fatalf("kinit: exit %d: %s", exit, stderr)
			}
			out := r.MustRun(t, "klist", "-f")
			if !strings.Contains(out, "krbtgt/"+interopRealm+"@"+interopRealm) || !strings.Contains(out, "Flags: FRIA") {
				t.Errorf("klist after kinit:\n%s", out)
			}
			out = r.MustRun(t, "kvno", "host/svc.interop.test")
			if !strings.Contains(out, "host/svc.interop.test@"+interopRealm+": kvno = 1") {
				t.Errorf("kvno: %q", out)
			}
			out = r.MustRun(t, "klist", "-f")
			if !strings.Contains(out, "host/svc.interop.test@"+interopRealm) || !strings.Contains(out, "Flags: FRAT") {
				t.Errorf("klist after kvno:\n%s", out)
			}
			_, stderr, exit = r.Run(t, "kvno", "host/nowhere.interop.test")
			if exit == 0 || !strings.Contains(stderr, "Server host/nowhere.interop.test@"+interopRealm+" not found in Kerberos database") {
				t.Errorf("kvno of an unknown service: exit %d, %q", exit, stderr)
			}
			_, stderr, exit = r.Run(t, "kvno", "host/nosvc.interop.test")
			if exit == 0 || !strings.Contains(stderr, "Server principal valid for user2user only") {
				t.Errorf("kvno of a non-service: exit %d, %q", exit, stderr)
			}
			if _, stderr, exit = r.Run(t, "kinit", "-R"); exit != 0 {
				t.Errorf("kinit -R: exit %d: %s", exit, stderr)
			}
			out = r.MustRun(t, "klist", "-f")
			if !strings.Contains(out, "Flags: FRIAT") {
				t.Errorf("klist after renewal:\n%s", out)
			}
			_, stderr, exit = r.RunStdin(t, "alice-pw\n", "kinit", "-S", "host/svc.interop.test", "alice")
			if exit != 0 {
				t.Errorf("kinit -S: exit %d: %s", exit, stderr)
			}
			out = r.MustRun(t, "klist")
			if !strings.Contains(out, "host/svc.interop.test@"+interopRealm) {
				t.Errorf("klist after kinit -S:\n%s", out)
			}
			var issue, preauth, failed bool
			for _, l := range kdc.logs() {
				issue = issue || strings.Contains(l, ": ISSUE: authtime ") && strings.Contains(l, "alice@"+interopRealm+" for host/svc.interop.test@"+interopRealm)
				preauth = preauth || strings.Contains(l, "NEEDED_PREAUTH: alice@"+interopRealm+" for krbtgt/"+interopRealm+"@"+interopRealm+", Additional pre-authentication required")
				failed = failed || strings.Contains(l, "PREAUTH_FAILED: alice@"+interopRealm)
			}
			if !issue || !preauth || !failed {
				t.Errorf("log lacks ISSUE %v / NEEDED_PREAUTH %v / PREAUTH_FAILED %v:\n%s", issue, preauth, failed, strings.Join(kdc.logs(), "\n"))
			}
		})
	}
}
