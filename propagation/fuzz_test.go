package propagation

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
)

// FuzzServe feeds arbitrary bytes to Serve as the client's side of a
// session. The seeds are MIT kprop's captured sessions, which
// authenticate (the clock is the capture's and the keytab its), so
// mutations reach the size, the blocks and the load, not only the
// handshake. Serve must never panic and must always return.
func FuzzServe(f *testing.F) {
	c1 := loadCapture(f, "session-aes256-sha1.json")
	c2 := loadCapture(f, "session-aes256-sha384.json")
	f.Add(c1.c2s)
	f.Add(c2.c2s)
	f.Add(c1.c2s[:37])
	f.Add(c1.c2s[:632])
	f.Add([]byte{0, 0, 0, 0x13})
	f.Add(append(append([]byte{}, c1.c2s[:37]...), 0, 0, 0, 5, 0x6e, 3, 2, 1, 5))
	keys := append(captureKeys(f, "test-keytab-aes-sha1.kt"), captureKeys(f, "test-keytab-aes-sha384.kt")...)
	acl := f.TempDir() + "/acl"
	if err := writeFile(acl, "host/vm@KRBTEST.COM\n"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		store := &memStore{}
		sc := &ServerConfig{
			Realm: "KRBTEST.COM", Acceptor: types.PrincipalName{NameType: 3, NameString: []string{"host", "vm"}},
			Keys: KeytabKeys(keys, vmAcceptor), ACLPath: acl, Store: store,
			Now: func() time.Time { return c1.start },
		}
		conn := &scriptConn{in: bytes.NewReader(in)}
		err := sc.Serve(context.Background(), conn)
		if err == nil && !store.committed {
			t.Fatal("success without a load")
		}
		if store.committed && uint64(len(store.data)) != store.size {
			t.Fatalf("committed %d bytes of an announced %d", len(store.data), store.size)
		}
	})
}
