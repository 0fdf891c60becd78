package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/internal/synth"
	"github.com/krb5prop/krb5prop/kdb"
)

// propagate sends the realm's dump with kprop of impl to the kpropd on
// port and checks that the replica received and loaded it.
func (p *primary) propagate(t *testing.T, impl tools, r *replicaHost, port string) {
	t.Helper()
	os.Remove(r.file)
	stdout, stderr, exit := p.kprop(t, impl, p.dumpFile(t, len(p.dump)), port)
	if exit != 0 || stdout != "Database propagation to "+p.host+": SUCCEEDED\n" {
		t.Fatalf("%s kprop: exit %d\nstdout:\n%s\nstderr:\n%s", impl.name, exit, stdout, stderr)
	}
	if got := mittest.ReadFile(t, r.file); !bytes.Equal(got, p.dump) {
		t.Errorf("the replica received %d bytes, not the %d-byte dump", len(got), len(p.dump))
	}
	if got := r.dumpDatabase(t); !bytes.Equal(got, p.dump) {
		t.Errorf("the replica's dump differs from the primary's")
	}
}

// TestStandaloneForeground: with -d or -D our kpropd stays in the
// foreground and prints MIT's "ready" once it listens.
func TestStandaloneForeground(t *testing.T) {
	ours := ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	for _, flag := range []string{"-d", "-D"} {
		t.Run(flag, func(t *testing.T) {
			r := p.newReplica(t, ours)
			port := strconv.Itoa(mittest.FreePort(t))
			proc := r.Start(t, ours.kpropd, append([]string{flag, "-t", "-P", port}, r.kpropdArgs()...)...)
			waitOutput(t, proc, "ready\n", startTimeout)
			mittest.WaitPort(t, "tcp", "127.0.0.1:"+port, 0)
			if stdout, _ := proc.Output(); stdout != "ready\n" {
				t.Errorf("stdout %q, want MIT's ready line", stdout)
			}
			p.propagate(t, ours, r, port)
			if st := proc.Wait(t, runTimeout); !st.Success() {
				t.Errorf("kpropd -t: %v", st)
			}
		})
	}
}

