package mittest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	r := NewRealm(t, "RUN.TEST")
	stdout, stderr, exit := r.Run(t, "sh", "-c", `echo "$KRB5_CONFIG"; pwd; echo oops >&2; exit 3`)
	if exit != 3 {
		t.Errorf("exit = %d, want 3", exit)
	}
	if want := r.KRB5Config + "\n" + r.Dir + "\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if stderr != "oops\n" {
		t.Errorf("stderr = %q", stderr)
	}

	if out, _, _ := r.Run(t, "sh", "-c", "cat"); out != "" {
		t.Errorf("Run stdin not empty: %q", out)
	}
	if out, _, _ := r.RunStdin(t, "secret\n", "sh", "-c", "read x; echo got $x"); out != "got secret\n" {
		t.Errorf("RunStdin: %q", out)
	}
	// No controlling terminal: a prompt that insists on /dev/tty fails
	// instead of waiting for the developer.
	if _, _, exit := r.Run(t, "sh", "-c", "exec </dev/tty"); exit == 0 {
		t.Error("tool could open /dev/tty")
	}
	if out := r.MustRun(t, "sh", "-c", "echo ok"); out != "ok\n" {
		t.Errorf("MustRun = %q", out)
	}
}

func TestExec(t *testing.T) {
	r := NewRealm(t, "EXEC.TEST")
	stdout, stderr, exit, err := r.Exec(context.Background(), "secret\n", "sh", "-c", `read x; echo "$x $KRB5_CONFIG"; pwd >&2; exit 2`)
	if err != nil || exit != 2 || stdout != "secret "+r.KRB5Config+"\n" || stderr != r.Dir+"\n" {
		t.Errorf("Exec = %q, %q, exit %d, %v", stdout, stderr, exit, err)
	}
	if _, _, _, err := r.Exec(context.Background(), "", "no-such-tool-here"); err == nil {
		t.Error("Exec found a missing tool")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := r.Exec(ctx, "", "sh", "-c", "sleep 30"); err == nil || !strings.Contains(err.Error(), "sh -c ") {
		t.Errorf("Exec with a cancelled context: %v, want an error naming the command", err)
	}
}

func TestRunTimeoutKillsSession(t *testing.T) {
	dir := t.TempDir()
	pidFile := dir + "/child.pid"
	start := time.Now()
	// The shell's background child keeps stdout open and would outlive a
	// plain kill of the shell.
	_, err := runCommand(context.Background(), 300*time.Millisecond, "/bin/sh",
		[]string{"-c", "sleep 30 & echo $! > " + pidFile + "; wait"}, os.Environ(), dir, nil)
	if err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %v", d)
	}
	pid := readPid(t, pidFile)
	waitGone(t, pid)

	if _, err := runCommand(context.Background(), time.Second, "/nonexistent/tool", nil, nil, dir, nil); err == nil {
		t.Error("runCommand started a missing program")
	}
}

func TestStartStop(t *testing.T) {
	r := NewRealm(t, "START.TEST")
	p := r.Start(t, "sh", "-c", `echo "$KRB5_KDC_PROFILE"; echo started >&2; exec sleep 30`)
	if p.State() != nil {
		t.Fatal("State set while running")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, stderr := p.Output(); stderr == "started\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no output from the started process")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stdout, _ := p.Output()
	if stdout != r.KDCProfile+"\n" {
		t.Errorf("stdout = %q", stdout)
	}
	st := p.Stop()
	if st == nil || st.Exited() {
		t.Fatalf("state after Stop = %v, want killed by SIGTERM", st)
	}
	if ws := st.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGTERM {
		t.Errorf("stopped by %v, want SIGTERM", ws.Signal())
	}
	if p.Stop() != st {
		t.Error("second Stop returned a different state")
	}
	select {
	case <-p.Done():
	default:
		t.Error("Done not closed after Stop")
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	r := NewRealm(t, "KILL.TEST")
	// An ignored signal stays ignored across exec, so sleep ignores SIGTERM.
	p := r.Start(t, "sh", "-c", "trap '' TERM; exec sleep 30")
	p.grace = 200 * time.Millisecond
	time.Sleep(100 * time.Millisecond) // let the trap be installed
	st := p.Stop()
	if ws := st.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGKILL {
		t.Errorf("state %v, want killed by SIGKILL", st)
	}
}

// TestStopWaitsForTheGroup: a child that outlives the program (a
// superserver's per-connection daemon finishing its work on SIGTERM) is
// waited for before Stop returns, so the test's files are not removed
// under it.
func TestStopWaitsForTheGroup(t *testing.T) {
	r := NewRealm(t, "GROUP.TEST")
	done := filepath.Join(r.Dir, "child-done")
	ready := filepath.Join(r.Dir, "child-ready")
	child := "trap 'sleep 0.5; touch " + done + "; exit 0' TERM; touch " + ready + "; while :; do sleep 0.1; done"
	p := r.Start(t, "sh", "-c", "sh -c \""+child+"\" & exec sleep 30")
	for i := 0; !fileExists(ready); i++ {
		if i == 500 {
			t.Fatal("the child did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop()
	if !fileExists(done) {
		t.Error("Stop returned before the child in the program's group had finished")
	}
}

func TestProcessWait(t *testing.T) {
	r := NewRealm(t, "WAIT.TEST")
	p := r.Start(t, "sh", "-c", "exit 7")
	if st := p.Wait(t, 10*time.Second); st.ExitCode() != 7 {
		t.Errorf("exit = %d, want 7", st.ExitCode())
	}
	// WaitPort on a process that has exited fails fast instead of waiting
	// out its timeout.
	if err := waitPort("tcp", "127.0.0.1:1", time.Minute, p.Done()); err == nil {
		t.Error("waitPort ignored the exit")
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		b, _ := os.ReadFile(path)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

// waitGone waits until pid no longer exists (a zombie counts as gone: it
// is dead and only waits for its reaper).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if f := strings.Fields(string(b)); len(f) > 2 && f[2] == "Z" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("process %d survived the timeout kill", pid)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
