package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/internal/synth"
)

// The reload tests change the database under a running krb5kdc, with
// kdb5util load, a propagation or kadmin, and check that the next request
// sees the change and that no request fails while the database is
// switched, as with MIT's krb5kdc, which serves what kdb5_util load or
// kpropd put in place from its next request on.

// reloadUsers is the number of synthetic users in the load tests' realm:
// enough that each load runs for about a second on a small machine, so
// that many logins begin while it runs and some are in flight when it
// commits.
const reloadUsers = 100000

// Passwords of the principals the load tests log in as. steady has the
// same key in both dumps, so its logins must never fail; alice's password
// and carol are what differ between them.
const (
	steadyPW   = "steady-pw"
	aliceOldPW = "alice-pw"
	aliceNewPW = "alice-new-pw"
	carolPW    = "carol-pw"
)

// steadyService is a service with the same key in both dumps, for the TGS
// requests among the logins of steady.
const steadyService = "host/steady.kdc.test"

// MIT kinit's messages for the two refusals the tests expect.
const (
	passwordIncorrect = "Password incorrect while getting initial credentials"
	clientNotFound    = "Client '%s@" + testRealm + "' not found in Kerberos database while getting initial credentials"
)

// reloadRealm is a realm of reloadUsers synthetic users plus steady,
// steadyService and alice, made with our kdb5util and kadmin, and two dumps of it:
// before.dump, and after.dump, which adds carol and changes alice's
// password. The database holds before.dump.
type reloadRealm struct {
	*mittest.Realm
	kdb5util, krb5kdc string
	before, after     string
	keytab            string // the host principal's key, if one was asked for
}

// newReloadRealm makes the realm. A non-empty host adds host/<host> to
// both dumps, with its key in r.keytab, for kprop and kpropd.
func newReloadRealm(t *testing.T, host string) *reloadRealm {
	t.Helper()
	mittest.Require(t, "kinit")
	kadmin := mittest.GoBinary(t, "./cmd/kadmin")
	r := &reloadRealm{
		// kprop and kpropd name this host host/<host>, unqualified.
		Realm:    mittest.NewRealm(t, testRealm, mittest.WithKRB5Conf("libdefaults", "qualify_shortname", `""`)),
		kdb5util: mittest.GoBinary(t, "./cmd/kdb5util"),
		krb5kdc:  mittest.GoBinary(t, "./cmd/krb5kdc"),
	}
	r.before, r.after, r.keytab = r.Path("before.dump"), r.Path("after.dump"), r.Path("host.keytab")
	// The synthetic realm's master key comes from the same password as
	// the stash create writes, so the KDC opens the loaded database with it.
	r.MustRun(t, r.kdb5util, "-P", "master-pw", "create", "-s")
	f, err := os.Create(r.Path("synth.dump"))
	if err != nil {
		t.Fatal(err)
	}
	err = synth.WriteDump(f, synth.Realm{Name: testRealm, MasterPassword: "master-pw", Users: reloadUsers, Generation: 1})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	r.MustRun(t, r.kdb5util, "load", f.Name())

	queries := []string{"addprinc -pw " + steadyPW + " steady", "addprinc -randkey " + steadyService, "addprinc -pw " + aliceOldPW + " alice"}
	if host != "" {
		queries = append(queries, "addprinc -randkey host/"+host, "ktadd -k "+r.keytab+" host/"+host)
	}
	for _, q := range queries {
		r.MustRun(t, kadmin, "-q", q)
	}
	r.MustRun(t, r.kdb5util, "dump", r.before)
	r.MustRun(t, kadmin, "-q", "addprinc -pw "+carolPW+" carol")
	r.MustRun(t, kadmin, "-q", "cpw -pw "+aliceNewPW+" alice")
	r.MustRun(t, r.kdb5util, "dump", r.after)
	r.MustRun(t, r.kdb5util, "load", r.before)
	return r
}

// startKDC starts our krb5kdc -n on the realm and waits until it listens.
func (r *reloadRealm) startKDC(t *testing.T) {
	t.Helper()
	proc := r.Start(t, r.krb5kdc, "-n")
	proc.WaitPort(t, "udp", r.KDCAddr(), startTimeout)
	proc.WaitPort(t, "tcp", r.KDCAddr(), startTimeout)
}

// checkServed logs in once each, without retrying, right after dump was
// loaded: alice with the password dump holds and with the other one, and
// carol, who exists only in after.dump.
func (r *reloadRealm) checkServed(t *testing.T, dump string) {
	t.Helper()
	if dump == r.after {
		kinit(t, r.Realm, "alice", aliceNewPW, "")
		kinit(t, r.Realm, "alice", aliceOldPW, passwordIncorrect)
		kinit(t, r.Realm, "carol", carolPW, "")
		return
	}
	kinit(t, r.Realm, "alice", aliceOldPW, "")
	kinit(t, r.Realm, "alice", aliceNewPW, passwordIncorrect)
	kinit(t, r.Realm, "carol", carolPW, fmt.Sprintf(clientNotFound, "carol"))
}

