// Package dumpload loads an MIT dump file into the principal database:
// kdb5util load and kpropd run the same code. The dump is parsed on one
// goroutine while the records go into the scratch file on another, and
// the database changes only at the end, in one transaction.
package dumpload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdb/dump"
)

// Options say how to load.
type Options struct {
	// Format forces a dump format (-b7, -r13, -r18, -i); nil recognises
	// the header as MIT does.
	Format *dump.Format
	// Update merges into the live database instead of replacing it.
	Update bool
	// Iprop loads an iprop dump: the replica's lockout counters stay and
	// the dump's update-log position is recorded.
	Iprop bool
	// DefaultRealm completes names without a realm.
	DefaultRealm string
	// Loaded, when set, is told each record after it went in (load
	// -verbose).
	Loaded func(dump.Record)
	// Warn receives what MIT's loader reports without failing.
	Warn func(dump.Warning)
}

// RecordError is a record that parsed but could not be stored.
type RecordError struct {
	File string
	Line int
	Err  error
}

func (e *RecordError) Error() string { return fmt.Sprintf("%s(%d): %v", e.File, e.Line, e.Err) }

// Unwrap returns the store's error.
func (e *RecordError) Unwrap() error { return e.Err }

// StageError says which step outside the dump itself failed, with the
// context MIT's messages give it ("while opening database").
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return fmt.Sprintf("%v %s", e.Err, e.Stage) }

// Unwrap returns the underlying error.
func (e *StageError) Unwrap() error { return e.Err }

// File loads the dump at path into the database at dbName. It returns the
// dump's format (known once the header was read) and an error that is a
// *dump.HeaderError, *dump.ParseError, *RecordError or *StageError. On any
// error the live database is unchanged.
func File(ctx context.Context, path, dbName string, opts Options) (dump.Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, &StageError{"while opening " + path, err}
	}
	defer f.Close()
	return load(ctx, f, path, dbName, opts)
}

// Stream loads a dump as it arrives on in (name is what messages call
// it): a replica can parse and store a propagation while it is still
// being received. The database changes only once in returns io.EOF; any
// other read error aborts the load and leaves the database unchanged.
func Stream(ctx context.Context, in io.Reader, name, dbName string, opts Options) (dump.Format, error) {
	return load(ctx, in, name, dbName, opts)
}

func load(ctx context.Context, in io.Reader, path, dbName string, opts Options) (dump.Format, error) {
	if opts.Update {
		// A merge needs a live database: say so before reading the dump.
		store, err := kdb.Open(dbName, kdb.ReadWrite)
		if err != nil {
			return 0, &StageError{"while opening database", err}
		}
		store.Close()
	}
	r, err := dump.NewReader(in, path, opts.Format)
	if err != nil {
		return 0, err
	}
	r.DefaultRealm = opts.DefaultRealm
	r.Warn = opts.Warn
	ld, err := kdb.BeginLoad(dbName)
	if err != nil {
		return r.Format(), &StageError{"while creating database", err}
	}
	defer ld.Abort()
	if err := fill(ctx, ld, r, path, opts.Loaded); err != nil {
		return r.Format(), err
	}
	if opts.Iprop {
		if ih := r.Iprop(); ih != nil {
			ld.SetIpropPosition(kdb.IpropPosition{SerialNumber: ih.SerialNumber, Sec: ih.Sec, Usec: ih.Usec})
		}
	}
	switch {
	case opts.Update:
		err = ld.Merge(ctx)
	case opts.Iprop:
		err = ld.CommitKeepingLockout(ctx)
	default:
		err = ld.Commit(ctx)
	}
	if err != nil {
		return r.Format(), &StageError{"while making newly loaded database live", err}
	}
	return r.Format(), nil
}

// fill moves every record of r into the load.
func fill(ctx context.Context, ld *kdb.Load, r *dump.Reader, path string, loaded func(dump.Record)) error {
	recs, readErr := readAhead(ctx, r)
	drain := func() {
		for range recs {
		}
	}
	for batch := range recs {
		for _, rec := range batch {
			var err error
			switch {
			case rec.Principal != nil:
				err = ld.PutPrincipal(rec.Principal)
			case rec.Policy != nil:
				err = ld.PutPolicy(rec.Policy)
			}
			if err != nil {
				drain()
				return &RecordError{File: path, Line: rec.Line, Err: err}
			}
			if loaded != nil {
				loaded(rec)
			}
		}
	}
	return <-readErr
}

// readAhead parses the dump on its own goroutine, a bounded number of
// records ahead of the inserts, so a load uses both cores. The error
// channel gets what ended the dump (nil at its end) once the records
// channel is closed.
func readAhead(ctx context.Context, r *dump.Reader) (<-chan []dump.Record, <-chan error) {
	recs := make(chan []dump.Record, 4)
	errc := make(chan error, 1)
	go func() {
		defer close(recs)
		const size = 256
		batch := make([]dump.Record, 0, size)
		for {
			rec, err := r.Next()
			if err == nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			if err != nil {
				if len(batch) > 0 {
					recs <- batch
				}
				if errors.Is(err, io.EOF) {
					err = nil
				}
				errc <- err
				return
			}
			if batch = append(batch, rec); len(batch) == size {
				recs <- batch
				batch = make([]dump.Record, 0, size)
			}
		}
	}()
	return recs, errc
}
