package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// The interop tests run MIT's kprop and kpropd and ours as separate
// programs in private realms: an MIT KDC issues the tickets, and each
// kpropd has a replica directory of its own (MIT's DB2 files and our
// database cannot share one).

func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }

const testRealm = "KRBTEST.COM"

// startTimeout bounds the wait for a daemon's port; runTimeout the wait
// for a one-shot kpropd (-t) to finish its session.
const (
	startTimeout = 20 * time.Second
	runTimeout   = 60 * time.Second
)

// tools is one implementation of the propagation programs, as paths:
// MIT's in /usr/sbin, or our built commands.
type tools struct {
	name                    string
	kprop, kpropd, kdb5util string
}

func mitTools(t *testing.T) tools {
	t.Helper()
	mittest.Require(t, "krb5kdc", "kdb5_util", "kadmin.local", "kprop", "kpropd")
	path := func(tool string) string {
		p, err := mittest.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	return tools{name: "MIT", kprop: path("kprop"), kpropd: path("kpropd"), kdb5util: path("kdb5_util")}
}

func ourTools(t *testing.T) tools {
	t.Helper()
	return tools{name: "ours", kprop: mittest.GoBinary(t, "./cmd/kprop"),
		kpropd: mittest.GoBinary(t, "./cmd/kpropd"), kdb5util: mittest.GoBinary(t, "./cmd/kdb5util")}
}

// bareNames replaces the programs' paths in out by their names: MIT's
// tools start their messages with argv[0] as invoked, and so do ours, so
// only the names can be compared across implementations.
func (tl tools) bareNames(out string) string {
	for _, p := range []string{tl.kprop, tl.kpropd, tl.kdb5util} {
		out = strings.ReplaceAll(out, p, filepath.Base(p))
	}
	return out
}

// hostOptions make MIT's library and ours both name this host host/<name>.
func hostOptions(opts ...mittest.Option) []mittest.Option {
	return append([]mittest.Option{mittest.WithKRB5Conf("libdefaults", "qualify_shortname", `""`)}, opts...)
}

// primary is the propagating side: an MIT realm with a running KDC, the
// host principal (kprop's client and every kpropd's acceptor, as primary
// and replica are one machine here) with one key of one enctype, which the
// KDC also uses for the session key, a keytab holding it, and a dump of
// the database.
type primary struct {
	*mittest.Realm
	host    string
	enctype string
	keytab  string // host/<this host>, kvno 2
	dump    []byte // kdb5_util dump of the realm

	// Keytabs a misconfigured replica might have: the host key's first
	// version, and only another service's key.
	oldKeytab, otherKeytab string
}

func newPrimary(t *testing.T, enctype string) *primary {
	t.Helper()
	mittest.Require(t, "krb5kdc", "kdb5_util", "kadmin.local")
	p := &primary{Realm: mittest.NewRealm(t, testRealm, hostOptions()...), host: mittest.LoopbackHostName(t), enctype: enctype}
	p.keytab = p.Path("host.keytab")
	p.oldKeytab = p.Path("host-kvno1.keytab")
	p.otherKeytab = p.Path("other.keytab")
	p.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	princ := "host/" + p.host
	keys := "-e " + enctype + ":normal "
	// Without session_enctypes MIT's KDC assumes every service supports
	// aes256-cts-hmac-sha1-96 and would pick that for the session key.
	for _, q := range []string{
		"addprinc -randkey " + keys + princ,
		"ktadd -norandkey -k " + p.oldKeytab + " " + princ,
		"cpw -randkey " + keys + princ,
		"ktadd -norandkey -k " + p.keytab + " " + princ,
		"setstr " + princ + " session_enctypes " + enctype,
		"addprinc -pw alice-pw alice",
		"addprinc -randkey " + keys + "service/other.test",
		"ktadd -norandkey -k " + p.otherKeytab + " service/other.test",
	} {
		p.MustRun(t, "kadmin.local", "-q", q)
	}
	kdc := p.Start(t, "krb5kdc", "-n")
	kdc.WaitPort(t, "tcp", p.KDCAddr(), startTimeout)
	p.MustRun(t, "kdb5_util", "dump", p.Path("primary.dump"))
	p.dump = mittest.ReadFile(t, p.Path("primary.dump"))
	return p
}

// dumpFile writes a dump file of exactly size bytes and its .dump_ok: the
// realm's dump padded with newlines, which both loaders skip, or when the
// dump does not fit, its first size bytes (for transfers whose load is
// not run).
func (p *primary) dumpFile(t *testing.T, size int) string {
	t.Helper()
	path := p.Path(fmt.Sprintf("dump-%d", size))
	data := make([]byte, size)
	n := copy(data, p.dump)
	for i := n; i < size; i++ {
		data[i] = '\n'
	}
	writeFile(t, path, data)
	writeFile(t, path+".dump_ok", []byte{0})
	return path
}

// loadable reports whether a dump file of size bytes holds the whole
// realm.
func (p *primary) loadable(size int) bool { return size >= len(p.dump) }

// kprop runs a kprop of impl against the kpropd on port with the
// primary's keytab; the output names programs without their paths.
func (p *primary) kprop(t *testing.T, impl tools, dump, port string, extra ...string) (stdout, stderr string, exit int) {
	t.Helper()
	args := append([]string{"-f", dump, "-P", port, "-s", p.keytab}, extra...)
	stdout, stderr, exit = p.Run(t, impl.kprop, append(args, p.host)...)
	return impl.bareNames(stdout), impl.bareNames(stderr), exit
}

// sessionEnctypes lists the session-key enctypes the KDC has issued
// tickets for host/<this host> with, from its log.
func (p *primary) sessionEnctypes(t *testing.T) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, line := range strings.Split(string(mittest.ReadFile(t, p.LogFile)), "\n") {
		if !strings.Contains(line, "ISSUE:") || !strings.HasSuffix(line, "for host/"+p.host+"@"+testRealm) {
			continue
		}
		_, rest, ok := strings.Cut(line, "ses=")
		if !ok {
			continue
		}
		enc, _, _ := strings.Cut(rest, "(")
		seen[enc]++
	}
	return seen
}

