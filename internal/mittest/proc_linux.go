package mittest

import (
	"os"
	"syscall"
)

// sysProcAttr puts each started program in a session of its own: no
// controlling terminal (a password prompt cannot block on the developer's
// tty), and one process group to signal for the program and its children.
// Pdeathsig kills the program if the test binary dies without cleaning up
// (go test's -timeout panic, a crash), so no daemon outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to every process in p's process group.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	if p == nil {
		return nil
	}
	err := syscall.Kill(-p.Pid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	return err
}
