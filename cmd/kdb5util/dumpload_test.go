package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/internal/synth"
	"github.com/krb5prop/krb5prop/kdb"
)

const fixtureRealm = "FIXTURE.TEST"

// TestFixtureDumpsRoundTrip loads each dump MIT 1.20 wrote, in every
// format, with our kdb5util, dumps it again in the same format and in the
// default one, and compares with what MIT's own kdb5_util writes after
// loading the same file.
func TestFixtureDumpsRoundTrip(t *testing.T) {
	mittest.Require(t, "kdb5_util")
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	for _, c := range []struct{ file, flag string }{
		{"mit-basic.dump.r111", ""}, {"mit-basic.dump.r18", "-r18"}, {"mit-basic.dump.r13", "-r13"}, {"mit-basic.dump.b7", "-b7"},
	} {
		t.Run(c.file, func(t *testing.T) {
			src, _ := filepath.Abs("testdata/" + c.file)
			ours := mittest.NewRealm(t, fixtureRealm)
			mit := mittest.NewRealm(t, fixtureRealm)
			// MIT's dump fails without the master key, so both get the
			// fixture's stash.
			stash := mittest.ReadFile(t, "testdata/mit-basic.stash")
			os.WriteFile(mit.Stash, stash, 0o600)
			os.WriteFile(ours.Stash, stash, 0o600)
			ours.MustRun(t, bin, "load", src)
			mit.MustRun(t, "kdb5_util", "load", src)
			// Same format: byte-identical to the file itself.
			args := []string{"dump"}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			if got := ours.MustRun(t, bin, args...); got != string(mittest.ReadFile(t, src)) {
				t.Errorf("our %s re-dump differs from the file", c.flag)
			}
			// Default format: what MIT makes of the older formats.
			ourOut, mitOut := ours.MustRun(t, bin, "dump"), mit.MustRun(t, "kdb5_util", "dump")
			if ourOut != mitOut {
				t.Errorf("version 7 re-dump differs from MIT's:\nours:\n%s\nMIT:\n%s", ourOut, mitOut)
			}
		})
	}
}

// interopQueries build a realm that uses every kind of data a dump
// carries: policies, salts, string attributes, old keys, flags, dates.
var interopQueries = []string{
	"addpol -minlength 8 -minclasses 2 -history 3 -maxfailure 5 -failurecountinterval 60s -lockoutduration 5m pwpol",
	"addpol -maxlife 90d -minlife 1h -allowedkeysalts aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal strict",
	"addprinc -pw alice-pw-1 alice",
	`addprinc -pw Bob-pw-12 -policy pwpol -expire "2030-01-01 00:00:00 UTC" -allow_forwardable bob`,
	"addprinc -randkey -e aes256-cts-hmac-sha1-96:special,aes128-cts-hmac-sha1-96:norealm host/server.fixture.test",
	"setstr host/server.fixture.test session_enctypes aes256-cts",
	"cpw -keepold -e aes256-cts-hmac-sha1-96:special,aes128-cts-hmac-sha1-96:norealm -pw alice-pw-2 alice",
	"cpw -pw Bob-pw-34 bob",
	"addprinc -nokey -policy strict nokeys",
	`addprinc -randkey "john doe"`,
	`addprinc -randkey odd\@x/y`,
	"modprinc -maxlife 5h +needchange -allow_tix bob",
}

