package kdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// consistentPrincipal makes a record whose fields all encode gen, so a
// reader can tell a torn record (fields from two writes) from a whole one.
func consistentPrincipal(name string, gen int) *Principal {
	n, _ := ParseName(name, "EXAMPLE.TEST")
	p := &Principal{Name: n, Attributes: uint32(gen), MaxLife: int32(gen), Expiration: uint32(gen)}
	p.SetModPrinc(uint32(gen), "writer@EXAMPLE.TEST")
	fill := bytes.Repeat([]byte{byte(gen)}, 60+gen%40)
	p.KeyData = []KeyData{{Version: 1, KVNO: uint16(gen%65535 + 1), Enctype: 18, Contents: fill}}
	return p
}

func checkConsistent(p *Principal) error {
	gen := int(p.Attributes)
	if int(p.MaxLife) != gen || int(p.Expiration) != gen || len(p.KeyData) != 1 {
		return fmt.Errorf("%s: torn record: %+v", p.Name, p)
	}
	kd := p.KeyData[0]
	if kd.KVNO != uint16(gen%65535+1) || !bytes.Equal(kd.Contents, bytes.Repeat([]byte{byte(gen)}, 60+gen%40)) {
		return fmt.Errorf("%s: torn key data at generation %d", p.Name, gen)
	}
	return nil
}

const writerEnv = "KRB5PROP_TEST_WRITER_DB"

// TestWriterProcess is the writer half of TestReaderWhileAnotherProcessWrites;
// it does nothing unless started by it.
func TestWriterProcess(t *testing.T) {
	path := os.Getenv(writerEnv)
	if path == "" {
		return // runs only as the child of TestReaderWhileAnotherProcessWrites
	}
	n, _ := strconv.Atoi(os.Getenv(writerEnv + "_N"))
	s, err := Open(path, ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for gen := 1; gen <= n; gen++ {
		err := s.Update(ctx, func(tx *Tx) error {
			for i := 0; i < 10; i++ {
				if err := tx.Put(ctx, consistentPrincipal(fmt.Sprintf("user%d", i), gen)); err != nil {
					return err
				}
			}
			if gen%7 == 0 {
				return tx.Delete(ctx, "user3@EXAMPLE.TEST")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestReaderWhileAnotherProcessWrites checks spec/storage.md's promise with
// real processes: while a separate writer process commits changes, lookups
// and scans in this process never fail, never see a torn record, and every
// scan sees one transaction's state (all records of one generation).
func TestReaderWhileAnotherProcessWrites(t *testing.T) {
	if os.Getenv(writerEnv) != "" {
		return
	}
	path := filepath.Join(t.TempDir(), "principal")
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	reader, err := Open(path, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	const generations = 300
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), writerEnv+"="+path, writerEnv+"_N="+strconv.Itoa(generations))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	ctx := context.Background()
	lookups, scans, maxGen := 0, 0, 0
	deadline := time.After(2 * time.Minute)
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("writer: %v\n%s", err, out.String())
			}
			running = false
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("writer did not finish")
		default:
		}
		p, err := reader.Get(ctx, "user5@EXAMPLE.TEST")
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			t.Fatalf("lookup during writes: %v", err)
		default:
			if err := checkConsistent(p); err != nil {
				t.Fatal(err)
			}
			lookups++
		}
		gens := map[uint32]bool{}
		err = reader.Snapshot(ctx, func(v *View) error {
			return v.Principals(ctx, false, func(p *Principal) error {
				gens[p.Attributes] = true
				return checkConsistent(p)
			})
		})
		if err != nil {
			t.Fatalf("scan during writes: %v", err)
		}
		if len(gens) > 1 {
			t.Fatalf("one scan saw several generations: %v", gens)
		}
		for g := range gens {
			maxGen = max(maxGen, int(g))
		}
		scans++
	}
	final, err := reader.Get(ctx, "user0@EXAMPLE.TEST")
	if err != nil || final.Attributes != generations {
		t.Fatalf("after the writer: %+v, %v", final, err)
	}
	t.Logf("%d lookups and %d scans while the writer committed %d transactions", lookups, scans, generations)
}
