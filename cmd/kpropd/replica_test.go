package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/replica"
)

// The secondary-replica tests run the whole chain with real processes:
// MIT's kadmin.local and kdb5_util on the primary, kprop, our kpropd
// loading into the replica's database, and a plugin that keeps a registry
// of files, one per principal and policy, driven by a mode file so a test
// can make it fail, crash, hang or ask for a reinit.

// registryPlugin is the test plugin. It logs each call, takes its
// behaviour from $CTL/mode, and mirrors principals (name, kvno, flags,
// expiration) and policies (name, minimum length) into $CTL/registry.
const registryPlugin = `#!/bin/sh
ctl=$CTL
echo "$1" >> "$ctl/calls"
mode=$(cat "$ctl/mode" 2>/dev/null || echo ok)
case "$1" in
apply) ;;
init-reinit) rm -rf "$ctl/registry"; exit 0 ;;
*) exit 0 ;;
esac
case "$mode" in
fail) cat >/dev/null; echo "registry unavailable" >&2; exit 75 ;;
crash) kill -KILL $$ ;;
hang) exec sleep 600 ;;
reinit-once) echo ok > "$ctl/mode"; cat >/dev/null; exit 76 ;;
slow) sleep 60 ;;
esac
mkdir -p "$ctl/registry"
tr -d '\r' | while IFS= read -r line; do
	printf '%s\n' "$line" > "$ctl/line"
	type=$(jq -r .type "$ctl/line")
	case "$type" in
	header) jq -c . "$ctl/line" > "$ctl/last-header" ;;
	end) touch "$ctl/last-end" ;;
	change)
		op=$(jq -r .op "$ctl/line")
		key=$(jq -r .name "$ctl/line" | od -An -tx1 | tr -d ' \n')
		case "$op" in
		principal_delete) rm -f "$ctl/registry/p-$key" ;;
		principal_*) jq -cS '.principal | {name, kvno, flags, expiration}' "$ctl/line" > "$ctl/registry/p-$key" ;;
		policy_delete) rm -f "$ctl/registry/y-$key" ;;
		policy_*) jq -cS '.policy | {name, pw_min_length}' "$ctl/line" > "$ctl/registry/y-$key" ;;
		esac ;;
	esac
done
echo done >> "$ctl/calls"
`

// replicaFixture is a primary, a replica running our kpropd with one
// secondary replica, and the plugin's control directory.
type replicaFixture struct {
	p      *primary
	r      *replicaHost
	ours   tools
	ctl    string
	state  string
	conf   string // the [secondary_replicas] text
	kpropd *mittest.Process
	port   string
	// loaded is when the last propagation started: a delivery that
	// started later covers it.
	loaded time.Time
}

func newReplicaFixture(t *testing.T, options string) *replicaFixture {
	t.Helper()
	mittest.Require(t, "jq")
	ctl := t.TempDir()
	plugin := filepath.Join(ctl, "plugin")
	writeFile(t, plugin, []byte(registryPlugin))
	os.Chmod(plugin, 0o755)
	f := newPluginFixture(t, plugin, "\t\tenv = CTL="+ctl+"\n"+options)
	f.ctl = ctl
	return f
}

// newPluginFixture is a primary and a replica whose kdc.conf has one
// secondary replica, "files", running plugin with the relations in
// options.
func newPluginFixture(t *testing.T, plugin, options string) *replicaFixture {
	t.Helper()
	f := &replicaFixture{ours: ourTools(t), p: newPrimary(t, "aes256-cts-hmac-sha1-96")}
	f.state = filepath.Join(t.TempDir(), "state")
	f.conf = fmt.Sprintf("[secondary_replicas]\n\tfiles = {\n\t\tplugin = %s\n\t\trealm = %s\n\t\tstate_dir = %s\n%s\t}\n",
		plugin, testRealm, f.state, options)
	f.r = f.p.newReplica(t, f.ours, mittest.WithKDCConfText(f.conf))
	return f
}

func (f *replicaFixture) setMode(t *testing.T, mode string) {
	writeFile(t, filepath.Join(f.ctl, "mode"), []byte(mode+"\n"))
}

func (f *replicaFixture) calls() string {
	b, _ := os.ReadFile(filepath.Join(f.ctl, "calls"))
	return string(b)
}

func (f *replicaFixture) start(t *testing.T) {
	t.Helper()
	f.kpropd, f.port = f.r.startKpropd(t)
}

