package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/internal/realm"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
)

func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }

const testRealm = "KADMIN.TEST"

// kadminLocal returns our kadmin under MIT's name, a symlink as `make
// install` makes it, so messages name "kadmin.local" as MIT's do.
func kadminLocal(t *testing.T) string {
	t.Helper()
	bin := mittest.GoBinary(t, "./cmd/kadmin")
	link := filepath.Join(t.TempDir(), "kadmin.local")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// ourRealm makes a private realm (local time UTC) and creates its
// database with our kdb5util.
func ourRealm(t *testing.T) *mittest.Realm {
	t.Helper()
	r := mittest.NewRealm(t, testRealm)
	r.ExtraEnv = append(r.ExtraEnv, "TZ=UTC")
	r.MustRun(t, mittest.GoBinary(t, "./cmd/kdb5util"), "-P", "master-pw", "create", "-s")
	return r
}

// openServer opens the realm's database in the test process, as kadmin
// does, to look at what a command stored.
func openServer(t *testing.T, r *mittest.Realm) *kadm5.Server {
	t.Helper()
	env := map[string]string{}
	for _, kv := range r.Env() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	cfg, err := realm.Load(realm.Options{Env: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	srv, closeDB, err := cfg.OpenAdmin(context.Background(), "test@"+testRealm, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeDB)
	return srv
}

func mustName(t *testing.T, s string) kdb.Name {
	t.Helper()
	n, err := kdb.ParseName(s, testRealm)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const authLine = "Authenticating as principal "

// TestQueryModesExitStatus checks MIT's exit statuses: -q runs one request
// and exits 0 even when it fails, except for an unknown request; words
// after the options run in script mode, quietly, and any error exits 1.
func TestQueryModesExitStatus(t *testing.T) {
	r := ourRealm(t)
	k := kadminLocal(t)
	tests := []struct {
		args         []string
		exit         int
		stdout       string // wanted substring ("" for none)
		stderr       string // wanted exact stderr
		authLinePrnt bool
	}{
		{[]string{"-q", "addprinc -pw pw1 alice"}, 0, `Principal "alice@KADMIN.TEST" created.`,
			"No policy specified for alice@KADMIN.TEST; defaulting to no policy\n", true},
		{[]string{"-q", "getprinc nobody"}, 0, "",
			"get_principal: Principal does not exist while retrieving \"nobody@KADMIN.TEST\".\n", true},
		{[]string{"-q", "frobnicate x"}, 1, "", "kadmin.local: Command not found frobnicate\n", true},
		{[]string{"getprinc", "nobody"}, 1, "",
			"get_principal: Principal does not exist while retrieving \"nobody@KADMIN.TEST\".\n", false},
		{[]string{"addprinc", "-pw", "pw2", "bob"}, 0, "", "", false},
		{[]string{"getprinc", "-terse", "bob"}, 0, "\"bob@KADMIN.TEST\"\t0\t", "", false},
		{[]string{"frobnicate"}, 1, "", "kadmin.local: Command not found frobnicate\n", false},
		{[]string{"-q", "getprivs", "extra"}, 1, "", "", false},
		{[]string{"-P", "x"}, 1, "", "", false},
	}
	for _, tt := range tests {
		stdout, stderr, exit := r.Run(t, k, tt.args...)
		if exit != tt.exit {
			t.Errorf("%q: exit %d, want %d\nstderr: %s", tt.args, exit, tt.exit, stderr)
		}
		if tt.stdout != "" && !strings.Contains(stdout, tt.stdout) {
			t.Errorf("%q: stdout %q lacks %q", tt.args, stdout, tt.stdout)
		}
		if tt.stderr != "" && stderr != tt.stderr {
			t.Errorf("%q: stderr %q, want %q", tt.args, stderr, tt.stderr)
		}
		if strings.HasPrefix(stdout, authLine) != tt.authLinePrnt {
			t.Errorf("%q: stdout %q: authentication line printed = %v", tt.args, stdout, !tt.authLinePrnt)
		}
	}
}

// TestBatchFromStdin pipes requests and the passwords they ask for, as
// provisioning scripts do.
func TestBatchFromStdin(t *testing.T) {
	r := ourRealm(t)
	k := kadminLocal(t)
	script := "addprinc carol\ncarol-pw\ncarol-pw\n" +
		"cpw carol\nx1\nx2\n" +
		"getprinc -terse nobody\n" +
		"listprincs c*\n" +
		"quit\n" +
		"getprivs\n"
	stdout, stderr, exit := r.RunStdin(t, script, k)
	if exit != 0 {
		t.Fatalf("exit %d\n%s", exit, stderr)
	}
	wantOut := "Authenticating as principal root/admin@KADMIN.TEST with password.\n" +
		"kadmin.local:  addprinc carol\n" +
		"Enter password for principal \"carol@KADMIN.TEST\": \n" +
		"Re-enter password for principal \"carol@KADMIN.TEST\": \n" +
		"Principal \"carol@KADMIN.TEST\" created.\n" +
		"kadmin.local:  cpw carol\n" +
		"Enter password for principal \"carol@KADMIN.TEST\": \n" +
		"Re-enter password for principal \"carol@KADMIN.TEST\": \n" +
		"kadmin.local:  getprinc -terse nobody\n" +
		"kadmin.local:  listprincs c*\n" +
		"carol@KADMIN.TEST\n" +
		"kadmin.local:  quit\n"
	wantErr := "No policy specified for carol@KADMIN.TEST; defaulting to no policy\n" +
		"change_password: Password mismatch while reading password for \"carol@KADMIN.TEST\".\n" +
		"get_principal: Principal does not exist while retrieving \"nobody@KADMIN.TEST\".\n"
	// The user may come from $USER or the password file.
	stdout = replaceAuthName(stdout, "root/admin@KADMIN.TEST")
	if stdout != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, wantOut)
	}
	if stderr != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, wantErr)
	}
	srv := openServer(t, r)
	p, err := srv.GetPrincipal(context.Background(), mustName(t, "carol"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Attributes != kdb.AttrRequiresPreAuth || len(p.KeyData) != 2 {
		t.Errorf("carol: attributes %#x, %d keys", p.Attributes, len(p.KeyData))
	}
}

// replaceAuthName puts name into the first line's "Authenticating as
// principal NAME with".
func replaceAuthName(out, name string) string {
	first, rest, _ := strings.Cut(out, "\n")
	if strings.HasPrefix(first, authLine) {
		if i := strings.Index(first, " with "); i > 0 {
			first = authLine + name + first[i:]
		}
	}
	return first + "\n" + rest
}

// TestKtaddWritesDatabaseKeys checks that ktadd writes the keys the
// database holds afterwards (new random ones, or the current ones with
// -norandkey), and that ktremove takes them out again.
func TestKtaddWritesDatabaseKeys(t *testing.T) {
	r := ourRealm(t)
	k := kadminLocal(t)
	kt := r.Path("service.keytab")
	r.MustRun(t, k, "-q", "addprinc -randkey host/www.kadmin.test")
	out := r.MustRun(t, k, "-q", "ktadd -k "+kt+" host/www.kadmin.test")
	for _, l := range []string{
		"Entry for principal host/www.kadmin.test with kvno 2, encryption type aes256-cts-hmac-sha1-96 added to keytab WRFILE:" + kt + ".",
		"Entry for principal host/www.kadmin.test with kvno 2, encryption type aes128-cts-hmac-sha1-96 added to keytab WRFILE:" + kt + ".",
	} {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("ktadd output lacks %q:\n%s", l, out)
		}
	}
	if out := r.MustRun(t, k, "-q", "ktadd -q -norandkey -k "+kt+" host/www.kadmin.test"); strings.Contains(out, "Entry") {
		t.Errorf("-q printed entries:\n%s", out)
	}
	entries, err := keytab.Read(kt)
	if err != nil {
		t.Fatal(err)
	}
	srv := openServer(t, r)
	keys, err := srv.Keys(context.Background(), mustName(t, "host/www.kadmin.test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*len(keys) {
		t.Fatalf("%d keytab entries for %d keys", len(entries), len(keys))
	}
	for i, e := range entries {
		want := keys[i%len(keys)]
		if e.Principal.String() != "host/www.kadmin.test@KADMIN.TEST" || e.Principal.NameType != kdb.NameTypePrincipal ||
			e.KVNO != uint32(want.KVNO) || e.Key.KeyType != want.Key.KeyType || !bytes.Equal(e.Key.KeyValue, want.Key.KeyValue) {
			t.Errorf("entry %d: %s kvno %d etype %d, want kvno %d etype %d (key equal: %v)", i, e.Principal, e.KVNO,
				e.Key.KeyType, want.KVNO, want.Key.KeyType, bytes.Equal(e.Key.KeyValue, want.Key.KeyValue))
		}
	}
	out = r.MustRun(t, k, "-q", "ktremove -k "+kt+" host/www.kadmin.test all")
	if n := strings.Count(out, "removed from keytab WRFILE:"+kt+"."); n != 4 {
		t.Errorf("ktremove removed %d entries:\n%s", n, out)
	}
	if _, stderr, _ := r.Run(t, k, "-q", "ktremove -k "+kt+" host/www.kadmin.test"); stderr !=
		"kadmin.local: No entry for principal host/www.kadmin.test exists in keytab WRFILE:"+kt+"\n" {
		t.Errorf("stderr %q", stderr)
	}
	// The default keytab is KRB5_KTNAME, printed with its type.
	out = r.MustRun(t, k, "-q", "ktadd host/www.kadmin.test")
	if !strings.Contains(out, "added to keytab FILE:"+r.Keytab+".\n") {
		t.Errorf("default keytab:\n%s", out)
	}
}

// TestStringAttributesAndUnlock checks what setstr, delstr and modprinc
// -unlock store, which getprinc does not show.
func TestStringAttributesAndUnlock(t *testing.T) {
	r := ourRealm(t)
	k := kadminLocal(t)
	r.MustRun(t, k, "-q", "addprinc -randkey svc")
	r.MustRun(t, k, "-q", "setstr svc a 1")
	r.MustRun(t, k, "-q", "setstr svc b 2")
	r.MustRun(t, k, "-q", "setstr svc a 3")
	if out := r.MustRun(t, k, "getstrs", "svc"); out != "a: 3\nb: 2\n" {
		t.Errorf("getstrs: %q", out)
	}
	r.MustRun(t, k, "-q", "delstr svc a")
	r.MustRun(t, k, "-q", "delstr svc b")
	if out := r.MustRun(t, k, "getstrs", "svc"); out != "(No string attributes.)\n" {
		t.Errorf("getstrs: %q", out)
	}
	r.MustRun(t, k, "-q", "modprinc -unlock svc")
	srv := openServer(t, r)
	p, err := srv.GetPrincipal(context.Background(), mustName(t, "svc"))
	if err != nil {
		t.Fatal(err)
	}
	// MIT keeps an empty string-attribute item after the last delstr.
	if b, ok := p.TL(kdb.TLStringAttrs); !ok || len(b) != 0 {
		t.Errorf("string attributes tl-data: %q, %v", b, ok)
	}
	if b, ok := p.TL(kdb.TLLastAdminUnlock); !ok || len(b) != 4 {
		t.Errorf("last admin unlock tl-data: %x, %v", b, ok)
	}
}

// TestDefaultPolicy checks that a policy named "default" is given to new
// principals that name none, even in script mode, but not with
// -clearpolicy.
func TestDefaultPolicy(t *testing.T) {
	r := ourRealm(t)
	k := kadminLocal(t)
	r.MustRun(t, k, "-q", "addpol default")
	_, stderr, _ := r.Run(t, k, "-q", "addprinc -randkey a")
	if stderr != "No policy specified for a@KADMIN.TEST; assigning \"default\"\n" {
		t.Errorf("stderr %q", stderr)
	}
	r.MustRun(t, k, "addprinc", "-randkey", "b")
	r.MustRun(t, k, "-q", "addprinc -randkey -clearpolicy c")
	for name, want := range map[string]string{"a": "Policy: default\n", "b": "Policy: default\n", "c": "Policy: [none]\n"} {
		if out := r.MustRun(t, k, "getprinc", name); !strings.HasSuffix(out, want) {
			t.Errorf("%s:\n%s", name, out)
		}
	}
}

// TestShellEscape checks libss's "!command", which kadmin.local passes to
// the shell.
func TestShellEscape(t *testing.T) {
	r := ourRealm(t)
	out := r.MustRun(t, kadminLocal(t), "-q", "!echo from the shell")
	if !strings.HasSuffix(out, "\nfrom the shell\n") {
		t.Errorf("stdout %q", out)
	}
}
