package keytab

import "golang.org/x/sys/unix"

// ofdSetLockWait is F_OFD_SETLKW (Linux 3.15 and later; older kernels
// answer EINVAL and lockFile falls back to F_SETLKW).
const ofdSetLockWait = unix.F_OFD_SETLKW
