package kdb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors the store reports; callers match them with errors.Is.
var (
	ErrNotFound      = errors.New("Principal does not exist")
	ErrExists        = errors.New("Principal or policy already exists")
	ErrPolicyMissing = errors.New("Policy does not exist")
	ErrNoDatabase    = errors.New("database does not exist")
	ErrDBExists      = errors.New("File exists")
)

// formatVersion is written in the meta table; a store refuses files of
// another format rather than misreading them.
const formatVersion = "krb5prop-kdb-1"

// schema follows spec/storage.md: WITHOUT ROWID tables keyed by name, so a
// scan in key order is the bytewise name order MIT's btree gives dumps.
const schema = `
PRAGMA page_size = 4096;
PRAGMA journal_mode = WAL;
CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB) WITHOUT ROWID;
CREATE TABLE princ (name BLOB PRIMARY KEY NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE policy (name BLOB PRIMARY KEY NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
`

const lockoutSchema = `
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS lockout (name BLOB PRIMARY KEY NOT NULL, last_success INTEGER NOT NULL,
  last_failed INTEGER NOT NULL, fail_count INTEGER NOT NULL) WITHOUT ROWID;
`

// Mode says how a process uses the store; it picks the connection settings
// measured in spec/storage.md.
type Mode int

const (
	// ReadOnly is for the KDC and other readers: writes fail.
	ReadOnly Mode = iota
	// ReadWrite is for kadmin, kdb5util and kpropd: writes are durable
	// (synchronous=FULL) and wait up to 30 s for a running load.
	ReadWrite
)

// Store is an open principal database: the SQLite file at the realm's
// database_name and the lockout counters beside it.
type Store struct {
	path    string
	read    *pool   // deferred transactions: snapshots for lookups and scans
	write   *sql.DB // BEGIN IMMEDIATE: one writer at a time, nil in ReadOnly mode
	lockout *pool

	versionMu sync.Mutex
	version   *sql.Conn // DataVersion's: SQLite's data_version is per connection
}

// LockoutPath is where the lockout counters of the database at path live:
// a separate file, so a load's write lock never blocks the KDC's counter
// updates (DESIGN.md, Storage).
func LockoutPath(path string) string { return path + ".lockout" }

func dsn(path string, params string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?mode=rw&" + params
}

// writerBusyTimeout is how long, in milliseconds, a writer waits for
// another writer.
const writerBusyTimeout = "30000"

const (
	readerParams  = "_pragma=busy_timeout(5000)"
	roParams      = "_pragma=busy_timeout(5000)&_pragma=query_only(1)"
	writerParams  = "_txlock=immediate&_pragma=busy_timeout(" + writerBusyTimeout + ")&_pragma=synchronous(FULL)&_pragma=journal_size_limit(67108864)"
	lockoutParams = "_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
)

// Create makes a new, empty database at path, failing with ErrDBExists if
// anything is there already (MIT's create is an exclusive create too).
func Create(path string) (*Store, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrDBExists)
		}
		return nil, err
	}
	f.Close()
	if err := removeOrphanSideFiles(path); err != nil {
		os.Remove(path)
		return nil, err
	}
	if err := initSchema(path); err != nil {
		os.Remove(path)
		return nil, err
	}
	return Open(path, ReadWrite)
}

// removeOrphanSideFiles deletes a -wal or -shm file left without its
// database (a database removed by hand, say): SQLite would otherwise apply
// that stale log to a new database of the same name.
func removeOrphanSideFiles(path string) error {
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale %s%s: %w", path, suffix, err)
		}
	}
	return nil
}

func initSchema(path string) error {
	db, err := sql.Open("sqlite", dsn(path, writerParams))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(schema); err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	if _, err := db.Exec(`INSERT INTO meta (key, value) VALUES ('format', ?)`, formatVersion); err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	return createLockout(path)
}

func createLockout(path string) error {
	lp := LockoutPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	db, err := sql.Open("sqlite", dsn(lp, lockoutParams))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(lockoutSchema); err != nil {
		return fmt.Errorf("create lockout database %s: %w", lp, err)
	}
	return nil
}

