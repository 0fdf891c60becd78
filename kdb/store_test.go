package kdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testPrincipal(t *testing.T, name string) *Principal {
	t.Helper()
	n, err := ParseName(name, "EXAMPLE.TEST")
	if err != nil {
		t.Fatal(err)
	}
	p := &Principal{Name: n, Attributes: AttrRequiresPreAuth, MaxLife: 36000, MaxRenewableLife: 604800,
		Expiration: 1893456000, LastSuccess: 5, FailAuthCount: 2}
	p.SetLastPwdChange(1700000000)
	p.SetModPrinc(1700000000, "root/admin@EXAMPLE.TEST")
	p.KeyData = []KeyData{
		{Version: 2, KVNO: 2, Enctype: 18, Contents: []byte{1, 2, 3}, SaltType: 4, Salt: []byte("xy")},
		{Version: 1, KVNO: 1, Enctype: 17, Contents: []byte{4, 5}},
	}
	return p
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "principal")
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names := []string{"bob", "alice", "K/M", "host/a.example.test", `odd\@x/y`, "Alice"}
	err = s.Update(ctx, func(tx *Tx) error {
		for _, n := range names {
			if err := tx.Insert(ctx, testPrincipal(t, n)); err != nil {
				return err
			}
		}
		return tx.PutPolicy(ctx, &Policy{Name: "pwpol", PwMinLength: 8, AllowedKeysalts: "aes256-cts:normal"})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := testPrincipal(t, "alice")
	got, err := s.Get(ctx, "alice@EXAMPLE.TEST")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	var order []string
	err = s.Snapshot(ctx, func(v *View) error {
		return v.Principals(ctx, false, func(p *Principal) error {
			order = append(order, p.Name.String())
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"Alice@EXAMPLE.TEST", "K/M@EXAMPLE.TEST", "alice@EXAMPLE.TEST", "bob@EXAMPLE.TEST",
		"host/a.example.test@EXAMPLE.TEST", `odd\@x/y@EXAMPLE.TEST`}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("order = %q, want %q", order, wantOrder)
	}
	err = s.Update(ctx, func(tx *Tx) error { return tx.Insert(ctx, testPrincipal(t, "bob")) })
	if !errors.Is(err, ErrExists) {
		t.Errorf("Insert of existing = %v, want ErrExists", err)
	}
	pol, err := s.GetPolicy(ctx, "pwpol")
	if err != nil || pol.PwMinLength != 8 || pol.AllowedKeysalts != "aes256-cts:normal" {
		t.Errorf("GetPolicy = %+v, %v", pol, err)
	}
	if _, err := s.Get(ctx, "nobody@EXAMPLE.TEST"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing = %v", err)
	}
}

func TestLockoutOverridesRecord(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "principal")
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := testPrincipal(t, "alice")
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLockout(ctx, "alice@EXAMPLE.TEST", Lockout{LastFailed: 99, FailCount: 3}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, "alice@EXAMPLE.TEST")
	if got.LastFailed != 99 || got.FailAuthCount != 3 || got.LastSuccess != 0 {
		t.Errorf("lockout not applied: %+v", got)
	}
	// Lookup gives the record as stored; Lockout the live counters.
	if rec, err := s.Lookup(ctx, "alice@EXAMPLE.TEST"); err != nil || rec.LastSuccess != 5 || rec.FailAuthCount != p.FailAuthCount {
		t.Errorf("Lookup = %+v, %v; want the stored counters", rec, err)
	}
	if l, ok, err := s.Lockout(ctx, "alice@EXAMPLE.TEST"); err != nil || !ok || l != (Lockout{LastFailed: 99, FailCount: 3}) {
		t.Errorf("Lockout = %+v, %v, %v", l, ok, err)
	}
	if _, ok, err := s.Lockout(ctx, "bob@EXAMPLE.TEST"); err != nil || ok {
		t.Errorf("Lockout of a principal without counters: ok %v, %v", ok, err)
	}
	// An admin write of the record (modprinc -unlock) replaces the counters.
	p.FailAuthCount = 0
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, "alice@EXAMPLE.TEST")
	if got.FailAuthCount != 0 || got.LastSuccess != 5 {
		t.Errorf("record counters not restored: %+v", got)
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "principal")
	os.WriteFile(path, []byte("x"), 0o600)
	if _, err := Create(path); !errors.Is(err, ErrDBExists) {
		t.Fatalf("Create over a file = %v, want ErrDBExists", err)
	}
}

func TestOpenRejectsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	db2, err := os.ReadFile("testdata/mit-db2-principal")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		content []byte
		want    string
	}{
		"db2":   {db2, "an MIT Kerberos DB2 database"},
		"empty": {nil, "an empty file"},
		"text":  {[]byte("hello world, this is not a database at all"), "not a krb5prop database"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			os.WriteFile(path, c.content, 0o600)
			_, err := Open(path, ReadWrite)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "kdb5_util dump") {
				t.Fatalf("Open = %v, want mention of %q and the migration", err, c.want)
			}
			after, _ := os.ReadFile(path)
			if string(after) != string(c.content) {
				t.Errorf("file changed by Open")
			}
			for _, side := range []string{"-wal", "-shm", ".lockout"} {
				if _, err := os.Stat(path + side); err == nil {
					t.Errorf("Open left %s%s behind", name, side)
				}
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "missing"), ReadOnly); !errors.Is(err, ErrNoDatabase) {
		t.Errorf("Open missing = %v", err)
	}
}

func TestDestroy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "principal")
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := Destroy(path); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(path + "*")
	if len(matches) != 0 {
		t.Errorf("left behind: %v", matches)
	}
}
