package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// input is where kadmin reads what it asks for: request lines in the
// listen loop, passwords, and yes/no confirmations. All three share one
// stream, so a script can pipe requests and the passwords they prompt for
// in order, as it can with MIT's kadmin.local.
type input interface {
	// query prints prompt and reads one request line; io.EOF at the end.
	query(prompt string) (string, error)
	// password prints prompt and reads one line without echo, as
	// krb5_prompter_posix does; errCantReadPassword at the end.
	password(prompt string) (string, error)
	// confirm prints prompt and reports whether the reply is "yes".
	confirm(prompt string) bool
}

// maxPasswordLen is what fits kadmin's 1024-byte password buffer after
// fgets keeps room for the newline and the terminating NUL.
const maxPasswordLen = 1022

// pipeInput reads from a stream that is not a terminal.
type pipeInput struct {
	r   *bufio.Reader
	out io.Writer
	// echo repeats each request after the prompt: MIT's libss reads
	// requests through readline, which echoes what it reads even when the
	// input is a pipe, and ends a request at a carriage return too (so
	// CRLF scripts work). SS_READLINE_PATH=none turns readline off in
	// libss; then only the prompt appears and a CR is part of the line.
	echo bool
}

func newPipeInput(r io.Reader, out io.Writer, echo bool) *pipeInput {
	return &pipeInput{r: bufio.NewReader(r), out: out, echo: echo}
}

// readLine returns the next line without its terminator, and whether the
// terminator was there. A last line without one is still a line. With
// crEnds, a carriage return also ends a line, as readline treats it.
func (p *pipeInput) readLine(crEnds bool) (string, bool, error) {
	var b strings.Builder
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			if b.Len() == 0 {
				return "", false, err
			}
			return b.String(), false, nil
		}
		if c == '\n' || (crEnds && c == '\r') {
			return b.String(), true, nil
		}
		b.WriteByte(c)
	}
}

func (p *pipeInput) query(prompt string) (string, error) {
	io.WriteString(p.out, prompt)
	line, _, err := p.readLine(p.echo)
	if err != nil {
		return "", io.EOF
	}
	if p.echo {
		io.WriteString(p.out, line+"\n")
	}
	return line, nil
}

func (p *pipeInput) password(prompt string) (string, error) {
	io.WriteString(p.out, prompt)
	line, _, err := p.readLine(false)
	// The prompter ends a hidden prompt with a newline whether or not a
	// line came.
	io.WriteString(p.out, "\n")
	if err != nil {
		return "", errCantReadPassword
	}
	if len(line) > maxPasswordLen {
		line = line[:maxPasswordLen]
	}
	return line, nil
}

// confirm mirrors kadmin's fgets into a five-byte buffer compared with
// "yes\n": only a complete line "yes" confirms.
func (p *pipeInput) confirm(prompt string) bool {
	io.WriteString(p.out, prompt)
	line, nl, err := p.readLine(false)
	return err == nil && nl && line == "yes"
}

// ttyInput reads from a terminal with line editing and history for
// requests and without echo for passwords, switching the terminal to raw
// mode only while it reads.
type ttyInput struct {
	fd  int
	t   *term.Terminal
	out io.Writer
}

func newTTYInput(in *os.File, out io.Writer) *ttyInput {
	rw := struct {
		io.Reader
		io.Writer
	}{in, out}
	return &ttyInput{fd: int(in.Fd()), t: term.NewTerminal(rw, ""), out: out}
}

// raw runs read with the terminal in raw mode, as term.Terminal needs.
func (t *ttyInput) raw(read func() (string, error)) (string, error) {
	old, err := term.MakeRaw(t.fd)
	if err != nil {
		return "", err
	}
	defer term.Restore(t.fd, old)
	if w, h, err := term.GetSize(t.fd); err == nil && w > 0 && h > 0 {
		t.t.SetSize(w, h)
	}
	return read()
}

func (t *ttyInput) query(prompt string) (string, error) {
	line, err := t.raw(func() (string, error) {
		t.t.SetPrompt(prompt)
		return t.t.ReadLine()
	})
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil
	}
	if err != nil {
		// readline ends the session's last prompt line at end of input.
		io.WriteString(t.out, "\n")
		return "", io.EOF
	}
	return line, nil
}

func (t *ttyInput) password(prompt string) (string, error) {
	line, err := t.raw(func() (string, error) { return t.t.ReadPassword(prompt) })
	if err != nil {
		return "", errCantReadPassword
	}
	if len(line) > maxPasswordLen {
		line = line[:maxPasswordLen]
	}
	return line, nil
}

func (t *ttyInput) confirm(prompt string) bool {
	line, err := t.raw(func() (string, error) {
		t.t.SetPrompt(prompt)
		return t.t.ReadLine()
	})
	return (err == nil || errors.Is(err, term.ErrPasteIndicator)) && line == "yes"
}
