package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/krb5prop/krb5prop/internal/atomicfile"
	"github.com/krb5prop/krb5prop/internal/filelock"
)

// State is where a secondary replica stands (RFC 83.0's replica states).
type State string

// The states, as kdb5util replica shows them.
const (
	Uninitialized   State = "uninitialized"    // no delivery yet
	Initializing    State = "initializing"     // a first full delivery under way
	InService       State = "in service"       // the plugin acknowledged the database as last loaded
	CantProcess     State = "can't process"    // the last try failed; a retry is scheduled
	ReinitRequested State = "reinit requested" // a full delivery is owed
	Stopped         State = "stopped"          // by an admin; loads wait for start
)

// Status is a replica's state file.
type Status struct {
	UUID  string `json:"uuid"`
	State State  `json:"state"`
	// Reinit is set from a reinit request until a full delivery
	// succeeds, through failures that make State CantProcess.
	Reinit        bool      `json:"reinit,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	Retries       int       `json:"retries"`
	NextRetry     time.Time `json:"next_retry,omitzero"`
	LastAttempt   time.Time `json:"last_attempt,omitzero"`
	// LastChanges counts the changes of the last delivery tried.
	LastChanges int `json:"last_changes"`
	// The acknowledged sequence, as in the snapshot (which wins if a
	// crash left the two apart).
	Seq      uint64    `json:"seq"`
	SeqTime  time.Time `json:"seq_time,omitzero"`
	PrevSeq  uint64    `json:"prev_seq"`
	PrevTime time.Time `json:"prev_time,omitzero"`
}

// File names inside a replica's state_dir.
const (
	statusFile   = "state.json"
	snapshotFile = "snapshot"
	lockFile     = "lock"
	spoolFile    = "changes.tmp"
)

func (r *Replica) path(name string) string { return filepath.Join(r.cfg.StateDir, name) }

// readStatus reads the state file; a replica never used has none.
func (r *Replica) readStatus() (*Status, error) {
	b, err := os.ReadFile(r.path(statusFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", r.path(statusFile), err)
	}
	if _, err := uuid.Parse(st.UUID); err != nil {
		return nil, fmt.Errorf("%s: uuid: %w", r.path(statusFile), err)
	}
	return &st, nil
}

// status reads the state file, making the replica's identity on first
// use: a new UUID, kept until destroy.
func (r *Replica) status() (*Status, error) {
	st, err := r.readStatus()
	if errors.Is(err, fs.ErrNotExist) {
		st = &Status{UUID: uuid.NewString(), State: Uninitialized}
		err = r.saveStatus(st)
	}
	return st, err
}

// saveStatus replaces the state file atomically: a crash leaves the old
// file or the new one.
func (r *Replica) saveStatus(st *Status) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(r.path(statusFile), append(b, '\n'), 0o600)
}

// lockPoll is how often a waiting process retries the replica's lock.
const lockPoll = 100 * time.Millisecond

// lock takes the replica's lock, which one process (and one goroutine) at
// a time holds while it talks to the plugin or changes the state, and
// makes the state directory on first use.
func (r *Replica) lock(ctx context.Context) (unlock func(), err error) {
	if err := os.MkdirAll(r.cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(r.path(lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	logged := false
	for {
		err := filelock.TryLock(f, true)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, filelock.ErrLocked) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if !logged {
			r.log.Info(fmt.Sprintf("secondary replica %s: waiting for another process's delivery to finish", r.cfg.Name))
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("secondary replica %s is busy (another process holds %s): %w", r.cfg.Name, f.Name(), ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}
