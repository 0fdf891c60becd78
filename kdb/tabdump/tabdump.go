// Package tabdump writes the reports of "kdb5_util tabdump": one table of
// principal data per run, tab-separated or CSV, byte for byte as MIT krb5
// 1.20 writes them (src/kadmin/dbutil/tabdump.c; spec §7). It reads
// principals from a caller-supplied iteration and writes to an io.Writer,
// opening no files of its own.
package tabdump

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/krb5prop/krb5prop/kdb"
)

// Options are tabdump's switches plus the two facts about the database
// that MIT's tabdump takes from the open KDB context.
type Options struct {
	// NoHeader omits the line of column names (-H).
	NoHeader bool
	// CSV separates fields with commas and quotes fields that need it
	// (-c); the default is tab-separated with no quoting at all.
	CSV bool
	// EmptyHex writes empty binary fields (key, salt) as an empty field
	// instead of MIT's "-1" (-e).
	EmptyHex bool
	// Numeric writes enctypes, salt types, flags and times as numbers
	// (-n).
	Numeric bool

	// LowestMKVNO is the lowest kvno in the realm's master key list, which
	// princ_meta shows as the mkvno of a principal without KRB5_TL_MKVNO
	// (krb5_dbe_get_mkvno). Zero means the list could not be read (no
	// stash, wrong password): MIT's kdb5_util then carries on without it,
	// and princ_meta fails at its first principal with "Database has not
	// been initialized" even for principals that record their mkvno.
	LowestMKVNO uint32
	// DefaultRealm completes modifier names without a realm in
	// KRB5_TL_MOD_PRINC, as krb5_parse_name does with kdb5_util's realm.
	// When empty, the realm of the principal being listed is used.
	DefaultRealm string
}

// Errors Write returns; callers match them with errors.Is.
var (
	// ErrUnknownTable is returned, before anything is written, for a table
	// name MIT does not know. MIT prints no message of its own for it:
	// kdb5_util prints its usage text and exits 1.
	ErrUnknownTable = errors.New("unknown tabdump table")
	// ErrTruncatedRecord is MIT's KRB5_KDB_TRUNCATED_RECORD: princ_meta met
	// a principal without a well-formed KRB5_TL_MOD_PRINC, or with a
	// KRB5_TL_MKVNO that is not two bytes long.
	ErrTruncatedRecord = errors.New("Database record is incomplete or corrupted")
	// ErrDBNotInitialized is MIT's KRB5_KDB_DBNOTINITED: princ_meta was
	// asked for without a master key list (Options.LowestMKVNO is 0).
	ErrDBNotInitialized = errors.New("Database has not been initialized")
)

// RecordError is a principal MIT's tabdump stops at. Like MIT, Write has
// by then written the rows before it and the start of this principal's
// row (its name, without a line end).
type RecordError struct {
	Table     string
	Principal string
	// Err is ErrTruncatedRecord, ErrDBNotInitialized, or a *kdb.NameError
	// (matching kdb.ErrMalformedName) for a modifier name krb5_parse_name
	// rejects.
	Err error
}

// Error names the table and the principal.
func (e *RecordError) Error() string {
	return fmt.Sprintf("tabdump %s: %s: %v", e.Table, e.Principal, e.Err)
}

// Unwrap returns Err.
func (e *RecordError) Unwrap() error { return e.Err }

// MITMessage is the line (without its newline) MIT's kdb5_util prints to
// stderr for this error, com_err style: "PROG: MESSAGE performing tabular
// dump". MIT prints the bare error table text, without the name a
// *kdb.NameError carries.
func (e *RecordError) MITMessage(progname string) string {
	msg := e.Err.Error()
	if errors.Is(e.Err, kdb.ErrMalformedName) {
		msg = kdb.ErrMalformedName.Error()
	}
	return progname + ": " + msg + " performing tabular dump"
}

// Tables returns the table names tabdump accepts, in MIT's order.
func Tables() []string {
	return []string{
		"keydata", "keyinfo", "princ_flags", "princ_lockout",
		"princ_meta", "princ_stringattrs", "princ_tktpolicy",
	}
}

// Write writes table for the principals each yields, in the order it
// yields them: MIT lists principals in database order, so the command
// passes a kdb.View's Principals. each must call its argument once per
// principal and stop at, and return, the first error it returns.
//
// Rows are written through a buffer as they are made. On any error the
// buffer is still flushed, so the output ends where MIT's would (see
// RecordError).
func Write(ctx context.Context, w io.Writer, table string, opts Options, each func(func(*kdb.Principal) error) error) error {
	t, ok := lookup(table)
	if !ok {
		return fmt.Errorf("tabdump: %w %q", ErrUnknownTable, table)
	}
	bw := bufio.NewWriter(w)
	rw := &recordWriter{w: bw, csv: opts.CSV}
	err := write(ctx, rw, t, &opts, each)
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("tabdump %s: write: %w", table, ferr)
	}
	return err
}

func write(ctx context.Context, rw *recordWriter, t table, opts *Options, each func(func(*kdb.Principal) error) error) error {
	if !opts.NoHeader {
		for _, f := range t.fields {
			rw.field(f)
		}
		rw.end()
		if rw.err != nil {
			return fmt.Errorf("tabdump %s: write: %w", t.name, rw.err)
		}
	}
	rc := &rowContext{rw: rw, opts: opts}
	// stop is the error this package ended the iteration with; it already
	// says where it comes from, unlike an error of each's own.
	var stop error
	err := each(func(p *kdb.Principal) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := p.Name.String()
		if err := t.rows(rc, name, p); err != nil {
			stop = &RecordError{Table: t.name, Principal: name, Err: err}
			return stop
		}
		if rw.err != nil {
			stop = fmt.Errorf("tabdump %s: write: %w", t.name, rw.err)
			return stop
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case stop != nil && errors.Is(err, stop):
		return err
	}
	return fmt.Errorf("tabdump %s: %w", t.name, err)
}
