//go:build unix

package keytab

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockFile takes a whole-file fcntl lock and waits for it, as MIT's
// krb5_lock_file does: an open-file-description lock where the system has
// them (so goroutines of one process exclude each other too, and MIT
// processes see the lock), else a classic POSIX record lock. The lock goes
// away when f is closed.
func lockFile(f *os.File, exclusive bool) error {
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: io.SeekStart}
	if exclusive {
		lk.Type = unix.F_WRLCK
	}
	if ofdSetLockWait != 0 {
		err := fcntlLockWait(f, ofdSetLockWait, &lk)
		if err != unix.EINVAL {
			return err
		}
	}
	return fcntlLockWait(f, unix.F_SETLKW, &lk)
}

func fcntlLockWait(f *os.File, cmd int, lk *unix.Flock_t) error {
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, lk)
		if err != unix.EINTR {
			return err
		}
	}
}

// copyOwner gives f the owner and group of like when they differ, so that
// rewriting a keytab does not hand it to whoever ran the rewrite.
func copyOwner(f *os.File, like os.FileInfo) error {
	want, ok := like.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	have, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || (have.Uid == want.Uid && have.Gid == want.Gid) {
		return nil
	}
	return f.Chown(int(want.Uid), int(want.Gid))
}
