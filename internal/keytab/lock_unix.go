//go:build unix

package keytab

import (
	"os"
	"syscall"

	"github.com/krb5prop/krb5prop/internal/filelock"
)

// lockFile takes MIT's whole-file lock on f (see package filelock).
func lockFile(f *os.File, exclusive bool) error { return filelock.Lock(f, exclusive) }

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
