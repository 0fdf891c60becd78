package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// The list-mode tests run our kprop against real kpropd processes, ours
// and MIT's, each with a replica directory of its own on a loopback port,
// all of them this host: every replica is host/<this host>, told apart by
// the port in its name (host:port).

// runTimeout bounds a kprop run that is expected to finish.
const runTimeout = 2 * time.Minute

// fanoutPrimary is a realm with a running KDC, this host's key, and a dump
// of a few blocks (padded with principals) that every replica gets.
type fanoutPrimary struct {
	*realmWithHostKey
	kprop string
	data  []byte // the dump's bytes
}

func newFanoutPrimary(t *testing.T) *fanoutPrimary {
	t.Helper()
	r := newRealmWithHostKey(t)
	// 300 principals make a dump of several 32 KiB blocks, so every
	// session chains its cipher state.
	var q strings.Builder
	for i := range 300 {
		fmt.Fprintf(&q, "addprinc -randkey -e aes256-cts:normal user%03d\n", i)
	}
	if _, stderr, exit := r.RunStdin(t, q.String(), "kadmin.local"); exit != 0 {
		t.Fatalf("kadmin.local: exit %d\n%s", exit, stderr)
	}
	r.MustRun(t, "kdb5_util", "dump", r.dump)
	p := &fanoutPrimary{realmWithHostKey: r, kprop: mittest.GoBinary(t, "./cmd/kprop"), data: mustRead(t, r.dump)}
	if len(p.data) <= 2*32768 {
		t.Fatalf("dump of %d bytes, want several blocks", len(p.data))
	}
	return p
}

// listKprop runs our kprop in list mode with the primary's dump and keytab.
func (p *fanoutPrimary) listKprop(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	return p.Run(t, p.kprop, append([]string{"-f", p.dump, "-s", p.keytab}, args...)...)
}

// fanoutReplica is one kpropd's replica directory: its own kdc.conf and
// database, the primary's stash, a kpropd.acl, a fixed port.
type fanoutReplica struct {
	*mittest.Realm
	name             string // host:port, as listed
	port             string
	kpropd, kdb5util string
	mit              bool
	file, acl        string
	proc             *mittest.Process
}

func (p *fanoutPrimary) newReplica(t *testing.T, mit bool) *fanoutReplica {
	t.Helper()
	r := &fanoutReplica{
		Realm: mittest.NewRealm(t, p.Name, mittest.WithKDCPort(p.KDCPort),
			mittest.WithKDCConf("realms", "key_stash_file", p.Stash),
			mittest.WithKRB5Conf("libdefaults", "qualify_shortname", `""`)),
		port: strconv.Itoa(mittest.FreePort(t)),
		mit:  mit,
	}
	r.name = p.host + ":" + r.port
	r.file, r.acl = r.Path("from_master"), r.Path("kpropd.acl")
	if mit {
		r.kpropd, r.kdb5util = mustLook(t, "kpropd"), mustLook(t, "kdb5_util")
	} else {
		r.kpropd, r.kdb5util = mittest.GoBinary(t, "./cmd/kpropd"), mittest.GoBinary(t, "./cmd/kdb5util")
	}
	r.allow(t, "host/"+p.host+"@"+p.Name)
	return r
}

