package kdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

func fillGeneration(t *testing.T, l *Load, gen, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := l.PutPrincipal(consistentPrincipal(fmt.Sprintf("user%04d", i), gen)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.PutPolicy(&Policy{Name: fmt.Sprintf("gen%d", gen)}); err != nil {
		t.Fatal(err)
	}
}

func fileSum(t *testing.T, paths ...string) []byte {
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestLoadReplacesAtomically(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "principal")
	l, err := BeginLoad(path)
	if err != nil {
		t.Fatal(err)
	}
	fillGeneration(t, l, 1, 500)
	if err := l.Commit(ctx); err != nil { // creates the database
		t.Fatal(err)
	}
	reader, err := Open(path, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if err := reader.SetLockout(ctx, "user0001@EXAMPLE.TEST", Lockout{FailCount: 3}); err != nil {
		t.Fatal(err)
	}

	// A reader scans while a second load commits: every scan sees one
	// generation, with all 500 records.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var scanErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			gens, n := map[uint32]bool{}, 0
			err := reader.Snapshot(ctx, func(v *View) error {
				return v.Principals(ctx, false, func(p *Principal) error {
					gens[p.Attributes] = true
					n++
					return checkConsistent(p)
				})
			})
			if err == nil && (len(gens) != 1 || n != 500) {
				err = fmt.Errorf("scan saw %d records of generations %v", n, gens)
			}
			if err != nil {
				scanErr = err
				return
			}
		}
	}()
	l, err = BeginLoad(path)
	if err != nil {
		t.Fatal(err)
	}
	fillGeneration(t, l, 2, 500)
	if err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if scanErr != nil {
		t.Fatal(scanErr)
	}
	p, err := reader.Get(ctx, "user0001@EXAMPLE.TEST")
	if err != nil || p.Attributes != 2 || p.FailAuthCount != 0 {
		t.Fatalf("after the load: %+v, %v", p, err)
	}
	if _, err := reader.GetPolicy(ctx, "gen1"); !errors.Is(err, ErrPolicyMissing) {
		t.Errorf("old policy survived a full load: %v", err)
	}
	if m, _ := filepath.Glob(path + ".load-*"); len(m) != 0 {
		t.Errorf("scratch files left: %v", m)
	}
}

func TestAbortedLoadLeavesDatabaseUntouched(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "principal")
	l, _ := BeginLoad(path)
	fillGeneration(t, l, 1, 50)
	if err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	files := []string{path, path + "-wal", LockoutPath(path)}
	before := fileSum(t, files...)
	l, err := BeginLoad(path)
	if err != nil {
		t.Fatal(err)
	}
	fillGeneration(t, l, 2, 50)
	bad := consistentPrincipal("bad", 3)
	bad.KeyData[0].Version = 7
	if err := l.PutPrincipal(bad); err == nil {
		t.Fatal("a key of version 7 was accepted")
	}
	l.Abort()
	if after := fileSum(t, files...); !bytes.Equal(before, after) {
		t.Error("an aborted load changed the database files")
	}
	if m, _ := filepath.Glob(path + ".load-*"); len(m) != 0 {
		t.Errorf("scratch files left: %v", m)
	}
}

func TestMergeKeepsOthers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "principal")
	l, _ := BeginLoad(path)
	fillGeneration(t, l, 1, 10)
	if err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	l, _ = BeginLoad(path)
	if err := l.PutPrincipal(consistentPrincipal("user0003", 9)); err != nil {
		t.Fatal(err)
	}
	if err := l.PutPrincipal(consistentPrincipal("newcomer", 9)); err != nil {
		t.Fatal(err)
	}
	if err := l.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	s, _ := Open(path, ReadOnly)
	defer s.Close()
	for name, gen := range map[string]uint32{"user0003": 9, "newcomer": 9, "user0004": 1} {
		p, err := s.Get(ctx, name+"@EXAMPLE.TEST")
		if err != nil || p.Attributes != gen {
			t.Errorf("%s after merge: %+v, %v", name, p, err)
		}
	}
	if _, err := s.GetPolicy(ctx, "gen1"); err != nil {
		t.Errorf("policy lost by a merge: %v", err)
	}
}

func TestStaleScratchRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "principal")
	stale := path + ".load-999999999"
	os.WriteFile(stale, []byte("leftover"), 0o600)
	l, err := BeginLoad(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Abort()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale scratch file kept: %v", err)
	}
}
