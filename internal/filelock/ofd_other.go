//go:build unix && !linux

package filelock

// Open-file-description locks are not used off Linux.
const (
	ofdSetLock     = 0
	ofdSetLockWait = 0
)
