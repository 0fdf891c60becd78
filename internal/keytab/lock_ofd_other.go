//go:build unix && !linux

package keytab

// ofdSetLockWait is 0 where open-file-description locks are not used.
const ofdSetLockWait = 0
