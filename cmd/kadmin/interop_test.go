package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/mittest"
)

// mitRealm makes a realm like ourRealm, with the same name and settings,
// and creates its database with MIT's kdb5_util.
func mitRealm(t *testing.T) *mittest.Realm {
	t.Helper()
	r := mittest.NewRealm(t, testRealm)
	r.ExtraEnv = append(r.ExtraEnv, "TZ=UTC")
	r.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	return r
}

// interopBatch exercises every request kind with the options scripts use.
// It avoids confirmations: MIT's kadmin.local loses the rest of piped input
// after one (see the package documentation).
var interopBatch = []string{
	"addpol -minlength 8 -minclasses 2 -history 3 -maxfailure 5 -failurecountinterval 60s -lockoutduration 5m pwpol",
	"addpol -maxlife 90d -minlife 1h -allowedkeysalts aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal strict",
	"addpol -history 0 broken",
	"addprinc -pw alice-pw-1 alice",
	`addprinc -pw Bob-pw-12 -policy pwpol -expire "2030-01-01 00:00:00 UTC" -allow_forwardable bob`,
	"addprinc -randkey -e aes256-cts-hmac-sha1-96:special,aes128-cts-hmac-sha1-96:norealm host/server.kadmin.test",
	`addprinc -randkey +requires_preauth -maxlife "2 hours" -maxrenewlife 1d -pwexpire "2031-06-30 12:00:00 UTC" svc`,
	"addprinc -nokey -policy strict nokeys",
	"addprinc -randkey -policy nosuch ghost",
	"addprinc -randkey -kvno 7 -e aes128-cts -requires_preauth +ok_as_delegate kv7",
	"addprinc -pw alice-pw-1 alice",
	"addprinc -pw x -unlock bad1",
	"addprinc +nosuchflag bad2",
	"setstr host/server.kadmin.test session_enctypes aes256-cts",
	"setstr alice k v",
	"setstr alice k2 v2",
	"delstr alice k",
	"getstrs host/server.kadmin.test",
	"getstrs alice",
	"getstrs nobody",
	"cpw -keepold -e aes256-cts-hmac-sha1-96:special,aes128-cts-hmac-sha1-96:norealm -pw alice-pw-2 alice",
	"cpw -pw Bob-pw-34 bob",
	"cpw -pw Bob-pw-34 bob",
	"cpw -pw short bob",
	"cpw -pw alllowercase bob",
	"cpw -randkey -keepold kv7",
	"cpw -pw x nobody",
	"modprinc -maxlife 5h -expire never +needchange -allow_forwardable alice",
	"modprinc -policy strict svc",
	"modprinc -unlock -maxrenewlife 3d kv7",
	"modprinc -policy nosuch -clearpolicy kv7",
	"renprinc -force svc svc2",
	"renprinc -force nobody x",
	"getprinc K/M",
	"getprinc krbtgt/" + testRealm,
	"getprinc kadmin/admin",
	"getprinc kadmin/changepw",
	"getprinc kadmin/history",
	"getprinc alice",
	"getprinc bob",
	"getprinc host/server.kadmin.test",
	"getprinc svc2",
	"getprinc nokeys",
	"getprinc ghost",
	"getprinc kv7",
	"getprinc -terse bob",
	"getprinc -terse kv7",
	"getprinc nobody",
	"getpol pwpol",
	"getpol strict",
	"getpol -terse strict",
	"getpol nosuch",
	"modpol -maxlife 1w -allowedkeysalts - strict",
	"getpol strict",
	"listprincs",
	"listprincs *e*",
	"listprincs kadmin/*",
	"listpols",
	"listpols p*",
	"ktadd -k DIR/test.keytab -norandkey alice",
	"ktadd -k DIR/test.keytab host/server.kadmin.test",
	"ktadd -k DIR/test.keytab -e aes128-cts -q kv7",
	"ktadd -k DIR/test.keytab nobody",
	"ktremove -k DIR/test.keytab alice old",
	"ktremove -k DIR/test.keytab alice 2",
	"ktremove -k DIR/test.keytab kv7",
	"ktremove -k DIR/test.keytab kv7 all",
	"ktremove -k DIR/nosuch.keytab kv7",
	"purgekeys alice",
	"getprinc alice",
	"purgekeys -all kv7",
	"getprinc -terse kv7",
	"delprinc -force ghost",
	"delprinc -force nobody",
	"delpol -force strict",
	"getprinc nokeys",
	"listpols",
	"frobnicate the database",
	`getprinc "unbalanced`,
	"getprivs",
	"lock",
	"unlock",
	"addprinc",
	"modprinc -randkey alice",
	"addpol",
	"ktadd",
}

