//go:build !linux

package ldaptest

import (
	"os"
	"syscall"
)

// sysProcAttr: see proc_linux.go. The tests target Debian; elsewhere slapd
// still gets its own session, but nothing kills it if the test binary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}

// signalGroup sends sig to every process in p's process group.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	return err
}
