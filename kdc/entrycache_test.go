package kdc

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/kdb"
)

// TestEntryCache checks that a cached entry is served until the database
// changes, that a change committed through another Store (another process,
// for SQLite) is seen once the check interval has passed, and that callers
// get copies they may change.
func TestEntryCache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "principal")
	writer, err := kdb.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	put := func(life int32) {
		t.Helper()
		n, _ := kdb.ParseName("alice@KDC.TEST", "")
		p := &kdb.Principal{Name: n, MaxLife: life}
		if err := writer.Update(ctx, func(tx *kdb.Tx) error { return tx.Put(ctx, p) }); err != nil {
			t.Fatal(err)
		}
	}
	put(100)
	reader, err := kdb.Open(path, kdb.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	c := newEntryCache(reader)
	c.interval = time.Hour // no version reading after the first, until the test says so
	get := func() *kdb.Principal {
		t.Helper()
		p, err := c.lookup(ctx, "alice@KDC.TEST")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := get()
	if first.MaxLife != 100 {
		t.Fatalf("MaxLife %d, want 100", first.MaxLife)
	}
	first.MaxLife = 1 // the caller's copy
	put(200)
	if p := get(); p.MaxLife != 100 {
		t.Errorf("within the interval: MaxLife %d, want the cached 100", p.MaxLife)
	}
	c.checkedAt.Store(0) // the interval has passed
	if p := get(); p.MaxLife != 200 {
		t.Errorf("after a change: MaxLife %d, want 200", p.MaxLife)
	}
	// Unchanged database: the version stays, the entry is served cached.
	g := c.cur.Load()
	c.checkedAt.Store(0)
	get()
	if c.cur.Load() != g {
		t.Error("an unchanged database dropped the cache")
	}
	if _, err := c.lookup(ctx, "nobody@KDC.TEST"); err == nil {
		t.Error("lookup of a missing entry succeeded")
	}
}
