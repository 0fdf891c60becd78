package kdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// Load builds a complete new database content in a scratch file beside the
// live database, then either replaces the live content with it (Commit) or
// merges it in (Merge). Nothing touches the live database before that
// last step, so a bad record anywhere leaves it unchanged, byte for byte,
// and readers such as a running KDC keep reading the old content until the
// new one commits in a single transaction (spec/storage.md, "Load").
type Load struct {
	iprop   *IpropPosition
	live    string
	scratch string
	db      *sql.DB
	tx      *sql.Tx
	princ   *sql.Stmt
	policy  *sql.Stmt
	n       int
}

// scratchPrefix names scratch files as "<database>.load-<pid>".
func scratchPrefix(live string) string { return live + ".load-" }

// BeginLoad starts a load into the database at live (which need not exist
// yet). Scratch files left by loads that crashed are removed first.
func BeginLoad(live string) (*Load, error) {
	if err := removeStaleScratch(live); err != nil {
		return nil, err
	}
	scratch := scratchPrefix(live) + strconv.Itoa(os.Getpid())
	f, err := os.OpenFile(scratch, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create load file: %w", err)
	}
	f.Close()
	db, err := sql.Open("sqlite", dsn(scratch, "_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)"))
	if err != nil {
		os.Remove(scratch)
		return nil, err
	}
	db.SetMaxOpenConns(1)
	l := &Load{live: live, scratch: scratch, db: db}
	if err := l.init(); err != nil {
		l.Abort()
		return nil, err
	}
	return l, nil
}

func (l *Load) init() error {
	// The page size must equal the live database's for the backup API to
	// copy pages into a WAL database; the journal stays off in the scratch
	// file, which is thrown away if anything fails.
	ddl := strings.Replace(schema, "PRAGMA journal_mode = WAL;", "", 1)
	if _, err := l.db.Exec(ddl); err != nil {
		return fmt.Errorf("create load file: %w", err)
	}
	if _, err := l.db.Exec(`INSERT INTO meta (key, value) VALUES ('format', ?)`, formatVersion); err != nil {
		return fmt.Errorf("create load file: %w", err)
	}
	var err error
	if l.tx, err = l.db.Begin(); err != nil {
		return err
	}
	if l.princ, err = l.tx.Prepare(`INSERT INTO princ (name, data) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET data = excluded.data`); err != nil {
		return err
	}
	l.policy, err = l.tx.Prepare(`INSERT INTO policy (name, data) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET data = excluded.data`)
	return err
}

