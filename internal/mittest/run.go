package mittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before SIGKILL. MIT's
// daemons exit at once on SIGTERM; a few seconds covers a loaded CI host.
const stopGrace = 5 * time.Second

// waitDelay bounds how long Run waits for a tool's output pipes to close
// after the tool itself has exited or been killed: a grandchild that kept
// them open must not hang the test.
const waitDelay = 5 * time.Second

// Run runs tool (an MIT program name found by LookPath, or a path such as
// one from GoBinary) with args in the realm: environment Env, working
// directory Dir, stdin /dev/null, in a session of its own with no
// controlling terminal, so a password prompt reads /dev/null instead of
// waiting on the developer's terminal. It returns what the tool wrote and
// its exit status (-1 if a signal ended it). It fails the test if the tool
// cannot be started or has not exited after r.Timeout.
func (r *Realm) Run(t testing.TB, tool string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	return r.run(t, nil, tool, args)
}

// RunStdin is Run with stdin as the tool's standard input (passwords for
// kinit or kdb5_util, a script for kadmin.local).
func (r *Realm) RunStdin(t testing.TB, stdin, tool string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	return r.run(t, strings.NewReader(stdin), tool, args)
}

// MustRun is Run that fails the test, showing stdout and stderr, unless the
// tool exits 0. It returns stdout.
func (r *Realm) MustRun(t testing.TB, tool string, args ...string) string {
	t.Helper()
	stdout, stderr, exit := r.run(t, nil, tool, args)
	if exit != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", commandLine(tool, args), exit, stdout, stderr)
	}
	return stdout
}

// Exec is RunStdin for a goroutine other than the test's own, such as a
// client loop keeping a daemon busy: it neither logs nor fails the test.
// What RunStdin would fail the test for (a tool that cannot be found or
// started, one still running after r.Timeout, ctx ending) is its error; a
// non-zero exit is not an error.
func (r *Realm) Exec(ctx context.Context, stdin, tool string, args ...string) (stdout, stderr string, exit int, err error) {
	path, err := LookPath(tool)
	if err != nil {
		return "", "", 0, err
	}
	res, err := runCommand(ctx, r.Timeout, path, args, r.Env(), r.Dir, strings.NewReader(stdin))
	if err != nil {
		err = fmt.Errorf("%s: %w", commandLine(tool, args), err)
	}
	return res.stdout, res.stderr, res.exit, err
}

func (r *Realm) run(t testing.TB, stdin io.Reader, tool string, args []string) (string, string, int) {
	t.Helper()
	path, err := LookPath(tool)
	if err != nil {
		t.Fatalf("mittest: %v", err)
	}
	// Not t.Context(): that is cancelled before cleanups run, and a cleanup
	// may well run a tool (kdb5_util destroy).
	res, err := runCommand(context.Background(), r.Timeout, path, args, r.Env(), r.Dir, stdin)
	line := commandLine(tool, args)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", line, err, res.stdout, res.stderr)
	}
	t.Logf("$ %s  # exit %d", line, res.exit)
	return res.stdout, res.stderr, res.exit
}

type runResult struct {
	stdout, stderr string
	exit           int
}

// runCommand is Run without testing.TB, so the timeout path can be tested
// without failing a test. A non-zero exit is not an error; a timeout or a
// failure to start is.
func runCommand(ctx context.Context, timeout time.Duration, path string, args, env []string, dir string, stdin io.Reader) (runResult, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env, cmd.Dir, cmd.Stdin = env, dir, stdin
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = sysProcAttr()
	// Kill the whole session: a tool that forked (kpropd runs kdb5_util)
	// must not outlive the test.
	cmd.Cancel = func() error { return signalGroup(cmd.Process, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	res := runResult{stdout: stdout.String(), stderr: stderr.String()}
	if cmd.ProcessState != nil {
		res.exit = cmd.ProcessState.ExitCode()
	}
	if err == nil {
		return res, nil
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return res, fmt.Errorf("still running after %v; killed", timeout)
	case ctx.Err() != nil:
		return res, fmt.Errorf("killed: %w", ctx.Err())
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return res, nil
	}
	// Not started, or exited but its output could not be collected
	// (exec.ErrWaitDelay).
	return res, err
}

// Process is a program started by Start and still owned by its test.
type Process struct {
	Name   string // base name of the program
	Stdout string // file receiving its standard output
	Stderr string // file receiving its standard error

	cmd      *exec.Cmd
	done     chan struct{} // closed once the program has exited and been reaped
	stopOnce sync.Once
	grace    time.Duration
}

// Start starts tool (as for Run) with args in the realm and returns without
// waiting, for daemons run in the foreground (krb5kdc -n, kpropd -D …, our
// krb5kdc). Its output goes to files in Dir. When the test ends the process
// is stopped as by Stop, and if the test failed the tail of its output is
// logged.
func (r *Realm) Start(t testing.TB, tool string, args ...string) *Process {
	t.Helper()
	path, err := LookPath(tool)
	if err != nil {
		t.Fatalf("mittest: %v", err)
	}
	name := filepath.Base(path)
	stdout, err := os.CreateTemp(r.Dir, name+"-*.stdout")
	if err != nil {
		t.Fatalf("mittest: %v", err)
	}
	defer stdout.Close()
	stderr, err := os.Create(strings.TrimSuffix(stdout.Name(), ".stdout") + ".stderr")
	if err != nil {
		t.Fatalf("mittest: %v", err)
	}
	defer stderr.Close()

	cmd := exec.Command(path, args...)
	cmd.Env, cmd.Dir = r.Env(), r.Dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", commandLine(tool, args), err)
	}
	t.Logf("$ %s &  # pid %d", commandLine(tool, args), cmd.Process.Pid)
	p := &Process{
		Name:   name,
		Stdout: stdout.Name(),
		Stderr: stderr.Name(),
		cmd:    cmd,
		done:   make(chan struct{}),
		grace:  stopGrace,
	}
	go func() {
		// Wait returns an *exec.ExitError for a non-zero exit; the state
		// itself is in cmd.ProcessState, read after done is closed.
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			p.logOutput(t)
		}
	})
	return p
}

