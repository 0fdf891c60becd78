package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// The interop tests run our krb5kdc as a separate program in a private
// realm created with our kdb5util and kadmin, and MIT's kinit and kvno as
// its clients.

func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }

const testRealm = "KDC.TEST"

const startTimeout = 20 * time.Second

// TestMITClients logs in with MIT's kinit and gets a service ticket with
// MIT's kvno from our krb5kdc -n, over UDP and over TCP, then stops it
// with SIGTERM, which must end it with status 0.
func TestMITClients(t *testing.T) {
	mittest.Require(t, "kinit", "kvno", "klist")
	kdb5util := mittest.GoBinary(t, "./cmd/kdb5util")
	kadmin := mittest.GoBinary(t, "./cmd/kadmin")
	krb5kdc := mittest.GoBinary(t, "./cmd/krb5kdc")
	for _, tcp := range []bool{false, true} {
		name := "udp"
		var opts []mittest.Option
		if tcp {
			name = "tcp"
			opts = append(opts, mittest.WithKRB5Conf("libdefaults", "udp_preference_limit", "1"))
		}
		t.Run(name, func(t *testing.T) {
			r := mittest.NewRealm(t, testRealm, opts...)
			r.MustRun(t, kdb5util, "-P", "master-pw", "create", "-s")
			r.MustRun(t, kadmin, "-q", "addprinc -pw alice-pw alice")
			r.MustRun(t, kadmin, "-q", "addprinc -randkey host/svc.kdc.test")
			pidFile := r.Path("krb5kdc.pid")
			proc := r.Start(t, krb5kdc, "-n", "-P", pidFile)
			proc.WaitPort(t, "tcp", r.KDCAddr(), startTimeout)

			_, stderr, exit := r.RunStdin(t, "wrong-pw\n", "kinit", "alice")
			if exit == 0 || !strings.Contains(stderr, "Password incorrect while getting initial credentials") {
				t.Errorf("kinit with a wrong password: exit %d, %q", exit, stderr)
			}
			if _, stderr, exit = r.RunStdin(t, "alice-pw\n", "kinit", "alice"); exit != 0 {
				t.Fatalf("kinit: exit %d: %s", exit, stderr)
			}
			out := r.MustRun(t, "kvno", "host/svc.kdc.test")
			if !strings.Contains(out, "host/svc.kdc.test@"+testRealm+": kvno = 1") {
				t.Errorf("kvno: %q", out)
			}
			out = r.MustRun(t, "klist")
			if !strings.Contains(out, "krbtgt/"+testRealm+"@"+testRealm) || !strings.Contains(out, "host/svc.kdc.test@"+testRealm) {
				t.Errorf("klist:\n%s", out)
			}
			if _, err := os.Stat(pidFile); err != nil {
				t.Errorf("pid file: %v", err)
			}

			// SIGHUP reopens the log file, as after logrotate moved it.
			if err := os.Rename(r.LogFile, r.LogFile+".1"); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(proc.Pid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(startTimeout)
			for {
				if _, err := os.Stat(r.LogFile); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no new log file after SIGHUP")
				}
				time.Sleep(20 * time.Millisecond)
			}

			st := proc.Stop()
			if st == nil || !st.Exited() || st.ExitCode() != 0 {
				t.Errorf("krb5kdc after SIGTERM: %v, want exit status 0", st)
			}
			_, errOut := proc.Output()
			if !strings.Contains(errOut, "krb5kdc: starting...") {
				t.Errorf("krb5kdc -n stderr %q lacks MIT's \"krb5kdc: starting...\"", errOut)
			}
			logs, err := os.ReadFile(r.LogFile)
			if err != nil {
				t.Fatal(err)
			}
			rotated, err := os.ReadFile(r.LogFile + ".1")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(rotated), "commencing operation") {
				t.Errorf("rotated log file lacks \"commencing operation\":\n%s", rotated)
			}
			for _, want := range []string{"shutting down"} {
				if !strings.Contains(string(logs), want) {
					t.Errorf("log file lacks %q:\n%s", want, logs)
				}
			}
			if _, err := os.Stat(pidFile); err == nil {
				t.Errorf("pid file %s left behind", pidFile)
			}
		})
	}
}

// TestBadCommandLine compares our usage message and exit status with MIT's
// krb5kdc for command lines getopt rejects.
func TestBadCommandLine(t *testing.T) {
	mit, ours := mitAndOurs(t)
	r := mittest.NewRealm(t, testRealm)
	for _, args := range [][]string{{"-Z"}, {"-p"}, {"-n", "-w"}, {"-q", "-n"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			compareWithMIT(t, r, mit, ours, args...)
		})
	}
}

// mitAndOurs returns the paths of MIT's krb5kdc and ours.
func mitAndOurs(t *testing.T) (mit, ours string) {
	t.Helper()
	mittest.Require(t, "krb5kdc")
	mit, err := mittest.LookPath("krb5kdc")
	if err != nil {
		t.Fatal(err)
	}
	return mit, mittest.GoBinary(t, "./cmd/krb5kdc")
}