// dateRE and timestampRE match getprinc's dates and bare timestamps.
var (
	dateRE      = regexp.MustCompile(`[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}`)
	timestampRE = regexp.MustCompile(`\b\d{9,10}\b`)
)

// runTime names a time that comes from the clock of the run: within two
// minutes of start plus a whole number of days (a password expiry is the
// change time plus the policy's maximum life). Other times are kept.
func runTime(t, start time.Time) (string, bool) {
	off := t.Sub(start)
	days := off.Round(24 * time.Hour)
	if (off-days).Abs() > 2*time.Minute || days.Abs() > 4000*24*time.Hour {
		return "", false
	}
	return fmt.Sprintf("<now%+dd>", int(days/(24*time.Hour))), true
}

// normalise replaces the realm directory and the run's own times, so MIT's
// and our output can be compared line by line; every other byte must
// match.
func normalise(out, dir string, start time.Time) []string {
	out = strings.ReplaceAll(out, dir, "DIR")
	out = dateRE.ReplaceAllStringFunc(out, func(s string) string {
		if t, err := time.Parse("Mon Jan 02 15:04:05 MST 2006", s); err == nil {
			if r, ok := runTime(t, start); ok {
				return r
			}
		}
		return s
	})
	out = timestampRE.ReplaceAllStringFunc(out, func(s string) string {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if r, ok := runTime(time.Unix(n, 0), start); ok {
				return r
			}
		}
		return s
	})
	return strings.Split(out, "\n")
}

func compareLines(t *testing.T, what string, mit, ours []string) {
	t.Helper()
	n := max(len(mit), len(ours))
	bad := 0
	for i := 0; i < n; i++ {
		var m, o string
		if i < len(mit) {
			m = mit[i]
		}
		if i < len(ours) {
			o = ours[i]
		}
		if m != o {
			t.Errorf("%s line %d:\n  MIT:  %q\n  ours: %q", what, i+1, m, o)
			if bad++; bad > 20 {
				t.Fatalf("%s: too many differences", what)
			}
		}
	}
}

// TestInteropBatchMatchesMIT runs the same batch of requests through MIT's
// kadmin.local on an MIT realm and through ours on ours (same realm name,
// kdc.conf and TZ), piped on stdin as scripts do, and compares everything
// printed, line by line, with only times of the run normalised. It runs
// with libss's readline turned off (SS_READLINE_PATH=none), and again with
// it on when the host has the readline library MIT's libss loads.
func TestInteropBatchMatchesMIT(t *testing.T) {
	mittest.Require(t, "kdb5_util", "kadmin.local")
	modes := []string{"SS_READLINE_PATH=none"}
	if hasReadline() {
		modes = append(modes, "")
	} else {
		t.Log("no libreadline.so.8 on this host: MIT's readline echo is not compared")
	}
	for _, mode := range modes {
		t.Run("env="+mode, func(t *testing.T) {
			start := time.Now()
			mit := mitRealm(t)
			ours := ourRealm(t)
			if mode != "" {
				mit.ExtraEnv = append(mit.ExtraEnv, mode)
				ours.ExtraEnv = append(ours.ExtraEnv, mode)
			}
			k := kadminLocal(t)
			batch := func(dir string) string {
				return strings.ReplaceAll(strings.Join(interopBatch, "\n"), "DIR", dir) + "\n"
			}
			mitOut, mitErr, mitExit := mit.RunStdin(t, batch(mit.Dir), "kadmin.local")
			ourOut, ourErr, ourExit := ours.RunStdin(t, batch(ours.Dir), k)
			if mitExit != ourExit {
				t.Errorf("exit: MIT %d, ours %d", mitExit, ourExit)
			}
			compareLines(t, "stdout", normalise(mitOut, mit.Dir, start), normalise(ourOut, ours.Dir, start))
			compareLines(t, "stderr", normalise(mitErr, mit.Dir, start), normalise(ourErr, ours.Dir, start))
		})
	}
}

