package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

const (
	// netTimeout (seconds) bounds each connection attempt, so an
	// unreachable server is cant_process well before kpropd's timeout.
	netTimeout = "30"
	// pageSize asks for results in pages (RFC 2696) no larger than
	// slapd's default size limit. A bind DN that is not the root DN
	// still needs a limits rule allowing it to list every principal
	// (slapd.conf(5), size.prtotal).
	pageSize = "500"
	// noSuchObject is ldapsearch's exit status when the base is missing
	// (the LDAP result code, RFC 4511 appendix A).
	noSuchObject = 32
	// stderrLimit bounds how much of a tool's complaint goes into an
	// error, which ends up in kpropd's log.
	stderrLimit = 2048
)

// directory runs OpenLDAP's command-line tools against the configured
// server, each bound as the configured DN.
type directory struct {
	cfg config
}

// whoami checks that the server answers and accepts the credentials.
func (d *directory) whoami() error {
	return d.run(nil, io.Discard, "ldapwhoami")
}

// search calls fn for each entry in scope ("base", "one" or "sub") at base
// that matches filter, with the attributes named (none: "1.1"). It reports
// false, without error, if base does not exist.
func (d *directory) search(base, scope, filter string, attrs []string, fn func(ldifRecord) error) (found bool, err error) {
	if len(attrs) == 0 {
		attrs = []string{"1.1"} // RFC 4511 section 4.5.1.8: no attributes
	}
	args := append([]string{"-LLL", "-o", "ldif-wrap=no", "-E", "pr=" + pageSize + "/noprompt",
		"-b", base, "-s", scope, filter}, attrs...)
	pr, pw := io.Pipe()
	parsed := make(chan error, 1)
	go func() {
		err := readLDIF(pr, fn)
		// Drain the rest after an error, so ldapsearch does not block.
		_, _ = io.Copy(io.Discard, pr)
		parsed <- err
	}()
	runErr := d.run(nil, pw, "ldapsearch", args...)
	pw.Close()
	parseErr := <-parsed

	var exit *exec.ExitError
	if errors.As(runErr, &exit) && exit.ExitCode() == noSuchObject {
		return false, nil
	}
	if runErr != nil {
		return false, runErr
	}
	if parseErr != nil {
		return false, fmt.Errorf("searching %s: %w", base, parseErr)
	}
	return true, nil
}

// modify applies the LDIF change records in ldif with one ldapmodify, which
// stops at the first record that fails.
func (d *directory) modify(ldif io.Reader) error {
	// ldapmodify reports each entry on stdout before it sends it; the last
	// line names the one that failed.
	last := &tailWriter{max: 512}
	err := d.run(ldif, last, "ldapmodify")
	if err != nil && last.Len() > 0 {
		return fmt.Errorf("%w (at %s)", err, strings.TrimSpace(lastLine(last.String())))
	}
	return err
}

// run runs tool with the connection and bind options, then args. A failure
// to start or a non-zero exit is an error carrying the start of its
// standard error; the *exec.ExitError stays reachable with errors.As.
func (d *directory) run(stdin io.Reader, stdout io.Writer, tool string, args ...string) error {
	args = append([]string{"-x", "-H", d.cfg.uri, "-D", d.cfg.bindDN, "-y", d.cfg.pwFile,
		"-o", "nettimeout=" + netTimeout}, args...)
	cmd := exec.Command(tool, args...)
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(stderr.String())
	if len(msg) > stderrLimit {
		msg = msg[:stderrLimit] + "…"
	}
	if msg == "" {
		return fmt.Errorf("%s on %s: %w", tool, d.cfg.uri, err)
	}
	return fmt.Errorf("%s on %s: %w: %s", tool, d.cfg.uri, err, msg)
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max int
	bytes.Buffer
}

// Write keeps the end of p and drops what no longer fits; it never fails.
func (w *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > w.max {
		p = p[len(p)-w.max:]
	}
	if over := w.Len() + len(p) - w.max; over > 0 {
		w.Next(over)
	}
	w.Buffer.Write(p)
	return n, nil
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
