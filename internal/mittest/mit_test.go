package mittest

import (
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMITRealm creates a database with MIT's own tools in a private realm and
// checks that everything landed in the temporary directory.
func TestMITRealm(t *testing.T) {
	Require(t, "kdb5_util", "kadmin.local")
	before := snapshotSystemKerberos(t)
	r := NewRealm(t, "MITTEST.TEST")

	r.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	r.MustRun(t, "kadmin.local", "-q", "addprinc -pw x alice")
	out := r.MustRun(t, "kadmin.local", "-q", "getprinc alice")
	for _, want := range []string{
		"Principal: alice@MITTEST.TEST",
		"Maximum ticket life: 0 days 10:00:00",
		"Attributes: REQUIRES_PRE_AUTH",
		"aes256-cts-hmac-sha1-96",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("getprinc output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "des3") || strings.Contains(out, "arcfour") {
		t.Errorf("keys outside supported_enctypes:\n%s", out)
	}
	for _, p := range []string{r.DBName, r.Stash, r.DBName + ".kadm5"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("expected %s in the realm directory: %v", p, err)
		}
	}
	if after := snapshotSystemKerberos(t); after != before {
		t.Errorf("system Kerberos files changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestMITKDC starts MIT's KDC on the realm's loopback port and gets a ticket
// from it with MIT's kinit.
func TestMITKDC(t *testing.T) {
	Require(t, "kdb5_util", "kadmin.local", "krb5kdc", "kinit", "klist")
	r := NewRealm(t, "KDC.TEST")
	r.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	r.MustRun(t, "kadmin.local", "-q", "addprinc -pw secret bob")

	kdc := r.Start(t, "krb5kdc", "-n")
	kdc.WaitPort(t, "udp", r.KDCAddr(), 10*time.Second)
	kdc.WaitPort(t, "tcp", r.KDCAddr(), 10*time.Second)
	// kdc_listen names 127.0.0.1, so the KDC must not be bound to the
	// wildcard address, where it would be reachable from outside.
	other := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(r.KDCPort))
	for _, network := range []string{"udp", "tcp"} {
		if ok, err := listening(network, other); err != nil || ok {
			t.Errorf("krb5kdc listens beyond 127.0.0.1 on %s (err %v)", network, err)
		}
	}

	if _, stderr, exit := r.RunStdin(t, "secret\n", "kinit", "bob"); exit != 0 {
		t.Fatalf("kinit: exit %d: %s", exit, stderr)
	}
	out := r.MustRun(t, "klist")
	for _, want := range []string{"Ticket cache: FILE:" + r.CCache, "Default principal: bob@KDC.TEST", "krbtgt/KDC.TEST@KDC.TEST"} {
		if !strings.Contains(out, want) {
			t.Errorf("klist lacks %q:\n%s", want, out)
		}
	}
	if _, _, exit := r.RunStdin(t, "wrong\n", "kinit", "bob"); exit == 0 {
		t.Error("kinit with a wrong password succeeded")
	}

	st := kdc.Stop()
	if st == nil || !st.Exited() || st.ExitCode() != 0 {
		_, stderr := kdc.Output()
		t.Errorf("krb5kdc after SIGTERM: %v\n%s", st, stderr)
	}
	if log, err := os.ReadFile(r.LogFile); err != nil || !strings.Contains(string(log), "AS_REQ") {
		t.Errorf("KDC log %s has no AS_REQ (err %v)", r.LogFile, err)
	}
}

// snapshotSystemKerberos lists the system-wide Kerberos files with their
// sizes and modification times, to prove a test did not touch them.
func snapshotSystemKerberos(t *testing.T) string {
	t.Helper()
	var lines []string
	add := func(path string) {
		fi, err := os.Lstat(path)
		if err != nil {
			lines = append(lines, path+" absent")
			return
		}
		lines = append(lines, path+" "+fi.Mode().String()+" "+fi.ModTime().UTC().Format(time.RFC3339Nano)+" "+strconv.FormatInt(fi.Size(), 10))
	}
	add("/etc/krb5.conf")
	for _, dir := range []string{"/etc/krb5kdc", "/var/lib/krb5kdc"} {
		add(dir)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			add(filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