// hasReadline reports whether e2fsprogs' libss would find a readline
// library to load (it tries libreadline.so.8 first).
func hasReadline() bool {
	for _, dir := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
		if _, err := os.Stat(filepath.Join(dir, "libreadline.so.8")); err == nil {
			return true
		}
	}
	return false
}

// TestInteropQueryAndScriptModes compares single requests given with -q
// and as command-line words (script mode), including exit statuses.
func TestInteropQueryAndScriptModes(t *testing.T) {
	mittest.Require(t, "kdb5_util", "kadmin.local")
	start := time.Now()
	mit := mitRealm(t)
	ours := ourRealm(t)
	k := kadminLocal(t)
	cases := [][]string{
		{"-q", "addprinc -pw pw alice"},
		{"-q", "addprinc -pw pw alice"},
		{"-q", "getprinc nobody"},
		{"-q", "frobnicate x"},
		{"-q", `  "frob nicate" x`},
		{"-q", ""},
		{"-q", `"open`},
		{"addprinc", "-randkey", "bob"},
		{"addprinc", "-randkey", "bob"},
		{"getprinc", "-terse", "bob"},
		{"getprinc"},
		{"frobnicate"},
		{"delprinc", "bob"},
		{"-p", "admin/admin", "-q", "addprinc -randkey carol"},
		{"-q", "getprinc carol"},
		{"-p", "", "-q", "getprivs"},
		{"-n", "-q", "getprivs"},
		{"-r", testRealm, "-e", "aes128-cts:normal", "-q", "addprinc -randkey dave"},
		{"-q", "getprinc dave"},
		{"-x", "dbname=DIR/principal", "-q", "getprivs"},
		{"-d", "DIR/principal", "-w", "ignored", "-s", "ignored:1", "-O", "-N", "-q", "getprivs"},
		{"-x", "foo", "-q", "getprivs"},
		{"-t", "x", "-q", "getprivs"},
		{"-c", "DIR/nosuch.ccache", "-q", "getprivs"},
		{"-c", "DIR/nosuch.ccache", "-k", "-q", "getprivs"},
		{"-q", "getprivs", "extra"},
		{"-qgetprivs"},
		{"-Z"},
		{"-P", "pw"},
		{"-q"},
	}
	for _, c := range cases {
		run := func(r *mittest.Realm, tool string) (string, string, int) {
			args := make([]string, len(c))
			for i, a := range c {
				args[i] = strings.ReplaceAll(a, "DIR", r.Dir)
			}
			return r.Run(t, tool, args...)
		}
		mo, me, mx := run(mit, "kadmin.local")
		oo, oe, ox := run(ours, k)
		// getopt names the program by the path it was run as.
		me = strings.ReplaceAll(me, mittestPath(t, "kadmin.local")+": ", "kadmin.local: ")
		oe = strings.ReplaceAll(oe, k+": ", "kadmin.local: ")
		if mx != ox {
			t.Errorf("%q: exit MIT %d, ours %d", c, mx, ox)
		}
		compareLines(t, fmt.Sprintf("%q stdout", c), normalise(mo, mit.Dir, start), normalise(oo, ours.Dir, start))
		compareLines(t, fmt.Sprintf("%q stderr", c), normalise(me, mit.Dir, start), normalise(oe, ours.Dir, start))
	}
}

