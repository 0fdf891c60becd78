package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// scriptRun is one run of examples/propagate.sh: its exit status, its
// standard error, and what it sent to syslog, one logger call a line, each
// argument in brackets.
type scriptRun struct {
	exit   int
	stderr string
	logged []string
}

// runScript runs examples/propagate.sh with sh in realm's environment plus
// vars, with logger replaced through PATH by a fake that records its
// arguments.
func runScript(t *testing.T, realm *mittest.Realm, vars ...string) scriptRun {
	t.Helper()
	root, err := mittest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	fake := t.TempDir()
	record := filepath.Join(fake, "logged")
	logger := fmt.Sprintf("#!/bin/sh\nprintf '[%%s]' \"$@\" >> %s\necho >> %s\n", record, record)
	if err := os.WriteFile(filepath.Join(fake, "logger"), []byte(logger), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", filepath.Join(root, "examples", "propagate.sh"))
	cmd.Dir = realm.Dir
	cmd.Env = append(append(realm.Env(), "PATH="+fake+":"+os.Getenv("PATH")), vars...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	res := scriptRun{exit: cmd.ProcessState.ExitCode(), stderr: stderr.String()}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("propagate.sh: %v", err)
	}
	if b, err := os.ReadFile(record); err == nil {
		res.logged = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	t.Logf("propagate.sh: exit %d\nlogged:\n%s\nstderr:\n%s", res.exit, strings.Join(res.logged, "\n"), res.stderr)
	return res
}

// syslogLine is the logger call the script makes for message at priority.
func syslogLine(priority, message string) string {
	return "[-t][krb5prop-propagate][-p][auth." + priority + "][--][" + message + "]"
}

// TestPropagateScript runs the cron script against a private realm and two
// replicas (one our kpropd, one MIT's): dumping with MIT's kdb5_util and
// with ours, then with a replica down, a dump that fails, and a run lock
// held by another run; it checks the exit status and every line sent to
// syslog.
func TestPropagateScript(t *testing.T) {
	p := newFanoutPrimary(t)
	a, b := p.newReplica(t, false), p.newReplica(t, true)
	a.start(t, p.keytab)
	b.start(t, p.keytab)
	list := p.Path("replicas")
	writeList(t, list, []*fanoutReplica{a, b})
	ourKdb5util := mittest.GoBinary(t, "./cmd/kdb5util")
	// Our kdb5util dumps its own database: the same realm, loaded into a
	// directory of its own, with the same KDC and stash.
	ours := mittest.NewRealm(t, p.Name, mittest.WithKDCPort(p.KDCPort),
		mittest.WithKDCConf("realms", "key_stash_file", p.Stash),
		mittest.WithKRB5Conf("libdefaults", "qualify_shortname", `""`))
	ours.MustRun(t, ourKdb5util, "load", p.dump)

	vars := func(realm *mittest.Realm, kdb5util string, more ...string) []string {
		return append([]string{"KDB5_UTIL=" + kdb5util, "KPROP=" + p.kprop, "DUMP_FILE=" + realm.Path("sent.dump"),
			"REPLICA_LIST=" + list, "KEYTAB=" + p.keytab, "TIMEOUT=1m", "JOBS=2", "REALM=" + p.Name}, more...)
	}
	succeeded := []string{
		syslogLine("info", "Database propagation to "+a.name+": SUCCEEDED"),
		syslogLine("info", "Database propagation to "+b.name+": SUCCEEDED"),
	}
	for _, side := range []struct {
		name     string
		realm    *mittest.Realm
		kdb5util string
	}{{"MIT's kdb5_util", p.Realm, mustLook(t, "kdb5_util")}, {"our kdb5util", ours, ourKdb5util}} {
		t.Run(side.name, func(t *testing.T) {
			res := runScript(t, side.realm, vars(side.realm, side.kdb5util)...)
			if res.exit != 0 || res.stderr != "" || strings.Join(res.logged, "\n") != strings.Join(succeeded, "\n") {
				t.Fatalf("exit %d, logged %q, want %q", res.exit, res.logged, succeeded)
			}
			sent := mustRead(t, side.realm.Path("sent.dump"))
			a.checkLoaded(t, sent)
			b.checkLoaded(t, sent)
		})
	}

	t.Run("a replica down", func(t *testing.T) {
		b.proc.Stop()
		dump := p.Path("sent.dump")
		res := runScript(t, p.Realm, vars(p.Realm, mustLook(t, "kdb5_util"))...)
		failed := "Database propagation to " + b.name + ": FAILED: Connection refused while connecting to server; " +
			"nothing listens there: is kpropd running on " + p.host + " on the kprop port (-P or host:port)?"
		summary := "propagation failed (kprop exit status 1); see kprop --status -f " + dump
		want := []string{succeeded[0], syslogLine("err", failed), syslogLine("err", summary)}
		if res.exit != 1 || strings.Join(res.logged, "\n") != strings.Join(want, "\n") {
			t.Errorf("exit %d, logged %q, want %q", res.exit, res.logged, want)
		}
		if res.stderr != "krb5prop-propagate: "+failed+"\nkrb5prop-propagate: "+summary+"\n" {
			t.Errorf("stderr (what cron mails) %q", res.stderr)
		}
	})

	t.Run("the dump fails", func(t *testing.T) {
		dump := p.Path("nowhere/sent.dump")
		res := runScript(t, p.Realm, append(vars(p.Realm, mustLook(t, "kdb5_util")), "DUMP_FILE="+dump)...)
		if res.exit != 1 || len(res.logged) != 1 || !strings.HasPrefix(res.logged[0],
			"[-t][krb5prop-propagate][-p][auth.err][--][dump of the KDC database to "+dump+" failed: kdb5_util: ") {
			t.Errorf("exit %d, logged %q", res.exit, res.logged)
		}
	})

	t.Run("another run holds the lock", func(t *testing.T) {
		dump := p.Path("sent.dump")
		lock, err := takeRunLock(dump+".kprop.lock", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		res := runScript(t, p.Realm, append(vars(p.Realm, mustLook(t, "kdb5_util")), "WAIT=no")...)
		busy := fmt.Sprintf("kprop: another kprop run (pid %d) holds %s.kprop.lock; not waiting (-n)", os.Getpid(), dump)
		want := []string{syslogLine("warning", strings.Replace(busy, "kprop: ", p.kprop+": ", 1)),
			syslogLine("warning", "skipped: the previous propagation is still running")}
		if res.exit != exitBusy || strings.Join(res.logged, "\n") != strings.Join(want, "\n") || res.stderr != "" {
			t.Errorf("exit %d, logged %q, want %q", res.exit, res.logged, want)
		}
	})
}

// TestPropagateUnitsVerify checks the propagation service and timer with
// systemd-analyze verify, the script put at the service's ExecStart path.
func TestPropagateUnitsVerify(t *testing.T) {
	mittest.Require(t, "systemd-analyze")
	root, err := mittest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	const installed = "/usr/local/sbin/krb5prop-propagate"
	dir := t.TempDir()
	script := filepath.Join(dir, "krb5prop-propagate")
	if err := os.WriteFile(script, mustRead(t, filepath.Join(root, "examples", "propagate.sh")), 0o755); err != nil {
		t.Fatal(err)
	}
	var units []string
	for _, name := range []string{"krb5prop-propagate.service", "krb5prop-propagate.timer"} {
		text := string(mustRead(t, filepath.Join(root, "systemd", name)))
		for _, want := range map[string][]string{
			"krb5prop-propagate.service": {"Type=oneshot", "ExecStart=" + installed + "\n", "ProtectSystem=strict", "ReadWritePaths=/var/lib/krb5kdc /run"},
			"krb5prop-propagate.timer":   {"OnCalendar=*:0/15", "Persistent=true"},
		}[name] {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		u := filepath.Join(dir, name)
		if err := os.WriteFile(u, []byte(strings.ReplaceAll(text, installed, script)), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, u)
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify"}, units...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
