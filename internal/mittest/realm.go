package mittest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DefaultTimeout bounds each Run of a tool, so a tool that hangs (waiting on
// a socket, a lock or a password prompt) fails its test instead of stalling
// CI until the go test deadline.
const DefaultTimeout = 60 * time.Second

// Realm is a private Kerberos realm in a temporary directory: the files MIT's
// tools (and ours) read, and the environment that points them there. The
// database is not created; run `kdb5_util create -s` with the tool under test.
//
// The fields are paths and settings derived from the generated files; change
// the files through Options, not by editing fields.
type Realm struct {
	Name       string // realm name, also krb5.conf default_realm
	Dir        string // temporary directory holding everything below; the working directory of Run and Start
	KRB5Config string // krb5.conf, exported as KRB5_CONFIG
	KDCProfile string // kdc.conf, exported as KRB5_KDC_PROFILE
	DBName     string // kdc.conf database_name
	Stash      string // kdc.conf key_stash_file
	ACLFile    string // kdc.conf acl_file (kadm5.acl), created empty
	Keytab     string // KRB5_KTNAME, the default keytab (path without "FILE:")
	CCache     string // KRB5CCNAME, the default credential cache (path without "FILE:")
	LogFile    string // kdc.conf [logging] default
	KDCPort    int    // loopback port krb5kdc listens on, UDP and TCP

	// Timeout bounds each Run; DefaultTimeout unless changed.
	Timeout time.Duration
	// ExtraEnv is appended to Env, after and so overriding everything else
	// (e.g. "KRB5_TRACE=/dev/stderr" while debugging a test).
	ExtraEnv []string
}

// Option changes the files NewRealm writes.
type Option func(*realmConfig)

// WithKDCPort makes the realm's KDC listen on port instead of a free one.
func WithKDCPort(port int) Option {
	return func(c *realmConfig) { c.kdcPort = port }
}

// WithKDCConf sets relation name in section of kdc.conf. Section "realms"
// means the realm's own block ([realms] NAME = { … }). An existing relation
// is replaced in place; an empty value removes it. Use WithKDCConfText for a
// relation with several values.
func WithKDCConf(section, name, value string) Option {
	return func(c *realmConfig) { c.kdc.set(section, name, value) }
}

// WithKRB5Conf sets relation name in section of krb5.conf, as WithKDCConf
// does for kdc.conf ("realms" is the realm's block, e.g. to add
// admin_server).
func WithKRB5Conf(section, name, value string) Option {
	return func(c *realmConfig) { c.krb5.set(section, name, value) }
}

// WithKDCConfText appends text verbatim to kdc.conf.
func WithKDCConfText(text string) Option {
	return func(c *realmConfig) { c.kdc.extra += text + "\n" }
}

// WithKRB5ConfText appends text verbatim to krb5.conf.
func WithKRB5ConfText(text string) Option {
	return func(c *realmConfig) { c.krb5.extra += text + "\n" }
}

type realmConfig struct {
	kdcPort   int
	krb5, kdc profileFile
}

// NewRealm writes a private krb5.conf and kdc.conf for realm name into a new
// t.TempDir() and returns the Realm describing them. It needs no MIT tools.
//
// The defaults follow Debian's kdc.conf template with the paths moved into
// the temporary directory, aes256/aes128 keys only, and the KDC bound to
// 127.0.0.1 only (kdc_listen and kdc_tcp_listen, MIT's names since 1.15 for
// kdc_ports and kdc_tcp_ports, which cannot name an address).
func NewRealm(t testing.TB, name string, opts ...Option) *Realm {
	t.Helper()
	if name == "" || strings.ContainsAny(name, " \t\n{}=[]") {
		t.Fatalf("mittest.NewRealm: bad realm name %q", name)
	}
	dir := t.TempDir()
	r := &Realm{
		Name:       name,
		Dir:        dir,
		KRB5Config: filepath.Join(dir, "krb5.conf"),
		KDCProfile: filepath.Join(dir, "kdc.conf"),
		Keytab:     filepath.Join(dir, "krb5.keytab"),
		CCache:     filepath.Join(dir, "ccache"),
		LogFile:    filepath.Join(dir, "krb5.log"),
		Timeout:    DefaultTimeout,
	}
	c := &realmConfig{}
	for _, o := range opts {
		// Options run twice: first to learn a fixed port, so the defaults
		// below can use it; then again on top of the defaults, so they win.
		o(c)
	}
	r.KDCPort = c.kdcPort
	if r.KDCPort == 0 {
		r.KDCPort = FreePort(t)
	}
	kdcAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(r.KDCPort))

	c = &realmConfig{kdcPort: r.KDCPort}
	c.krb5.set("libdefaults", "default_realm", name)
	// No DNS: the tests must behave the same with or without a resolver,
	// and host names must not be canonicalised behind their back.
	c.krb5.set("libdefaults", "dns_lookup_kdc", "false")
	c.krb5.set("libdefaults", "dns_lookup_realm", "false")
	c.krb5.set("libdefaults", "dns_canonicalize_hostname", "false")
	c.krb5.set("libdefaults", "rdns", "false")
	c.krb5.set("realms", "kdc", kdcAddr)

	c.kdc.set("kdcdefaults", "kdc_listen", kdcAddr)
	c.kdc.set("kdcdefaults", "kdc_tcp_listen", kdcAddr)
	c.kdc.set("realms", "database_name", filepath.Join(dir, "principal"))
	c.kdc.set("realms", "key_stash_file", filepath.Join(dir, "stash"))
	c.kdc.set("realms", "acl_file", filepath.Join(dir, "kadm5.acl"))
	c.kdc.set("realms", "max_life", "10h 0m 0s")
	c.kdc.set("realms", "max_renewable_life", "7d 0h 0m 0s")
	c.kdc.set("realms", "master_key_type", "aes256-cts-hmac-sha1-96")
	c.kdc.set("realms", "supported_enctypes", "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal")
	c.kdc.set("realms", "default_principal_flags", "+preauth")
	c.kdc.set("logging", "default", "FILE:"+r.LogFile)
	for _, o := range opts {
		o(c)
	}

	r.DBName = c.kdc.get("realms", "database_name")
	r.Stash = c.kdc.get("realms", "key_stash_file")
	r.ACLFile = c.kdc.get("realms", "acl_file")

	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatalf("mittest.NewRealm: %v", err)
		}
	}
	write(r.KRB5Config, c.krb5.render(name))
	write(r.KDCProfile, c.kdc.render(name))
	if r.ACLFile != "" {
		// kadmind refuses to start without its ACL file; an empty one
		// grants nothing.
		if _, err := os.Stat(r.ACLFile); os.IsNotExist(err) {
			write(r.ACLFile, "")
		}
	}

	t.Cleanup(func() {
		if t.Failed() {
			logTail(t, "realm log "+r.LogFile, r.LogFile)
		}
	})
	return r
}

