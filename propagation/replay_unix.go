//go:build unix

package propagation

import (
	"fmt"
	"os"
	"syscall"
)

// openReplayFile opens a replay cache file as MIT's dfl type does: created
// mode 0600, never through a symbolic link, and only if the file belongs to
// this user, so another user cannot plant a cache that hides replays.
func openReplayFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("replay cache file %s is not owned by uid %d", path, os.Geteuid())
	}
	return f, nil
}