func removeStaleScratch(live string) error {
	matches, err := filepath.Glob(scratchPrefix(live) + "*")
	if err != nil {
		return err
	}
	for _, m := range matches {
		pid, err := strconv.Atoi(strings.TrimPrefix(m, scratchPrefix(live)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale load file: %w", err)
		}
	}
	return nil
}

// PutPrincipal adds a principal; a later record of the same name replaces
// an earlier one, as MIT's loader does.
func (l *Load) PutPrincipal(p *Principal) error {
	if err := p.checkLimits(); err != nil {
		return err
	}
	if _, err := l.princ.Exec([]byte(p.Name.String()), encodePrincipal(p)); err != nil {
		return fmt.Errorf("load %s: %w", p.Name, err)
	}
	l.n++
	return nil
}

// PutPolicy adds a policy, replacing one of the same name.
func (l *Load) PutPolicy(p *Policy) error {
	if _, err := l.policy.Exec([]byte(p.Name), encodePolicy(p)); err != nil {
		return fmt.Errorf("load policy %s: %w", p.Name, err)
	}
	return nil
}

// SetIpropPosition records the update-log position an iprop dump was
// taken at, kept with the loaded content (see Store.IpropPosition).
func (l *Load) SetIpropPosition(p IpropPosition) { l.iprop = &p }

// finish completes the scratch file. It is not fsynced: the restore reads
// it back from the page cache, and only the live database's commit needs
// to be durable (placeAsNew syncs it when the file itself becomes live).
func (l *Load) finish() error {
	if l.iprop != nil {
		if _, err := l.tx.Exec(`INSERT INTO meta (key, value) VALUES ('iprop', ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, l.iprop.encode()); err != nil {
			return fmt.Errorf("write load file: %w", err)
		}
	}
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("write load file: %w", err)
	}
	l.tx = nil
	if err := l.db.Close(); err != nil {
		return err
	}
	l.db = nil
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Commit replaces the live content with the loaded one in one write
// transaction (the SQLite backup API, restoring the scratch file into the
// live database), creating the live database if there is none. Live
// lockout counters belong to the old content and are dropped, as MIT's
// load replaces them with the dump's.
func (l *Load) Commit(ctx context.Context) error { return l.commit(ctx, false) }

// CommitKeepingLockout is Commit for an iprop full resync (MIT's load -i
// with merge_nra): the replica's own lockout counters stay in force,
// since an iprop dump carries none.
func (l *Load) CommitKeepingLockout(ctx context.Context) error { return l.commit(ctx, true) }

func (l *Load) commit(ctx context.Context, keepLockout bool) error {
	defer l.Abort()
	if err := l.finish(); err != nil {
		return err
	}
	if placed, err := l.placeAsNew(); err != nil || placed {
		return err
	}
	store, err := openOrCreate(l.live)
	if err != nil {
		return err
	}
	defer store.Close()
	conn, err := store.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		r, ok := dc.(interface {
			NewRestore(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("sqlite driver has no backup API")
		}
		bk, err := r.NewRestore(dsn(l.scratch, "mode=ro"))
		if err != nil {
			return err
		}
		for more := true; more; {
			if more, err = bk.Step(-1); err != nil {
				bk.Finish()
				return err
			}
		}
		return bk.Finish()
	})
	if err != nil {
		return fmt.Errorf("replace %s: %w", l.live, err)
	}
	checkpoint(ctx, conn)
	if store.lockout != nil && !keepLockout {
		if _, err := store.lockout.ExecContext(ctx, `DELETE FROM lockout`); err != nil {
			return fmt.Errorf("reset lockout counters: %w", err)
		}
	}
	return nil
}

// placeAsNew makes the scratch file the live database when there is none
// yet (a replica's first propagation, a fresh load): no process can have a
// database open that does not exist, so the file can simply take the name,
// which saves copying every page. link(2) fails if the name appeared
// meanwhile; then the caller restores into it as usual.
func (l *Load) placeAsNew() (bool, error) {
	if _, err := os.Stat(l.live); !errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := removeOrphanSideFiles(l.live); err != nil {
		return false, err
	}
	db, err := sql.Open("sqlite", dsn(l.scratch, "_pragma=journal_mode(WAL)"))
	if err != nil {
		return false, err
	}
	err = db.Ping()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncFile(l.scratch)
	}
	if err != nil {
		return false, fmt.Errorf("prepare %s: %w", l.live, err)
	}
	if err := os.Link(l.scratch, l.live); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("place %s: %w", l.live, err)
	}
	if d, err := os.Open(filepath.Dir(l.live)); err == nil {
		d.Sync()
		d.Close()
	}
	// Counters of an earlier database of that name belong to nobody now.
	os.Remove(LockoutPath(l.live))
	return true, createLockout(l.live)
}

// Merge adds or replaces the loaded principals and policies in the live
// database, keeping everything else (MIT's load -update), in one write
// transaction: unlike MIT, a failed merge leaves the database as it was
// and usable.
func (l *Load) Merge(ctx context.Context) error {
	defer l.Abort()
	if err := l.finish(); err != nil {
		return err
	}
	store, err := Open(l.live, ReadWrite)
	if err != nil {
		return err
	}
	defer store.Close()
	conn, err := store.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// ATTACH cannot run inside a transaction, so attach first, then
	// apply both tables in one IMMEDIATE transaction.
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS loaded`, dsn(l.scratch, "mode=ro")); err != nil {
		return fmt.Errorf("merge into %s: %w", l.live, err)
	}
	defer conn.ExecContext(context.Background(), `DETACH DATABASE loaded`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var names [][]byte
	rows, err := tx.QueryContext(ctx, `SELECT name FROM loaded.princ`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n []byte
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	for _, q := range []string{
		`INSERT OR REPLACE INTO main.princ (name, data) SELECT name, data FROM loaded.princ`,
		`INSERT OR REPLACE INTO main.policy (name, data) SELECT name, data FROM loaded.policy`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("merge into %s: %w", l.live, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("merge into %s: %w", l.live, err)
	}
	if store.lockout != nil {
		for _, n := range names {
			if _, err := store.lockout.ExecContext(ctx, `DELETE FROM lockout WHERE name = ?`, n); err != nil {
				return fmt.Errorf("reset lockout counters: %w", err)
			}
		}
	}
	return nil
}

// Abort discards the load; the live database is not touched. It is safe
// to call after Commit or Merge.
func (l *Load) Abort() {
	if l.tx != nil {
		l.tx.Rollback()
		l.tx = nil
	}
	if l.db != nil {
		l.db.Close()
		l.db = nil
	}
	os.Remove(l.scratch)
}

// openOrCreate opens the live database, creating an empty one first when
// there is none (MIT's load creates the database it promotes into).
func openOrCreate(path string) (*Store, error) {
	s, err := Open(path, ReadWrite)
	if errors.Is(err, ErrNoDatabase) {
		if s, err = Create(path); errors.Is(err, ErrDBExists) {
			return Open(path, ReadWrite)
		}
	}
	return s, err
}

// checkpoint shrinks the WAL after a large write: it grows as large as the
// database during a full replace. Another connection's own checkpoint can
// make it busy for a moment, so it is retried a few times; failing is
// harmless (the next checkpoint does it). It does not wait on readers: a
// TRUNCATE checkpoint waits for every reader to finish, and a long one (a
// secondary replica's plugin reading a delivery) would hold up the load
// and kpropd's answer to kprop. Without the wait, the WAL is reset by a
// later checkpoint once the reader is done.
func checkpoint(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return
	}
	defer conn.ExecContext(ctx, `PRAGMA busy_timeout = `+writerBusyTimeout)
	for i := 0; i < 5; i++ {
		var busy, logPages, done int
		err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done)
		if err == nil && busy == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
