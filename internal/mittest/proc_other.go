//go:build !linux

package mittest

import "syscall"

// sysProcAttr: see proc_linux.go. The interop tests target Debian; elsewhere
// the program still gets its own session, but nothing kills it if the test
// binary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
