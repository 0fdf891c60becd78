//go:build unix

package keytab

import (
	"os"
	"syscall"
)

// lockFile takes a whole-file fcntl lock and waits for it, as MIT's
// krb5_lock_file does (MIT prefers open-file-description locks, which
// conflict with these on Linux). The lock goes away when f is closed.
func lockFile(f *os.File, exclusive bool) error {
	lk := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: 0}
	if exclusive {
		lk.Type = syscall.F_WRLCK
	}
	for {
		err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLKW, &lk)
		if err != syscall.EINTR {
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