// compareWithMIT runs MIT's krb5kdc and ours with args in r, and fails the
// test unless both write the same and exit with the same status. It
// returns MIT's standard error and exit status.
func compareWithMIT(t *testing.T, r *mittest.Realm, mit, ours string, args ...string) (stderr string, exit int) {
	t.Helper()
	mitOut, mitErr, mitExit := r.Run(t, mit, args...)
	out, errOut, exit := r.Run(t, ours, args...)
	// Both name themselves by the base name of argv[0].
	mitErr = strings.ReplaceAll(mitErr, filepath.Dir(mit)+"/", "")
	if out != mitOut || errOut != mitErr || exit != mitExit {
		t.Errorf("krb5kdc %v:\nours: exit %d, stdout %q, stderr %q\nMIT:  exit %d, stdout %q, stderr %q",
			args, exit, out, errOut, mitExit, mitOut, mitErr)
	}
	return mitErr, mitExit
}

// TestDetach starts krb5kdc without -n: the command returns once the
// detached KDC serves, which writes its pid file and ends on SIGTERM.
func TestDetach(t *testing.T) {
	r, _, _, krb5kdc := aliceRealm(t)
	pidFile := r.Path("krb5kdc.pid")
	r.MustRun(t, krb5kdc, "-P", pidFile)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("pid file after the parent returned: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file %q: %v", data, err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	t.Cleanup(stop)
	if _, stderr, exit := r.RunStdin(t, "alice-pw\n", "kinit", "alice"); exit != 0 {
		t.Fatalf("kinit: exit %d: %s", exit, stderr)
	}
	stop()
	deadline := time.Now().Add(startTimeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("krb5kdc %d still runs after SIGTERM", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(pidFile); err == nil {
		t.Errorf("pid file %s left behind", pidFile)
	}
}

// TestServesLoadedDatabase loads a dump into the database while our
// krb5kdc runs, as kpropd does on a replica: the next request sees the
// loaded principals without a restart or a signal.
func TestServesLoadedDatabase(t *testing.T) {
	r, kdb5util, kadmin, krb5kdc := aliceRealm(t)
	before := r.Path("before.dump")
	r.MustRun(t, kdb5util, "dump", before)
	r.MustRun(t, kadmin, "-q", "addprinc -pw bob-pw bob")
	after := r.Path("after.dump")
	r.MustRun(t, kdb5util, "dump", after)
	r.MustRun(t, kdb5util, "load", before)

	proc := r.Start(t, krb5kdc, "-n")
	proc.WaitPort(t, "tcp", r.KDCAddr(), startTimeout)
	if _, stderr, exit := r.RunStdin(t, "alice-pw\n", "kinit", "alice"); exit != 0 {
		t.Fatalf("kinit alice: exit %d: %s", exit, stderr)
	}
	want := "Client 'bob@" + testRealm + "' not found in Kerberos database while getting initial credentials"
	if _, stderr, exit := r.RunStdin(t, "bob-pw\n", "kinit", "bob"); exit == 0 || !strings.Contains(stderr, want) {
		t.Fatalf("kinit bob before the load: exit %d, %q; want %q", exit, stderr, want)
	}
	r.MustRun(t, kdb5util, "load", after)
	if _, stderr, exit := r.RunStdin(t, "bob-pw\n", "kinit", "bob"); exit != 0 {
		t.Fatalf("kinit bob after the load: exit %d: %s", exit, stderr)
	}
	if st := proc.Stop(); st == nil || !st.Exited() || st.ExitCode() != 0 {
		t.Errorf("krb5kdc after SIGTERM: %v, want exit status 0", st)
	}
	// The log names every client and service: like MIT's, it is not for
	// everyone to read.
	if fi, err := os.Stat(r.LogFile); err != nil || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("log file %s: %v, mode %v; want no access for others", r.LogFile, err, fi.Mode())
	}
}

// aliceRealm is a realm made with our kdb5util and kadmin, holding alice
// (password alice-pw), and the programs the tests run on it.
func aliceRealm(t *testing.T) (r *mittest.Realm, kdb5util, kadmin, krb5kdc string) {
	t.Helper()
	mittest.Require(t, "kinit")
	kdb5util = mittest.GoBinary(t, "./cmd/kdb5util")
	kadmin = mittest.GoBinary(t, "./cmd/kadmin")
	krb5kdc = mittest.GoBinary(t, "./cmd/krb5kdc")
	r = mittest.NewRealm(t, testRealm)
	r.MustRun(t, kdb5util, "-P", "master-pw", "create", "-s")
	r.MustRun(t, kadmin, "-q", "addprinc -pw alice-pw alice")
	return r, kdb5util, kadmin, krb5kdc
}

// TestSystemdSocketActivation starts krb5kdc as systemd does for a socket
// unit with ListenDatagram= (Accept=no): systemd-socket-activate binds the
// realm's UDP port and starts the KDC with the socket in LISTEN_FDS when
// the first request arrives, and MIT's kinit is answered on it.
func TestSystemdSocketActivation(t *testing.T) {
	mittest.Require(t, "systemd-socket-activate")
	r, _, _, krb5kdc := aliceRealm(t)
	args := []string{"--datagram", "-l", r.KDCAddr()}
	// systemd-socket-activate passes on only the variables named.
	for _, kv := range r.Env() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "KRB5") {
			args = append(args, "-E", name)
		}
	}
	proc := r.Start(t, "systemd-socket-activate", append(args, krb5kdc, "-n")...)
	proc.WaitPort(t, "udp", r.KDCAddr(), startTimeout)
	if _, stderr, exit := r.RunStdin(t, "alice-pw\n", "kinit", "alice"); exit != 0 {
		t.Fatalf("kinit over the activated socket: exit %d: %s", exit, stderr)
	}
	log, err := os.ReadFile(r.LogFile)
	if err != nil || !strings.Contains(string(log), "ISSUE: authtime") {
		t.Errorf("KDC log %q, %v; want the issued ticket", log, err)
	}
}

