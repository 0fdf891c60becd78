package replica

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/synth"
	"github.com/krb5prop/krb5prop/kdb/dumpload"
)

// BenchmarkDeliveryUnchanged times the comparison of a 100,000-principal
// database with its snapshot when nothing changed: the cost every
// delivery pays before its changes.
func BenchmarkDeliveryUnchanged(b *testing.B) {
	dir := b.TempDir()
	var dump bytes.Buffer
	if err := synth.WriteDump(&dump, synth.Realm{Name: testRealm, MasterPassword: "pw", Users: 100000, Generation: 1}); err != nil {
		b.Fatal(err)
	}
	db := filepath.Join(dir, "principal")
	if _, err := dumpload.Stream(context.Background(), &dump, "synth", db, dumpload.Options{}); err != nil {
		b.Fatal(err)
	}
	cfg := Config{Name: "bench", Plugin: "/bin/true", Realm: testRealm, RetryInterval: time.Second, MaxRetryInterval: time.Second,
		Timeout: time.Minute, StateDir: filepath.Join(dir, "state")}
	rep, err := New(cfg, Source{DBPath: db}, nil)
	if err != nil {
		b.Fatal(err)
	}
	rep.plugin = &recorder{}
	if _, err := rep.Deliver(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if got, err := rep.Deliver(context.Background()); err != nil || got.Delivered {
			b.Fatalf("%+v, %v", got, err)
		}
	}
}
