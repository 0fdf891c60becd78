package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/krb5prop/krb5prop/internal/atomicfile"
)

// statusVersion is the status file's format; a reader should refuse a
// version it does not know.
const statusVersion = 1

// statusFile is what list mode records about each replica of one dump
// (one realm), kept as JSON in <dump>.status.json. MIT's only record is
// the mtime of <dump>.<host>.last_prop; operators need to know which
// replica is behind and why (spec operators.md §1.5, pain point 5).
type statusFile struct {
	Version int    `json:"version"`
	Realm   string `json:"realm"`
	Dump    string `json:"dump"`
	// Updated is when a run last wrote the file.
	Updated  time.Time                 `json:"updated"`
	Replicas map[string]*replicaStatus `json:"replicas"`
}

// replicaStatus is one replica's record, keyed by its name as listed.
type replicaStatus struct {
	LastAttempt time.Time `json:"last_attempt"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Bytes and DurationSeconds describe the last attempt: the dump bytes
	// sent (all of them after a success) and how long it took.
	Bytes           int64   `json:"bytes"`
	DurationSeconds float64 `json:"duration_seconds"`
	// ConsecutiveFailures counts the attempts that failed since the last
	// success; LastError is the last one's reason, empty after a success.
	ConsecutiveFailures int    `json:"consecutive_failures"`
	LastError           string `json:"last_error,omitempty"`
	// DumpMTime and DumpSize identify the dump the replica last received
	// and loaded.
	DumpMTime time.Time `json:"dump_mtime,omitzero"`
	DumpSize  int64     `json:"dump_size"`
}

// statusPath is where the status of dump file's replicas is kept.
func statusPath(dump string) string { return dump + ".status.json" }

// newStatusFile is the status before any run.
func newStatusFile() *statusFile {
	return &statusFile{Version: statusVersion, Replicas: map[string]*replicaStatus{}}
}

// loadStatus reads a status file; a missing one is an empty status.
func loadStatus(path string) (*statusFile, error) {
	st := newStatusFile()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Version != statusVersion {
		return nil, fmt.Errorf("%s: status format version %d, this kprop knows %d", path, st.Version, statusVersion)
	}
	if st.Replicas == nil {
		st.Replicas = map[string]*replicaStatus{}
	}
	return st, nil
}

// save writes the status to path atomically: a temporary file beside it,
// synced, renamed over it, and the directory synced, so a reader sees the
// old file or the new one and a crash leaves one of them.
func (st *statusFile) save(path string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	// Monitoring reads it as another user; it holds no secrets.
	if err := atomicfile.Write(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}

// attempt is the outcome of one replica's propagation, as recorded.
type attempt struct {
	start   time.Time
	elapsed time.Duration
	bytes   int64
	err     error // nil on success
	// dumpMTime and dumpSize identify the dump sent.
	dumpMTime time.Time
	dumpSize  int64
}

// record enters a replica's attempt.
func (st *statusFile) record(name string, a attempt) {
	r := st.Replicas[name]
	if r == nil {
		r = &replicaStatus{}
		st.Replicas[name] = r
	}
	r.LastAttempt = a.start.UTC().Truncate(time.Second)
	r.Bytes = a.bytes
	r.DurationSeconds = a.elapsed.Round(time.Millisecond).Seconds()
	if a.err != nil {
		r.ConsecutiveFailures++
		r.LastError = a.err.Error()
		return
	}
	r.LastSuccess = a.start.Add(a.elapsed).UTC().Truncate(time.Second)
	r.ConsecutiveFailures = 0
	r.LastError = ""
	r.DumpMTime = a.dumpMTime.UTC()
	r.DumpSize = a.dumpSize
}

// Replica states in the status table, worst first.
const (
	stateFailing = "failing" // the last attempt failed
	stateBehind  = "behind"  // never received the current dump
	stateCurrent = "current"
)

// state is a replica's state against the dump written at dumpMTime: the
// dump it last loaded must be no older (to the second, as MIT compares).
func (r *replicaStatus) state(dumpMTime time.Time) string {
	switch {
	case r.ConsecutiveFailures > 0:
		return stateFailing
	case r.LastSuccess.IsZero() || r.DumpMTime.Unix() < dumpMTime.Unix():
		return stateBehind
	}
	return stateCurrent
}

// statusRow is one line of the status table.
type statusRow struct {
	name  string
	state string
	*replicaStatus
}

// rows orders the replicas for the table: failing, then behind, then
// current; within each the longest without a success first, then by name.
func (st *statusFile) rows(dumpMTime time.Time) []statusRow {
	rank := map[string]int{stateFailing: 0, stateBehind: 1, stateCurrent: 2}
	var rows []statusRow
	for name, r := range st.Replicas {
		rows = append(rows, statusRow{name: name, state: r.state(dumpMTime), replicaStatus: r})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.state != b.state {
			return rank[a.state] < rank[b.state]
		}
		if !a.LastSuccess.Equal(b.LastSuccess) {
			return a.LastSuccess.Before(b.LastSuccess)
		}
		return a.name < b.name
	})
	return rows
}

// showStatus is kprop --status: the status of dump's replicas as a table,
// those behind the dump first. It exits 0 when every replica is current,
// exitBehind when one is not, 1 when there is no status to show.
func showStatus(dump string, now time.Time, stdout, stderr io.Writer, prog string) int {
	path := statusPath(dump)
	st, err := loadStatus(path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitFailed
	}
	if len(st.Replicas) == 0 {
		fmt.Fprintf(stderr, "%s: no propagation recorded in %s (kprop records runs with -l or several replicas)\n", prog, path)
		return exitFailed
	}
	// The dump on disk now decides who is behind; without it, the newest
	// dump a replica received.
	var dumpMTime time.Time
	if fi, err := os.Stat(dump); err == nil {
		dumpMTime = fi.ModTime()
		fmt.Fprintf(stdout, "Dump %s: %d bytes, written %s\n", dump, fi.Size(), when(dumpMTime, now))
	} else {
		for _, r := range st.Replicas {
			if r.DumpMTime.After(dumpMTime) {
				dumpMTime = r.DumpMTime
			}
		}
		fmt.Fprintf(stdout, "Dump %s: %s\n", dump, errText(err))
	}
	fmt.Fprintf(stdout, "Realm %s, status updated %s\n\n", st.Realm, when(st.Updated, now))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLICA\tSTATE\tLAST SUCCESS\tLAST ATTEMPT\tFAILURES\tBYTES\tSECONDS\tLAST ERROR")
	status := exitOK
	for _, r := range st.rows(dumpMTime) {
		if r.state != stateCurrent {
			status = exitBehind
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%.1f\t%s\n", r.name, r.state, when(r.LastSuccess, now),
			when(r.LastAttempt, now), r.ConsecutiveFailures, r.Bytes, r.DurationSeconds, oneLine(r.LastError))
	}
	tw.Flush()
	return status
}

// when is a time for the table: local time and how long ago, or "never".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	ago := now.Sub(t).Round(time.Second)
	if ago < 0 {
		ago = 0
	}
	return fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04:05"), ago)
}

// oneLine keeps a reason on its table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
