package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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
// Like MIT's, it does not fsync the received file: the load that follows
// is what must be durable, and a file lost to a crash is sent again.
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
	return &transfer{store: s, lock: lock, data: data, w: bufio.NewWriterSize(data, 1<<20)}, nil
}

// transfer is one dump being received.
type transfer struct {
	store *fileStore
	lock  *os.File
	data  *os.File
	w     *bufio.Writer // 1 MiB writes rather than one per 32 KiB block
}

func (t *transfer) Write(p []byte) (int, error) { return t.w.Write(p) }

// Commit renames the received file into place and loads it; it returns
// once the load committed (or failed: the database is then unchanged).
func (t *transfer) Commit(ctx context.Context) error {
	s := t.store
	defer t.Abort()
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("%w while writing '%s.temp'", err, s.file)
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
	opts := dumpload.Options{DefaultRealm: s.realm, Iprop: s.iprop}
	if s.iprop {
		f := dumpIpropFormat
		opts.Format = &f
	}
	if _, err := dumpload.File(ctx, s.file, s.dbName, opts); err != nil {
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
	if t.data != nil {
		t.data.Close()
		t.data = nil
	}
	if t.lock != nil {
		t.lock.Close()
		t.lock = nil
	}
}
