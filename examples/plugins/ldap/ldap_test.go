package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/ldaptest"
	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/internal/plugintest"
)

func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }

const (
	base = "ou=kerberos,dc=example,dc=com"
	// keyMark starts every key in the deliveries' include_keys records.
	keyMark = "5ec12e7"
	// pluginTimeout only keeps a hung plugin from stalling the test run.
	pluginTimeout = 5 * time.Minute
)

// plugin runs the built plugin as kpropd would.
type plugin struct{ *plugintest.Plugin }

func newPlugin(t *testing.T, srv *ldaptest.Server) *plugin {
	t.Helper()
	return &plugin{plugintest.New(t, mittest.GoBinary(t, "./examples/plugins/ldap"),
		"PATH="+os.Getenv("PATH"),
		"LDAP_URI="+srv.URI(),
		"LDAP_BASE="+base,
		"LDAP_BIND_DN="+srv.BindDN(),
		"LDAP_BIND_PW_FILE="+srv.PasswordFile(),
		// Keeps the machine's ldap.conf out of the test.
		"LDAPNOINIT=1",
		"KRB5PROP_REPLICA=ldap",
		"KRB5PROP_REPLICA_UUID=0b0e6a52-51a4-4b8e-9a43-4b1d2c3e4f50",
		"KRB5PROP_REALM=EXAMPLE.COM",
	)}
}

// must runs an operation that has to succeed.
func (p *plugin) must(t *testing.T, op, delivery string) { p.Expect(t, exitSuccess, op, delivery) }

// wantDirectory compares everything under base with an LDIF file in
// testdata.
func wantDirectory(t *testing.T, srv *ldaptest.Server, file string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := ldaptest.ParseEntries(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	compareEntries(t, srv.Entries(t, base), want, file)
}

func compareEntries(t *testing.T, got, want map[string]ldaptest.Entry, label string) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	var dns []string
	for dn := range want {
		dns = append(dns, dn)
	}
	for dn := range got {
		if _, ok := want[dn]; !ok {
			dns = append(dns, dn)
		}
	}
	sort.Strings(dns)
	for _, dn := range dns {
		g, inGot := got[dn]
		w, inWant := want[dn]
		switch {
		case !inGot:
			t.Errorf("%s: missing %s", label, dn)
		case !inWant:
			t.Errorf("%s: unexpected %s: %v", label, dn, g)
		case !reflect.DeepEqual(g, w):
			t.Errorf("%s: %s\n got  %v\n want %v", label, dn, g, w)
		}
	}
}

