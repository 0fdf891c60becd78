package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/krb5prop/krb5prop/internal/filelock"
	"github.com/krb5prop/krb5prop/kdb/dumpload"
	"github.com/krb5prop/krb5prop/propagation"
)

// fileStore receives dumps the way MIT's kpropd does (spec §5.4): into
// <file>.temp under an exclusive lock that is free now, then renamed to
// <file> and loaded while a shared lock keeps the next propagation out.
// Unlike MIT's, it fsyncs the received file before renaming it, so that a
// crash never leaves a truncated <file> under the name of a complete one.
type fileStore struct {
	file    string
	realm   string
	dbName  string // -F; "" means the realm's database_name
	program string // -p: run it as MIT runs kdb5_util; "" loads in-process
	iprop   bool   // load with -i (iprop replica role)
	log     *slog.Logger
}

var _ propagation.Store = (*fileStore)(nil)

// Begin opens and locks <file>.temp.
func (s *fileStore) Begin(ctx context.Context, client string, size uint64) (propagation.Transfer, error) {
	temp := s.file + ".temp"
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	lock, err := os.OpenFile(temp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w while trying to open '%s'", err, temp)
	}
	if err := filelock.TryLock(lock, true); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w while trying to lock '%s'", err, temp)
	}
	data, err := os.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w while trying to open '%s'", err, temp)
	}
	t := &transfer{store: s, lock: lock, data: data, w: bufio.NewWriterSize(&writebackFile{f: data}, 1<<20)}
	if s.program == "" {
		t.startLoad()
	}
	return t, nil
}

// transfer is one dump being received.
type transfer struct {
	store *fileStore
	lock  *os.File
	data  *os.File
	w     *bufio.Writer // 1 MiB writes rather than one per 32 KiB block

	// An in-process load parses the dump while it arrives, so that the
	// database is ready moments after the last block rather than after a
	// second pass over the file. It commits only when the stream ends
	// cleanly (Commit); Abort makes it roll back.
	pipe    *io.PipeWriter
	loadW   *bufio.Writer
	cancel  context.CancelFunc
	loaded  chan error
	loadErr error // the loader stopped early; reported by Commit
}

// startLoad starts the in-process load reading from the transfer. It has
// its own context: the one Begin gets ends when Begin returns.
func (t *transfer) startLoad() {
	s := t.store
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	t.pipe, t.loadW, t.cancel, t.loaded = pw, bufio.NewWriterSize(pw, 1<<20), cancel, make(chan error, 1)
	opts := dumpload.Options{DefaultRealm: s.realm, Iprop: s.iprop}
	if s.iprop {
		f := dumpIpropFormat
		opts.Format = &f
	}
	go func() {
		_, err := dumpload.Stream(ctx, pr, s.file, s.dbName, opts)
		// Unblock a writer if the loader stopped before the end.
		pr.CloseWithError(errLoaderDone)
		t.loaded <- err
	}()
}

// errLoaderDone tells Write the loader no longer reads.
var errLoaderDone = errors.New("load stopped")

// Write keeps the file MIT's kpropd would have written, and feeds the
// load. If the load has failed, the file is still completed (an admin may
// want to look at it) and Commit reports the load's error.
func (t *transfer) Write(p []byte) (int, error) {
	if t.loadW != nil && t.loadErr == nil {
		if _, err := t.loadW.Write(p); err != nil {
			t.loadErr = err
		}
	}
	return t.w.Write(p)
}

// finishLoad ends the stream (EOF if ok, else an error that rolls the
// load back) and waits for the loader.
func (t *transfer) finishLoad(ok bool) error {
	if t.loaded == nil {
		return nil
	}
	if ok && t.loadErr == nil {
		if err := t.loadW.Flush(); err != nil {
			t.loadErr = err
		}
	}
	if ok && t.loadErr == nil {
		t.pipe.Close()
	} else {
		t.cancel()
		t.pipe.CloseWithError(errors.New("propagation aborted"))
	}
	err := <-t.loaded
	t.cancel()
	t.loaded = nil
	return err
}

// Commit renames the received file into place and loads it; it returns
// once the load committed (or failed: the database is then unchanged).
func (t *transfer) Commit(ctx context.Context) error {
	s := t.store
	defer t.Abort()
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("%w while writing '%s.temp'", err, s.file)
	}
	if err := t.data.Sync(); err != nil {
		return fmt.Errorf("%w while syncing '%s.temp'", err, s.file)
	}
	if err := t.data.Close(); err != nil {
		return fmt.Errorf("%w while writing '%s.temp'", err, s.file)
	}
	t.data = nil
	if err := os.Rename(s.file+".temp", s.file); err != nil {
		return fmt.Errorf("%w while renaming %s.temp to %s", err, s.file, s.file)
	}
	// Still the same inode, now named <file>: a shared lock keeps other
	// writers out while the load reads it, as MIT's kpropd does.
	if err := filelock.Lock(t.lock, false); err != nil {
		return fmt.Errorf("%w while downgrading lock on '%s'", err, s.file)
	}
	s.log.Debug("calling kdb5_util to load database")
	if s.program != "" {
		return s.runProgram(ctx)
	}
	if err := t.finishLoad(true); err != nil {
		return fmt.Errorf("load of %s failed: %w", s.file, err)
	}
	return nil
}

// runProgram loads with an external program exactly as MIT's kpropd runs
// kdb5_util: PROGRAM -r REALM load [-d DB] [-i] FILE.
func (s *fileStore) runProgram(ctx context.Context) error {
	args := []string{"-r", s.realm, "load"}
	if s.dbName != "" {
		args = append(args, "-d", s.dbName)
	}
	if s.iprop {
		args = append(args, "-i")
	}
	args = append(args, s.file)
	cmd := exec.CommandContext(ctx, s.program, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w while trying to fork %s", err, s.program)
	}
	s.log.Debug("Load PID is " + strconv.Itoa(cmd.Process.Pid))
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.Exited():
		return fmt.Errorf("%s returned a bad exit status (%d)", s.program, ee.ExitCode())
	default:
		return fmt.Errorf("%s load terminated", s.program)
	}
}

// Abort releases the locks; a partial <file>.temp stays, as with MIT.
func (t *transfer) Abort() {
	t.finishLoad(false)
	if t.data != nil {
		t.data.Close()
		t.data = nil
	}
	if t.lock != nil {
		t.lock.Close()
		t.lock = nil
	}
}
