// Package prompt reads passwords and confirmations the way MIT's command
// line tools do: without echo from a terminal, line by line from a pipe, so
// scripts can feed them.
package prompt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// ErrMismatch is MIT's text for a verification that does not match
// (KRB5_LIBOS_BADPWDMATCH).
var ErrMismatch = errors.New("Password mismatch")

// Reader reads answers from one input and writes prompts to one output.
type Reader struct {
	in  *bufio.Reader
	fd  int // terminal file descriptor, or -1
	out io.Writer
}

// New prompts on out and reads from in; when in is a terminal, passwords
// are read without echo.
func New(in *os.File, out io.Writer) *Reader {
	fd := -1
	if term.IsTerminal(int(in.Fd())) {
		fd = int(in.Fd())
	}
	return &Reader{in: bufio.NewReader(in), fd: fd, out: out}
}

// NewFromReader reads answers from r (never a terminal).
func NewFromReader(r io.Reader, out io.Writer) *Reader {
	return &Reader{in: bufio.NewReader(r), fd: -1, out: out}
}

// IsTerminal reports whether answers come from a terminal.
func (r *Reader) IsTerminal() bool { return r.fd >= 0 }

// Line prints msg and reads one line, without its newline.
func (r *Reader) Line(msg string) (string, error) {
	fmt.Fprint(r.out, msg)
	line, err := r.in.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// Password prints msg and reads a password, without echo on a terminal.
// Either way a newline follows, as after MIT's prompts.
func (r *Reader) Password(msg string) (string, error) {
	if r.fd < 0 {
		pw, err := r.Line(msg)
		fmt.Fprintln(r.out)
		return pw, err
	}
	fmt.Fprint(r.out, msg)
	b, err := term.ReadPassword(r.fd)
	fmt.Fprintln(r.out)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// NewPassword reads a password twice (msg, then verify) and fails with
// ErrMismatch when the two differ, as krb5_read_password does.
func (r *Reader) NewPassword(msg, verify string) (string, error) {
	pw, err := r.Password(msg)
	if err != nil {
		return "", err
	}
	again, err := r.Password(verify)
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", ErrMismatch
	}
	return pw, nil
}
