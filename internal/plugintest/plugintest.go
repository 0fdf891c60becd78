// Package plugintest runs a secondary-replica plugin the way kpropd does
// (replica/PROTOCOL.md): as an executable with the operation as its
// argument, no shell, its own working directory, the environment it is
// given plus KRB5PROP_OPERATION, and a delivery file on standard input.
// It is imported only from _test.go files.
package plugintest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Timeout only keeps a hung plugin from stalling the test run.
const Timeout = 5 * time.Minute

// Plugin is one plugin executable and the directory it runs in.
type Plugin struct {
	Path string
	// Dir is the working directory (kpropd's state_dir/plugin).
	Dir string
	// Env is the environment: PATH, the env relations, KRB5PROP_*.
	Env []string
	// Deliveries is where delivery files named without a directory are;
	// "" takes names as paths.
	Deliveries string
}

// New returns a Plugin for the executable at path with a fresh working
// directory and env.
func New(t testing.TB, path string, env ...string) *Plugin {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugin")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &Plugin{Path: path, Dir: dir, Env: env}
}

// Run runs operation op with the delivery file on standard input ("" for
// none) and returns the exit status and standard error.
func (p *Plugin) Run(t testing.TB, op, delivery string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Path, op)
	cmd.Dir = p.Dir
	cmd.Env = append(append([]string(nil), p.Env...), "KRB5PROP_OPERATION="+op)
	if delivery != "" {
		path := delivery
		if p.Deliveries != "" && !strings.Contains(delivery, "/") {
			path = filepath.Join(p.Deliveries, delivery)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %v", op, delivery, Timeout)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %s: %v", op, delivery, err)
	}
	t.Logf("$ %s %s < %s  # exit %d\n%s", filepath.Base(p.Path), op, delivery, cmd.ProcessState.ExitCode(), stderr.String())
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// Expect runs an operation that has to end with exit status want.
func (p *Plugin) Expect(t testing.TB, want int, op, delivery string) {
	t.Helper()
	if exit, stderr := p.Run(t, op, delivery); exit != want {
		t.Fatalf("%s %s: exit %d, want %d\n%s", op, delivery, exit, want, stderr)
	}
}

// Seq returns the sequence number the plugin recorded in its working
// directory's file "seq", "" when there is none.
func (p *Plugin) Seq(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Dir, "seq"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
