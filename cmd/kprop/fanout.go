package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/krb5prop/krb5prop/internal/filelock"
	"github.com/krb5prop/krb5prop/propagation"
)

// maxDefaultJobs bounds list mode's default parallelism (all replicas at
// once): every session holds a socket, a 32 KiB block and a share of the
// primary's CPU for sealing.
const maxDefaultJobs = 16

// runList is list mode: under the run lock, the dump opened once and sent
// to every replica, jobs at a time, each with its own deadline; one line
// per replica, in the order given, as soon as it and those before it are
// done; the status file updated as each finishes. It exits 0 only if
// every replica succeeded.
func runList(ctx context.Context, p *primary, o options, names []string, stdout, stderr io.Writer, prog string) int {
	lock, err := takeRunLock(o.file+".kprop.lock", !o.noWait, func(holder string) {
		fmt.Fprintf(stderr, "%s: waiting for another kprop run (%s) to finish\n", prog, holder)
	})
	var busy *busyError
	if errors.As(err, &busy) {
		fmt.Fprintf(stderr, "%s: %v; not waiting (-n)\n", prog, err)
		return exitBusy
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitFailed
	}
	defer lock.Close()

	book, err := openStatusBook(o.file, p.realm)
	if err != nil {
		// A status file kprop cannot read must not stop propagation.
		fmt.Fprintf(stderr, "%s: %v; starting a new status file\n", prog, err)
	}
	// A dump that cannot be sent fails every replica alike: each still
	// gets its line and its record, so the status shows the replicas
	// going without.
	dump, dumpErr := openDump(o.file)
	if dumpErr == nil {
		defer dump.Close()
	}
	jobs := o.jobs
	if jobs == 0 {
		jobs = min(len(names), maxDefaultJobs)
	}
	var debugMu sync.Mutex
	attempts := make([]attempt, len(names))
	fanOut(len(names), jobs, func(i int) {
		a := attempt{start: time.Now(), err: dumpErr}
		if dumpErr == nil {
			a.dumpMTime, a.dumpSize = dump.mtime, dump.size
			var debug io.Writer
			if o.debug {
				debug = &prefixedLines{mu: &debugMu, w: stderr, prefix: names[i] + ": "}
			}
			a.bytes, a.err = p.propagate(ctx, names[i], dump, debug, o.deadline)
			if a.err == nil {
				if err := markLastProp(o.file, names[i]); err != nil {
					// As MIT's kprop: the propagation itself succeeded.
					fmt.Fprintf(stderr, "%s: %v\n", prog, err)
				}
			}
		}
		a.elapsed = time.Since(a.start)
		attempts[i] = a
		if err := book.record(names[i], a); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		}
	}, func(i int) {
		if attempts[i].err != nil {
			fmt.Fprintf(stdout, "Database propagation to %s: FAILED: %v\n", names[i], attempts[i].err)
		} else {
			fmt.Fprintf(stdout, "Database propagation to %s: SUCCEEDED\n", names[i])
		}
	})
	for _, a := range attempts {
		if a.err != nil {
			return exitFailed
		}
	}
	return exitOK
}

