//go:build !unix

package propagation

import "os"

// openReplayFile opens a replay cache file, created mode 0600.
func openReplayFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
