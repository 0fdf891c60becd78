package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatusRecord follows one replica through failures and a success.
func TestStatusRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dump.status.json")
	st, err := loadStatus(path)
	if err != nil || len(st.Replicas) != 0 {
		t.Fatalf("missing status file: %+v, %v", st, err)
	}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	dumpTime := start.Add(-time.Minute)
	for i := range 2 {
		st.record("kdc2", attempt{start: start.Add(time.Duration(i) * time.Minute), elapsed: time.Second, bytes: 10,
			err: errors.New("Connection refused while connecting to server"), dumpMTime: dumpTime, dumpSize: 100})
	}
	st.record("kdc2", attempt{start: start.Add(5 * time.Minute), elapsed: 1500 * time.Millisecond, bytes: 100,
		dumpMTime: dumpTime, dumpSize: 100})
	st.record("kdc3", attempt{start: start, elapsed: time.Second, err: errors.New("database locked")})
	if err := st.save(path); err != nil {
		t.Fatal(err)
	}
	again, err := loadStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	got, fail := again.Replicas["kdc2"], again.Replicas["kdc3"]
	want := replicaStatus{LastAttempt: start.Add(5 * time.Minute), LastSuccess: start.Add(5*time.Minute + 1500*time.Millisecond).Truncate(time.Second),
		Bytes: 100, DurationSeconds: 1.5, DumpMTime: dumpTime, DumpSize: 100}
	if *got != want {
		t.Errorf("after two failures and a success:\n%+v\nwant\n%+v", *got, want)
	}
	if fail.ConsecutiveFailures != 1 || fail.LastError != "database locked" || !fail.LastSuccess.IsZero() || fail.DumpSize != 0 {
		t.Errorf("after one failure: %+v", *fail)
	}
	var raw struct {
		Replicas map[string]map[string]any `json:"replicas"`
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Replicas["kdc3"]["last_success"]; ok {
		t.Errorf("a replica that never succeeded has a last_success:\n%s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
}

// TestStatusTable checks --status: failing replicas first, then those
// behind the dump on disk (the longest without a success first), then the
// current ones by name; exit 2 while any is not current.
func TestStatusTable(t *testing.T) {
	dir := t.TempDir()
	dump := filepath.Join(dir, "replica_datatrans")
	os.WriteFile(dump, []byte("dump"), 0o600)
	now := time.Now().Truncate(time.Second)
	dumpTime := now.Add(-time.Hour)
	os.Chtimes(dump, dumpTime, dumpTime)
	older := dumpTime.Add(-15 * time.Minute)
	st := &statusFile{Version: statusVersion, Realm: "R.TEST", Dump: dump, Updated: now, Replicas: map[string]*replicaStatus{
		"current-b":   {LastAttempt: now, LastSuccess: now, DumpMTime: dumpTime, DumpSize: 4},
		"current-a":   {LastAttempt: now, LastSuccess: now, DumpMTime: dumpTime, DumpSize: 4},
		"behind-old":  {LastAttempt: older, LastSuccess: older.Add(-time.Hour), DumpMTime: older.Add(-time.Hour)},
		"behind":      {LastAttempt: older, LastSuccess: older, DumpMTime: older},
		"failing":     {LastAttempt: now, LastSuccess: older, DumpMTime: older, ConsecutiveFailures: 3, LastError: "Connection refused\nwhile connecting"},
		"never-tried": {LastAttempt: now, ConsecutiveFailures: 1, LastError: "database locked"},
	}}
	if err := st.save(statusPath(dump)); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	exit := showStatus(dump, now, &stdout, &stderr, "kprop")
	var order []string
	for _, row := range tableRows(t, stdout.String()) {
		order = append(order, row[0]+" "+row[1])
	}
	want := []string{"never-tried failing", "failing failing", "behind-old behind", "behind behind", "current-a current", "current-b current"}
	if exit != exitBehind || strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("exit %d, rows %q, want %q\n%s%s", exit, order, want, &stdout, &stderr)
	}
	if !strings.Contains(stdout.String(), "Connection refused while connecting") {
		t.Errorf("a reason spanning lines is not kept on its row:\n%s", &stdout)
	}

	// All current: exit 0. No status file: exit 1.
	for name := range st.Replicas {
		if !strings.HasPrefix(name, "current") {
			delete(st.Replicas, name)
		}
	}
	st.save(statusPath(dump))
	if exit := showStatus(dump, now, &stdout, &stderr, "kprop"); exit != exitOK {
		t.Errorf("all current: exit %d", exit)
	}
	stderr.Reset()
	other := filepath.Join(dir, "other")
	if exit := showStatus(other, now, &stdout, &stderr, "kprop"); exit != exitFailed ||
		stderr.String() != "kprop: no propagation recorded in "+other+".status.json (kprop records runs with -l or several replicas)\n" {
		t.Errorf("no status file: exit %d, %q", exit, &stderr)
	}
}