// TestDaemonised: without -d or -D our kpropd detaches; the command
// returns 0 only once the daemon listens, the pid file names it, and
// SIGTERM stops it and removes the pid file. A port in use is reported
// before the command returns.
func TestDaemonised(t *testing.T) {
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	r := p.newReplica(t, ours)
	port := strconv.Itoa(mittest.FreePort(t))
	pidFile := r.Path("kpropd.pid")
	stdout, stderr, exit := r.Run(t, ours.kpropd, append([]string{"-P", port, "--pid-file=" + pidFile}, r.kpropdArgs()...)...)
	pidText, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if pid > 0 {
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	}
	if exit != 0 || stdout != "" || pid <= 0 {
		t.Fatalf("kpropd: exit %d, pid file %q\nstdout:\n%s\nstderr:\n%s", exit, pidText, stdout, stderr)
	}
	// Listening already: the parent waited for the daemon.
	mittest.WaitPort(t, "tcp", "127.0.0.1:"+port, 0)
	if sid := procStatField(t, pid, 6); sid != strconv.Itoa(pid) {
		t.Errorf("the daemon's session is %s, want one of its own (%d)", sid, pid)
	}
	p.propagate(t, mit, r, port)
	p.propagate(t, ours, r, port)

	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(startTimeout)
	for state := procStatField(t, pid, 3); state != "" && state != "Z"; state = procStatField(t, pid, 3) {
		if time.Now().After(deadline) {
			t.Fatalf("kpropd %d still running after SIGTERM", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if exists(pidFile) {
		t.Errorf("%s left behind", pidFile)
	}

	// The port taken: the daemon cannot bind, and says so while the
	// command still runs.
	held, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	stdout, stderr, exit = r.Run(t, ours.kpropd, append([]string{"-P", port, "--pid-file=" + pidFile}, r.kpropdArgs()...)...)
	if exit != 1 || !strings.Contains(stderr, "kpropd: Address already in use while binding listener socket\n") || exists(pidFile) {
		t.Errorf("kpropd on a taken port: exit %d\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
}

// procStatField is field n (numbered as in proc(5): 3 is the state, 6
// the session) of /proc/pid/stat, or "" if there is no such process.
func procStatField(t *testing.T, pid, n int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// Fields 1 and 2 are the pid and the name in parentheses, which may
	// hold spaces; the others follow the last parenthesis.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if n < 3 || n-3 >= len(f) {
		t.Fatalf("no field %d in %q", n, s)
	}
	return f[n-3]
}

// TestInetd runs our kpropd under openbsd-inetd from the line shipped in
// inetd/inetd.conf, with only the port (and address), the program's path,
// the user and the test's files put in: inetd accepts the line, and every
// propagation gets a kpropd of its own on the connection.
func TestInetd(t *testing.T) {
	mittest.Require(t, "inetd")
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	r := p.newReplica(t, ours)
	root, err := mittest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var shipped []string
	for _, l := range lines(string(mittest.ReadFile(t, filepath.Join(root, "inetd", "inetd.conf")))) {
		if l != "" && !strings.HasPrefix(l, "#") {
			shipped = strings.Fields(l)
		}
	}
	// service socket-type protocol wait user program argv0 [args]
	if len(shipped) != 7 || shipped[0] != "krb5_prop" || shipped[5] != "/usr/local/sbin/kpropd" {
		t.Fatalf("inetd/inetd.conf: unexpected line %q", shipped)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(mittest.FreePort(t))
	line := append([]string{}, shipped...)
	line[0], line[4], line[5] = "127.0.0.1:"+port, me.Username, ours.kpropd
	line = append(line, r.kpropdArgs()...)
	conf := r.Path("inetd.conf")
	writeFile(t, conf, []byte(strings.Join(line, "\t")+"\n"))

	// -d: the foreground, and a log of what was read; -E: keep the
	// environment naming the test's realm.
	inetd := []string{"inetd", "-d", "-E", conf}
	if os.Geteuid() == 0 {
		// inetd writes /run/inetd.pid; as root, give it a /run of its
		// own so a real inetd's pid file is not overwritten (where
		// mount namespaces are allowed: not in every container).
		unshare, err := exec.LookPath("unshare")
		if err == nil && exec.Command(unshare, "--mount", "--propagation", "private", "true").Run() == nil {
			run := r.Path("run")
			os.Mkdir(run, 0o755)
			inetd = []string{unshare, "--mount", "--propagation", "private", "sh", "-c",
				`mount --bind "$0" /run && exec "$@"`, run, "/usr/sbin/inetd", "-d", "-E", conf}
		}
	}
	proc := r.Start(t, inetd[0], inetd[1:]...)
	proc.WaitPort(t, "tcp", "127.0.0.1:"+port, startTimeout)
	waitOutput(t, proc, "server="+ours.kpropd, startTimeout)
	p.propagate(t, mit, r, port)
	p.propagate(t, ours, r, port)
}

// TestXinetd runs our kpropd under xinetd from the shipped
// inetd/xinetd.d/kpropd, with only what a test needs added (a high port on
// loopback, the program's path and arguments, the test's user and
// environment): xinetd accepts the file, and every propagation gets a
// kpropd of its own on the connection. xinetd conflicts with
// openbsd-inetd, so scripts/deps.sh unpacks it into .deps.
func TestXinetd(t *testing.T) {
	mittest.Require(t, "xinetd")
	xinetd, err := mittest.LookPath("xinetd")
	if err != nil {
		t.Fatal(err)
	}
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	r := p.newReplica(t, ours)
	root, err := mittest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(mittest.FreePort(t))
	var env []string
	for _, kv := range r.Env() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "KRB5") {
			env = append(env, name)
		}
	}
	var conf []string
	sawServer := false
	for _, l := range lines(string(mittest.ReadFile(t, filepath.Join(root, "inetd", "xinetd.d", "kpropd")))) {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "server":
			l, sawServer = "\tserver = "+ours.kpropd, true
		case len(f) >= 3 && f[0] == "user":
			l = "\tuser = " + me.Username
		case l == "}":
			conf = append(conf, "\ttype = UNLISTED", "\tport = "+port, "\tbind = 127.0.0.1",
				"\tserver_args = "+strings.Join(r.kpropdArgs(), " "), "\tpassenv = "+strings.Join(env, " "))
		}
		conf = append(conf, l)
	}
	if !sawServer || !slices.Contains(conf, "service krb5_prop") {
		t.Fatalf("inetd/xinetd.d/kpropd: no krb5_prop service with a server line:\n%s", strings.Join(conf, "\n"))
	}
	path := r.Path("xinetd.conf")
	writeFile(t, path, []byte(strings.Join(conf, "\n")+"\n"))
	proc := r.Start(t, xinetd, "-dontfork", "-stayalive", "-f", path, "-pidfile", r.Path("xinetd.pid"), "-filelog", r.Path("xinetd.log"))
	proc.WaitPort(t, "tcp", "127.0.0.1:"+port, startTimeout)
	p.propagate(t, mit, r, port)
	p.propagate(t, ours, r, port)
}

// unitFile is the path of a shipped systemd unit.
func unitFile(t *testing.T, name string) string {
	t.Helper()
	root, err := mittest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "systemd", name)
}

// unitCommand is a unit's ExecStart with the installed program replaced
// by the one under test.
func unitCommand(t *testing.T, unit, program string) []string {
	t.Helper()
	exec := mittest.UnitValues(t, unitFile(t, unit), "ExecStart")
	if len(exec) != 1 {
		t.Fatalf("%s: ExecStart %q", unit, exec)
	}
	argv := strings.Fields(exec[0])
	if argv[0] != "/usr/local/sbin/"+filepath.Base(program) {
		t.Fatalf("%s runs %s, not /usr/local/sbin/%s", unit, argv[0], filepath.Base(program))
	}
	return append([]string{program}, argv[1:]...)
}

// TestSystemdSocketActivation runs our kpropd as systemd starts it, with
// systemd-socket-activate: per connection as the shipped kpropd.socket
// and kpropd@.service say (Accept=yes, the connection on standard input),
// and once with the listening socket passed in LISTEN_FDS (Accept=no).
func TestSystemdSocketActivation(t *testing.T) {
	mittest.Require(t, "systemd-socket-activate")
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	var perConnection []string
	if got := mittest.UnitValues(t, unitFile(t, "kpropd.socket"), "Accept"); slices.Equal(got, []string{"yes"}) {
		perConnection = append(perConnection, "--accept")
	} else {
		t.Errorf("kpropd.socket: Accept=%q, want yes (kpropd@.service serves one connection)", got)
	}
	if got := mittest.UnitValues(t, unitFile(t, "kpropd@.service"), "StandardInput"); slices.Equal(got, []string{"socket"}) {
		perConnection = append(perConnection, "--inetd")
	} else {
		t.Errorf("kpropd@.service: StandardInput=%q, want socket", got)
	}
	if got := mittest.UnitValues(t, unitFile(t, "kpropd.socket"), "ListenStream"); !slices.Equal(got, []string{"754"}) {
		t.Errorf("kpropd.socket: ListenStream=%q, want 754 (tests listen on a free port instead)", got)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		command []string
	}{
		{"Accept=yes", perConnection, unitCommand(t, "kpropd@.service", ours.kpropd)},
		{"Accept=no", nil, []string{ours.kpropd}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := p.newReplica(t, ours)
			port := strconv.Itoa(mittest.FreePort(t))
			args := append([]string{"-l", "127.0.0.1:" + port}, tc.args...)
			// systemd-socket-activate passes on only the variables named.
			for _, kv := range r.Env() {
				if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "KRB5") {
					args = append(args, "-E", name)
				}
			}
			args = append(append(append(args, tc.command...), "-d"), r.kpropdArgs()...)
			proc := r.Start(t, "systemd-socket-activate", args...)
			proc.WaitPort(t, "tcp", "127.0.0.1:"+port, startTimeout)
			p.propagate(t, mit, r, port)
			p.propagate(t, ours, r, port)
		})
	}
}

