package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/krb5prop/krb5prop/internal/atomicfile"
)

// seqFile, in the working directory, holds the seq of the last delivery
// applied: the plugin's half of the sequence check.
const seqFile = "seq"

// readSeq returns the stored seq, 0 when there is none. known is false when
// the file exists but does not hold a number: the plugin cannot tell what
// it has applied, and asks for a full delivery.
func readSeq(path string) (seq uint64, known bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, err
	}
	seq, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return seq, err == nil, nil
}

// writeSeq replaces the stored seq atomically and durably: a crash leaves
// the old number or the new, never a torn file, and a success the plugin
// reported is not forgotten.
func writeSeq(path string, seq uint64) error {
	if err := atomicfile.Write(path, []byte(fmt.Sprintf("%d\n", seq)), 0o600); err != nil {
		return fmt.Errorf("saving seq: %w", err)
	}
	return nil
}

// removeSeq forgets the stored seq, so only a full delivery is accepted
// next.
func removeSeq(path string) error {
	err := os.Remove(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing seq: %w", err)
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}
