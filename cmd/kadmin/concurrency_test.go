package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/krb5prop/krb5prop/kdb"
)

// TestReaderWhileKadminWrites runs our kadmin as a separate process
// applying a long batch of changes while this process reads the same
// principals the way the KDC does: no read fails, and every principal read
// is whole (its keys decrypt with the master key and it carries one of the
// lifetimes the batch wrote).
func TestReaderWhileKadminWrites(t *testing.T) {
	r := ourRealm(t)
	k := kadminLocal(t)
	var setup, batch strings.Builder
	const users = 5
	for i := 0; i < users; i++ {
		fmt.Fprintf(&setup, "addprinc -randkey -maxlife 1000 user%d\n", i)
	}
	r.RunStdin(t, setup.String(), k)
	lifes := map[int32]bool{1000: true}
	for round := 0; round < 60; round++ {
		for i := 0; i < users; i++ {
			life := 1001 + round
			lifes[int32(life)] = true
			fmt.Fprintf(&batch, "modprinc -maxlife %d user%d\ncpw -randkey user%d\n", life, i, i)
		}
	}
	srv := openServer(t, r)
	reader, err := kdb.Open(r.DBName, kdb.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	var done atomic.Bool
	var reads, maxKVNO int
	var readErr error
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ctx := context.Background()
		for !done.Load() {
			for i := 0; i < users; i++ {
				p, err := reader.Get(ctx, fmt.Sprintf("user%d@%s", i, testRealm))
				if errors.Is(err, kdb.ErrNotFound) {
					continue
				}
				if err == nil && !lifes[p.MaxLife] {
					err = fmt.Errorf("%s: max_life %d was never written", p.Name, p.MaxLife)
				}
				for _, kd := range p.KeyData {
					if err != nil {
						break
					}
					_, err = srv.MKeys.UnsealKey(p, kd)
					maxKVNO = max(maxKVNO, int(kd.KVNO))
				}
				if err != nil {
					readErr = err
					return
				}
				reads++
			}
		}
	}()
	out, stderr, code := r.RunStdin(t, batch.String(), k)
	done.Store(true)
	<-finished
	if code != 0 || strings.Contains(stderr, "while") {
		t.Fatalf("kadmin exit %d\n%s", code, stderr)
	}
	if readErr != nil {
		t.Fatalf("read during kadmin's writes: %v", readErr)
	}
	if n := strings.Count(out, "randomized."); n != 60*users {
		t.Errorf("kadmin reported %d key changes, want %d", n, 60*users)
	}
	t.Logf("%d reads while kadmin made %d changes; highest kvno seen %d", reads, 120*users, maxKVNO)
}
