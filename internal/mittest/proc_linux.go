package mittest

import "syscall"

// sysProcAttr puts each started program in a session of its own: no
// controlling terminal (a password prompt cannot block on the developer's
// tty), and one process group to signal for the program and its children.
// Pdeathsig kills the program if the test binary dies without cleaning up
// (go test's -timeout panic, a crash), so no daemon outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}