// Pid is the process id, which is also its process group and session id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// State is the exit state, nil while the process runs.
func (p *Process) State() *os.ProcessState {
	select {
	case <-p.done:
		return p.cmd.ProcessState
	default:
		return nil
	}
}

// Stop sends SIGTERM to the process and everything in its process group,
// waits up to the grace period for all of them to exit, then sends SIGKILL,
// and returns the program's exit state. Waiting for the whole group matters:
// a superserver's per-connection child (systemd-socket-activate --accept,
// inetd) may still be writing files in the test's directories after the
// superserver itself has gone. Stop is safe to call more than once and
// after the process has exited.
func (p *Process) Stop() *os.ProcessState {
	p.stopOnce.Do(func() {
		_ = signalGroup(p.cmd.Process, syscall.SIGTERM)
		deadline := time.Now().Add(p.grace)
		if p.waitGroup(deadline) {
			return
		}
		_ = signalGroup(p.cmd.Process, syscall.SIGKILL)
		p.waitGroup(time.Now().Add(p.grace))
	})
	return p.cmd.ProcessState
}

// waitGroup waits until the program has been reaped and no process is left
// in its group, or until deadline; it reports whether the group is gone.
func (p *Process) waitGroup(deadline time.Time) bool {
	select {
	case <-p.done:
	case <-time.After(time.Until(deadline)):
		return false
	}
	for syscall.Kill(-p.Pid(), 0) == nil {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// signalGroup sends sig to every process in p's process group.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	return err
}

// Wait waits for the process to exit by itself and returns its state; it
// fails the test, showing the output, if that takes longer than timeout.
func (p *Process) Wait(t testing.TB, timeout time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState
	case <-time.After(timeout):
		p.logOutput(t)
		t.Fatalf("%s (pid %d) still running after %v", p.Name, p.Pid(), timeout)
		return nil
	}
}

// Output reads what the process has written so far.
func (p *Process) Output() (stdout, stderr string) {
	o, _ := os.ReadFile(p.Stdout)
	e, _ := os.ReadFile(p.Stderr)
	return string(o), string(e)
}

// WaitPort is the package-level WaitPort that also fails at once, showing
// the process's output, if the process exits before the port is bound.
func (p *Process) WaitPort(t testing.TB, network, addr string, timeout time.Duration) {
	t.Helper()
	if err := waitPort(network, addr, timeout, p.done); err != nil {
		p.logOutput(t)
		t.Fatalf("%s (pid %d): %v", p.Name, p.Pid(), err)
	}
}

func (p *Process) logOutput(t testing.TB) {
	t.Helper()
	logTail(t, p.Name+" stdout", p.Stdout)
	logTail(t, p.Name+" stderr", p.Stderr)
}

// logTail logs the last lines of a file, if there are any: a daemon's or
// the KDC log's last words are usually what explains a failed test.
func logTail(t testing.TB, label, path string) {
	t.Helper()
	const max = 40
	data, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	t.Logf("%s (last %d lines):\n%s", label, len(lines), strings.Join(lines, "\n"))
}

// commandLine renders a command for logs, quoting arguments that would not
// survive a shell unquoted.
func commandLine(tool string, args []string) string {
	parts := []string{tool}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$*?;&|<>()") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// ReadFile returns the contents of path, failing the test if it cannot be
// read.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
