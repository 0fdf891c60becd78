package kdb

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with that pid exists, so a load
// never removes the scratch file of another load still running.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