// fanOut calls send(i) for i in [0, n), at most jobs at a time, started in
// order, and report(i) in order, each as soon as send(i) and every report
// before it are done.
func fanOut(n, jobs int, send, report func(i int)) {
	done := make([]chan struct{}, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	slots := make(chan struct{}, jobs)
	go func() {
		for i := range n {
			slots <- struct{}{}
			go func() {
				defer func() { <-slots }()
				defer close(done[i])
				send(i)
			}()
		}
	}()
	for i := range n {
		<-done[i]
		report(i)
	}
}

// propagate is one replica's propagation in list mode: the ticket, then
// the session within the deadline (0: none). It returns how many dump
// bytes went out, and a failure's reason: MIT's message on one line, then
// what to check. The engine's own hints already explain a replica that
// closed without a reply and the rejections it knows.
func (p *primary) propagate(ctx context.Context, name string, dump *dumpFile, debug io.Writer, deadline time.Duration) (int64, error) {
	r, err := parseReplica(name)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	who := p.principals(ctx, r.host)
	creds, err := p.ticket(who)
	if err != nil {
		return 0, &failure{err: err, reason: fmt.Sprintf("%v; check that %s holds the key of %s and that the KDC knows %s",
			err, who.keytab, who.clientName(), who.serverName())}
	}
	// The session gets what the ticket left of the deadline.
	remaining := deadline
	if deadline > 0 {
		if remaining -= time.Since(start); remaining <= 0 {
			err := &propagation.Error{Op: "while getting initial credentials", Err: propagation.ErrSessionTimeout}
			return 0, &failure{err: err, reason: fmt.Sprintf("%v (-T %v)", err, deadline)}
		}
	}
	// Each session reads the one open dump at its own offsets.
	sent := &countingReader{r: io.NewSectionReader(dump, 0, dump.size)}
	err = p.send(ctx, creds, r.host, r.port, sent, dump.size, debug, remaining)
	if err == nil {
		return sent.n, nil
	}
	f := &failure{err: err, reason: err.Error()}
	var conn *connectError
	var ne net.Error
	var pe *propagation.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		f.reason += "; nothing listens there: is kpropd running on " + r.host + " on the kprop port (-P or host:port)?"
	case errors.As(err, &conn) && errors.As(err, &ne) && ne.Timeout():
		f.reason += "; no answer: is the host up, and does its firewall let the kprop port through?"
	case errors.As(err, &pe) && pe.Op == "while authenticating to server":
		f.reason += " (" + who.String() + ")"
	case errors.Is(err, propagation.ErrSessionTimeout):
		f.reason += fmt.Sprintf(" (-T %v)", deadline)
	}
	return sent.n, f
}

// failure is a replica's failed propagation and its reason.
type failure struct {
	err    error
	reason string
}

func (f *failure) Error() string { return f.reason }
func (f *failure) Unwrap() error { return f.err }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// prefixedLines writes each Write (a line of kprop -d) behind prefix,
// under mu, so the lines of concurrent sessions stay whole.
type prefixedLines struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixedLines) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

// statusBook is the status file of a list-mode run, updated as each
// replica finishes. The run lock keeps other runs out; mu orders this
// run's sessions.
type statusBook struct {
	mu   sync.Mutex
	path string
	st   *statusFile
}

// openStatusBook reads the status file of dump's replicas. If it cannot,
// it returns the error with a book that starts afresh.
func openStatusBook(dump, realm string) (*statusBook, error) {
	path := statusPath(dump)
	st, err := loadStatus(path)
	if err != nil {
		st = newStatusFile()
	}
	st.Realm, st.Dump = realm, dump
	return &statusBook{path: path, st: st}, err
}

// record enters a replica's attempt and writes the file.
func (b *statusBook) record(name string, a attempt) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.record(name, a)
	b.st.Updated = time.Now().UTC().Truncate(time.Second)
	return b.st.save(b.path)
}

// busyError is a run lock held by another run.
type busyError struct {
	path, holder string
}

func (e *busyError) Error() string {
	return fmt.Sprintf("another kprop run (%s) holds %s", e.holder, e.path)
}

// takeRunLock takes the exclusive lock on path, creating it, so that two
// list-mode runs for the same dump do not overlap (two cron jobs, or one
// that outlasts its interval; spec operators.md §6 pain point 4). If
// another run holds it, takeRunLock waits, calling waiting first, or
// with wait false returns a *busyError. The holder's pid is kept in the
// file for those messages. Closing the file releases the lock.
func takeRunLock(path string, wait bool, waiting func(holder string)) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("run lock: %w", err)
	}
	err = filelock.TryLock(f, true)
	if errors.Is(err, filelock.ErrLocked) {
		holder := lockHolder(f)
		if !wait {
			f.Close()
			return nil, &busyError{path: path, holder: holder}
		}
		waiting(holder)
		err = filelock.Lock(f, true)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("run lock %s: %w", path, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err == nil {
		f.WriteAt(pid, 0)
	}
	return f, nil
}

// lockHolder names the run holding a run lock, from the pid it wrote.
func lockHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	if pid := strings.TrimSpace(string(b[:n])); pid != "" {
		return "pid " + pid
	}
	return "pid unknown"
}
