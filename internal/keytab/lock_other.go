//go:build !unix

package keytab

import "os"

// lockFile is a no-op where fcntl locks do not exist; MIT's FILE keytab
// is only shared between processes on Unix.
func lockFile(f *os.File, exclusive bool) error { return nil }

// copyOwner is a no-op where files have no Unix owner.
func copyOwner(f *os.File, like os.FileInfo) error { return nil }