func mittestPath(t *testing.T, tool string) string {
	t.Helper()
	p, err := mittest.LookPath(tool)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// klistLine is one key of `klist -k -e -K -t`.
var klistLine = regexp.MustCompile(`^\s*(\d+) \S+ \S+ (\S+) \((\S+)\)\s+\(0x([0-9a-f]+)\)$`)

// TestInteropKlistReadsOurKeytab has MIT's klist read a keytab our ktadd
// wrote and checks every key against our database.
func TestInteropKlistReadsOurKeytab(t *testing.T) {
	mittest.Require(t, "klist")
	r := ourRealm(t)
	k := kadminLocal(t)
	kt := r.Path("interop.keytab")
	r.MustRun(t, k, "-q", "addprinc -pw secret-1 alice")
	r.MustRun(t, k, "-q", "addprinc -randkey -e aes256-cts:normal,aes128-cts:normal,aes256-sha2:normal,camellia256-cts:normal host/h.kadmin.test")
	r.MustRun(t, k, "-q", "addprinc -randkey krbtgt/OTHER.TEST")
	r.MustRun(t, k, "-q", "ktadd -k "+kt+" -norandkey alice")
	r.MustRun(t, k, "-q", "ktadd -k "+kt+" host/h.kadmin.test krbtgt/OTHER.TEST")
	out := r.MustRun(t, "klist", "-k", "-e", "-K", "-t", kt)
	want := map[string]bool{}
	srv := openServer(t, r)
	for _, name := range []string{"alice", "host/h.kadmin.test", "krbtgt/OTHER.TEST"} {
		keys, err := srv.Keys(context.Background(), mustName(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range keys {
			want[fmt.Sprintf("%d %s@%s %s %s", key.KVNO, name, testRealm, krb5x.EnctypeName(key.Key.KeyType),
				hex.EncodeToString(key.Key.KeyValue))] = true
		}
	}
	got := 0
	for _, line := range strings.Split(out, "\n") {
		m := klistLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		got++
		key := strings.Join(m[1:], " ")
		if !want[key] {
			t.Errorf("klist shows a key the database does not hold: %s", line)
		}
		delete(want, key)
	}
	if got == 0 || len(want) != 0 {
		t.Errorf("klist listed %d keys; missing %v\n%s", got, want, out)
	}
}

// TestInteropKeytabEntriesMatchMIT compares, entry by entry, the keytab
// MIT's ktadd -norandkey writes with ours for the same principals and
// passwords: same names, name types, kvnos, enctypes and keys.
func TestInteropKeytabEntriesMatchMIT(t *testing.T) {
	mittest.Require(t, "kdb5_util", "kadmin.local")
	mit := mitRealm(t)
	ours := ourRealm(t)
	k := kadminLocal(t)
	setup := []string{
		"addprinc -pw pw-one alice",
		"addprinc -pw pw-two -e aes256-cts:norealm,aes128-cts:onlyrealm host/h.kadmin.test",
		"cpw -pw pw-three -keepold alice",
		"addprinc -pw pw-four krbtgt/OTHER.TEST",
	}
	read := func(r *mittest.Realm, tool string) []keytab.Entry {
		for _, q := range setup {
			r.MustRun(t, tool, "-q", q)
		}
		kt := r.Path("cmp.keytab")
		r.MustRun(t, tool, "-q", "ktadd -k "+kt+" -norandkey alice host/h.kadmin.test krbtgt/OTHER.TEST")
		es, err := keytab.Read(kt)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	me, oe := read(mit, "kadmin.local"), read(ours, k)
	if len(me) != len(oe) {
		t.Fatalf("MIT wrote %d entries, we wrote %d", len(me), len(oe))
	}
	for i := range me {
		m, o := me[i], oe[i]
		if m.Principal.String() != o.Principal.String() || m.Principal.NameType != o.Principal.NameType ||
			m.KVNO != o.KVNO || m.Key.KeyType != o.Key.KeyType || !bytes.Equal(m.Key.KeyValue, o.Key.KeyValue) {
			t.Errorf("entry %d: MIT %s type %d kvno %d etype %d, ours %s type %d kvno %d etype %d (keys equal %v)", i,
				m.Principal, m.Principal.NameType, m.KVNO, m.Key.KeyType, o.Principal, o.Principal.NameType, o.KVNO,
				o.Key.KeyType, bytes.Equal(m.Key.KeyValue, o.Key.KeyValue))
		}
	}
}
