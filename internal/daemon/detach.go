package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// childEnv marks the re-executed child of Detach.
const childEnv = "KRB5PROP_DAEMON_CHILD"

// Detach runs the daemon in the background the way a service manager
// expects of a forking daemon: the program re-executes itself in a new
// session with standard input and output on /dev/null, and the original
// process exits only once the child reports it is ready (or with the
// child's failure), so "started" means listening. It returns in the child,
// with a ready function the child calls once it serves; in the parent it
// does not return. Call it before opening the listener: the child opens
// its own.
//
// The child keeps the parent's standard error until it is ready, so a
// failure to start (a port in use) is still reported where the command
// was run; ready points it at /dev/null.
//
// Go cannot fork a running process safely, so this re-executes instead of
// calling daemon(3) as MIT does.
func Detach() (ready func(), err error) {
	if os.Getenv(childEnv) != "" {
		os.Unsetenv(childEnv)
		pipe := os.NewFile(3, "ready")
		return func() {
			if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
				syscall.Dup3(int(null.Fd()), 2, 0)
				null.Close()
			}
			fmt.Fprintln(pipe, "ready")
			pipe.Close()
		}, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	w.Close()
	line, _ := bufio.NewReader(r).ReadString('\n')
	if strings.TrimSpace(line) == "ready" {
		os.Exit(0)
	}
	// The child died before it was ready: its own log says why.
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		os.Exit(ee.ExitCode())
	}
	os.Exit(1)
	return nil, nil
}
