package kdc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/memo"
	"github.com/krb5prop/krb5prop/kdb"
)

// Database is what the KDC needs from the principal database. Principal
// and Policy report a missing entry with an error that matches
// kdb.ErrNotFound or kdb.ErrPolicyMissing (errors.Is); any other error is a
// database failure, which the KDC reports as KRB_ERR_GENERIC as MIT does.
// Implementations must be safe for concurrent use.
type Database interface {
	// Principal returns the entry stored under the unparsed name
	// (krb5_unparse_name form, "host/kdc.example.com@EXAMPLE.COM"). Its
	// lockout counters need not be filled in: only an AS request's
	// client needs them, and Lockout reads them.
	Principal(ctx context.Context, name string) (*kdb.Principal, error)
	// Lockout returns a principal's live lockout counters; ok is false
	// when none were recorded and the entry's own counters stand.
	Lockout(ctx context.Context, name string) (l kdb.Lockout, ok bool, err error)
	// Policy returns the named password policy.
	Policy(ctx context.Context, name string) (*kdb.Policy, error)
	// SetLockout records a principal's lockout counters after an
	// authentication (MIT's krb5_db2_lockout_audit).
	SetLockout(ctx context.Context, name string, l kdb.Lockout) error
	// UnsealKey decrypts one of p's keys, which are stored encrypted in
	// a master key.
	UnsealKey(ctx context.Context, p *kdb.Principal, kd kdb.KeyData) (types.EncryptionKey, error)
}

// StoreDatabase is the Database of a kdb.Store opened with the realm's
// master keys.
//
// When a principal's keys are encrypted in a master key the list does not
// hold (a propagation brought a K/M with a new master key, and the
// principals were re-encrypted in it), it re-reads K/M and opens its key
// list again with the master key that opened it first, as MIT's
// krb5_dbe_decrypt_key_data refreshes its list on KRB5_KDB_NO_MATCHING_KEY.
//
// Entries are kept between requests until the database changes (see
// entryCache), so a busy KDC reads krbtgt's entry once, not once per
// request.
//
// Lockout counters are written behind the requests, in batches (see
// lockoutWriter); Close writes the last of them.
type StoreDatabase struct {
	// Log receives the errors of the counter writes that happen after
	// SetLockout returned; they are dropped when it is nil. Set it before
	// the first request.
	Log *slog.Logger

	store   *kdb.Store
	entries *entryCache
	lockout *lockoutWriter
	// keys keeps decrypted keys by master key version and sealed bytes,
	// which the master key's random confounder makes unique to one key.
	keys *memo.Map[types.EncryptionKey]

	mu    sync.RWMutex
	mkeys *kdb.MasterKeys
}

// NewStoreDatabase returns the Database for store, whose keys mkeys
// unseals.
func NewStoreDatabase(store *kdb.Store, mkeys *kdb.MasterKeys) *StoreDatabase {
	d := &StoreDatabase{store: store, entries: newEntryCache(store), keys: memo.New[types.EncryptionKey](4096), mkeys: mkeys}
	d.lockout = newLockoutWriter(store, func(msg string) {
		if d.Log != nil {
			d.Log.Error(msg)
		}
	})
	return d
}

// Principal implements Database.
func (d *StoreDatabase) Principal(ctx context.Context, name string) (*kdb.Principal, error) {
	return d.entries.lookup(ctx, name)
}

// Lockout implements Database.
func (d *StoreDatabase) Lockout(ctx context.Context, name string) (kdb.Lockout, bool, error) {
	if l, ok := d.lockout.get(name); ok {
		return l, true, nil
	}
	return d.store.Lockout(ctx, name)
}

// Policy implements Database.
func (d *StoreDatabase) Policy(ctx context.Context, name string) (*kdb.Policy, error) {
	return d.store.GetPolicy(ctx, name)
}

// SetLockout implements Database: the counters are written within a few
// milliseconds, and Lockout returns them meanwhile.
func (d *StoreDatabase) SetLockout(_ context.Context, name string, l kdb.Lockout) error {
	d.lockout.put(name, l)
	return nil
}

// Close writes the lockout counters not yet written. The store stays
// open; it is the caller's.
func (d *StoreDatabase) Close() { d.lockout.close() }

// UnsealKey implements Database.
func (d *StoreDatabase) UnsealKey(ctx context.Context, p *kdb.Principal, kd kdb.KeyData) (types.EncryptionKey, error) {
	d.mu.RLock()
	mkeys := d.mkeys
	d.mu.RUnlock()
	if v := p.MKVNO(); v != 0 {
		if _, ok := mkeys.ByKVNO(v); !ok {
			fresh, err := d.reload(ctx, mkeys)
			if err != nil {
				return types.EncryptionKey{}, err
			}
			mkeys = fresh
		}
	}
	id := string(binary.BigEndian.AppendUint16(nil, p.MKVNO())) + string(kd.Contents)
	if k, ok := d.keys.Get(id); ok {
		return k, nil
	}
	k, err := mkeys.UnsealKey(p, kd)
	if err == nil {
		d.keys.Put(id, k)
	}
	return k, err
}

// reload re-reads K/M and opens its key list with the key that opened
// old.
func (d *StoreDatabase) reload(ctx context.Context, old *kdb.MasterKeys) (*kdb.MasterKeys, error) {
	opener, ok := old.ByKVNO(old.OpenedWith)
	if !ok {
		return nil, errors.New("master key list lost its opening key")
	}
	km, err := d.store.Get(ctx, old.Name.String())
	if err != nil {
		return nil, fmt.Errorf("reload master keys: %w", err)
	}
	fresh, err := kdb.LoadMasterKeys(km, opener)
	if err != nil {
		return nil, fmt.Errorf("reload master keys: %w", err)
	}
	d.mu.Lock()
	d.mkeys = fresh
	d.mu.Unlock()
	return fresh, nil
}
