// Package ldaptest runs a private OpenLDAP slapd for tests of the LDAP
// secondary-replica plugin. It is imported only from _test.go files.
//
// Everything lives under t.TempDir(): a cn=config directory built with
// slapadd from LDIF generated here, an MDB database for one suffix, a root
// password file and slapd's log. slapd listens only on a free loopback high
// port; nothing reads or writes /etc/ldap/slapd.d or /var/lib/ldap, and
// nothing touches a system slapd or port 389.
//
// When slapd or the ldap-utils programs are missing, Start skips the test,
// or fails it when KRB5PROP_REQUIRE_MIT is set, as mittest.Require does.
package ldaptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// DefaultSuffix is the database suffix when WithSuffix is not given.
const DefaultSuffix = "dc=example,dc=com"

const (
	// startTimeout bounds how long Start waits for slapd to answer; it
	// usually takes a few milliseconds.
	startTimeout = 30 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL. slapd
	// finishes its operations in flight and syncs MDB first, which is quick.
	stopGrace = 10 * time.Second
	// toolTimeout bounds each slapadd, ldapsearch or ldapmodify a helper
	// runs, so a wedged server fails the test instead of hanging it.
	toolTimeout = 2 * time.Minute
	// probeTimeout bounds one ldapwhoami while Start waits for slapd.
	probeTimeout = 5 * time.Second
)

// Option changes the server Start builds.
type Option func(*settings)

type settings struct {
	suffix  string
	schemas []string
}

// WithSuffix makes the database hold suffix (default DefaultSuffix). Its
// first RDN must be dc=, o= or ou=, so Start knows how to create the
// suffix entry.
func WithSuffix(suffix string) Option {
	return func(s *settings) { s.suffix = suffix }
}

// WithSchema adds schema files to the configuration, after core, cosine and
// inetorgperson: each a cn=config schema entry in LDIF (dn:
// cn=NAME,cn=schema,cn=config), as ldapadd would load into a live server.
// Relative paths are taken from the test's working directory.
func WithSchema(paths ...string) Option {
	return func(s *settings) { s.schemas = append(s.schemas, paths...) }
}

// Server is a private slapd. Its data survives Stop and Start, so a test can
// take the directory away from a client and bring it back. It is not safe
// for concurrent use.
type Server struct {
	dir      string // t.TempDir() holding everything
	confDir  string // slapd -F
	logFile  string // slapd's standard output and error, across restarts
	suffix   string
	rootDN   string
	password string
	pwFile   string
	uri      string
	addr     string // 127.0.0.1:port

	proc *process // nil while stopped
}

// process is one run of slapd.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once slapd has exited and been reaped
}

// Start builds a configuration and a database in a temporary directory,
// starts slapd on a free loopback port and waits until it answers a bind as
// the root DN. The server is stopped when the test ends; if the test failed,
// the end of slapd's log is logged.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	mittest.Require(t, "slapd", "slapadd", "ldapsearch", "ldapmodify", "ldapwhoami")
	cfg := settings{suffix: DefaultSuffix}
	for _, o := range opts {
		o(&cfg)
	}

	dir := t.TempDir()
	s := &Server{
		dir:     dir,
		confDir: filepath.Join(dir, "slapd.d"),
		logFile: filepath.Join(dir, "slapd.log"),
		suffix:  cfg.suffix,
		rootDN:  "cn=admin," + cfg.suffix,
		pwFile:  filepath.Join(dir, "rootpw"),
	}
	port := mittest.FreePort(t)
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.uri = "ldap://" + s.addr + "/"

	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	s.password = hex.EncodeToString(raw)
	// No trailing newline: ldapsearch -y sends the file's whole contents.
	if err := os.WriteFile(s.pwFile, []byte(s.password), 0o600); err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	if err := s.build(cfg); err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			s.logTail(t)
		}
	})
	s.Start(t)
	return s
}