// TestSystemdNotify runs the shipped kpropd.service's command as systemd
// would for Type=notify: READY=1 comes once kpropd listens, a propagation
// works, and SIGTERM brings STOPPING=1 and a clean exit.
func TestSystemdNotify(t *testing.T) {
	if got := mittest.UnitValues(t, unitFile(t, "kpropd.service"), "Type"); !slices.Equal(got, []string{"notify"}) {
		t.Errorf("kpropd.service: Type=%q, want notify", got)
	}
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	r := p.newReplica(t, ours)
	notify, messages := mittest.NotifySocket(t)
	r.ExtraEnv = append(r.ExtraEnv, "NOTIFY_SOCKET="+notify)
	port := strconv.Itoa(mittest.FreePort(t))
	command := append(unitCommand(t, "kpropd.service", ours.kpropd), append([]string{"-P", port}, r.kpropdArgs()...)...)
	proc := r.Start(t, command[0], command[1:]...)
	mittest.WaitNotify(t, messages, "READY=1", startTimeout)
	mittest.WaitPort(t, "tcp", "127.0.0.1:"+port, 0)
	p.propagate(t, mit, r, port)
	syscall.Kill(proc.Pid(), syscall.SIGTERM)
	mittest.WaitNotify(t, messages, "STOPPING=1", startTimeout)
	if st := proc.Wait(t, runTimeout); !st.Success() {
		t.Errorf("kpropd after SIGTERM: %v", st)
	}
}