// kinit runs MIT's kinit once for principal with password: it must
// succeed when want is "", and otherwise fail saying want. It reports
// whether it did.
func kinit(t *testing.T, r *mittest.Realm, principal, password, want string) bool {
	t.Helper()
	_, stderr, exit := r.RunStdin(t, password+"\n", "kinit", principal)
	switch {
	case want == "" && exit != 0:
		t.Errorf("kinit %s: exit %d: %s", principal, exit, stderr)
		return false
	case want != "" && (exit == 0 || !strings.Contains(stderr, want)):
		t.Errorf("kinit %s with %s: exit %d, %q; want a failure saying %q", principal, password, exit, stderr, want)
		return false
	}
	return true
}

// traffic logs steady in over and over from several clients at once until
// stopped, counting the logins and keeping the failures: MIT's kinit over
// UDP; MIT's kinit followed by kvno of steadyService, a TGS request, in a
// credential cache of its own; and gokrb5 over TCP.
type traffic struct {
	begun    atomic.Int64 // logins started
	stopping atomic.Bool
	wg       sync.WaitGroup

	mu       sync.Mutex
	failures []string
	// slowest is the longest login. MIT's kinit sends a UDP request
	// again only after waiting seconds for an answer (4 s with one KDC in
	// MIT 1.20), so a login that slow hints at a request the KDC dropped
	// and the client hid by asking again.
	slowest time.Duration
}

func startTraffic(t *testing.T, r *reloadRealm) *traffic {
	t.Helper()
	cfg, err := config.Load(r.KRB5Config)
	if err != nil {
		t.Fatalf("gokrb5 reading %s: %v", r.KRB5Config, err)
	}
	cfg.LibDefaults.UDPPreferenceLimit = 1
	// Not canceled by stop: a login in flight then is counted on its own
	// merits.
	mit := func(stdin, tool string, args ...string) error {
		_, stderr, exit, err := r.Exec(context.Background(), stdin, tool, args...)
		if err == nil && exit != 0 {
			err = fmt.Errorf("%s: exit %d: %s", tool, exit, strings.TrimSpace(stderr))
		}
		return err
	}
	kinitCache, kvnoCache := "FILE:"+r.Path("kinit.ccache"), "FILE:"+r.Path("kvno.ccache")
	logins := []func() error{
		func() error { return mit(steadyPW+"\n", "kinit", "-c", kinitCache, "steady") },
		func() error {
			// The fresh cache kinit leaves holds no service ticket.
			if err := mit(steadyPW+"\n", "kinit", "-c", kvnoCache, "steady"); err != nil {
				return err
			}
			return mit("", "kvno", "-c", kvnoCache, steadyService)
		},
		func() error {
			cl := client.NewWithPassword("steady", testRealm, steadyPW, cfg)
			defer cl.Destroy()
			if err := cl.Login(); err != nil {
				return fmt.Errorf("gokrb5 login steady: %w", err)
			}
			return nil
		},
	}
	tr := &traffic{}
	for _, login := range logins {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for !tr.stopping.Load() {
				tr.begun.Add(1)
				start := time.Now()
				err := login()
				tr.mu.Lock()
				tr.slowest = max(tr.slowest, time.Since(start))
				if err != nil {
					tr.failures = append(tr.failures, start.Format("15:04:05.000")+" "+err.Error())
				}
				tr.mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { tr.stop() })
	return tr
}

// stop ends the loops once their logins in flight are done and returns
// how many logins there were, the failures among them and the longest.
func (tr *traffic) stop() (int64, []string, time.Duration) {
	tr.stopping.Store(true)
	tr.wg.Wait()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.begun.Load(), tr.failures, tr.slowest
}

// underTraffic switches the database between the dumps three times (to
// after.dump, back to before.dump, and to after.dump again) with load,
// which must return only once the dump it was given is in place, while
// steady logs in continuously. After each switch the served data must be
// the new dump's from the first request on, and no login of steady may
// fail at any time.
func (r *reloadRealm) underTraffic(t *testing.T, load func(t *testing.T, dump string)) {
	t.Helper()
	tr := startTraffic(t, r)
	for _, dump := range []string{r.after, r.before, r.after} {
		begun := tr.begun.Load()
		start := time.Now()
		load(t, dump)
		elapsed := time.Since(start)
		during := tr.begun.Load() - begun
		t.Logf("loading %s took %v; %d logins began meanwhile", dump, elapsed.Round(time.Millisecond), during)
		if during == 0 {
			t.Errorf("no login began while %s was loading; the load did not run under traffic", dump)
		}
		r.checkServed(t, dump)
	}
	n, failures, slowest := tr.stop()
	outcomes := steadyOutcomes(t, r.LogFile)
	t.Logf("%d logins of steady, %d failed, the slowest took %v; the KDC logged %v for steady",
		n, len(failures), slowest.Round(time.Millisecond), outcomes)
	if len(failures) > 0 {
		const shown = 10
		t.Errorf("%d of %d logins of steady failed; the first:\n%s", len(failures), n,
			strings.Join(failures[:min(shown, len(failures))], "\n"))
	}
	// A client may hide a refusal by asking again; the KDC's log does not.
	for outcome, count := range outcomes {
		switch outcome {
		case "AS_REQ NEEDED_PREAUTH", "AS_REQ ISSUE", "TGS_REQ ISSUE":
		default:
			t.Errorf("the KDC logged %s for steady %d times", outcome, count)
		}
	}
}

// requestOutcome picks the request type and the outcome (ISSUE,
// NEEDED_PREAUTH, or an error name such as PREAUTH_FAILED) out of a KDC log
// line, which reads as MIT's: "AS_REQ (N etypes {…}) ADDR: OUTCOME: …
// CLIENT for SERVER…".
var requestOutcome = regexp.MustCompile(`(AS_REQ|TGS_REQ) \(\d+ etypes \{[^}]*\}\) \S+: ([A-Z_]+): `)

// steadyOutcomes counts the outcomes of steady's requests in the KDC's
// log, by "REQUEST OUTCOME".
func steadyOutcomes(t *testing.T, logFile string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := requestOutcome.FindStringSubmatch(line); m != nil && strings.Contains(line, " steady@"+testRealm+" for ") {
			outcomes[m[1]+" "+m[2]]++
		}
	}
	return outcomes
}