// TestLifecycle drives the plugin through a replica's life with hand-written
// deliveries: a full delivery, changes, every failure outcome, the
// directory going away and coming back, a redelivery, a change the server
// refuses and its retry, init-reinit, a full delivery over stray entries,
// and destroy.
func TestLifecycle(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.WithSchema("krb5prop.ldif"))
	p := newPlugin(t, srv)

	p.must(t, "auth-init", "")

	// The first delivery is a full one, with keys (include_keys = true);
	// the base and its containers do not exist yet.
	p.must(t, "apply", td("01-full.jsonl"))
	wantDirectory(t, srv, "01-full.ldif")
	if got := p.Seq(t); got != "1" {
		t.Errorf("seq after the first delivery = %q, want 1", got)
	}
	noKeys(t, srv, p)

	// Replaces (flags, expirations, policy), a new key version, deletes, a
	// rename (delete bob, add robert), policy add, replace and delete.
	p.must(t, "apply", td("02.jsonl"))
	wantDirectory(t, srv, "02.ldif")

	// Deliveries the plugin must refuse leave the directory and the seq
	// file alone.
	p.Expect(t, exitRequestReinit, "apply", td("03-gap.jsonl"))
	p.Expect(t, exitCantProcess, "apply", td("03-noend.jsonl"))
	p.Expect(t, exitCantProcess, "apply", td("03-badcount.jsonl"))
	wantDirectory(t, srv, "02.ldif")
	if got := p.Seq(t); got != "2" {
		t.Errorf("seq after refused deliveries = %q, want 2", got)
	}

	// The directory goes away: cant_process, and nothing recorded.
	srv.Stop()
	p.Expect(t, exitCantProcess, "auth-init", "")
	if exit, stderr := p.Run(t, "apply", td("03.jsonl")); exit != exitCantProcess || !strings.Contains(stderr, srv.URI()) {
		t.Errorf("apply with slapd down: exit %d, want 75 with a message naming %s; stderr:\n%s", exit, srv.URI(), stderr)
	}
	if got := p.Seq(t); got != "2" {
		t.Errorf("seq after a failed apply = %q, want 2", got)
	}
	srv.Start(t)
	p.must(t, "auth-init", "")
	p.must(t, "apply", td("03.jsonl"))
	wantDirectory(t, srv, "03.ldif")

	// kpropd stopped between the plugin's success and recording it: the
	// same delivery comes again and is applied again, harmlessly.
	p.must(t, "apply", td("03.jsonl"))
	wantDirectory(t, srv, "03.ldif")
	if got := p.Seq(t); got != "3" {
		t.Errorf("seq after the redelivery = %q, want 3", got)
	}

	// The server refuses a change half-way through (a flag that is not
	// IA5): cant_process, with the failing entry named, and the seq stays.
	// dave, before it, was applied; the retry, with the delivery put
	// right, applies him again harmlessly.
	exit, stderr := p.Run(t, "apply", td("04-invalid.jsonl"))
	if exit != exitCantProcess || !strings.Contains(stderr, "eve@EXAMPLE.COM") {
		t.Errorf("apply of an invalid value: exit %d, want 75 naming eve; stderr:\n%s", exit, stderr)
	}
	if got := p.Seq(t); got != "3" {
		t.Errorf("seq after a refused change = %q, want 3", got)
	}
	p.must(t, "apply", td("04.jsonl"))
	wantDirectory(t, srv, "04.ldif")

	// init-reinit empties both containers, strays included, and forgets
	// the seq, so only a full delivery is accepted next.
	addStrays(t, srv)
	p.must(t, "init-reinit", "")
	wantDirectory(t, srv, "empty.ldif")
	if got := p.Seq(t); got != "" {
		t.Errorf("seq after init-reinit = %q, want none", got)
	}
	p.Expect(t, exitRequestReinit, "apply", td("03.jsonl"))

	// A full delivery leaves exactly its objects, even over entries that
	// appeared after init-reinit. It is the state 03 built: dave and eve
	// have gone from the database since.
	addStrays(t, srv)
	p.must(t, "apply", td("05-full.jsonl"))
	wantDirectory(t, srv, "03.ldif")
	if got := p.Seq(t); got != "5" {
		t.Errorf("seq after the full delivery = %q, want 5", got)
	}

	p.must(t, "stop", "")
	p.must(t, "destroy", "")
	compareEntries(t, srv.Entries(t, base), map[string]ldaptest.Entry{
		base: {"objectClass": {"organizationalUnit"}, "ou": {"kerberos"}},
	}, "after destroy")
	if got := p.Seq(t); got != "" {
		t.Errorf("seq after destroy = %q, want none", got)
	}
	leftovers, _ := os.ReadDir(p.Dir)
	for _, e := range leftovers {
		t.Errorf("plugin directory holds %s after destroy", e.Name())
	}
}

// addStrays puts a principal and a policy the Kerberos database does not
// have into the containers.
func addStrays(t *testing.T, srv *ldaptest.Server) {
	t.Helper()
	srv.Modify(t, `dn: krb5propPrincipalName=stray@EXAMPLE.COM,ou=principals,`+base+`
changetype: add
objectClass: krb5propPrincipal
krb5propPrincipalName: stray@EXAMPLE.COM

dn: cn=stray,ou=policies,`+base+`
changetype: add
objectClass: krb5propPolicy
cn: stray
`)
}

// noKeys checks that no key from an include_keys delivery reached the
// directory or a file of the plugin's.
func noKeys(t *testing.T, srv *ldaptest.Server, p *plugin) {
	t.Helper()
	for dn, entry := range srv.Entries(t, srv.Base()) {
		for attr, vals := range entry {
			for _, v := range vals {
				if strings.Contains(v, keyMark) {
					t.Errorf("key material in %s %s", dn, attr)
				}
			}
		}
	}
	files, _ := os.ReadDir(p.Dir)
	for _, e := range files {
		b, err := os.ReadFile(filepath.Join(p.Dir, e.Name()))
		if err != nil || bytes.Contains(b, []byte(keyMark)) {
			t.Errorf("plugin file %s: key material or unreadable (%v)", e.Name(), err)
		}
	}
}