// TestSystemdUnitsVerify checks every shipped unit file with
// systemd-analyze verify, the programs' paths put in.
func TestSystemdUnitsVerify(t *testing.T) {
	mittest.Require(t, "systemd-analyze")
	root, err := mittest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	programs := map[string]string{
		"/usr/local/sbin/kpropd":             mittest.GoBinary(t, "./cmd/kpropd"),
		"/usr/local/sbin/krb5kdc":            mittest.GoBinary(t, "./cmd/krb5kdc"),
		"/usr/local/sbin/krb5prop-propagate": filepath.Join(root, "examples", "propagate.sh"),
	}
	units, _ := filepath.Glob(filepath.Join(root, "systemd", "*"))
	for _, want := range []string{"kpropd.service", "kpropd.socket", "kpropd@.service", "krb5kdc.service"} {
		if !slices.Contains(units, filepath.Join(root, "systemd", want)) {
			t.Errorf("systemd/ lacks %s", want)
		}
	}
	// All copies first: a socket unit is verified with its service.
	dir := t.TempDir()
	var copies []string
	for _, u := range units {
		text := string(mittest.ReadFile(t, u))
		for _, exec := range mittest.UnitValues(t, u, "ExecStart") {
			installed := strings.Fields(exec)[0]
			if programs[installed] == "" {
				t.Errorf("%s: ExecStart runs %s, not a program krb5prop installs", u, installed)
			}
		}
		for installed, built := range programs {
			text = strings.ReplaceAll(text, installed, built)
		}
		c := filepath.Join(dir, filepath.Base(u))
		writeFile(t, c, []byte(text))
		copies = append(copies, c)
	}
	for _, c := range copies {
		out, err := exec.Command("systemd-analyze", "verify", c).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(c), err, out)
		}
	}
}

// TestSIGTERMDuringLoad stops our kpropd with SIGTERM while it loads a
// large dump: it exits, and the replica's database holds exactly the old
// realm or exactly the new one.
func TestSIGTERMDuringLoad(t *testing.T) {
	ours := ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	r := p.newReplica(t, ours)
	const users = 50000
	writeSynth := func(path string, gen int32) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := synth.WriteDump(f, synth.Realm{Name: testRealm, MasterPassword: "master-pw", Users: users, Generation: gen}); err != nil {
			t.Fatal(err)
		}
	}
	writeSynth(r.Path("gen1.dump"), 1)
	r.MustRun(t, ours.kdb5util, "load", r.Path("gen1.dump"))
	gen2 := p.Path("gen2.dump")
	writeSynth(gen2, 2)
	writeFile(t, gen2+".dump_ok", []byte{0})

	kpropd, port := r.startKpropd(t, "-t")
	kprop := p.Start(t, ours.kprop, "-f", gen2, "-P", port, "-s", p.keytab, p.host)
	waitOutput(t, kpropd, "calling kdb5_util to load database", runTimeout)
	syscall.Kill(kpropd.Pid(), syscall.SIGTERM)
	kpropd.Wait(t, 20*time.Second)
	kpropState := kprop.Wait(t, runTimeout)

	s, err := kdb.Open(r.DBName, kdb.ReadOnly)
	if err != nil {
		t.Fatalf("the database does not open after SIGTERM: %v", err)
	}
	defer s.Close()
	n, gens := 0, map[int32]int{}
	ctx := context.Background()
	err = s.Snapshot(ctx, func(v *kdb.View) error {
		return v.Principals(ctx, false, func(p *kdb.Principal) error {
			n++
			if strings.HasPrefix(p.Name.Components[0], "user") {
				gens[p.MaxRenewableLife]++
			}
			return nil
		})
	})
	oldRealm := gens[1] == users
	switch {
	case err != nil:
		t.Fatal(err)
	case n != users+4 || len(gens) != 1:
		t.Fatalf("after SIGTERM the database holds %d principals of generations %v", n, gens)
	case oldRealm && kpropState.Success():
		t.Errorf("the old realm is in place but kprop reported success")
	case oldRealm:
		t.Logf("SIGTERM stopped the load; the old realm is in place")
	default:
		t.Logf("SIGTERM came after the load committed; the new realm is in place")
	}
	if m, _ := filepath.Glob(r.DBName + ".load-*"); len(m) > 0 {
		t.Errorf("scratch files left behind: %v", m)
	}
}

// TestDatagramSocketRefused starts our kpropd with a UDP socket on
// standard input, as a unit file with ListenDatagram= would: it says what
// is wrong and exits 1 instead of waiting for a connection that cannot
// come.
func TestDatagramSocketRefused(t *testing.T) {
	ours := ourTools(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	f, err := pc.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(ours.kpropd, "-d")
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "datagram socket") {
		t.Errorf("kpropd with a UDP socket: %v, %q; want exit 1 naming the datagram socket", err, out)
	}
}
