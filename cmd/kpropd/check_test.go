package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// TestCheck: kpropd --check reports what a replica's first propagation
// needs, without sending anything: all in order on a good replica, and
// each mistake named with what to do.
func TestCheck(t *testing.T) {
	ours := ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	r := p.newReplica(t, ours)
	port := strconv.Itoa(mittest.FreePort(t))
	run := func(r *replicaHost, extra ...string) (string, int) {
		t.Helper()
		stdout, stderr, exit := r.Run(t, ours.kpropd, append(append([]string{"--check", "-P", port}, r.kpropdArgs()...), extra...)...)
		if stderr != "" {
			t.Errorf("stderr: %s", stderr)
		}
		return stdout, exit
	}
	out, exit := run(r)
	for _, want := range []string{
		"ok    realm " + testRealm,
		"ok    keytab " + p.keytab + ": host/" + p.host + "@" + testRealm + " (kvno 2 aes256-cts-hmac-sha1-96)",
		"ok    ACL " + r.acl + " allows host/" + p.host + "@" + testRealm,
		"ok    stash " + p.Stash + ": master key kvno 1",
		"note  no database yet at " + r.DBName,
		"ok    can write " + r.file + ".temp",
		"ok    can listen on [::]:" + port,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("a good replica's check lacks %q:\n%s", want, out)
		}
	}
	if exit != 0 || strings.Contains(out, "FAIL") {
		t.Errorf("a good replica's check: exit %d\n%s", exit, out)
	}
	// Nothing was sent or written: the first propagation still works,
	// and then the stash is tried on the database.
	kpropd, kport := r.startKpropd(t)
	p.propagate(t, ours, r, kport)
	kpropd.Stop()
	if out, _ := run(r); !strings.Contains(out, "ok    stash "+p.Stash+" opens the database "+r.DBName) {
		t.Errorf("check after the first propagation:\n%s", out)
	}

	bad := p.newReplica(t, ours, mittest.WithKDCConf("realms", "key_stash_file", "/nonexistent/stash"))
	bad.setACL(t, "# nobody yet\n")
	bad.keytab = p.otherKeytab
	out, exit = run(bad)
	for _, want := range []string{
		"FAIL  keytab " + p.otherKeytab + " has no key for host/" + p.host + "@" + testRealm,
		"FAIL  ACL " + bad.acl + " names no principal",
		"FAIL  stash /nonexistent/stash:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("a broken replica's check lacks %q:\n%s", want, out)
		}
	}
	if exit != 1 {
		t.Errorf("a broken replica's check: exit %d, want 1", exit)
	}
}
