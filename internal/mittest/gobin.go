package mittest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildTimeout bounds one `go build`. The first build in a fresh cache
// compiles modernc.org/sqlite, which takes minutes on a small CI machine.
const buildTimeout = 10 * time.Minute

// builds caches GoBinary's results for the life of the test binary. It is
// the package's only mutable state, and deliberate: linking a command takes
// seconds, and every interop test in a package wants the same few commands.
// Each package is built once (sync.Once per entry), different packages
// concurrently.
var builds struct {
	mu    sync.Mutex
	dir   string // created on first use, removed by Main
	byPkg map[string]*goBuild
}

type goBuild struct {
	once sync.Once
	path string
	err  error
}

// GoBinary builds one of the module's commands (pkg as given to go build:
// "./cmd/kdb5util" relative to the module root, or a full import path) and
// returns the path of the executable, named after the package's last
// element. The interop tests run our tools as separate processes, exactly as
// a site would, through Realm.Run and Realm.Start.
//
// The first call for a package builds it; later calls in the same test
// binary return the same file. A build failure fails every test that asks
// for that package. The executables live in a temporary directory that Main
// removes; a package that calls GoBinary should have
//
//	func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }
func GoBinary(t testing.TB, pkg string) string {
	t.Helper()
	builds.mu.Lock()
	if builds.byPkg == nil {
		builds.byPkg = map[string]*goBuild{}
	}
	b := builds.byPkg[pkg]
	if b == nil {
		b = &goBuild{}
		builds.byPkg[pkg] = b
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "krb5prop-gobin-")
		if err != nil {
			builds.mu.Unlock()
			t.Fatalf("mittest.GoBinary: %v", err)
		}
		builds.dir = dir
	}
	dir := builds.dir
	builds.mu.Unlock()

	b.once.Do(func() { b.path, b.err = goBuildCommand(pkg, dir) })
	if b.err != nil {
		t.Fatalf("mittest.GoBinary(%q): %v", pkg, b.err)
	}
	return b.path
}

// Main runs the tests and then removes the executables GoBinary built.
// Call it from TestMain; it returns the exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
		builds.dir = ""
		builds.byPkg = nil
	}
	return code
}

func goBuildCommand(pkg, dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	goTool, err := LookPath("go")
	if err != nil {
		// go test may run with a PATH that lacks the toolchain; it is
		// installed at /usr/local/go on our machines.
		goTool = "/usr/local/go/bin/go"
		if isExecutable(goTool) != nil {
			return "", fmt.Errorf("no go command in PATH or at %s", goTool)
		}
	}
	// A directory per package keeps the executable's own name (argv[0]
	// matters to tools that print it) even if two packages share a last
	// element.
	sub, err := os.MkdirTemp(dir, "pkg-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(sub, path.Base(strings.TrimSuffix(pkg, "/")))
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, pkg)
	cmd.Dir = root
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out, nil
}

// ModuleRoot finds the directory holding go.mod, walking up from the
// working directory (go test runs each test binary in its package's
// directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above")
		}
		dir = parent
	}
}
