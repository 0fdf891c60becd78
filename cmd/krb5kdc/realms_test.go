package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// The realms one krb5kdc serves in these tests: A is the mittest realm
// (default_realm, [kdcdefaults] ports), B is added to its files with a
// database and stash of its own; C is in krb5.conf only, served by nobody.
const (
	realmA = "A.TEST"
	realmB = "B.TEST"
	realmC = "C.TEST"
)

// TestSeveralRealms runs one krb5kdc -r A.TEST -r B.TEST and logs in to
// each realm with MIT's kinit and gets a service ticket in each with
// MIT's kvno, once with B on A's port (both realms bind the same address,
// which must be bound once) over UDP, once with B on a port of its own
// over TCP. Each realm answers from its own database with its own
// max_life; a request for a realm not served gets no answer.
func TestSeveralRealms(t *testing.T) {
	mittest.Require(t, "kinit", "kvno", "klist")
	kdb5util := mittest.GoBinary(t, "./cmd/kdb5util")
	kadmin := mittest.GoBinary(t, "./cmd/kadmin")
	krb5kdc := mittest.GoBinary(t, "./cmd/krb5kdc")
	for _, tc := range []struct {
		name         string
		ownPort, tcp bool
	}{
		{"shared port over UDP", false, false},
		{"own port over TCP", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports := mittest.FreePorts(t, 2)
			addrA := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
			addrB := addrA
			bDir := t.TempDir()
			b := []string{
				"database_name = " + filepath.Join(bDir, "principal"),
				"key_stash_file = " + filepath.Join(bDir, "stash"),
				"master_key_type = aes256-cts-hmac-sha1-96",
				"supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal",
				"default_principal_flags = +preauth",
				"max_life = 5h 0m 0s",
			}
			if tc.ownPort {
				addrB = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
				b = append(b, "kdc_listen = "+addrB, "kdc_tcp_listen = "+addrB)
			}
			opts := []mittest.Option{
				mittest.WithKDCPort(ports[0]),
				mittest.WithKDCConfText(realmsSection(realmB, b...)),
				mittest.WithKRB5ConfText(realmsSection(realmB, "kdc = "+addrB) + realmsSection(realmC, "kdc = "+addrA)),
			}
			if tc.tcp {
				opts = append(opts, mittest.WithKRB5Conf("libdefaults", "udp_preference_limit", "1"))
			}
			r := mittest.NewRealm(t, realmA, opts...)
			r.MustRun(t, kdb5util, "-P", "master-a", "create", "-s")
			r.MustRun(t, kadmin, "-q", "addprinc -pw alice-pw alice")
			r.MustRun(t, kadmin, "-q", "addprinc -randkey host/svc.a.test")
			r.MustRun(t, kdb5util, "-r", realmB, "-P", "master-b", "create", "-s")
			r.MustRun(t, kadmin, "-r", realmB, "-q", "addprinc -pw bob-pw bob")
			r.MustRun(t, kadmin, "-r", realmB, "-q", "addprinc -randkey host/svc.b.test")

			proc := r.Start(t, krb5kdc, "-n", "-r", realmA, "-r", realmB)
			proc.WaitPort(t, "tcp", addrA, startTimeout)
			proc.WaitPort(t, "tcp", addrB, startTimeout)

			for _, c := range []struct {
				client, pw, service, realm string
				maxLife                    time.Duration
			}{
				{"alice", "alice-pw", "host/svc.a.test", realmA, 10 * time.Hour},
				{"bob@" + realmB, "bob-pw", "host/svc.b.test@" + realmB, realmB, 5 * time.Hour},
			} {
				if _, stderr, exit := r.RunStdin(t, c.pw+"\n", "kinit", "-l", "1d", c.client); exit != 0 {
					t.Fatalf("kinit %s: exit %d: %s", c.client, exit, stderr)
				}
				service := strings.TrimSuffix(c.service, "@"+c.realm) + "@" + c.realm
				if out := r.MustRun(t, "kvno", c.service); !strings.Contains(out, service+": kvno = 1") {
					t.Errorf("kvno %s: %q", c.service, out)
				}
				tgt := "krbtgt/" + c.realm + "@" + c.realm
				out := r.MustRun(t, "klist")
				if life := ticketLife(t, out, tgt); life != c.maxLife {
					t.Errorf("%s: TGT valid for %v, want the realm's max_life %v:\n%s", c.client, life, c.maxLife, out)
				}
				if !strings.Contains(out, service) {
					t.Errorf("klist lacks %s:\n%s", service, out)
				}
			}

			// Each realm has its own database: alice is A's only.
			want := "Client 'alice@" + realmB + "' not found in Kerberos database while getting initial credentials"
			if _, stderr, exit := r.RunStdin(t, "alice-pw\n", "kinit", "alice@"+realmB); exit == 0 || !strings.Contains(stderr, want) {
				t.Errorf("kinit alice@%s: exit %d, %q; want %q", realmB, exit, stderr, want)
			}
			// No reply for a realm not served: kinit still waits for one
			// (it would wait out its retries, for seconds) when the KDC
			// has logged the request it dropped.
			proto := "udp"
			if tc.tcp {
				proto = "tcp"
			}
			kinit := r.Start(t, "kinit", "alice@"+realmC)
			waitForLog(t, r.LogFile, "Realm not local to KDC - while dispatching ("+proto+")")
			select {
			case <-kinit.Done():
				_, stderr := kinit.Output()
				t.Errorf("kinit alice@%s got an answer: %v, %s", realmC, kinit.State(), stderr)
			default:
			}
			kinit.Stop()

			if st := proc.Stop(); st == nil || !st.Exited() || st.ExitCode() != 0 {
				t.Errorf("krb5kdc after SIGTERM: %v, want exit status 0", st)
			}
			logs, err := os.ReadFile(r.LogFile)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{
				"alice@" + realmA + " for krbtgt/" + realmA + "@" + realmA,
				"bob@" + realmB + " for krbtgt/" + realmB + "@" + realmB,
				"alice@" + realmA + " for host/svc.a.test@" + realmA,
				"bob@" + realmB + " for host/svc.b.test@" + realmB,
			} {
				if !strings.Contains(string(logs), w) {
					t.Errorf("log file lacks %q:\n%s", w, logs)
				}
			}
		})
	}
}

