package filelock

import "golang.org/x/sys/unix"

// Open-file-description lock commands (Linux 3.15 and later; older
// kernels answer EINVAL and the POSIX commands are used instead).
const (
	ofdSetLock     = unix.F_OFD_SETLK
	ofdSetLockWait = unix.F_OFD_SETLKW
)
