package ldaptest

import (
	"os"
	"syscall"
)

// sysProcAttr puts slapd in a session of its own, one process group to
// signal, and kills it if the test binary dies without cleaning up (go
// test's -timeout panic, a crash), so no slapd outlives its test holding a
// port.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to every process in p's process group.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	return err
}
