package kdc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/krb5prop/krb5prop/kdb"
)

// TestLockoutWriter checks that queued counters are read back before they
// are written, that a batch lands in the store, and that Close writes what
// is still queued.
func TestLockoutWriter(t *testing.T) {
	ctx := context.Background()
	store, err := kdb.Create(filepath.Join(t.TempDir(), "principal"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w := newLockoutWriter(store, func(msg string) { t.Errorf("logged %q", msg) })
	w.put("alice@KDC.TEST", kdb.Lockout{FailCount: 1})
	w.put("alice@KDC.TEST", kdb.Lockout{FailCount: 2})
	if l, ok := w.get("alice@KDC.TEST"); !ok || l.FailCount != 2 {
		t.Errorf("queued counters: %+v, %v", l, ok)
	}
	w.flush()
	if l, ok, err := store.Lockout(ctx, "alice@KDC.TEST"); err != nil || !ok || l.FailCount != 2 {
		t.Errorf("stored counters: %+v, %v, %v", l, ok, err)
	}
	// Many writers, then Close: every principal's last counters are in
	// the store.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				w.put(fmt.Sprintf("user%d@KDC.TEST", g), kdb.Lockout{LastSuccess: uint32(i + 1)})
			}
		}()
	}
	wg.Wait()
	w.close()
	w.close() // a second Close is harmless
	for g := range 8 {
		if l, ok, err := store.Lockout(ctx, fmt.Sprintf("user%d@KDC.TEST", g)); err != nil || !ok || l.LastSuccess != 100 {
			t.Errorf("user%d after Close: %+v, %v, %v", g, l, ok, err)
		}
	}
}

// TestLockoutWriterFailure checks that counters the store refuses are
// logged and kept for the next batch, so reads still see them.
func TestLockoutWriterFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "principal")
	s, err := kdb.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Remove(kdb.LockoutPath(path)); err != nil {
		t.Fatal(err)
	}
	store, err := kdb.Open(path, kdb.ReadOnly) // no lockout file: writes fail
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var mu sync.Mutex
	var logged []string
	w := newLockoutWriter(store, func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, msg)
	})
	defer w.close()
	w.put("alice@KDC.TEST", kdb.Lockout{FailCount: 3})
	w.flush()
	mu.Lock()
	if len(logged) == 0 || !strings.Contains(logged[0], "no lockout database") {
		t.Errorf("logged %q", logged)
	}
	mu.Unlock()
	if l, ok := w.get("alice@KDC.TEST"); !ok || l.FailCount != 3 {
		t.Errorf("counters after a failed write: %+v, %v", l, ok)
	}
}