// TestSystemdNotify runs the shipped krb5kdc.service's command as systemd
// would for Type=notify: READY=1 comes once the KDC answers, MIT's kinit
// works, and SIGTERM brings STOPPING=1 and a clean exit.
func TestSystemdNotify(t *testing.T) {
	root, err := mittest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(root, "systemd", "krb5kdc.service")
	if got := mittest.UnitValues(t, unit, "Type"); !slices.Equal(got, []string{"notify"}) {
		t.Errorf("krb5kdc.service: Type=%q, want notify", got)
	}
	exec := mittest.UnitValues(t, unit, "ExecStart")
	if len(exec) != 1 || !strings.HasPrefix(exec[0], "/usr/local/sbin/krb5kdc") {
		t.Fatalf("krb5kdc.service: ExecStart %q", exec)
	}
	r, _, _, krb5kdc := aliceRealm(t)
	notify, messages := mittest.NotifySocket(t)
	r.ExtraEnv = append(r.ExtraEnv, "NOTIFY_SOCKET="+notify)
	proc := r.Start(t, krb5kdc, strings.Fields(exec[0])[1:]...)
	mittest.WaitNotify(t, messages, "READY=1", startTimeout)
	if _, stderr, exit := r.RunStdin(t, "alice-pw\n", "kinit", "alice"); exit != 0 {
		t.Fatalf("kinit: exit %d: %s", exit, stderr)
	}
	syscall.Kill(proc.Pid(), syscall.SIGTERM)
	mittest.WaitNotify(t, messages, "STOPPING=1", startTimeout)
	if st := proc.Wait(t, startTimeout); !st.Success() {
		t.Errorf("krb5kdc after SIGTERM: %v", st)
	}
}

// TestWaitForDatabase: a new replica's KDC started before its first
// propagation waits for the database with --wait-for-database and serves
// once it appears; with a limit it gives up with a message, and without
// the flag it exits at once, as MIT's does.
func TestWaitForDatabase(t *testing.T) {
	r, _, _, krb5kdc := aliceRealm(t)
	// The first propagation is simulated by putting the database back.
	hold := r.Path("held")
	if err := os.Mkdir(hold, 0o700); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(r.DBName + "*")
	move := func(from, to string) {
		for _, f := range files {
			if err := os.Rename(filepath.Join(from, filepath.Base(f)), filepath.Join(to, filepath.Base(f))); err != nil {
				t.Fatal(err)
			}
		}
	}
	move(filepath.Dir(r.DBName), hold)

	if _, stderr, exit := r.Run(t, krb5kdc, "-n"); exit == 0 {
		t.Errorf("krb5kdc without a database and without --wait-for-database: exit 0\n%s", stderr)
	}
	_, stderr, exit := r.Run(t, krb5kdc, "-n", "--wait-for-database=1s")
	if exit != 1 || !strings.Contains(stderr, "no database for realm "+testRealm+" at "+r.DBName+" after 1s") {
		t.Errorf("--wait-for-database=1s: exit %d\n%s", exit, stderr)
	}
	if _, stderr, exit := r.Run(t, krb5kdc, "-n", "--wait-for-database=soon"); exit != 1 || !strings.Contains(stderr, "wants a duration") {
		t.Errorf("--wait-for-database=soon: exit %d\n%s", exit, stderr)
	}

	notify, messages := mittest.NotifySocket(t)
	r.ExtraEnv = append(r.ExtraEnv, "NOTIFY_SOCKET="+notify)
	proc := r.Start(t, krb5kdc, "-n", "--wait-for-database=0")
	waitStderr(t, proc, "waiting for the database of realm "+testRealm)
	move(hold, filepath.Dir(r.DBName))
	mittest.WaitNotify(t, messages, "READY=1", startTimeout)
	if _, stderr, exit := r.RunStdin(t, "alice-pw\n", "kinit", "alice"); exit != 0 {
		t.Fatalf("kinit once the database is there: exit %d: %s", exit, stderr)
	}
}

// waitStderr waits until the process has written want to standard error.
func waitStderr(t *testing.T, p *mittest.Process, want string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		if _, stderr := p.Output(); strings.Contains(stderr, want) {
			return
		}
		if p.State() != nil || time.Now().After(deadline) {
			_, stderr := p.Output()
			t.Fatalf("%s never wrote %q (state %v)\n%s", p.Name, want, p.State(), stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
