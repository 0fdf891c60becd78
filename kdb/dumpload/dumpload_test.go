package dumpload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdb/dump"
)

func TestLoadAndErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "principal")
	var loaded int
	f, err := File(ctx, "testdata/mit-basic.dump.r111", db, Options{Loaded: func(dump.Record) { loaded++ }})
	if err != nil || f != dump.Version7 || loaded != 10 {
		t.Fatalf("load: format %v, %d records, %v", f, loaded, err)
	}
	s, err := kdb.Open(db, kdb.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "alice@FIXTURE.TEST"); err != nil {
		t.Error(err)
	}
	s.Close()

	good, _ := os.ReadFile("testdata/mit-basic.dump.r111")
	bad := filepath.Join(dir, "bad.dump")
	os.WriteFile(bad, []byte(strings.Replace(string(good), "\t38\t18\t", "\t38\tx\t", 1)), 0o600)
	_, err = File(ctx, bad, db, Options{})
	var pe *dump.ParseError
	if !errors.As(err, &pe) || pe.Line != 3 {
		t.Errorf("bad record: %v", err)
	}
	os.WriteFile(bad, []byte("kdb5_util load_dump version 8\n"), 0o600)
	var he *dump.HeaderError
	if _, err := File(ctx, bad, db, Options{}); !errors.As(err, &he) {
		t.Errorf("bad header: %v", err)
	}
	var se *StageError
	if _, err := File(ctx, "testdata/mit-basic.dump.r111", filepath.Join(dir, "none"), Options{Update: true}); !errors.As(err, &se) || se.Stage != "while opening database" {
		t.Errorf("-update without a database: %v", err)
	}
	if _, err := File(ctx, filepath.Join(dir, "missing.dump"), db, Options{}); !errors.As(err, &se) {
		t.Errorf("missing dump: %v", err)
	}
}
