package dump

import (
	"errors"
	"strconv"
)

// ErrUnrepresentable is wrapped by the Writer's errors for records that no
// dump can carry so that a loader reads them back unchanged (a field too
// long for its length field, a policy name with white space, …).
var ErrUnrepresentable = errors.New("record cannot be represented in a dump")

// ParseError is a record the loader cannot accept. Msg is MIT's text for
// the failing field where MIT has one ("cannot read key type and length");
// Line is the line number MIT reports, which counts one line per record
// (plus the header, plus newlines inside principal names) rather than
// physical lines, and for an unknown record type is still that of the
// record before it (spec §1.8).
type ParseError struct {
	File string
	Line int
	Msg  string
	// Err is the underlying error, if any (a *kdb.NameError for a name
	// krb5_parse_name rejects).
	Err error

	style msgStyle
}

// msgStyle says how MIT's loader prints a message: most go through
// load_err as "FILE(LINE): MSG", policy and record-type errors are printed
// bare, name errors go through com_err ("kdb5_util: MSG").
type msgStyle int

const (
	styleLoadErr msgStyle = iota
	styleBare
	styleComErr
)

// Error reads like the first line MIT's loader prints: "FILE(LINE): MSG".
func (e *ParseError) Error() string {
	return e.File + "(" + strconv.Itoa(e.Line) + "): " + e.Msg
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// MITMessage is the exact first line (without its newline) MIT's
// kdb5_util prints for this error; progname is the program name com_err
// messages start with. MIT follows it with "PROG: error processing line
// LINE of FILE" and "PROG: FORMAT-NAME restore failed".
func (e *ParseError) MITMessage(progname string) string {
	switch e.style {
	case styleBare:
		return e.Msg
	case styleComErr:
		return progname + ": " + e.Msg
	}
	return e.Error()
}

// HeaderError is a first line the loader does not accept. Error is MIT's
// message, e.g. "dump header bad in FILE".
type HeaderError struct {
	File string
	Msg  string
}

// Error returns MIT's message; kdb5_util prints it after "kdb5_util: ".
func (e *HeaderError) Error() string { return e.Msg }

// Warning is trash after a principal record's ";" that MIT's loader skips
// up to the end of the line after saying so.
type Warning struct {
	File  string
	Line  int
	Trash []byte // the skipped bytes, without the newline ending them
	// Truncated is set when Trash holds only the first maxTrash bytes of
	// a longer run.
	Truncated bool
}

// String is MIT's message, without the final newline:
// "FILE(LINE): ignoring trash at end of line: TRASH".
func (w Warning) String() string {
	return w.File + "(" + strconv.Itoa(w.Line) + "): ignoring trash at end of line: " + string(w.Trash)
}