// Open opens an existing database. A missing file gives ErrNoDatabase; a
// file that is not a krb5prop database (an MIT DB2 file left at
// database_name, say) gives an error that says what was found and how to
// migrate, and the file is left untouched.
func Open(path string, mode Mode) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrNoDatabase)
		}
		return nil, err
	}
	s := &Store{path: path}
	var err error
	params := readerParams
	if mode == ReadOnly {
		params = roParams
	}
	if s.read, err = openPool(dsn(path, params)); err != nil {
		return nil, err
	}
	n := runtime.GOMAXPROCS(0) + 1
	s.read.SetMaxOpenConns(n)
	s.read.SetMaxIdleConns(n)
	if err := s.checkFormat(); err != nil {
		s.read.Close()
		return nil, err
	}
	if mode == ReadWrite {
		if s.write, err = sql.Open("sqlite", dsn(path, writerParams)); err != nil {
			s.Close()
			return nil, err
		}
		s.write.SetMaxOpenConns(1)
		if _, err := os.Stat(LockoutPath(path)); errors.Is(err, os.ErrNotExist) {
			if err := createLockout(path); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if _, err := os.Stat(LockoutPath(path)); err == nil {
		if s.lockout, err = openPool(dsn(LockoutPath(path), lockoutParams)); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) checkFormat() error {
	var v string
	err := s.read.QueryRow(`SELECT value FROM meta WHERE key = 'format'`).Scan(&v)
	if err == nil && v == formatVersion {
		return nil
	}
	if err == nil {
		return fmt.Errorf("%s: unsupported krb5prop database format %q", s.path, v)
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff != sqlite3.SQLITE_NOTADB && se.Code()&0xff != sqlite3.SQLITE_ERROR {
		return fmt.Errorf("open database %s: %w", s.path, err)
	}
	return notOurs(s.path)
}

// notOurs explains what sits at path. It reads the file only after SQLite
// has rejected it, so no SQLite lock in this process can be dropped by the
// extra open and close.
func notOurs(path string) error {
	what := "a file that is not a krb5prop database"
	if f, err := os.Open(path); err == nil {
		head := make([]byte, 16)
		n, _ := io.ReadFull(f, head)
		f.Close()
		head = head[:n]
		switch {
		case n == 0:
			what = "an empty file"
		case isDB2(head):
			what = "an MIT Kerberos DB2 database"
		case bytes.HasPrefix(head, []byte("SQLite format 3")):
			what = "an SQLite database that is not a krb5prop database"
		}
	}
	return fmt.Errorf("%s is %s; to migrate an MIT database, dump it with MIT's kdb5_util "+
		"(kdb5_util dump FILE), move it aside, and load the dump with kdb5util load FILE", path, what)
}

// isDB2 recognises Berkeley DB 1.85 btree and hash files (MIT's DB2
// module): the btree (0x053162) or hash (0x061561) magic number opens the
// file, in either byte order.
func isDB2(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	for _, m := range [][]byte{{0x62, 0x31, 0x05, 0x00}, {0x00, 0x05, 0x31, 0x62}, {0x61, 0x15, 0x06, 0x00}, {0x00, 0x06, 0x15, 0x61}} {
		if bytes.Equal(head[:4], m) {
			return true
		}
	}
	return false
}

// Path returns the database file name.
func (s *Store) Path() string { return s.path }

// DataVersion returns a number that changes whenever a change to the
// principal database is committed, by this process or any other (SQLite's
// data_version, always asked on the same connection). Readers that keep
// entries between requests compare it to know when to drop them.
func (s *Store) DataVersion(ctx context.Context) (int64, error) {
	s.versionMu.Lock()
	defer s.versionMu.Unlock()
	if s.version == nil {
		c, err := s.read.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", s.path, err)
		}
		s.version = c
	}
	var v int64
	if err := s.version.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("%s: data version: %w", s.path, err)
	}
	return v, nil
}

// Close closes every connection.
func (s *Store) Close() error {
	var errs []error
	s.versionMu.Lock()
	if s.version != nil {
		errs = append(errs, s.version.Close())
		s.version = nil
	}
	s.versionMu.Unlock()
	for _, p := range []*pool{s.read, s.lockout} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// Destroy removes the database at path with its side files, first
// overwriting the main file with zeros as MIT's destroy does, so encrypted
// keys do not linger in freed disk blocks. The stash is not touched.
func Destroy(path string) error {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %w", path, ErrNoDatabase)
		}
		return err
	}
	for _, p := range []string{path, LockoutPath(path)} {
		if err := zeroFill(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			if err := os.Remove(p + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

func zeroFill(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zero := make([]byte, 64*1024)
	for off := int64(0); off < st.Size(); off += int64(len(zero)) {
		n := min(int64(len(zero)), st.Size()-off)
		if _, err := f.WriteAt(zero[:n], off); err != nil {
			return err
		}
	}
	return f.Sync()
}

// querier is what both the store's read pool and a write transaction offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getPrincipal(ctx context.Context, q querier, name string) (*Principal, error) {
	var data []byte
	err := q.QueryRowContext(ctx, `SELECT data FROM princ WHERE name = ?`, []byte(name)).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return decodePrincipal(name, data)
}

func iteratePrincipals(ctx context.Context, q querier, reverse bool, fn func(*Principal) error) error {
	query := `SELECT name, data FROM princ ORDER BY name`
	if reverse {
		query += ` DESC`
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("scan principals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, data []byte
		if err := rows.Scan(&name, &data); err != nil {
			return fmt.Errorf("scan principals: %w", err)
		}
		p, err := decodePrincipal(string(name), data)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// lockoutCursor walks the lockout counters in name order beside a scan of
// the principals, so a full scan costs one query on the lockout database
// rather than one per principal.
type lockoutCursor struct {
	rows    *sql.Rows
	reverse bool
	name    []byte
	l       Lockout
	ok      bool
	err     error
}

func (s *Store) lockoutCursor(ctx context.Context, reverse bool) *lockoutCursor {
	c := &lockoutCursor{reverse: reverse}
	if s.lockout == nil {
		return c
	}
	query := `SELECT name, last_success, last_failed, fail_count FROM lockout ORDER BY name`
	if reverse {
		query += ` DESC`
	}
	c.rows, c.err = s.lockout.QueryContext(ctx, query)
	c.advance()
	return c
}

func (c *lockoutCursor) advance() {
	c.ok = false
	if c.rows == nil || c.err != nil || !c.rows.Next() {
		return
	}
	c.err = c.rows.Scan(&c.name, &c.l.LastSuccess, &c.l.LastFailed, &c.l.FailCount)
	c.ok = c.err == nil
}

// apply sets p's counters when the cursor holds a row for it, moving past
// rows of principals the scan has already passed.
func (c *lockoutCursor) apply(p *Principal) error {
	name := []byte(p.Name.String())
	for c.ok {
		cmp := bytes.Compare(c.name, name)
		if c.reverse {
			cmp = -cmp
		}
		if cmp > 0 {
			break
		}
		if cmp == 0 {
			p.ApplyLockout(c.l)
		}
		c.advance()
	}
	return c.err
}

func (c *lockoutCursor) close() {
	if c.rows != nil {
		c.rows.Close()
	}
}

func getPolicy(ctx context.Context, q querier, name string) (*Policy, error) {
	var data []byte
	err := q.QueryRowContext(ctx, `SELECT data FROM policy WHERE name = ?`, []byte(name)).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", name, ErrPolicyMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", name, err)
	}
	return decodePolicy(name, data)
}

func iteratePolicies(ctx context.Context, q querier, fn func(*Policy) error) error {
	rows, err := q.QueryContext(ctx, `SELECT name, data FROM policy ORDER BY name`)
	if err != nil {
		return fmt.Errorf("scan policies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, data []byte
		if err := rows.Scan(&name, &data); err != nil {
			return fmt.Errorf("scan policies: %w", err)
		}
		p, err := decodePolicy(string(name), data)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Get returns the principal stored under the unparsed name, with its live
// lockout counters applied.
func (s *Store) Get(ctx context.Context, name string) (*Principal, error) {
	p, err := s.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return p, s.applyLockout(ctx, p)
}

// Lookup returns the principal stored under the unparsed name without its
// live lockout counters, for readers that need them for few principals
// (the KDC: only an AS request's client) and can spare the second query.
func (s *Store) Lookup(ctx context.Context, name string) (*Principal, error) {
	return getPrincipal(ctx, s.read, name)
}

// GetPolicy returns the named policy.
func (s *Store) GetPolicy(ctx context.Context, name string) (*Policy, error) {
	return getPolicy(ctx, s.read, name)
}

// Snapshot runs fn inside one read transaction, so every read it makes
// sees the same committed state however many writers commit meanwhile.
func (s *Store) Snapshot(ctx context.Context, fn func(*View) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(&View{tx: tx, s: s})
}

// View is a consistent read-only view of the database (see Snapshot).
type View struct {
	tx *sql.Tx
	s  *Store
}

// Get returns one principal as of the view.
func (v *View) Get(ctx context.Context, name string) (*Principal, error) {
	p, err := getPrincipal(ctx, v.tx, name)
	if err != nil {
		return nil, err
	}
	return p, v.s.applyLockout(ctx, p)
}

// Principals calls fn for every principal in bytewise name order (reverse
// order when reverse is set), stopping at fn's first error.
//
// Reading and decoding run on their own goroutine, a bounded number of
// records ahead of fn, so a full dump uses both cores of a small KDC.
func (v *View) Principals(ctx context.Context, reverse bool, fn func(*Principal) error) error {
	lc := v.s.lockoutCursor(ctx, reverse)
	defer lc.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*Principal, 4)
	done := make(chan error, 1)
	go func() {
		defer close(batches)
		const size = 256
		batch := make([]*Principal, 0, size)
		err := iteratePrincipals(ctx, v.tx, reverse, func(p *Principal) error {
			if err := lc.apply(p); err != nil {
				return fmt.Errorf("read lockout counters: %w", err)
			}
			if batch = append(batch, p); len(batch) == size {
				select {
				case batches <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
				batch = make([]*Principal, 0, size)
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			select {
			case batches <- batch:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		done <- err
	}()
	for batch := range batches {
		for _, p := range batch {
			if err := fn(p); err != nil {
				cancel()
				for range batches {
				}
				<-done
				return err
			}
		}
	}
	return <-done
}

// Policies calls fn for every policy in bytewise name order.
func (v *View) Policies(ctx context.Context, fn func(*Policy) error) error {
	return iteratePolicies(ctx, v.tx, fn)
}

// GetPolicy returns one policy as of the view.
func (v *View) GetPolicy(ctx context.Context, name string) (*Policy, error) {
	return getPolicy(ctx, v.tx, name)
}

// Update runs fn in one write transaction: all its changes commit together
// or, when fn returns an error, none does.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	if s.write == nil {
		return fmt.Errorf("%s: database opened read-only", s.path)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write on %s: %w", s.path, err)
	}
	defer tx.Rollback()
	t := &Tx{tx: tx, s: s}
	if err := fn(t); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit to %s: %w", s.path, err)
	}
	return t.afterCommit(ctx)
}

// Tx is a write transaction (see Update).
type Tx struct {
	tx       *sql.Tx
	s        *Store
	unlocked []string // principals whose live lockout counters a Put replaced
}

// Get returns one principal as seen by the transaction.
func (t *Tx) Get(ctx context.Context, name string) (*Principal, error) {
	p, err := getPrincipal(ctx, t.tx, name)
	if err != nil {
		return nil, err
	}
	return p, t.s.applyLockout(ctx, p)
}

// Principals iterates as View.Principals does, inside the transaction.
func (t *Tx) Principals(ctx context.Context, fn func(*Principal) error) error {
	lc := t.s.lockoutCursor(ctx, false)
	defer lc.close()
	return iteratePrincipals(ctx, t.tx, false, func(p *Principal) error {
		if err := lc.apply(p); err != nil {
			return fmt.Errorf("read lockout counters: %w", err)
		}
		return fn(p)
	})
}

// Put stores p, replacing any entry of the same name wholesale (MIT's
// put_principal). The lockout fields of p become the principal's counters.
func (t *Tx) Put(ctx context.Context, p *Principal) error {
	if err := p.checkLimits(); err != nil {
		return err
	}
	name := p.Name.String()
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO princ (name, data) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET data = excluded.data`, []byte(name), encodePrincipal(p)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	t.unlocked = append(t.unlocked, name)
	return nil
}

// Insert stores p only if no principal of that name exists.
func (t *Tx) Insert(ctx context.Context, p *Principal) error {
	if _, err := getPrincipal(ctx, t.tx, p.Name.String()); err == nil {
		return fmt.Errorf("%s: %w", p.Name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return t.Put(ctx, p)
}

// Delete removes the principal; ErrNotFound if there is none.
func (t *Tx) Delete(ctx context.Context, name string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM princ WHERE name = ?`, []byte(name))
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	t.unlocked = append(t.unlocked, name)
	return nil
}

// GetPolicy returns one policy as seen by the transaction.
func (t *Tx) GetPolicy(ctx context.Context, name string) (*Policy, error) {
	return getPolicy(ctx, t.tx, name)
}

// Policies iterates over the policies inside the transaction.
func (t *Tx) Policies(ctx context.Context, fn func(*Policy) error) error {
	return iteratePolicies(ctx, t.tx, fn)
}

// PutPolicy creates or replaces a policy.
func (t *Tx) PutPolicy(ctx context.Context, p *Policy) error {
	if len(p.AllowedKeysalts) > 65535 || len(p.TLData) > 65535 {
		return fmt.Errorf("policy %s: too large", p.Name)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO policy (name, data) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET data = excluded.data`, []byte(p.Name), encodePolicy(p)); err != nil {
		return fmt.Errorf("write policy %s: %w", p.Name, err)
	}
	return nil
}

// DeletePolicy removes a policy; ErrPolicyMissing if there is none.
func (t *Tx) DeletePolicy(ctx context.Context, name string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM policy WHERE name = ?`, []byte(name))
	if err != nil {
		return fmt.Errorf("delete policy %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", name, ErrPolicyMissing)
	}
	return nil
}

// afterCommit drops the live lockout counters of principals that were
// written or deleted, so the record's own fields (as an admin set them)
// take effect. It runs after the commit because the counters live in
// another file; a crash in between leaves stale counters, which the next
// write of that principal clears again.
func (t *Tx) afterCommit(ctx context.Context) error {
	if t.s.lockout == nil || len(t.unlocked) == 0 {
		return nil
	}
	for _, name := range t.unlocked {
		if _, err := t.s.lockout.ExecContext(ctx, `DELETE FROM lockout WHERE name = ?`, []byte(name)); err != nil {
			return fmt.Errorf("reset lockout counters of %s: %w", name, err)
		}
	}
	return nil
}

// Lockout holds a principal's live lockout counters.
type Lockout struct {
	LastSuccess, LastFailed, FailCount uint32
}

func (s *Store) applyLockout(ctx context.Context, p *Principal) error {
	l, ok, err := s.Lockout(ctx, p.Name.String())
	if ok {
		p.ApplyLockout(l)
	}
	return err
}

// Lockout returns the live lockout counters of the principal with the
// unparsed name; ok is false when none were recorded since the record
// was last written, and the record's own counters stand.
func (s *Store) Lockout(ctx context.Context, name string) (l Lockout, ok bool, err error) {
	if s.lockout == nil {
		return l, false, nil
	}
	err = s.lockout.QueryRowContext(ctx, `SELECT last_success, last_failed, fail_count FROM lockout WHERE name = ?`,
		[]byte(name)).Scan(&l.LastSuccess, &l.LastFailed, &l.FailCount)
	if errors.Is(err, sql.ErrNoRows) {
		return Lockout{}, false, nil
	}
	if err != nil {
		return Lockout{}, false, fmt.Errorf("read lockout counters of %s: %w", name, err)
	}
	return l, true, nil
}

// ApplyLockout sets p's lockout counters to l.
func (p *Principal) ApplyLockout(l Lockout) {
	p.LastSuccess, p.LastFailed, p.FailAuthCount = l.LastSuccess, l.LastFailed, l.FailCount
}

// SetLockout records a principal's live lockout counters (the KDC's write
// path). It never touches the main database.
func (s *Store) SetLockout(ctx context.Context, name string, l Lockout) error {
	return s.SetLockouts(ctx, map[string]Lockout{name: l})
}

// SetLockouts records the live lockout counters of several principals, by
// unparsed name, in one transaction: a busy KDC's counter updates cost one
// commit for many requests.
func (s *Store) SetLockouts(ctx context.Context, counters map[string]Lockout) error {
	if s.lockout == nil {
		return fmt.Errorf("%s: no lockout database", s.path)
	}
	tx, err := s.lockout.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write lockout counters: %w", err)
	}
	defer tx.Rollback()
	for name, l := range counters {
		if _, err := tx.ExecContext(ctx, `INSERT INTO lockout (name, last_success, last_failed, fail_count)
			VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET last_success = excluded.last_success,
			last_failed = excluded.last_failed, fail_count = excluded.fail_count`,
			[]byte(name), l.LastSuccess, l.LastFailed, l.FailCount); err != nil {
			return fmt.Errorf("write lockout counters of %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write lockout counters: %w", err)
	}
	return nil
}

// rewriteBatch is how many principals Rewrite reads before writing back
// the changed ones: a cursor must not stay open over rows being updated.
const rewriteBatch = 1000

// Rewrite calls fn for every principal in name order and stores those for
// which fn reports a change, paging through the table so that no read
// cursor stays open while rows are written.
func (t *Tx) Rewrite(ctx context.Context, fn func(*Principal) (bool, error)) error {
	after := []byte{}
	for {
		rows, err := t.tx.QueryContext(ctx, `SELECT name, data FROM princ WHERE name > ? ORDER BY name LIMIT ?`, after, rewriteBatch)
		if err != nil {
			return fmt.Errorf("scan principals: %w", err)
		}
		var batch []*Principal
		for rows.Next() {
			var name, data []byte
			if err := rows.Scan(&name, &data); err != nil {
				rows.Close()
				return err
			}
			p, err := decodePrincipal(string(name), data)
			if err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, p)
			after = name
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		rows.Close()
		for _, p := range batch {
			if err := t.s.applyLockout(ctx, p); err != nil {
				return err
			}
			changed, err := fn(p)
			if err != nil {
				return err
			}
			if changed {
				if err := t.Put(ctx, p); err != nil {
					return err
				}
			}
		}
		if len(batch) < rewriteBatch {
			return nil
		}
	}
}
