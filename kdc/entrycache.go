package kdc

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/krb5prop/krb5prop/internal/memo"
	"github.com/krb5prop/krb5prop/kdb"
)

// entryCheckInterval bounds how long a change committed by another process
// (kadmin, a load, kpropd) can go unseen: the database's version is read
// again when the last reading is older than this, so requests arriving
// this long after the commit see it. Starting kinit after kadmin returns
// alone takes longer.
const entryCheckInterval = time.Millisecond

// maxCachedEntries bounds the cache. Most of a busy realm's requests name
// a few principals (krbtgt, popular services); a database-wide spread of
// names would only churn a larger cache.
const maxCachedEntries = 4096

// entryCache keeps the principal entries the KDC read since the database
// last changed. A TGS request reads two or three entries, krbtgt's every
// time, and each read is a SQLite query that costs more than the
// request's cryptography; entries are dropped as a whole when the
// database's version moves.
type entryCache struct {
	store    *kdb.Store
	interval time.Duration // entryCheckInterval; tests of other things set 0, to read it every time

	cur atomic.Pointer[entryGeneration]

	checkMu   sync.Mutex
	checkedAt atomic.Int64 // time.Now().UnixNano() of the last version reading
}

// entryGeneration is the entries read while the database had one version.
type entryGeneration struct {
	version int64
	entries *memo.Map[*kdb.Principal]
}

func newEntryCache(store *kdb.Store) *entryCache {
	return &entryCache{store: store, interval: entryCheckInterval}
}

// lookup returns the entry stored under name, from the cache when the
// database has not changed since it was read. The caller gets its own
// copy of the entry's fields; the slices are shared and never changed.
func (c *entryCache) lookup(ctx context.Context, name string) (*kdb.Principal, error) {
	g, err := c.generation(ctx)
	if err != nil {
		return nil, err
	}
	p, ok := g.entries.Get(name)
	if !ok {
		if p, err = c.store.Lookup(ctx, name); err != nil {
			return nil, err
		}
		g.entries.Put(name, p)
	}
	entry := *p
	return &entry, nil
}

// generation returns the entries of the database's current version,
// reading the version when the last reading is older than the interval.
func (c *entryCache) generation(ctx context.Context) (*entryGeneration, error) {
	g := c.cur.Load()
	if g != nil && time.Now().UnixNano()-c.checkedAt.Load() < int64(c.interval) {
		return g, nil
	}
	c.checkMu.Lock()
	defer c.checkMu.Unlock()
	g = c.cur.Load()
	if g != nil && time.Now().UnixNano()-c.checkedAt.Load() < int64(c.interval) {
		return g, nil // another request just read it
	}
	now := time.Now().UnixNano()
	v, err := c.store.DataVersion(ctx)
	if err != nil {
		return nil, err
	}
	if g == nil || g.version != v {
		g = &entryGeneration{version: v, entries: memo.New[*kdb.Principal](maxCachedEntries)}
		c.cur.Store(g)
	}
	c.checkedAt.Store(now)
	return g, nil
}
