package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/filelock"
	"github.com/krb5prop/krb5prop/internal/mittest"
)

func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }

// realmWithHostKey is an MIT realm with a running KDC and this host's
// host principal, its key in a keytab, and a dump file ready to send:
// what kprop needs before it reaches the replica.
type realmWithHostKey struct {
	*mittest.Realm
	host, keytab, dump string
}

func newRealmWithHostKey(t *testing.T) *realmWithHostKey {
	t.Helper()
	mittest.Require(t, "krb5kdc", "kdb5_util", "kadmin.local", "kprop")
	host := mittest.LoopbackHostName(t)
	r := &realmWithHostKey{
		Realm: mittest.NewRealm(t, "KRBTEST.COM", mittest.WithKRB5Conf("libdefaults", "qualify_shortname", `""`)),
		host:  host,
	}
	r.keytab, r.dump = r.Path("host.keytab"), r.Path("replica_datatrans")
	r.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	r.MustRun(t, "kadmin.local", "-q", "addprinc -randkey host/"+host)
	r.MustRun(t, "kadmin.local", "-q", "ktadd -k "+r.keytab+" host/"+host)
	r.MustRun(t, "kdb5_util", "dump", r.dump)
	kdc := r.Start(t, "krb5kdc", "-n")
	kdc.WaitPort(t, "tcp", r.KDCAddr(), 20*time.Second)
	return r
}

// TestFailuresBeforeTheReplicaMatchMIT runs MIT's kprop and ours with the
// same broken inputs: bad arguments, a dump file that is missing, not
// vouched for by its .dump_ok or locked, no ticket to be had for the
// replica, and no kpropd to connect to. Both print the same and exit 1.
func TestFailuresBeforeTheReplicaMatchMIT(t *testing.T) {
	r := newRealmWithHostKey(t)
	mitKprop, err := mittest.LookPath("kprop")
	if err != nil {
		t.Fatal(err)
	}
	ourKprop := mittest.GoBinary(t, "./cmd/kprop")
	freePort := strconv.Itoa(mittest.FreePort(t))
	// A realm whose KDC is not running, for kprop's AS request.
	noKDC := mittest.NewRealm(t, "KRBTEST.COM", mittest.WithKRB5Conf("libdefaults", "qualify_shortname", `""`))
	args := func(dump string, more ...string) []string {
		return append([]string{"-f", dump, "-P", freePort, "-s", r.keytab}, more...)
	}
	// Dump files in each state, made once before the runs.
	olderOK := r.Path("older-ok")
	os.WriteFile(olderOK, []byte("dump\n"), 0o600)
	os.WriteFile(olderOK+".dump_ok", []byte{0}, 0o600)
	past := time.Now().Add(-time.Minute)
	os.Chtimes(olderOK+".dump_ok", past, past)
	noOK := r.Path("no-ok")
	os.WriteFile(noOK, []byte("dump\n"), 0o600)
	locked := r.Path("locked")
	os.WriteFile(locked, []byte("dump\n"), 0o600)
	os.WriteFile(locked+".dump_ok", []byte{0}, 0o600)
	// kdb5_util dump holds an exclusive lock while it writes the file.
	lf, err := os.OpenFile(locked, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := filelock.Lock(lf, true); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		realm *mittest.Realm
		args  []string
		want  string // in MIT's standard error, to show the case is the one meant
	}{
		{"no replica", r.Realm, nil, "Usage: kprop [-r realm]"},
		{"unknown option", r.Realm, []string{"-x", r.host}, "kprop: invalid option -- 'x'"},
		{"option without its value", r.Realm, []string{r.host, "-f"}, "kprop: option requires an argument -- 'f'"},
		{"unknown replica host", r.Realm, args(r.dump, "no-such-replica"),
			"kprop: Server not found in Kerberos database while getting initial credentials\n\n"},
		{"no KDC", noKDC, args(r.dump, r.host),
			"kprop: Cannot contact any KDC for requested realm while getting initial credentials\n\n"},
		{"realm without a key in the keytab", r.Realm, args(r.dump, "-r", "OTHER.TEST", r.host),
			"kprop: Key table entry not found while getting initial credentials\n\n"},
		// MIT asks the KDC first; the host key requires preauthentication
		// (Debian's default_principal_flags), which then fails.
		{"no keytab", r.Realm, []string{"-f", r.dump, "-P", freePort, "-s", r.Path("missing.keytab"), r.host},
			"kprop: Generic preauthentication failure while getting initial credentials\n\n"},
		{"no dump", r.Realm, args(r.Path("missing"), r.host), "kprop: No such file or directory while trying to open "},
		{"no .dump_ok", r.Realm, args(noOK, r.host), "kprop: No such file or directory while trying to stat " + noOK + ".dump_ok\n"},
		{".dump_ok older than the dump", r.Realm, args(olderOK, r.host), "kprop: '" + olderOK + "' more recent than '" + olderOK + ".dump_ok'.\n"},
		{"dump locked", r.Realm, args(locked, r.host), "kprop: database locked\n"},
		{"no kpropd", r.Realm, args(r.dump, r.host), "kprop: Connection refused while connecting to server\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mitOut, mitErr, mitExit := tc.realm.Run(t, mitKprop, tc.args...)
			ourOut, ourErr, ourExit := tc.realm.Run(t, ourKprop, tc.args...)
			// Both start their messages with argv[0] as invoked.
			mitErr = strings.ReplaceAll(mitErr, mitKprop, "kprop")
			ourErr = strings.ReplaceAll(ourErr, ourKprop, "kprop")
			if mitExit != 1 || !strings.Contains(mitErr, tc.want) {
				t.Fatalf("MIT's kprop: exit %d\nstdout:\n%s\nstderr:\n%s\nwant %q in it", mitExit, mitOut, mitErr, tc.want)
			}
			if ourExit != mitExit || ourOut != mitOut || ourErr != mitErr {
				t.Errorf("ours: exit %d\nstdout:\n%s\nstderr:\n%s\nMIT's: exit %d\nstdout:\n%s\nstderr:\n%s",
					ourExit, ourOut, ourErr, mitExit, mitOut, mitErr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "replica_datatrans."+r.host+".last_prop")); err == nil {
		t.Error("a failed kprop wrote the last_prop marker")
	}
}