// change runs kadmin.local queries on the primary and dumps it again.
func (f *replicaFixture) change(t *testing.T, queries ...string) {
	t.Helper()
	for _, q := range queries {
		f.p.MustRun(t, "kadmin.local", "-q", q)
	}
	f.p.MustRun(t, "kdb5_util", "dump", f.p.Path("primary.dump"))
	f.p.dump = mittest.ReadFile(t, f.p.Path("primary.dump"))
}

// propagate sends the primary's dump and checks kprop's success.
func (f *replicaFixture) propagate(t *testing.T) {
	t.Helper()
	f.loaded = time.Now()
	stdout, stderr, exit := f.p.kprop(t, f.ours, f.p.dumpFile(t, len(f.p.dump)), f.port)
	if exit != 0 || stdout != "Database propagation to "+f.p.host+": SUCCEEDED\n" {
		t.Fatalf("kprop: exit %d\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
}

func (f *replicaFixture) status(t *testing.T) replica.Status {
	t.Helper()
	var st replica.Status
	b, err := os.ReadFile(filepath.Join(f.state, "state.json"))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return st
}

// realm reads the replica's database: every principal and policy.
func (f *replicaFixture) realm(t *testing.T) (principals []*kdb.Principal, policies []*kdb.Policy) {
	t.Helper()
	store, err := kdb.Open(f.r.DBName, kdb.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	err = store.Snapshot(ctx, func(v *kdb.View) error {
		if err := v.Principals(ctx, false, func(p *kdb.Principal) error {
			principals = append(principals, p)
			return nil
		}); err != nil {
			return err
		}
		return v.Policies(ctx, func(p *kdb.Policy) error {
			policies = append(policies, p)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return principals, policies
}

// realmView is what the registry should hold for the replica's database:
// principal records as the plugin writes them, and policy records.
func (f *replicaFixture) realmView(t *testing.T) map[string]string {
	t.Helper()
	principals, policies := f.realm(t)
	want := map[string]string{}
	for _, p := range principals {
		var exp any
		if p.Expiration != 0 {
			exp = time.Unix(int64(p.Expiration), 0).UTC().Format(time.RFC3339)
		}
		flags := kdb.AttrStrings(p.Attributes)
		if flags == nil {
			flags = []string{}
		}
		b, _ := json.Marshal(map[string]any{"name": p.Name.String(), "kvno": p.MaxKVNO(), "flags": flags, "expiration": exp})
		want["p "+p.Name.String()] = string(b)
	}
	for _, p := range policies {
		b, _ := json.Marshal(map[string]any{"name": p.Name, "pw_min_length": p.PwMinLength})
		want["y "+p.Name] = string(b)
	}
	return want
}

// registry reads what the plugin holds.
func (f *replicaFixture) registry(t *testing.T) map[string]string {
	t.Helper()
	got := map[string]string{}
	entries, _ := os.ReadDir(filepath.Join(f.ctl, "registry"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(f.ctl, "registry", e.Name()))
		if err != nil {
			continue // being rewritten
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		kind := map[byte]string{'p': "p ", 'y': "y "}[e.Name()[0]]
		got[kind+fmt.Sprint(m["name"])] = strings.TrimSpace(string(b))
	}
	return got
}

// inStep waits until a delivery that started after the last propagation
// has succeeded, then checks that the registry holds exactly the
// replica's database.
func (f *replicaFixture) inStep(t *testing.T) {
	t.Helper()
	waitFor(t, "a successful delivery after the load", func() bool {
		st := f.status(t)
		return st.State == replica.InService && st.LastAttempt.After(f.loaded)
	}, f.kpropd)
	if got, want := f.registry(t), f.realmView(t); !maps.Equal(got, want) {
		t.Errorf("the registry is not in step with the realm:\n got %v\nwant %v", got, want)
	}
}

func TestReplicaFollowsTheRealm(t *testing.T) {
	f := newReplicaFixture(t, "")
	f.start(t)
	f.propagate(t)
	f.inStep(t)
	st := f.status(t)
	if st.Seq != 1 || st.UUID == "" {
		t.Errorf("after the first load: %+v", st)
	}
	// Add, modify flags and expiry, change a password, rename, delete;
	// policies too.
	f.change(t,
		"addpol -minlength 10 strict",
		"addprinc -pw bob-pw -policy strict bob",
		"addprinc -pw carol-pw carol",
		"modprinc +requires_preauth -allow_svr -expire 2030-01-01 alice",
		"cpw -pw alice-pw2 alice",
		"renprinc -force carol carol2",
		"delprinc -force service/other.test",
	)
	f.propagate(t)
	f.inStep(t)
	f.change(t, "modprinc -clearpolicy bob", "delpol -force strict", "addpol -minlength 12 lax", "modpol -minlength 14 lax")
	f.propagate(t)
	f.inStep(t)
	if st := f.status(t); st.Seq != 3 || st.PrevSeq != 2 {
		t.Errorf("after three loads: %+v", st)
	}
	var h replica.Header
	json.Unmarshal(mittest.ReadFile(t, filepath.Join(f.ctl, "last-header")), &h)
	if h.Seq != 3 || h.PrevSeq != 2 || h.Reinit || h.UUID != f.status(t).UUID {
		t.Errorf("last header %+v", h)
	}
	// An unchanged dump propagated again calls no plugin.
	before := f.calls()
	f.propagate(t)
	waitFor(t, "the delivery check", func() bool { return f.status(t).LastAttempt.After(time.Now().Add(-time.Minute)) }, f.kpropd)
	if f.calls() != before || f.status(t).Seq != 3 {
		t.Errorf("an unchanged load reached the plugin: %q", strings.TrimPrefix(f.calls(), before))
	}
}

// TestReplicaNothingLost: the plugin fails three propagations in three
// ways (exit 75, a crash, a hang past the timeout), then recovers on its
// retry schedule; the registry ends up exactly in step, and kdb5util
// replica info tells what happened.
func TestReplicaNothingLost(t *testing.T) {
	f := newReplicaFixture(t, "\t\tretry_interval = 1s\n\t\tmax_retry_interval = 2s\n\t\ttimeout = 3s\n")
	f.start(t)
	f.propagate(t)
	f.inStep(t)
	failures := []struct{ mode, query, lastError string }{
		{"fail", "addprinc -pw bob-pw bob", "registry unavailable"},
		{"crash", "modprinc -allow_tix alice", "killed"},
		{"hang", "cpw -randkey alice", "ran past its timeout (3s)"},
	}
	for i, fl := range failures {
		f.setMode(t, fl.mode)
		f.change(t, fl.query)
		f.propagate(t)
		waitFor(t, fl.mode+" to be recorded", func() bool {
			st := f.status(t)
			return st.State == replica.CantProcess && strings.Contains(st.LastError, fl.lastError)
		}, f.kpropd)
		stdout, stderr, exit := f.r.Run(t, f.ours.kdb5util, "-r", testRealm, "replica", "info", "files")
		st := f.status(t)
		for _, want := range []string{"UUID: " + st.UUID, "State: can't process", "Update sequence: 1 (", "Last error: apply: can't process: "} {
			if exit != 0 || !strings.Contains(stdout, want) {
				t.Errorf("failure %d: replica info lacks %q (exit %d)\n%s%s", i, want, exit, stdout, stderr)
			}
		}
		if !strings.Contains(stdout, fl.lastError) {
			t.Errorf("replica info does not say %q:\n%s", fl.lastError, stdout)
		}
	}
	f.setMode(t, "ok")
	f.inStep(t)
	var h replica.Header
	json.Unmarshal(mittest.ReadFile(t, filepath.Join(f.ctl, "last-header")), &h)
	if h.Seq != 2 || h.PrevSeq != 1 {
		t.Errorf("the recovering delivery has header %+v, want seq 2 after 1", h)
	}
	stdout, _, _ := f.r.Run(t, f.ours.kdb5util, "-r", testRealm, "replica", "info", "files")
	for _, want := range []string{"State: in service", "Update sequence: 2 (", "Previous update sequence: 1 (", "Last error: -", "Failed attempts: 0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("replica info after recovery lacks %q:\n%s", want, stdout)
		}
	}
}

// TestReplicaSurvivesKill: kpropd killed with SIGKILL between the load
// and the plugin's success; the restarted kpropd delivers the changes.
func TestReplicaSurvivesKill(t *testing.T) {
	f := newReplicaFixture(t, "")
	f.start(t)
	f.propagate(t)
	f.inStep(t)
	f.setMode(t, "hang")
	f.change(t, "addprinc -pw dave-pw dave", "modprinc -expire 2031-05-05 alice")
	f.propagate(t)
	waitFor(t, "the plugin's apply", func() bool { return strings.Count(f.calls(), "apply") == 2 }, f.kpropd)
	syscall.Kill(f.kpropd.Pid(), syscall.SIGKILL)
	f.kpropd.Wait(t, runTimeout)
	f.setMode(t, "ok")
	f.start(t)
	f.inStep(t)
	if st := f.status(t); st.Seq != 2 {
		t.Errorf("after the restart: %+v", st)
	}
	if !strings.HasPrefix(strings.TrimPrefix(f.calls(), "auth-init\napply\ndone\nauth-init\napply\n"), "auth-init\napply\ndone\n") {
		t.Errorf("calls %q: want a fresh auth-init and the delivery after the restart", f.calls())
	}
}

// TestReplicaRequestReinit: the plugin answers a delivery with exit 76;
// kpropd runs init-reinit and delivers the whole database.
func TestReplicaRequestReinit(t *testing.T) {
	f := newReplicaFixture(t, "")
	f.start(t)
	f.propagate(t)
	f.inStep(t)
	// A stray entry the full delivery must not keep.
	writeFile(t, filepath.Join(f.ctl, "registry", "p-stray"), []byte(`{"name":"stray"}`))
	f.setMode(t, "reinit-once")
	f.change(t, "addprinc -pw erin-pw erin")
	f.propagate(t)
	f.inStep(t)
	if want := "auth-init\napply\ndone\napply\ninit-reinit\napply\ndone\n"; f.calls() != want {
		t.Errorf("calls %q, want %q", f.calls(), want)
	}
	var h replica.Header
	json.Unmarshal(mittest.ReadFile(t, filepath.Join(f.ctl, "last-header")), &h)
	if !h.Reinit || h.Seq != 2 || h.PrevSeq != 1 {
		t.Errorf("reinit header %+v", h)
	}
}

// TestReplicaDoesNotDelayTheAck: a plugin that takes a minute does not
// keep kprop waiting: kprop has its answer while the plugin still runs.
func TestReplicaDoesNotDelayTheAck(t *testing.T) {
	f := newReplicaFixture(t, "")
	f.setMode(t, "slow")
	f.start(t)
	f.propagate(t)
	if strings.Contains(f.calls(), "done") {
		t.Fatalf("the plugin finished before kprop returned: %q", f.calls())
	}
	waitFor(t, "the plugin to start", func() bool { return strings.Contains(f.calls(), "apply") }, f.kpropd)
	if strings.Contains(f.calls(), "done") {
		t.Errorf("calls %q: the slow plugin cannot have finished", f.calls())
	}
	// A second propagation is not held up either.
	f.change(t, "addprinc -pw frank-pw frank")
	f.propagate(t)
	if strings.Contains(f.calls(), "done") {
		t.Errorf("calls %q: the slow plugin cannot have finished", f.calls())
	}
}

// TestReplicaBadConfiguration: kpropd refuses to start on a mistake in
// [secondary_replicas], naming it.
func TestReplicaBadConfiguration(t *testing.T) {
	ours := ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	plain := filepath.Join(t.TempDir(), "plain")
	writeFile(t, plain, []byte("not a program"))
	cases := []struct{ name, conf, want string }{
		{"missing plugin", "plugin = /nonexistent/sync", "/nonexistent/sync: no such file or directory"},
		{"not executable", "plugin = " + plain, plain + " is not an executable file"},
		{"unknown option", "plugin = /bin/true\n\t\tretries = 3", `unknown option "retries"`},
		{"bad timeout", "plugin = /bin/true\n\t\ttimeout = forever", `timeout: invalid duration "forever"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := p.newReplica(t, ours, mittest.WithKDCConfText("[secondary_replicas]\n\tbroken = {\n\t\t"+tc.conf+"\n\t}\n"))
			_, stderr, exit := r.Run(t, ours.kpropd, append([]string{"-d", "-P", "1"}, r.kpropdArgs()...)...)
			if exit != 1 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "broken") {
				t.Errorf("exit %d, stderr:\n%s\nwant a line with %q", exit, stderr, tc.want)
			}
		})
	}
}

// TestReplicaAdmin: kdb5util replica stop keeps loads from the plugin,
// start delivers them, retry and list report, destroy forgets the UUID.
func TestReplicaAdmin(t *testing.T) {
	f := newReplicaFixture(t, "")
	f.start(t)
	f.propagate(t)
	f.inStep(t)
	uuid := f.status(t).UUID
	run := func(args ...string) string {
		t.Helper()
		stdout, stderr, exit := f.r.Run(t, f.ours.kdb5util, append([]string{"-r", testRealm, "replica"}, args...)...)
		if exit != 0 {
			t.Fatalf("kdb5util replica %v: exit %d\n%s%s", args, exit, stdout, stderr)
		}
		return stdout
	}
	if out := run("stop", "files"); out != "Secondary replica files stopped.\n" {
		t.Errorf("stop: %q", out)
	}
	f.change(t, "addprinc -pw gina-pw gina")
	f.propagate(t)
	if out := run("retry", "files"); !strings.Contains(out, "is stopped") {
		t.Errorf("retry of a stopped replica: %q", out)
	}
	if slices.Contains(lines(f.calls()), "apply") && strings.Count(f.calls(), "apply") != 1 {
		t.Errorf("a stopped replica's plugin was applied: %q", f.calls())
	}
	if out := run("start", "files"); !strings.Contains(out, "delivered 1 changes (sequence 2)") {
		t.Errorf("start: %q", out)
	}
	f.inStep(t)
	if out := run("list"); !strings.Contains(out, "files") || !strings.Contains(out, "in service") {
		t.Errorf("list: %q", out)
	}
	if out := run("retry"); !strings.Contains(out, "files: up to date (sequence 2)") {
		t.Errorf("retry of all: %q", out)
	}
	if out := run("destroy", "files"); out != "Secondary replica files destroyed.\n" {
		t.Errorf("destroy: %q", out)
	}
	if !strings.HasSuffix(f.calls(), "destroy\n") {
		t.Errorf("calls %q end without destroy", f.calls())
	}
	out := run("info", "files")
	if strings.Contains(out, uuid) || !strings.Contains(out, "State: uninitialized") {
		t.Errorf("info after destroy:\n%s", out)
	}
}

// TestReplicaPerConnection: a kpropd started for one connection
// (systemd Accept=yes, as under inetd) delivers after closing it, and a
// slow plugin does not hold kprop; the next load's kpropd carries what a
// failed delivery left.
func TestReplicaPerConnection(t *testing.T) {
	mittest.Require(t, "systemd-socket-activate")
	f := newReplicaFixture(t, "")
	f.port = fmt.Sprint(mittest.FreePort(t))
	args := []string{"-l", "127.0.0.1:" + f.port, "--accept", "--inetd"}
	// systemd-socket-activate passes on only the variables named: no
	// PATH, which the plugin's tools still find.
	for _, kv := range f.r.Env() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "KRB5") {
			args = append(args, "-E", name)
		}
	}
	args = append(append(args, f.ours.kpropd, "-d"), f.r.kpropdArgs()...)
	f.kpropd = f.r.Start(t, "systemd-socket-activate", args...)
	f.kpropd.WaitPort(t, "tcp", "127.0.0.1:"+f.port, startTimeout)
	f.propagate(t)
	f.inStep(t)

	f.setMode(t, "fail")
	f.change(t, "addprinc -pw henry-pw henry")
	f.propagate(t)
	waitFor(t, "the failure to be recorded", func() bool { return f.status(t).State == replica.CantProcess }, f.kpropd)
	f.setMode(t, "ok")
	f.change(t, "modprinc -expire 2032-02-02 henry")
	f.propagate(t)
	f.inStep(t)
	if st := f.status(t); st.Seq != 2 {
		t.Errorf("after the retry: %+v", st)
	}

	f.setMode(t, "slow")
	f.change(t, "addprinc -pw ida-pw ida")
	before := f.calls()
	f.propagate(t)
	if after := strings.TrimPrefix(f.calls(), before); strings.Contains(after, "done") {
		t.Errorf("calls since the load %q: kprop waited for the slow plugin", after)
	}
	// Stopped mid-delivery (SIGTERM to the socket's unit), the
	// per-connection kpropd kills the plugin and records the delivery as
	// not made; the load's changes stay due.
	waitFor(t, "the plugin to start", func() bool { return strings.Count(f.calls(), "apply") == 4 }, f.kpropd)
	f.kpropd.Stop()
	st := f.status(t)
	if st.Seq != 2 || st.State != replica.CantProcess || !strings.Contains(st.LastError, "was killed: shutting down") {
		t.Errorf("after a stop mid-delivery: %+v", st)
	}
	if strings.HasSuffix(f.calls(), "done\n") {
		t.Errorf("calls %q: the slow plugin finished", f.calls())
	}
}