// build writes the cn=config directory and loads the suffix entry, both with
// slapadd, which needs no running server.
func (s *Server) build(cfg settings) error {
	dataDir := filepath.Join(s.dir, "data")
	for _, d := range []string{s.confDir, dataDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	schemas := make([]string, 0, len(cfg.schemas))
	for _, p := range cfg.schemas {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		schemas = append(schemas, abs)
	}
	config := configLDIF(dataDir, s.suffix, s.rootDN, s.password, schemas)
	if err := s.slapadd(config, "-n0"); err != nil {
		return fmt.Errorf("building cn=config: %w", err)
	}
	base, err := suffixLDIF(s.suffix)
	if err != nil {
		return err
	}
	if err := s.slapadd(base, "-b", s.suffix); err != nil {
		return fmt.Errorf("adding %s: %w", s.suffix, err)
	}
	return nil
}

// slapadd runs slapadd on the server's configuration with ldif as input.
// Quick mode (-q) skips consistency checks a fresh database does not need.
func (s *Server) slapadd(ldif string, args ...string) error {
	path, err := mittest.LookPath("slapadd")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"-F", s.confDir, "-q"}, args...)...)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("slapadd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Start starts the server again after Stop, with the same configuration,
// data and port, and waits until it answers. It fails the test if the
// server is already running or does not come up.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.proc != nil {
		t.Fatalf("ldaptest: slapd on %s is already running", s.uri)
	}
	path, err := mittest.LookPath("slapd")
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	log, err := os.OpenFile(s.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	defer log.Close()
	// -d keeps slapd in the foreground, where it can be signalled and
	// reaped; level "none" prints only what it would log at any level
	// (startup failures such as a port in use) instead of tracing.
	cmd := exec.Command(path, "-d", "none", "-h", s.uri, "-F", s.confDir)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("ldaptest: starting slapd: %v", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the state is read from cmd.ProcessState after done
		close(p.done)
	}()
	s.proc = p
	t.Logf("ldaptest: slapd %s (pid %d) serving %s", s.uri, cmd.Process.Pid, s.suffix)

	// On failure the cleanup Start registered logs slapd's last words.
	if err := s.waitReady(p); err != nil {
		s.Stop()
		t.Fatalf("ldaptest: %v", err)
	}
}

// waitReady waits until slapd answers a bind as the root DN, or fails at
// once if it exits first. A TCP connection alone proves nothing: the port
// may have been taken by another program, and then slapd exits.
func (s *Server) waitReady(p *process) error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		_, stderr, err := s.tool(ctx, nil, "ldapwhoami")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("slapd exited (%v) before answering on %s", p.cmd.ProcessState, s.uri)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd not answering on %s after %v: ldapwhoami: %v: %s", s.uri, startTimeout, err, bytes.TrimSpace(stderr))
		}
	}
}

// Stop stops the server: SIGTERM, then SIGKILL if it has not exited after
// ten seconds, and waits for it. The data stays for Start. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	_ = signalGroup(p.cmd.Process, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = signalGroup(p.cmd.Process, syscall.SIGKILL)
		<-p.done
	}
}

// URI is the server's LDAP URL, ldap://127.0.0.1:PORT/.
func (s *Server) URI() string { return s.uri }

// Base is the database suffix.
func (s *Server) Base() string { return s.suffix }

// BindDN is the root DN, cn=admin under the suffix, which may do anything
// in the database.
func (s *Server) BindDN() string { return s.rootDN }

// Password is the root DN's password.
func (s *Server) Password() string { return s.password }

// PasswordFile is a 0600 file holding the root DN's password with no
// trailing newline, for ldapsearch -y and the plugin's LDAP_BIND_PW_FILE.
func (s *Server) PasswordFile() string { return s.pwFile }

// Entry is one directory entry: attribute description (as the server
// spells it) to values, sorted.
type Entry map[string][]string

// Entries reads every entry in the subtree at base, base included, as the
// root DN: DN (as the server returns it) to entry, user attributes only. A
// base that does not exist gives an empty map.
func (s *Server) Entries(t testing.TB, base string) map[string]Entry {
	t.Helper()
	const noSuchObject = 32
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	stdout, stderr, err := s.tool(ctx, nil, "ldapsearch", "-LLL", "-b", base, "-s", "sub", "(objectClass=*)")
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == noSuchObject {
		return map[string]Entry{}
	}
	if err != nil {
		t.Fatalf("ldaptest: ldapsearch -b %q: %v\n%s", base, err, stderr)
	}
	entries, err := ParseEntries(bytes.NewReader(stdout))
	if err != nil {
		t.Fatalf("ldaptest: reading ldapsearch -b %q: %v", base, err)
	}
	return entries
}

// Modify applies LDIF change records (changetype: add, modify, delete, …)
// as the root DN with ldapmodify, stopping at the first error, which fails
// the test. A test uses it to put the directory in a state a client must
// cope with.
func (s *Server) Modify(t testing.TB, ldif string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	if _, stderr, err := s.tool(ctx, strings.NewReader(ldif), "ldapmodify"); err != nil {
		t.Fatalf("ldaptest: ldapmodify: %v\n%s", err, stderr)
	}
}

// tool runs an ldap-utils program bound as the root DN with a simple bind,
// killing it when ctx ends.
// LDAPNOINIT keeps the machine's ldap.conf and the user's .ldaprc out of
// the test.
func (s *Server) tool(ctx context.Context, stdin io.Reader, name string, args ...string) (stdout, stderr []byte, err error) {
	path, err := mittest.LookPath(name)
	if err != nil {
		return nil, nil, err
	}
	args = append([]string{"-x", "-H", s.uri, "-D", s.rootDN, "-y", s.pwFile}, args...)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "LDAPNOINIT=1")
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// logTail logs the end of slapd's log, which usually says why it would not
// start or stopped answering.
func (s *Server) logTail(t testing.TB) {
	t.Helper()
	const max = 40
	data, err := os.ReadFile(s.logFile)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	t.Logf("slapd log %s (last %d lines):\n%s", s.logFile, len(lines), strings.Join(lines, "\n"))
}