// allow makes kpropd.acl list only princ; kpropd reads it on every
// connection.
func (r *fanoutReplica) allow(t *testing.T, princ string) {
	t.Helper()
	if err := os.WriteFile(r.acl, []byte(princ+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs kpropd -d on the replica's port with its files (and extra
// arguments) and waits until it listens.
func (r *fanoutReplica) start(t *testing.T, keytab string, extra ...string) {
	t.Helper()
	args := append([]string{"-d", "-P", r.port, "-f", r.file, "-a", r.acl, "-s", keytab, "-r", r.Name}, extra...)
	r.proc = r.Start(t, r.kpropd, args...)
	r.proc.WaitPort(t, "tcp", "127.0.0.1:"+r.port, 20*time.Second)
}

// checkLoaded checks that the replica received the dump and loaded it: its
// received file and a dump of its database are the primary's dump.
func (r *fanoutReplica) checkLoaded(t *testing.T, want []byte) {
	t.Helper()
	if got := mustRead(t, r.file); !bytes.Equal(got, want) {
		t.Errorf("%s: received %d bytes, not the %d-byte dump", r.name, len(got), len(want))
	}
	out := r.Path("redump")
	os.Remove(out)
	r.MustRun(t, r.kdb5util, "dump", out)
	if got := mustRead(t, out); !bytes.Equal(got, want) {
		t.Errorf("%s: the replica's database differs from the primary's", r.name)
	}
}

// writeList writes a replica list file naming the replicas, with the
// comments and blank lines an admin would leave.
func writeList(t *testing.T, path string, replicas []*fanoutReplica) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# replica KDCs, one per line\n\n")
	for i, r := range replicas {
		fmt.Fprintf(&b, "  %s   # replica %d\n", r.name, i)
		if i == 4 {
			b.WriteString("\n   \n# the second half\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// resultLines checks that stdout is one line per replica in the list's
// order and returns each replica's outcome: "SUCCEEDED" or "FAILED: …".
func resultLines(t *testing.T, stdout string, replicas []*fanoutReplica) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(replicas) {
		t.Fatalf("%d lines for %d replicas:\n%s", len(lines), len(replicas), stdout)
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		prefix := "Database propagation to " + replicas[i].name + ": "
		if !strings.HasPrefix(l, prefix) {
			t.Fatalf("line %d is %q, want it to start %q", i+1, l, prefix)
		}
		out[i] = strings.TrimPrefix(l, prefix)
	}
	return out
}

func readStatus(t *testing.T, dump string) *statusFile {
	t.Helper()
	var st statusFile
	if err := json.Unmarshal(mustRead(t, dump+".status.json"), &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

// TestFanOut sends one dump to ten replicas, two MIT kpropds and eight of
// ours, with two of them down: one with nothing listening, one (MIT's)
// whose kpropd.acl rejects the primary. The eight others receive and load
// the dump; kprop exits 1; its lines, in the list's order, and the status
// file say which two failed and why; --status puts them first. Once the
// two are fixed, a second run succeeds everywhere and their records show
// it.
func TestFanOut(t *testing.T) {
	p := newFanoutPrimary(t)
	var replicas []*fanoutReplica
	for i := range 10 {
		replicas = append(replicas, p.newReplica(t, i == 1 || i == 6))
	}
	down, rejecting := replicas[3], replicas[6]
	rejecting.allow(t, "host/someone.else@"+p.Name)
	for _, r := range replicas {
		if r != down {
			r.start(t, p.keytab)
		}
	}
	list := p.Path("replicas")
	writeList(t, list, replicas)
	st, err := os.Stat(p.dump)
	if err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	stdout, stderr, exit := p.listKprop(t, "-l", list)
	if exit != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr:\n%s", stderr)
	}
	t.Logf("first run:\n%s", stdout)
	results := resultLines(t, stdout, replicas)
	wantReason := map[*fanoutReplica]*regexp.Regexp{
		down: regexp.MustCompile(`^FAILED: Connection refused while connecting to server; nothing listens there: is kpropd running on ` + p.host),
		// A rejected client finds the connection closed, during the
		// transfer or while waiting for the reply, depending on timing.
		rejecting: regexp.MustCompile(`^FAILED: (Software caused connection abort|Broken pipe|Connection reset by peer) while .*: ` +
			`the replica closed the connection without a reply; usually its kpropd.acl does not list host/` + p.host + "@"),
	}
	status := readStatus(t, p.dump)
	if status.Realm != p.Name || status.Dump != p.dump || len(status.Replicas) != len(replicas) {
		t.Errorf("status realm %q dump %q with %d replicas", status.Realm, status.Dump, len(status.Replicas))
	}
	for i, r := range replicas {
		rec := status.Replicas[r.name]
		if rec == nil {
			t.Fatalf("no status for %s", r.name)
		}
		if rec.LastAttempt.Before(before.Truncate(time.Second)) {
			t.Errorf("%s: last attempt %v, before the run", r.name, rec.LastAttempt)
		}
		lastProp := p.dump + "." + r.name + ".last_prop"
		if re := wantReason[r]; re != nil {
			if !re.MatchString(results[i]) {
				t.Errorf("%s: %q, want %v", r.name, results[i], re)
			}
			if rec.ConsecutiveFailures != 1 || "FAILED: "+rec.LastError != results[i] || !rec.LastSuccess.IsZero() {
				t.Errorf("%s: status %+v, want one failure with the line's reason", r.name, rec)
			}
			if _, err := os.Stat(lastProp); err == nil {
				t.Errorf("%s: a failed propagation wrote %s", r.name, lastProp)
			}
			continue
		}
		if results[i] != "SUCCEEDED" {
			t.Errorf("%s: %s", r.name, results[i])
			continue
		}
		r.checkLoaded(t, p.data)
		if rec.ConsecutiveFailures != 0 || rec.LastError != "" || rec.LastSuccess.IsZero() ||
			rec.Bytes != st.Size() || rec.DumpSize != st.Size() || rec.DumpMTime.Unix() != st.ModTime().Unix() {
			t.Errorf("%s: status %+v after a success", r.name, rec)
		}
		if _, err := os.Stat(lastProp); err != nil {
			t.Errorf("%s: %v", r.name, err)
		}
	}

	// --status: the two failing replicas first, exit 2.
	out, _, exit := p.Run(t, p.kprop, "--status", "-f", p.dump)
	t.Logf("kprop --status:\n%s", out)
	rows := tableRows(t, out)
	if exit != exitBehind || len(rows) != len(replicas) {
		t.Fatalf("--status: exit %d, %d rows\n%s", exit, len(rows), out)
	}
	failing := map[string]bool{rows[0][0]: true, rows[1][0]: true}
	if !failing[down.name] || !failing[rejecting.name] || rows[0][1] != stateFailing || rows[2][1] != stateCurrent {
		t.Errorf("--status does not put the two failing replicas first:\n%s", out)
	}

	// Fixed: the second run reaches all ten.
	down.start(t, p.keytab)
	rejecting.allow(t, "host/"+p.host+"@"+p.Name)
	first := status
	stdout, stderr, exit = p.listKprop(t, "-l", list)
	if exit != 0 {
		t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
	for i, res := range resultLines(t, stdout, replicas) {
		if res != "SUCCEEDED" {
			t.Errorf("second run, %s: %s", replicas[i].name, res)
		}
	}
	down.checkLoaded(t, p.data)
	rejecting.checkLoaded(t, p.data)
	status = readStatus(t, p.dump)
	for _, r := range replicas {
		rec, old := status.Replicas[r.name], first.Replicas[r.name]
		if rec.ConsecutiveFailures != 0 || rec.LastError != "" || rec.LastSuccess.IsZero() ||
			rec.LastAttempt.Before(old.LastAttempt) || rec.LastSuccess.Before(old.LastSuccess) {
			t.Errorf("%s after the second run: %+v (before: %+v)", r.name, rec, old)
		}
	}
	if out, _, exit := p.Run(t, p.kprop, "--status", "-f", p.dump); exit != 0 {
		t.Errorf("--status after the second run: exit %d\n%s", exit, out)
	}
}

// tableRows splits --status output into the fields of its replica rows
// (after the header line).
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	_, table, ok := strings.Cut(out, "REPLICA ")
	if !ok {
		t.Fatalf("no table in\n%s", out)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(table), "\n")[1:] {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

// TestOverlappingRuns starts a list-mode run whose replica holds its load
// until told, then two more runs for the same dump: with -n, one gives up
// at once with exit 75 and names the holder; without, one waits, says so,
// and propagates after the first finishes. The replica ends with the dump
// loaded and the status file whole.
func TestOverlappingRuns(t *testing.T) {
	p := newFanoutPrimary(t)
	r := p.newReplica(t, false)
	// kpropd's loader stops until release exists.
	loading, release := r.Path("loading"), r.Path("release")
	loader := r.Path("held-load")
	script := fmt.Sprintf("#!/bin/sh\n: > %s\nwhile [ ! -e %s ]; do sleep 0.02; done\nexec %s \"$@\"\n", loading, release, r.kdb5util)
	if err := os.WriteFile(loader, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r.start(t, p.keytab, "-p", loader)

	first := p.Start(t, p.kprop, "-f", p.dump, "-s", p.keytab, "-T", "2m", r.name)
	waitFor(t, loading, first)

	stdout, stderr, exit := p.listKprop(t, "-n", r.name)
	lock := p.dump + ".kprop.lock"
	want := fmt.Sprintf("kprop: another kprop run (pid %d) holds %s; not waiting (-n)\n", first.Pid(), lock)
	if exit != exitBusy || stdout != "" || strings.ReplaceAll(stderr, p.kprop, "kprop") != want {
		t.Errorf("-n while a run holds the lock: exit %d\nstdout:\n%s\nstderr:\n%s\nwant stderr %q", exit, stdout, stderr, want)
	}

	list := p.Path("replicas")
	writeList(t, list, []*fanoutReplica{r})
	second := p.Start(t, p.kprop, "-f", p.dump, "-s", p.keytab, "--no-wait", "-l", list)
	if st := second.Wait(t, runTimeout); st.ExitCode() != exitBusy {
		t.Errorf("--no-wait: exit %d", st.ExitCode())
	}
	waiting := p.Start(t, p.kprop, "-f", p.dump, "-s", p.keytab, "-j", "1", "-d", r.name)
	waitOutput(t, waiting, fmt.Sprintf("waiting for another kprop run (pid %d) to finish", first.Pid()))
	time.Sleep(300 * time.Millisecond)
	if waiting.State() != nil {
		t.Fatalf("the waiting run ended while the first held the lock: %v", waiting.State())
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	line := "Database propagation to " + r.name + ": SUCCEEDED\n"
	for _, run := range []*mittest.Process{first, waiting} {
		st := run.Wait(t, runTimeout)
		if out, errOut := run.Output(); !st.Success() || out != line {
			t.Errorf("pid %d: %v\nstdout:\n%s\nstderr:\n%s", run.Pid(), st, out, errOut)
		}
	}
	// -d in list mode: MIT's progress lines on standard error, each
	// behind its replica's name.
	if _, errOut := waiting.Output(); !strings.Contains(errOut, fmt.Sprintf("\n%s: %d bytes sent.\n", r.name, len(p.data))) {
		t.Errorf("-d: no final progress line for %s in\n%s", r.name, errOut)
	}
	r.checkLoaded(t, p.data)
	rec := readStatus(t, p.dump).Replicas[r.name]
	if rec == nil || rec.ConsecutiveFailures != 0 || rec.LastSuccess.IsZero() || rec.Bytes != int64(len(p.data)) {
		t.Errorf("status %+v", rec)
	}
	if tmp, _ := filepath.Glob(p.dump + ".status.json.tmp-*"); len(tmp) > 0 {
		t.Errorf("temporary status files left: %v", tmp)
	}
}

// waitFor waits until path exists, failing the test if proc exits first.
func waitFor(t *testing.T, path string, proc *mittest.Process) {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if proc.State() != nil || time.Now().After(deadline) {
			out, errOut := proc.Output()
			t.Fatalf("%s never appeared (kprop: %v)\nstdout:\n%s\nstderr:\n%s", path, proc.State(), out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitOutput waits until proc has written want to its standard error.
func waitOutput(t *testing.T, proc *mittest.Process, want string) {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	for {
		out, errOut := proc.Output()
		if strings.Contains(errOut, want) {
			return
		}
		if proc.State() != nil || time.Now().After(deadline) {
			t.Fatalf("kprop never wrote %q (%v)\nstdout:\n%s\nstderr:\n%s", want, proc.State(), out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustLook(t *testing.T, tool string) string {
	t.Helper()
	mittest.Require(t, tool)
	p, err := mittest.LookPath(tool)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFanOutReasons checks what a failed replica's line tells the admin to
// check: the principals and keytab when the replica refuses the ticket or
// none can be had, and the deadline when a replica's load outlasts -T,
// while the replicas beside them succeed.
func TestFanOutReasons(t *testing.T) {
	p := newFanoutPrimary(t)
	otherKeytab := p.Path("other.keytab")
	p.MustRun(t, "kadmin.local", "-q", "addprinc -randkey service/other.test")
	p.MustRun(t, "kadmin.local", "-q", "ktadd -k "+otherKeytab+" service/other.test")
	noKey, slow, good := p.newReplica(t, false), p.newReplica(t, false), p.newReplica(t, true)
	noKey.start(t, otherKeytab)
	hang := slow.Path("hang")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	slow.start(t, p.keytab, "-p", hang)
	good.start(t, p.keytab)
	princ := "host/" + p.host + "@" + p.Name
	unknown := "no-such-replica.test"

	// A status file kprop cannot read is started afresh, not a reason
	// to leave the replicas without the dump.
	if err := os.WriteFile(p.dump+".status.json", []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, exit := p.listKprop(t, "-T", "3s", noKey.name, slow.name, good.name, unknown)
	if !strings.HasSuffix(stderr, "; starting a new status file\n") || len(readStatus(t, p.dump).Replicas) != 4 {
		t.Errorf("with a broken status file: stderr %q", stderr)
	}
	t.Logf("stdout:\n%s", stdout)
	want := []string{
		"Database propagation to " + noKey.name + ": FAILED: Server rejected authentication (during sendauth exchange) while authenticating to server; " +
			"Service key not available signalled from server; Error text from server: Service key not available: " +
			"the replica's keytab has no aes256-cts-hmac-sha1-96 key for " + princ +
			" (client " + princ + ", server " + princ + ", keytab " + p.keytab + ")",
		"Database propagation to " + slow.name + ": FAILED: Connection timed out (the session's overall deadline passed) while reading response from server (-T 3s)",
		"Database propagation to " + good.name + ": SUCCEEDED",
		"Database propagation to " + unknown + ": FAILED: Server not found in Kerberos database while getting initial credentials; check that " +
			p.keytab + " holds the key of " + princ + " and that the KDC knows host/" + unknown + "@" + p.Name,
	}
	if exit != 1 || stdout != strings.Join(want, "\n")+"\n" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant stdout:\n%s", exit, stdout, stderr, strings.Join(want, "\n"))
	}
	good.checkLoaded(t, p.data)

	// Without this host's key, no replica gets a ticket.
	stdout, _, exit = p.Run(t, p.kprop, "-f", p.dump, "-s", otherKeytab, good.name, noKey.name)
	for _, r := range []*fanoutReplica{good, noKey} {
		line := "Database propagation to " + r.name + ": FAILED: Key table entry not found while getting initial credentials; check that " +
			otherKeytab + " holds the key of " + princ + " and that the KDC knows " + princ
		if exit != 1 || !strings.Contains(stdout, line+"\n") {
			t.Errorf("exit %d\nstdout:\n%s\nwant the line\n%s", exit, stdout, line)
		}
	}
}