// TestRealmInitFailure compares our krb5kdc with MIT's when a realm's
// database cannot be opened: both name the realm and exit 1.
func TestRealmInitFailure(t *testing.T) {
	mit, ours := mitAndOurs(t)
	r := mittest.NewRealm(t, realmA)
	missing := r.Path("missing")
	want := "krb5kdc: cannot initialize realm NOPE.TEST - see log file for details\n"
	if errOut, exit := compareWithMIT(t, r, mit, ours, "-n", "-d", missing, "-r", "NOPE.TEST"); errOut != want || exit != 1 {
		t.Errorf("MIT's krb5kdc: exit %d, stderr %q; the test expects exit 1, %q", exit, errOut, want)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("%s created", missing)
	}

	// The second realm failing ends the KDC the same way, after the
	// first opened.
	aliceR, _, _, _ := aliceRealm(t)
	_, errOut, exit := aliceR.Run(t, ours, "-n", "-r", testRealm, "-d", missing, "-r", "NOPE.TEST")
	if errOut != want || exit != 1 {
		t.Errorf("krb5kdc -r %s -d %s -r NOPE.TEST: exit %d, stderr %q; want exit 1, %q", testRealm, missing, exit, errOut, want)
	}
}

// waitForLog waits for a line containing text in the log file.
func waitForLog(t *testing.T, path, text string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		data, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(data), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %s after %v:\n%s", text, path, startTimeout, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// realmsSection is a [realms] section holding one realm's relations, for
// WithKDCConfText and WithKRB5ConfText: MIT's profile library, as ours,
// merges it with the [realms] section mittest writes.
func realmsSection(realm string, relations ...string) string {
	return "[realms]\n\t" + realm + " = {\n\t\t" + strings.Join(relations, "\n\t\t") + "\n\t}\n"
}

// ticketLife is how long the ticket for service in klist's output is
// valid.
func ticketLife(t *testing.T, klist, service string) time.Duration {
	t.Helper()
	for _, line := range strings.Split(klist, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[4] == service {
			start, err1 := time.Parse(klistTime, f[0]+" "+f[1])
			end, err2 := time.Parse(klistTime, f[2]+" "+f[3])
			if err1 != nil || err2 != nil {
				t.Fatalf("klist line %q: %v, %v", line, err1, err2)
			}
			return end.Sub(start)
		}
	}
	t.Fatalf("klist lists no %s:\n%s", service, klist)
	return 0
}

// klistTime is how MIT's klist prints times in the C locale (%x %X).
const klistTime = "01/02/06 15:04:05"
