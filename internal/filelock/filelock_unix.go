//go:build unix

package filelock

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ErrLocked reports that TryLock found the lock held.
var ErrLocked = errors.New("file is locked by another process")

func lock(f *os.File, exclusive, wait bool) error {
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: io.SeekStart}
	if exclusive {
		lk.Type = unix.F_WRLCK
	}
	cmd, ofd := unix.F_SETLK, ofdSetLock
	if wait {
		cmd, ofd = unix.F_SETLKW, ofdSetLockWait
	}
	if ofd != 0 {
		err := fcntl(f, ofd, &lk)
		if err != unix.EINVAL {
			return mapBusy(err)
		}
	}
	return mapBusy(fcntl(f, cmd, &lk))
}

func mapBusy(err error) error {
	if err == unix.EAGAIN || err == unix.EACCES {
		return ErrLocked
	}
	return err
}

func fcntl(f *os.File, cmd int, lk *unix.Flock_t) error {
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, lk)
		if err != unix.EINTR {
			return err
		}
	}
}