// TestOurDumpLoadsInMIT: a realm made with our tools dumps to a file MIT's
// kdb5_util loads and dumps back byte for byte; MIT's kadmin.local then
// shows the same principals as ours, and both export the same keys.
func TestOurDumpLoadsInMIT(t *testing.T) {
	mittest.Require(t, "kdb5_util", "kadmin.local")
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	kadmin := mittest.GoBinary(t, "./cmd/kadmin")
	ours := mittest.NewRealm(t, fixtureRealm)
	ours.ExtraEnv = []string{"TZ=UTC"}
	ours.MustRun(t, bin, "-P", "master-pw", "create", "-s")
	_, stderr, _ := ours.RunStdin(t, strings.Join(interopQueries, "\n")+"\n", kadmin)
	if strings.Contains(stderr, "while") {
		t.Fatalf("kadmin batch failed:\n%s", stderr)
	}
	file := ours.Path("ours.dump")
	ours.MustRun(t, bin, "dump", file)
	mit := mittest.NewRealm(t, fixtureRealm)
	mit.ExtraEnv = []string{"TZ=UTC"}
	mit.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	mit.MustRun(t, "kdb5_util", "load", file)
	if got := mit.MustRun(t, "kdb5_util", "dump"); got != string(mittest.ReadFile(t, file)) {
		t.Fatalf("MIT's re-dump differs from ours:\nMIT:\n%s\nours:\n%s", got, mittest.ReadFile(t, file))
	}
	names := strings.Fields(ours.MustRun(t, kadmin, "-q", "listprincs"))
	names = names[len(strings.Fields("Authenticating as principal root/admin@"+fixtureRealm+" with password.")):]
	if len(names) < 10 {
		t.Fatalf("listprincs: %q", names)
	}
	for _, n := range names {
		q := "getprinc " + strings.ReplaceAll(n, `\`, `\\`)
		o1, e1, _ := ours.Run(t, kadmin, "-q", q)
		o2, e2, _ := mit.Run(t, "kadmin.local", "-q", q)
		if o1 != o2 || e1 != e2 {
			t.Errorf("getprinc %s differs:\nours:\n%s%s\nMIT:\n%s%s", n, o1, e1, o2, e2)
		}
	}
	// Keys: both sides decrypt the same stored keys to the same values.
	for _, side := range []struct {
		r    *mittest.Realm
		tool string
	}{{ours, kadmin}, {mit, "kadmin.local"}} {
		side.r.MustRun(t, side.tool, "-q", "ktadd -k "+side.r.Path("keys.kt")+" -norandkey alice bob host/server.fixture.test")
	}
	k1, err := keytab.Read(ours.Path("keys.kt"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := keytab.Read(mit.Path("keys.kt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != len(k2) || len(k1) < 8 {
		t.Fatalf("%d keys from ours, %d from MIT", len(k1), len(k2))
	}
	for i := range k1 {
		if !k1[i].Principal.Equal(k2[i].Principal) || k1[i].KVNO != k2[i].KVNO || !bytes.Equal(k1[i].Key.KeyValue, k2[i].Key.KeyValue) {
			t.Errorf("key %d differs: %v kvno %d vs %v kvno %d", i, k1[i].Principal, k1[i].KVNO, k2[i].Principal, k2[i].KVNO)
		}
	}
}

// writeSynth writes a synthetic realm dump of n users stamped gen.
func writeSynth(t *testing.T, path string, n int, gen int32) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := synth.WriteDump(f, synth.Realm{Name: testRealm, MasterPassword: "master-pw", Users: n, Generation: gen}); err != nil {
		t.Fatal(err)
	}
}

// census reads the whole database in one snapshot and returns how many
// principals it holds and which generations their users carry.
func census(ctx context.Context, s *kdb.Store) (int, map[int32]int, error) {
	gens := map[int32]int{}
	n := 0
	err := s.Snapshot(ctx, func(v *kdb.View) error {
		return v.Principals(ctx, false, func(p *kdb.Principal) error {
			n++
			if strings.HasPrefix(p.Name.Components[0], "user") {
				gens[p.MaxRenewableLife]++
			}
			return nil
		})
	})
	return n, gens, err
}

// TestLoadWhileAnotherProcessReads: this process reads the whole database
// and single principals in a loop while a kdb5util process loads a
// 100,000-principal dump over it; every read sees all of the old set or
// all of the new one, and none fails.
func TestLoadWhileAnotherProcessReads(t *testing.T) {
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	r := mittest.NewRealm(t, testRealm)
	const n = 100000
	writeSynth(t, r.Path("gen1.dump"), n, 1)
	writeSynth(t, r.Path("gen2.dump"), n, 2)
	r.MustRun(t, bin, "load", r.Path("gen1.dump"))
	s, err := kdb.Open(r.DBName, kdb.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	loader := r.Start(t, bin, "load", r.Path("gen2.dump"))
	scans, lookups := 0, 0
	seen := map[int32]bool{}
	for done := false; !done; {
		select {
		case <-loader.Done():
			done = true
		default:
		}
		count, gens, err := census(ctx, s)
		if err != nil {
			t.Fatalf("scan during the load: %v", err)
		}
		if count != n+4 || len(gens) != 1 {
			t.Fatalf("scan during the load saw %d principals of generations %v", count, gens)
		}
		for g := range gens {
			seen[g] = true
		}
		scans++
		for i := 0; i < 200; i++ {
			p, err := s.Get(ctx, fmt.Sprintf("user%08d@%s", rand.Intn(n), testRealm))
			if err != nil || (p.MaxRenewableLife != 1 && p.MaxRenewableLife != 2) {
				t.Fatalf("lookup during the load: %v", err)
			}
			lookups++
		}
	}
	if st := loader.State(); !st.Success() {
		out, errOut := loader.Output()
		t.Fatalf("load failed: %v\n%s%s", st, out, errOut)
	}
	if _, gens, _ := census(ctx, s); gens[2] != n {
		t.Fatalf("after the load: %v", gens)
	}
	t.Logf("%d full scans and %d lookups during the load; generations seen: %v", scans, lookups, seen)
}

// TestLoadKilledAtRandomPoints kills a loading kdb5util with SIGKILL at
// random moments: afterwards the database always opens, whole, with
// exactly the old contents or exactly the new.
func TestLoadKilledAtRandomPoints(t *testing.T) {
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	r := mittest.NewRealm(t, testRealm)
	const n = 20000
	writeSynth(t, r.Path("gen1.dump"), n, 1)
	writeSynth(t, r.Path("gen2.dump"), n, 2)
	r.MustRun(t, bin, "load", r.Path("gen1.dump"))
	// How long a full load takes here, to spread the kills over it.
	start := time.Now()
	r.MustRun(t, bin, "load", r.Path("gen2.dump"))
	full := time.Since(start)
	ctx := context.Background()
	want := int32(2)
	outcomes := map[string]int{}
	for trial := 0; trial < 24; trial++ {
		next := 3 - want
		cmd := exec.Command(bin, "load", r.Path(fmt.Sprintf("gen%d.dump", next)))
		cmd.Env = r.Env()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.Int63n(int64(full) + 1)))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		s, err := kdb.Open(r.DBName, kdb.ReadOnly)
		if err != nil {
			t.Fatalf("trial %d: database does not open after the kill: %v", trial, err)
		}
		count, gens, err := census(ctx, s)
		s.Close()
		switch {
		case err != nil:
			t.Fatalf("trial %d: %v", trial, err)
		case count != n+4 || len(gens) != 1:
			t.Fatalf("trial %d: %d principals of generations %v", trial, count, gens)
		case gens[want] == n:
			outcomes["old"]++
		case gens[next] == n:
			outcomes["new"]++
			want = next
		}
	}
	if m, _ := filepath.Glob(r.DBName + ".load-*"); len(m) > 1 {
		t.Errorf("scratch files pile up: %v", m)
	}
	t.Logf("24 kills: %v (a full load takes %v)", outcomes, full)
}

// TestLoadBadInput: each broken dump is refused with the line and field
// named, exit status 1, and the live database files unchanged.
func TestLoadBadInput(t *testing.T) {
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	r := mittest.NewRealm(t, fixtureRealm)
	good := mittest.ReadFile(t, "testdata/mit-basic.dump.r111")
	r.MustRun(t, bin, "load", mustAbs(t, "testdata/mit-basic.dump.r111"))
	lines := strings.SplitAfter(string(good), "\n")
	// Line 3 of the fixture is alice's record (header is line 1, K/M line 2).
	alice := lines[2]
	if !strings.Contains(alice, "\t38\t18\t4\t4\t0\talice@") {
		t.Fatalf("unexpected fixture line 3: %.60q", alice)
	}
	replaceIn := func(old, new string) string {
		return strings.Replace(string(good), alice, strings.Replace(alice, old, new, 1), 1)
	}
	cases := []struct {
		name, content string
		want          []string
	}{
		{"truncated", string(good[:len(good)/2]), []string{"(", "): cannot"}},
		{"wrong header", "kdb5_util load_dump version 8\n" + strings.Join(lines[1:], ""), []string{"dump header bad"}},
		{"CRLF header", strings.Replace(string(good), "version 7\n", "version 7\r\n", 1), []string{"dump header bad"}},
		{"bad hex digit", replaceIn("9859046b", "98g9046b"), []string{"(3): cannot read"}},
		{"lying tl-data count", replaceIn("\t38\t18\t4\t4\t", "\t38\t18\t9\t4\t"), []string{"(3)"}},
		{"name longer than its length", replaceIn("\t38\t18\t", "\t38\t16\t"), []string{"(3)"}},
		{"4 GiB length", replaceIn("\t38\t18\t", "\t38\t4294967296\t"), []string{"(3)"}},
		{"base length not 38", replaceIn("\t38\t18\t", "\t37\t18\t"), []string{"(3)"}},
		{"key version 3", strings.Replace(string(good), "\t1\t1\t18\t62\t", "\t3\t1\t18\t62\t", 1), []string{"unsupported key_data_ver"}},
	}
	files := []string{r.DBName, r.DBName + "-wal", kdb.LockoutPath(r.DBName)}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.content == string(good) {
				t.Fatal("the case does not change the dump")
			}
			path := r.Path("bad.dump")
			os.WriteFile(path, []byte(c.content), 0o600)
			before := fileHashes(t, files)
			_, stderr, code := r.Run(t, bin, "load", path)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if !strings.Contains(stderr, "dump header bad") && !strings.Contains(stderr, "restore failed") {
				t.Errorf("no MIT failure line:\n%s", stderr)
			}
			if after := fileHashes(t, files); after != before {
				t.Error("the live database changed")
			}
		})
	}
	// The database still holds the fixture.
	if got := r.MustRun(t, bin, "dump"); got != string(good) {
		t.Error("database content changed after the failed loads")
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func fileHashes(t *testing.T, files []string) string {
	var b strings.Builder
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %x\n", f, data)
	}
	return b.String()
}
