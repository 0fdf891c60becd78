// Package filelock takes whole-file locks the way MIT krb5's
// krb5_lock_file does, so krb5prop and MIT processes sharing a keytab or a
// dump file exclude each other: an fcntl open-file-description lock where
// the system has them (goroutines of one process then exclude each other
// too), else a classic POSIX record lock. A lock goes away when the file
// is closed.
package filelock

import "os"

// Lock waits for a shared (exclusive false) or exclusive lock on f.
func Lock(f *os.File, exclusive bool) error { return lock(f, exclusive, true) }

// TryLock takes the lock only if it is free now; it returns ErrLocked when
// another holder has it.
func TryLock(f *os.File, exclusive bool) error { return lock(f, exclusive, false) }
