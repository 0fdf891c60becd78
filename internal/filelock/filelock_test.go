package filelock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestExclusiveExcludesOtherOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	a, _ := os.Create(path)
	defer a.Close()
	b, _ := os.Open(path)
	defer b.Close()
	c, _ := os.Open(path)
	defer c.Close()
	if err := Lock(b, false); err != nil {
		t.Fatal(err)
	}
	if err := TryLock(c, false); err != nil {
		t.Errorf("second shared lock: %v", err)
	}
	if err := TryLock(a, true); !errors.Is(err, ErrLocked) {
		t.Errorf("exclusive lock while shared locks are held: %v", err)
	}
	b.Close()
	c.Close()
	if err := TryLock(a, true); err != nil {
		t.Errorf("exclusive lock after the shared ones closed: %v", err)
	}
}