// TestLoadUnderLoad runs kdb5util load on the database of a running
// krb5kdc, as an administrator restoring a dump does, while clients log
// in without pause.
func TestLoadUnderLoad(t *testing.T) {
	r := newReloadRealm(t, "")
	r.startKDC(t)
	r.checkServed(t, r.before)
	r.underTraffic(t, func(t *testing.T, dump string) {
		r.MustRun(t, r.kdb5util, "load", dump)
	})
}

// TestKPropdLoadUnderLoad brings the dumps by propagation: our kprop sends
// each to our kpropd, which loads it into the database our krb5kdc serves
// while clients log in without pause. Our kpropd confirms a propagation
// only after the load committed, so kprop's return marks the switch.
func TestKPropdLoadUnderLoad(t *testing.T) {
	host := mittest.LoopbackHostName(t)
	r := newReloadRealm(t, host)
	kprop := mittest.GoBinary(t, "./cmd/kprop")
	kpropd := mittest.GoBinary(t, "./cmd/kpropd")
	r.startKDC(t)
	r.checkServed(t, r.before)

	// Primary and replica are this one host: kprop's client principal and
	// kpropd's service principal are both host/<host>.
	acl := r.Path("kpropd.acl")
	if err := os.WriteFile(acl, []byte("host/"+host+"@"+testRealm+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(mittest.FreePort(t))
	proc := r.Start(t, kpropd, "-d", "-P", port, "-f", r.Path("from_master"), "-a", acl, "-s", r.keytab, "-r", testRealm)
	proc.WaitPort(t, "tcp", "127.0.0.1:"+port, startTimeout)
	r.underTraffic(t, func(t *testing.T, dump string) {
		r.MustRun(t, kprop, "-f", dump, "-P", port, "-s", r.keytab, host)
	})
}

// TestKadminChangesServed changes the database with kadmin while our
// krb5kdc runs: the first request after kadmin returns sees the change,
// with no retry. A changed password works and the old one is refused; a
// deleted client is unknown, and so is a deleted service to a TGS request.
func TestKadminChangesServed(t *testing.T) {
	mittest.Require(t, "kvno")
	r, _, kadmin, krb5kdc := aliceRealm(t)
	const service = "host/svc.kdc.test"
	r.MustRun(t, kadmin, "-q", "addprinc -pw bob-pw bob")
	r.MustRun(t, kadmin, "-q", "addprinc -randkey "+service)
	proc := r.Start(t, krb5kdc, "-n")
	proc.WaitPort(t, "tcp", r.KDCAddr(), startTimeout)
	kinit(t, r, "bob", "bob-pw", "")
	kinit(t, r, "alice", aliceOldPW, "")
	r.MustRun(t, "kvno", service)

	r.MustRun(t, kadmin, "-q", "cpw -pw "+aliceNewPW+" alice")
	changed := time.Now()
	if kinit(t, r, "alice", aliceNewPW, "") {
		t.Logf("the new password worked %v after kadmin returned", time.Since(changed).Round(time.Millisecond))
	}
	kinit(t, r, "alice", aliceOldPW, passwordIncorrect)

	r.MustRun(t, kadmin, "-q", "delprinc -force bob")
	kinit(t, r, "bob", "bob-pw", fmt.Sprintf(clientNotFound, "bob"))

	// A fresh login empties the cache, so kvno has to ask the KDC again.
	kinit(t, r, "alice", aliceNewPW, "")
	r.MustRun(t, kadmin, "-q", "delprinc -force "+service)
	want := "Server " + service + "@" + testRealm + " not found in Kerberos database while getting credentials for " + service + "@" + testRealm
	if _, stderr, exit := r.Run(t, "kvno", service); exit == 0 || !strings.Contains(stderr, want) {
		t.Errorf("kvno %s after delprinc: exit %d, %q; want a failure saying %q", service, exit, stderr, want)
	}
}