// TestConfigErrors: a replica stanza without the env relations is
// cant_process with a message naming what is missing; stop needs nothing.
func TestConfigErrors(t *testing.T) {
	var stderr bytes.Buffer
	getenv := func(name string) string {
		if name == "LDAP_URI" {
			return "ldap://127.0.0.1:1/"
		}
		return ""
	}
	if exit := run([]string{"auth-init"}, getenv, strings.NewReader(""), &stderr); exit != exitCantProcess {
		t.Errorf("auth-init without configuration: exit %d, want 75", exit)
	}
	for _, name := range []string{"LDAP_BASE", "LDAP_BIND_DN", "LDAP_BIND_PW_FILE"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("message does not name %s: %s", name, stderr.String())
		}
	}
	if exit := run([]string{"stop"}, getenv, strings.NewReader(""), &stderr); exit != exitSuccess {
		t.Errorf("stop: exit %d, want 0", exit)
	}
	if exit := run([]string{"frobnicate"}, getenv, strings.NewReader(""), &stderr); exit != exitSuccess {
		t.Errorf("unknown operation (a later callout): exit %d, want 0", exit)
	}
	if exit := run(nil, getenv, strings.NewReader(""), &stderr); exit != exitUsage {
		t.Errorf("no operation: exit %d, want %d", exit, exitUsage)
	}
}

// td is the path of a file in testdata.
func td(name string) string { return filepath.Join("testdata", name) }

// TestLargeDelivery applies a full delivery of 10,000 principals, then one
// replacing every one of them (a master-key rollover touches them all),
// each with one ldapmodify. The deliveries are generated; only their size
// matters here.
func TestLargeDelivery(t *testing.T) {
	const n = 10000
	srv := ldaptest.Start(t, ldaptest.WithSchema("krb5prop.ldif"))
	p := newPlugin(t, srv)

	write := func(name string, seq, prev int, reinit bool, op string, kvno int) string {
		path := filepath.Join(t.TempDir(), name)
		var b strings.Builder
		fmt.Fprintf(&b, `{"type":"header","version":1,"replica":"ldap","uuid":"u","realm":"EXAMPLE.COM","seq":%d,"prev_seq":%d,"reinit":%t,"include_keys":false,"time":"2026-11-23T21:00:00Z"}`+"\n", seq, prev, reinit)
		for i := range n {
			name := fmt.Sprintf("user%05d@EXAMPLE.COM", i)
			fmt.Fprintf(&b, `{"type":"change","op":%q,"name":%q,"principal":{"name":%q,"flags":["REQUIRES_PRE_AUTH"],"attributes":128,"max_life":36000,"max_renewable_life":604800,"expiration":null,"pw_expiration":null,"policy":null,"last_pwd_change":"2026-11-20T09:12:44Z","mod_time":"2026-11-20T09:12:44Z","mod_princ":"admin/admin@EXAMPLE.COM","kvno":%d,"keys":[{"kvno":%d,"enctype":"aes256-cts-hmac-sha1-96","salt":"normal"}]}}`+"\n",
				op, name, name, kvno, kvno)
		}
		fmt.Fprintf(&b, `{"type":"end","changes":%d}`+"\n", n)
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	p.must(t, "apply", write("full.jsonl", 1, 0, true, "principal_add", 1))
	p.must(t, "apply", write("all.jsonl", 2, 1, false, "principal_add_key_version", 2))

	entries := srv.Entries(t, "ou=principals,"+base)
	if len(entries) != n+1 {
		t.Fatalf("%d entries under ou=principals, want %d and the container", len(entries), n)
	}
	for dn, e := range entries {
		if strings.HasPrefix(dn, "krb5propPrincipalName=") && !reflect.DeepEqual(e["krb5propKeyVersion"], []string{"2"}) {
			t.Fatalf("%s: kvno %v, want 2", dn, e["krb5propKeyVersion"])
		}
	}
}
