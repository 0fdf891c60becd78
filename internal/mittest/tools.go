// Package mittest runs interop tests against the real MIT krb5 1.20 tools and
// against our own commands built as separate programs. It is imported only
// from _test.go files.
//
// Everything a test starts lives in a private realm under t.TempDir(): a
// krb5.conf and kdc.conf of its own (named by KRB5_CONFIG and
// KRB5_KDC_PROFILE), a database, stash, keytab, credential cache and replay
// cache there, and a KDC on a free loopback high port. Nothing reads or
// writes /etc/krb5.conf, /etc/krb5kdc or /var/lib/krb5kdc, and nothing binds
// port 88 or 754, so the tests can run on a host that is itself a KDC.
//
// When an MIT tool is missing, Require skips the test, or fails it when
// KRB5PROP_REQUIRE_MIT=1 is set, as CI does (.ci/run): there a skipped
// interop test would hide a broken set-up.
package mittest

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// RequireEnv names the environment variable that turns a missing MIT tool
// from a skip into a test failure. Any value strconv.ParseBool reads as true,
// or any value it cannot read, counts as set: a typo must not quietly turn
// CI's interop tests into skips.
const RequireEnv = "KRB5PROP_REQUIRE_MIT"

// toolDirs are searched after PATH. The MIT daemons and admin tools live in
// /usr/sbin on Debian, which is often missing from a non-login root PATH
// (su, cron, some CI runners).
func toolDirs() []string {
	dirs := []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"}
	// scripts/deps.sh unpacks xinetd there: it cannot be installed beside
	// openbsd-inetd.
	if root, err := ModuleRoot(); err == nil {
		dirs = append(dirs, filepath.Join(root, ".deps", "xinetd", "usr", "sbin"))
	}
	return dirs
}

// debianPackage names the Debian 12 package that ships an MIT program, so a
// skip message can say exactly what to install; "" for a name it does not know.
func debianPackage(tool string) string {
	switch tool {
	case "kdb5_util", "krb5kdc":
		return "krb5-kdc"
	case "kadmin.local", "kadmind", "kprop":
		return "krb5-admin-server"
	case "kpropd":
		return "krb5-kpropd"
	case "kinit", "klist", "kvno", "kdestroy", "kadmin", "ktutil", "kpasswd":
		return "krb5-user"
	// Not MIT's, but what the kpropd tests start it under.
	case "inetd":
		return "openbsd-inetd"
	case "systemd-socket-activate", "systemd-analyze":
		return "systemd"
	// The example secondary-replica plugins and their tests.
	case "slapd", "slapadd":
		return "slapd"
	case "ldapsearch", "ldapmodify", "ldapadd", "ldapdelete", "ldapwhoami":
		return "ldap-utils"
	case "jq":
		return "jq"
	// Unpacked into .deps by scripts/deps.sh, as it conflicts with
	// openbsd-inetd.
	case "xinetd":
		return "xinetd"
	}
	return ""
}

// DefaultTools are the MIT programs Require checks when called without
// names: the five tools krb5prop replaces and the clients the interop tests
// talk to our KDC with.
func DefaultTools() []string {
	return []string{"kdb5_util", "kadmin.local", "kprop", "kpropd", "krb5kdc", "kinit", "klist", "kvno"}
}

// LookPath finds an executable the way the interop tests need: a name with a
// slash is taken as a path; a bare name is searched in PATH and then in
// /usr/sbin, /usr/bin, /sbin and /bin.
func LookPath(tool string) (string, error) {
	if strings.Contains(tool, "/") {
		if err := isExecutable(tool); err != nil {
			return "", err
		}
		return tool, nil
	}
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, dir := range toolDirs() {
		p := filepath.Join(dir, tool)
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH or %s", tool, strings.Join(toolDirs(), ", "))
}

func isExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return &fs.PathError{Op: "exec", Path: path, Err: fs.ErrPermission}
	}
	return nil
}

// Require checks that each named MIT program can be found (DefaultTools when
// none is named). If one is missing it skips the test naming the missing
// programs and the apt-get command that installs them, or fails the test
// instead when KRB5PROP_REQUIRE_MIT is set.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if len(tools) == 0 {
		tools = DefaultTools()
	}
	var missing []string
	for _, tool := range tools {
		if _, err := LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	v, present := os.LookupEnv(RequireEnv)
	switch act, msg := verdict(missing, v, present); act {
	case fail:
		t.Fatal(msg)
	case skip:
		t.Skip(msg)
	}
}

type action int

const (
	proceed action = iota
	skip
	fail
)

// verdict decides what Require does, apart from the testing.TB calls so the
// decision can be tested without failing a test. env and present are the
// value of KRB5PROP_REQUIRE_MIT and whether it is set at all.
func verdict(missing []string, env string, present bool) (action, string) {
	if len(missing) == 0 {
		return proceed, ""
	}
	msg := fmt.Sprintf("tools the interop tests need (MIT krb5 1.20 and its companions) not found: %s; install them with: %s",
		strings.Join(missing, ", "), installCommand(missing))
	if required(env, present) {
		return fail, msg + " (" + RequireEnv + " is set, so this is a failure)"
	}
	return skip, msg + " (set " + RequireEnv + "=1 to fail instead of skip)"
}

// required reads KRB5PROP_REQUIRE_MIT: unset, empty or false means interop
// tests may skip; anything else, including a value ParseBool rejects, means
// they must run.
func required(env string, present bool) bool {
	if !present || env == "" {
		return false
	}
	b, err := strconv.ParseBool(env)
	return err != nil || b
}

// installCommand names the Debian packages that provide the missing tools,
// falling back to the full set scripts/deps.sh installs for an unknown name.
func installCommand(missing []string) string {
	set := map[string]bool{}
	for _, tool := range missing {
		pkg := debianPackage(filepath.Base(tool))
		if pkg == "" {
			for _, p := range []string{"krb5-kdc", "krb5-admin-server", "krb5-kpropd", "krb5-user"} {
				set[p] = true
			}
			continue
		}
		set[pkg] = true
	}
	pkgs := make([]string, 0, len(set))
	for p := range set {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	return "sudo apt-get install -y " + strings.Join(pkgs, " ") + " (or run scripts/deps.sh as root)"
}