// KDCAddr is the KDC's address, 127.0.0.1:KDCPort.
func (r *Realm) KDCAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.KDCPort))
}

// Path joins name onto the realm directory.
func (r *Realm) Path(name string) string { return filepath.Join(r.Dir, name) }

// Env is the environment for a tool in this realm: os.Environ() with every
// variable through which MIT's library would read or write outside Dir
// replaced (configuration files, default keytab and client keytab, credential
// cache, replay cache directory), then ExtraEnv.
func (r *Realm) Env() []string {
	set := []string{
		"KRB5_CONFIG=" + r.KRB5Config,
		"KRB5_KDC_PROFILE=" + r.KDCProfile,
		"KRB5_KTNAME=FILE:" + r.Keytab,
		"KRB5_CLIENT_KTNAME=FILE:" + filepath.Join(r.Dir, "client.keytab"),
		"KRB5CCNAME=FILE:" + r.CCache,
		"KRB5RCACHEDIR=" + r.Dir,
	}
	replaced := map[string]bool{}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		replaced[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !replaced[k] {
			env = append(env, kv)
		}
	}
	env = append(env, set...)
	return append(env, r.ExtraEnv...)
}

// profileFile is an MIT profile file as NewRealm writes it: top-level
// sections of relations in the order first set, the "realms" section holding
// the one realm's block, then free text.
type profileFile struct {
	sections []profileSection
	extra    string
}

type profileSection struct {
	name      string
	relations [][2]string
}

func (f *profileFile) set(section, name, value string) {
	i := 0
	for i < len(f.sections) && f.sections[i].name != section {
		i++
	}
	if i == len(f.sections) {
		if value == "" {
			return
		}
		f.sections = append(f.sections, profileSection{name: section})
	}
	s := &f.sections[i]
	for j, rel := range s.relations {
		if rel[0] == name {
			if value == "" {
				s.relations = append(s.relations[:j], s.relations[j+1:]...)
			} else {
				s.relations[j][1] = value
			}
			return
		}
	}
	if value != "" {
		s.relations = append(s.relations, [2]string{name, value})
	}
}

func (f *profileFile) get(section, name string) string {
	for _, s := range f.sections {
		if s.name != section {
			continue
		}
		for _, rel := range s.relations {
			if rel[0] == name {
				return rel[1]
			}
		}
	}
	return ""
}

func (f *profileFile) render(realm string) string {
	var b strings.Builder
	for _, s := range f.sections {
		fmt.Fprintf(&b, "[%s]\n", s.name)
		indent := "\t"
		if s.name == "realms" {
			fmt.Fprintf(&b, "\t%s = {\n", realm)
			indent = "\t\t"
		}
		for _, rel := range s.relations {
			fmt.Fprintf(&b, "%s%s = %s\n", indent, rel[0], rel[1])
		}
		if s.name == "realms" {
			b.WriteString("\t}\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(f.extra)
	return b.String()
}
