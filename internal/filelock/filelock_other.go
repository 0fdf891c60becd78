//go:build !unix

package filelock

import (
	"errors"
	"os"
)

// ErrLocked reports that TryLock found the lock held.
var ErrLocked = errors.New("file is locked by another process")

// lock is a no-op where fcntl locks do not exist; MIT's files are only
// shared between processes on Unix.
func lock(f *os.File, exclusive, wait bool) error { return nil }
