package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/krb5prop/krb5prop/internal/prompt"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/profile"
)

// session is one run of kadmin against an open database: what MIT keeps
// in kadmin.c's globals (the handle, the default realm, script mode, the
// exit status) plus the streams it prints to.
type session struct {
	ctx    context.Context
	whoami string // program name in messages and the prompt
	realm  string // default realm for names without one
	srv    *kadm5.Server
	prof   *profile.Profile
	env    func(string) (string, bool)
	stdout io.Writer
	stderr io.Writer
	in     input
	now    func() time.Time
	loc    *time.Location

	// script is MIT's script_mode: the query came as command-line
	// arguments, so informational output and confirmations are skipped
	// and any error makes the exit status 1.
	script bool
	// exitStatus is set to 1 by errors in script mode.
	exitStatus int
	// quit is set by the quit request to end the listen loop.
	quit bool
	// locked mirrors kadmin's lock/unlock state.
	locked bool
	// readlineEcho makes the piped-input listen loop echo each query after
	// the prompt, as libss does through readline.
	readlineEcho bool
}

// info prints to stdout unless in script mode (kadmin.c info()).
func (s *session) info(format string, args ...any) {
	if s.script {
		return
	}
	fmt.Fprintf(s.stdout, format, args...)
}

// errorf prints to stderr and, in script mode, fails the run (kadmin.c
// error()).
func (s *session) errorf(format string, args ...any) {
	if s.script {
		s.exitStatus = 1
	}
	fmt.Fprintf(s.stderr, format, args...)
}

// warnf prints to stderr without touching the exit status, for the
// messages MIT writes with a bare fprintf.
func (s *session) warnf(format string, args ...any) {
	fmt.Fprintf(s.stderr, format, args...)
}

// comErr reports err as MIT's com_err hook in kadmin does:
// "prog: <message> <context>", or "prog: <context>" without an error.
func (s *session) comErr(prog string, err error, format string, args ...any) {
	if err != nil {
		s.errorf("%s: %s ", prog, errText(err))
	} else {
		s.errorf("%s: ", prog)
	}
	fmt.Fprintf(s.stderr, format, args...)
	s.errorf("\n")
}

// Errors of MIT's library tables that kadmin reports with their own text.
var (
	errCantReadPassword = errors.New("Cannot read password")          // KRB5_LIBOS_CANTREADPWD
	errInvalidArgument  = errors.New("Invalid argument")              // EINVAL
	errNoEntry          = errors.New("No such entry in the database") // KRB5_KDB_NOENTRY
)

// sentinels are errors whose own text is MIT's message, however deeply our
// packages wrapped them with context.
var sentinels = []error{
	kadm5.ErrDup, kadm5.ErrUnknownPrinc, kadm5.ErrUnknownPolicy, kadm5.ErrPassTooShort,
	kadm5.ErrPassClass, kadm5.ErrPassDict, kadm5.ErrPassEmpty, kadm5.ErrPassReuse,
	kadm5.ErrProtectPrinc, kadm5.ErrBadKeysalts, kadm5.ErrBadHistory, kadm5.ErrBadLength,
	kadm5.ErrBadClass, kadm5.ErrBadMinLife, kadm5.ErrBadServerParam, kadm5.ErrBadMask,
	kadm5.ErrStringsTooLong, kdb.ErrMalformedName, prompt.ErrMismatch, errCantReadPassword,
}

// errText is the message com_err would print for err: MIT's text for the
// errors it knows, our full text (with its context) for everything else.
func errText(err error) string {
	var dbArg *dbArgError
	if errors.As(err, &dbArg) {
		return dbArg.Error()
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return err.Error()
}

// dbArgError is a -x argument the database does not understand; MIT's DB2
// module words it this way and scripts may look for it.
type dbArgError struct{ arg string }

func (e *dbArgError) Error() string { return fmt.Sprintf("Unsupported argument \"%s\" for db2", e.arg) }

// checkDBArgs accepts what the database understands of -x arguments:
// "dbname=PATH" at startup, nothing on a principal.
func checkDBArgs(args []string, allowDBName bool) error {
	for _, a := range args {
		if allowDBName && strings.HasPrefix(a, "dbname=") {
			continue
		}
		return &dbArgError{arg: a}
	}
	return nil
}

// parseName is kadmin_parse_name: a name without an unescaped "@" (one at
// the very start does not count) gets the default realm appended, then the
// result is parsed as krb5_parse_name does.
func (s *session) parseName(name string) (kdb.Name, error) {
	full := name
	if !hasRealm(name) {
		full = name + "@" + s.realm
	}
	return kdb.ParseName(full, s.realm)
}

func hasRealm(name string) bool {
	for i := 1; i < len(name); i++ {
		if name[i] == '@' && name[i-1] != '\\' {
			return true
		}
	}
	return false
}

// policyExists is kadmin's policy_exists.
func (s *session) policyExists(name string) bool {
	_, err := s.srv.GetPolicy(s.ctx, name)
	return err == nil
}

// atoi is C's atoi: leading blanks, an optional sign, then digits; the
// rest is ignored and no digits give 0.
func atoi(str string) int64 {
	i := 0
	for i < len(str) && isCSpace(str[i]) {
		i++
	}
	neg := false
	if i < len(str) && (str[i] == '+' || str[i] == '-') {
		neg = str[i] == '-'
		i++
	}
	var n int64
	for ; i < len(str) && isDigit(str[i]); i++ {
		if n < 1<<40 {
			n = n*10 + int64(str[i]-'0')
		}
	}
	if neg {
		n = -n
	}
	return int64(int32(n))
}

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
