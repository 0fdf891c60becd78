package replica

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/krb5prop/krb5prop/internal/atomicfile"
	"github.com/krb5prop/krb5prop/kdb"
)

// Source is the database a replica follows.
type Source struct {
	// DBPath is the realm's database (database_name).
	DBPath string
	// MasterKeys opens the master keys, for a replica with include_keys.
	MasterKeys func(ctx context.Context, store *kdb.Store) (*kdb.MasterKeys, error)
}

// Replica is one configured secondary replica: its plugin, its state
// directory, and the database it follows.
type Replica struct {
	cfg    Config
	src    Source
	plugin Plugin
	log    *slog.Logger
	now    func() time.Time
	authed bool // AuthInit succeeded in this process
}

// New makes the replica cfg describes; log receives its outcomes.
func New(cfg Config, src Source, log *slog.Logger) (*Replica, error) {
	var p Plugin
	if f, ok := registered(cfg.Plugin); ok {
		var err error
		if p, err = f(cfg); err != nil {
			return nil, fmt.Errorf("secondary replica %s: plugin %s: %w", cfg.Name, cfg.Plugin, err)
		}
	} else {
		if err := checkPlugin(cfg.Plugin); err != nil {
			return nil, fmt.Errorf("secondary replica %s: %w", cfg.Name, err)
		}
		p = newExecPlugin(cfg)
	}
	if cfg.IncludeKeys && src.MasterKeys == nil {
		return nil, fmt.Errorf("secondary replica %s: include_keys without a master key", cfg.Name)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Replica{cfg: cfg, src: src, plugin: p, log: log, now: time.Now}, nil
}

// Name returns the replica's name.
func (r *Replica) Name() string { return r.cfg.Name }

// Report says what a delivery did.
type Report struct {
	// Delivered is set when the plugin took a delivery and succeeded.
	Delivered bool
	Reinit    bool // it was a full delivery
	Changes   int
	Seq       uint64
	State     State
}

// Deliver brings the plugin up to date with the database: nothing when
// nothing changed since its last success or an admin stopped it, else a
// delivery of the changes (everything, after a reinit request or on first
// use). A failure is recorded with the next retry time and returned; the
// changes stay owed.
func (r *Replica) Deliver(ctx context.Context) (Report, error) {
	return r.locked(ctx, func(st *Status) (Report, error) {
		if st.State == Stopped {
			return Report{State: Stopped}, nil
		}
		return r.deliver(ctx, st)
	})
}

// locked runs fn holding the replica's lock, with its state as it is now
// (made on first use).
func (r *Replica) locked(ctx context.Context, fn func(*Status) (Report, error)) (Report, error) {
	unlock, err := r.lock(ctx)
	if err != nil {
		return Report{}, err
	}
	defer unlock()
	st, err := r.status()
	if err != nil {
		return Report{}, err
	}
	return fn(st)
}

// Reinit marks a full delivery as owed, then delivers: the plugin's
// init-reinit step, then every policy and principal.
func (r *Replica) Reinit(ctx context.Context) (Report, error) {
	return r.locked(ctx, func(st *Status) (Report, error) {
		st.Reinit = true
		if st.State != Stopped {
			st.State = ReinitRequested
		}
		if err := r.saveStatus(st); err != nil {
			return Report{}, err
		}
		if st.State == Stopped {
			return Report{State: Stopped}, nil
		}
		return r.deliver(ctx, st)
	})
}

func (r *Replica) identity(st *Status) Identity {
	return Identity{Name: r.cfg.Name, UUID: st.UUID, Realm: r.cfg.Realm}
}

// deliver runs one delivery under the lock, and at most one more when the
// plugin answers the first with a reinit request.
func (r *Replica) deliver(ctx context.Context, st *Status) (Report, error) {
	if _, err := os.Stat(r.src.DBPath); errors.Is(err, fs.ErrNotExist) {
		// A new replica host before its first propagation: nothing to
		// deliver yet, and nothing wrong.
		return Report{State: st.State}, nil
	}
	id := r.identity(st)
	st.LastAttempt = r.now()
	if !r.authed {
		if err := r.plugin.AuthInit(ctx, id); err != nil {
			return r.failed(st, "auth-init", err)
		}
		r.authed = true
	}
	for try := 0; ; try++ {
		if st.Reinit {
			if err := r.plugin.InitReinit(ctx, id); err != nil {
				return r.failed(st, "init-reinit", err)
			}
		}
		rep, err := r.deliverOnce(ctx, st)
		if errors.Is(err, ErrRequestReinit) && try == 0 {
			r.log.Info(fmt.Sprintf("secondary replica %s: plugin requested reinit: %v", r.cfg.Name, err))
			st.Reinit, st.State = true, ReinitRequested
			if err := r.saveStatus(st); err != nil {
				return Report{}, err
			}
			continue
		}
		if err != nil {
			return r.failed(st, "apply", err)
		}
		return rep, nil
	}
}

// deliverOnce works out the changes and hands them to the plugin, all in
// one read transaction, so the plugin gets exactly the state the new
// snapshot records.
func (r *Replica) deliverOnce(ctx context.Context, st *Status) (Report, error) {
	store, err := kdb.Open(r.src.DBPath, kdb.ReadOnly)
	if err != nil {
		return Report{}, err
	}
	defer store.Close()
	var mkeys *kdb.MasterKeys
	if r.cfg.IncludeKeys {
		if mkeys, err = r.src.MasterKeys(ctx, store); err != nil {
			return Report{}, err
		}
	}
	var old *snapshotReader
	prev := sequence{Seq: st.Seq, Time: st.SeqTime}
	switch sr, err := openSnapshot(r.path(snapshotFile)); {
	case err == nil:
		prev = sr.seq
		if st.Reinit {
			sr.close()
		} else {
			old = sr
			defer sr.close()
		}
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, errCorrupt) && st.Reinit:
		// The reinit the damage called for: start from nothing.
	default:
		return Report{}, r.hint(err)
	}
	if old == nil && st.State == Uninitialized {
		st.State = Initializing
		if err := r.saveStatus(st); err != nil {
			return Report{}, err
		}
	}
	now := r.now()
	next := sequence{Seq: prev.Seq + 1, Time: now, Prev: prev.Seq, PrevTime: prev.Time}
	var rep Report
	err = store.Snapshot(ctx, func(v *kdb.View) error {
		pl, err := r.makePlan(ctx, v, old, next)
		if err != nil {
			return r.hint(fmt.Errorf("compare the database with the last delivery: %w", err))
		}
		defer pl.discard()
		st.LastChanges = pl.changes()
		if !pl.full && pl.changes() == 0 {
			rep = Report{Changes: 0, Seq: prev.Seq}
			return nil
		}
		h := Header{Version: ProtocolVersion, Replica: r.cfg.Name, UUID: st.UUID, Realm: r.cfg.Realm,
			Seq: next.Seq, PrevSeq: next.Prev, Reinit: pl.full, IncludeKeys: r.cfg.IncludeKeys, Time: now.UTC().Truncate(time.Second)}
		d := pl.delivery(ctx, h, v, mkeys)
		err = r.plugin.Apply(ctx, d)
		if d.Err() != nil {
			return fmt.Errorf("%w: reading the database: %w", ErrCantProcess, d.Err())
		}
		if err != nil {
			return err
		}
		if err := os.Rename(pl.snapshot, r.path(snapshotFile)); err != nil {
			return fmt.Errorf("the plugin succeeded, but recording it failed (it gets the changes again): %w", err)
		}
		if err := atomicfile.SyncDir(r.cfg.StateDir); err != nil {
			return err
		}
		rep = Report{Delivered: true, Reinit: pl.full, Changes: pl.changes(), Seq: next.Seq}
		st.Seq, st.SeqTime, st.PrevSeq, st.PrevTime = next.Seq, next.Time, next.Prev, next.PrevTime
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	st.State, st.Reinit, st.LastError, st.LastErrorTime, st.Retries, st.NextRetry = InService, false, "", time.Time{}, 0, time.Time{}
	rep.State = InService
	if err := r.saveStatus(st); err != nil {
		return Report{}, err
	}
	if rep.Delivered {
		r.log.Info(fmt.Sprintf("secondary replica %s: delivered %d changes (seq %d)", r.cfg.Name, rep.Changes, rep.Seq))
	}
	return rep, nil
}

// hint adds the way out to a damaged snapshot's error.
func (r *Replica) hint(err error) error {
	if errors.Is(err, errCorrupt) {
		return fmt.Errorf("%w (kdb5util replica reinit %s delivers everything afresh)", err, r.cfg.Name)
	}
	return err
}

// failed records a failed step: the error, the state, and when to try
// again (retry_interval doubling with each failure, up to
// max_retry_interval).
func (r *Replica) failed(st *Status, step string, err error) (Report, error) {
	now := r.now()
	st.Retries++
	wait := r.cfg.RetryInterval
	for i := 1; i < st.Retries && wait < r.cfg.MaxRetryInterval; i++ {
		wait *= 2
	}
	wait = min(wait, r.cfg.MaxRetryInterval)
	st.State, st.LastError, st.LastErrorTime, st.NextRetry = CantProcess, step+": "+err.Error(), now, now.Add(wait)
	r.log.Error(fmt.Sprintf("secondary replica %s: %s failed (try %d, next in %s): %v", r.cfg.Name, step, st.Retries, wait, err))
	if serr := r.saveStatus(st); serr != nil {
		return Report{}, fmt.Errorf("%w; and recording it: %w", err, serr)
	}
	return Report{State: CantProcess}, fmt.Errorf("%s: %w", step, err)
}

// Stop tells the plugin its service is interrupted. With byAdmin, the
// replica stays stopped, loads noted but not delivered, until Start.
func (r *Replica) Stop(ctx context.Context, byAdmin bool) error {
	if !byAdmin {
		st, err := r.readStatus()
		if err != nil || st.State == Stopped {
			return nil // never used here, or already told
		}
		return r.plugin.Stop(ctx, r.identity(st))
	}
	_, err := r.locked(ctx, func(st *Status) (Report, error) {
		if st.State == Stopped {
			return Report{}, nil
		}
		if err := r.plugin.Stop(ctx, r.identity(st)); err != nil {
			return Report{}, fmt.Errorf("stop: %w", err)
		}
		st.State = Stopped
		return Report{}, r.saveStatus(st)
	})
	return err
}

// Start undoes an admin's Stop and delivers what the loads since then
// changed.
func (r *Replica) Start(ctx context.Context) (Report, error) {
	return r.locked(ctx, func(st *Status) (Report, error) {
		if st.State == Stopped {
			st.State = InService
			if _, err := os.Stat(r.path(snapshotFile)); err != nil {
				st.State = Uninitialized
			}
			if st.Reinit {
				st.State = ReinitRequested
			}
		}
		return r.deliver(ctx, st)
	})
}

// Destroy calls the plugin's destroy step and forgets the replica: its
// UUID, state and snapshot. A replica still configured starts afresh at
// the next load, with a new UUID.
func (r *Replica) Destroy(ctx context.Context) error {
	unlock, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := r.readStatus()
	if errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(r.cfg.StateDir)
	}
	if err != nil {
		return err
	}
	if err := r.plugin.Destroy(ctx, r.identity(st)); err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	return os.RemoveAll(r.cfg.StateDir)
}

// Info is what kdb5util replica info shows.
type Info struct {
	Config
	Status
	// Used is false for a replica that has never run.
	Used bool
}

// Info reads the replica's state without waiting for a delivery in
// progress.
func (r *Replica) Info() (Info, error) {
	info := Info{Config: r.cfg}
	st, err := r.readStatus()
	if errors.Is(err, fs.ErrNotExist) {
		info.State = Uninitialized
		return info, nil
	}
	if err != nil {
		return info, err
	}
	info.Status, info.Used = *st, true
	if sr, err := openSnapshot(r.path(snapshotFile)); err == nil {
		info.Seq, info.SeqTime, info.PrevSeq, info.PrevTime = sr.seq.Seq, sr.seq.Time, sr.seq.Prev, sr.seq.PrevTime
		sr.close()
	}
	return info, nil
}

// NextRetry returns when a failed delivery is due again, zero when none
// is owed.
func (r *Replica) NextRetry() time.Time {
	st, err := r.readStatus()
	if err != nil || st.State != CantProcess {
		return time.Time{}
	}
	return st.NextRetry
}