// replicaHost is the receiving side for one kpropd: a directory with its own
// kdc.conf naming its own database, the primary's stash (to dump what was
// loaded) and kdc, and a kpropd.acl letting the primary's host in.
type replicaHost struct {
	*mittest.Realm
	impl   tools
	host   string
	keytab string // kpropd -s: the primary's, as both are this host
	acl    string
	file   string // kpropd -f, the received dump
}

func (p *primary) newReplica(t *testing.T, impl tools, opts ...mittest.Option) *replicaHost {
	t.Helper()
	r := &replicaHost{
		Realm: mittest.NewRealm(t, testRealm, hostOptions(append([]mittest.Option{mittest.WithKDCPort(p.KDCPort),
			mittest.WithKDCConf("realms", "key_stash_file", p.Stash)}, opts...)...)...),
		impl: impl, host: p.host, keytab: p.keytab,
	}
	r.acl = r.Path("kpropd.acl")
	r.file = r.Path("from_master")
	r.setACL(t, "host/"+p.host+"@"+testRealm+"\n")
	return r
}

func (r *replicaHost) setACL(t *testing.T, text string) { writeFile(t, r.acl, []byte(text)) }

// kpropdArgs are the arguments every kpropd here runs with: the
// replica's files, the primary's keytab, the realm.
func (r *replicaHost) kpropdArgs() []string {
	return []string{"-f", r.file, "-a", r.acl, "-s", r.keytab, "-r", testRealm}
}

// startKpropd starts kpropd -d (debug: log lines on standard error, no
// detaching) on a free port with the replica's files; extra arguments
// come after the defaults, so they can repeat and override them (getopt
// takes the last). It returns once kpropd listens.
func (r *replicaHost) startKpropd(t *testing.T, extra ...string) (*mittest.Process, string) {
	t.Helper()
	port := strconv.Itoa(mittest.FreePort(t))
	args := append(append([]string{"-d", "-P", port}, r.kpropdArgs()...), extra...)
	proc := r.Start(t, r.impl.kpropd, args...)
	proc.WaitPort(t, "tcp", "127.0.0.1:"+port, startTimeout)
	return proc, port
}

// dumpDatabase is kdb5_util dump of the replica's database.
func (r *replicaHost) dumpDatabase(t *testing.T) []byte {
	t.Helper()
	out := r.Path("redump")
	r.MustRun(t, r.impl.kdb5util, "dump", out)
	return mittest.ReadFile(t, out)
}

// waitOutput waits until the process has written want to its standard
// output or error, and fails the test if it exits or timeout passes
// first.
func waitOutput(t *testing.T, p *mittest.Process, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		stdout, stderr := p.Output()
		if strings.Contains(stdout, want) || strings.Contains(stderr, want) {
			return
		}
		if p.State() != nil || time.Now().After(deadline) {
			t.Fatalf("%s never wrote %q (state %v)\nstdout:\n%s\nstderr:\n%s", p.Name, want, p.State(), stdout, stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lines splits output into lines, without the last newline.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// withoutHints drops the hint lines our kprop adds to MIT's messages.
func withoutHints(s string) string {
	var keep []string
	for _, l := range lines(s) {
		if !strings.HasPrefix(l, "kprop: hint: ") {
			keep = append(keep, l+"\n")
		}
	}
	return strings.Join(keep, "")
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
