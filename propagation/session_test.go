package propagation

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/krb5x"
)

const testRealmName = "EXAMPLE.COM"

// testRealm holds what both ends of a session need: the replica's host
// key, a ticket for it, and kpropd's files.
type testRealm struct {
	serviceKey types.EncryptionKey
	kvno       uint32
	acceptor   types.PrincipalName
	client     types.PrincipalName
	aclPath    string
	dir        string
}

func newTestRealm(t testing.TB, ticketEtype int32) *testRealm {
	t.Helper()
	key, err := krb5x.RandomKey(ticketEtype)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := &testRealm{
		serviceKey: key,
		kvno:       2,
		acceptor:   types.PrincipalName{NameType: 3, NameString: []string{"host", "replica.example.com"}},
		client:     types.PrincipalName{NameType: 3, NameString: []string{"host", "primary.example.com"}},
		aclPath:    filepath.Join(dir, "kpropd.acl"),
		dir:        dir,
	}
	r.writeACL(t, "host/primary.example.com@EXAMPLE.COM\n")
	return r
}

func (r *testRealm) writeACL(t testing.TB, text string) {
	t.Helper()
	if err := os.WriteFile(r.aclPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ticket issues a ticket for the replica as the KDC would, with a session
// key of sessionEtype; edit may change the encrypted part.
func (r *testRealm) ticket(t testing.TB, sessionEtype int32, now time.Time, edit ...func(*messages.EncTicketPart)) (messages.Ticket, types.EncryptionKey) {
	t.Helper()
	skey, err := krb5x.RandomKey(sessionEtype)
	if err != nil {
		t.Fatal(err)
	}
	etp := messages.EncTicketPart{
		Flags:     asn1.BitString{Bytes: []byte{0, 0x40, 0, 0}, BitLength: 32}, // initial
		Key:       skey,
		CRealm:    testRealmName,
		CName:     r.client,
		AuthTime:  now.Add(-time.Minute).UTC().Truncate(time.Second),
		StartTime: now.Add(-time.Minute).UTC().Truncate(time.Second),
		EndTime:   now.Add(10 * time.Hour).UTC().Truncate(time.Second),
		RenewTill: now.Add(10 * time.Hour).UTC().Truncate(time.Second),
	}
	for _, f := range edit {
		f(&etp)
	}
	b, err := asn1.Marshal(etp)
	if err != nil {
		t.Fatal(err)
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart)
	ct, err := krb5x.Encrypt(r.serviceKey, 2, b)
	if err != nil {
		t.Fatal(err)
	}
	return messages.Ticket{
		TktVNO:  5,
		Realm:   testRealmName,
		SName:   r.acceptor,
		EncPart: types.EncryptedData{EType: r.serviceKey.KeyType, KVNO: int(r.kvno), Cipher: ct},
	}, skey
}

func (r *testRealm) keys() KeyLookup {
	return KeytabKeys([]keytab.Entry{{
		Principal: keytab.Principal{Components: r.acceptor.NameString, Realm: testRealmName, NameType: 3},
		KVNO:      r.kvno,
		Key:       r.serviceKey,
	}}, keytab.Principal{Components: r.acceptor.NameString, Realm: testRealmName})
}

func (r *testRealm) clientConfig(t testing.TB, sessionEtype int32) *ClientConfig {
	tkt, skey := r.ticket(t, sessionEtype, time.Now())
	return &ClientConfig{
		Ticket: tkt, SessionKey: skey, ClientRealm: testRealmName, ClientName: r.client,
		Timeout: 10 * time.Second, Overall: time.Minute,
	}
}

func (r *testRealm) serverConfig(store Store, log *slog.Logger) *ServerConfig {
	return &ServerConfig{
		Realm: testRealmName, Acceptor: r.acceptor, Keys: r.keys(), ACLPath: r.aclPath,
		Replay: NewReplayCache("", nil), Timeout: 10 * time.Second, Overall: time.Minute,
		Store: store, Log: log,
	}
}

// memStore keeps received dumps in memory.
type memStore struct {
	mu         sync.Mutex
	commitErr  error
	beginErr   error
	commitHook func()
	client     string
	size       uint64
	data       []byte
	committed  bool
	aborted    bool
}

func (m *memStore) Begin(ctx context.Context, client string, size uint64) (Transfer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.beginErr != nil {
		return nil, m.beginErr
	}
	m.client, m.size = client, size
	return &memTransfer{m: m}, nil
}

type memTransfer struct {
	m   *memStore
	buf bytes.Buffer
}

func (x *memTransfer) Write(p []byte) (int, error) { return x.buf.Write(p) }
func (x *memTransfer) Commit(ctx context.Context) error {
	if x.m.commitHook != nil {
		x.m.commitHook()
	}
	x.m.mu.Lock()
	defer x.m.mu.Unlock()
	if x.m.commitErr != nil {
		return x.m.commitErr
	}
	x.m.data = append([]byte(nil), x.buf.Bytes()...)
	x.m.committed = true
	return nil
}
func (x *memTransfer) Abort() {
	x.m.mu.Lock()
	x.m.aborted = true
	x.m.mu.Unlock()
}

// logBuffer collects log messages.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) Enabled(context.Context, slog.Level) bool { return true }
func (l *logBuffer) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logBuffer) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logBuffer) WithGroup(string) slog.Handler      { return l }
func (l *logBuffer) has(line string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if x == line {
			return true
		}
	}
	return false
}
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// runSession runs Send and Serve against each other over loopback TCP.
func runSession(t testing.TB, cc *ClientConfig, sc *ServerConfig, dump []byte) (clientErr, serverErr error) {
	t.Helper()
	a, b := tcpPair(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		serverErr = sc.Serve(context.Background(), b)
		b.Close()
	}()
	clientErr = cc.Send(context.Background(), a, bytes.NewReader(dump), int64(len(dump)))
	a.Close()
	wg.Wait()
	return clientErr, serverErr
}

func testDump(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

var sessionEtypes = []struct {
	name  string
	etype int32
}{
	{"aes256-sha1", krb5x.EnctypeAES256CTSHMACSHA196},
	{"aes128-sha1", krb5x.EnctypeAES128CTSHMACSHA196},
	{"aes256-sha384", krb5x.EnctypeAES256CTSHMACSHA384},
	{"aes128-sha256", krb5x.EnctypeAES128CTSHMACSHA256},
}

func TestPropagate(t *testing.T) {
	sizes := []int{0, 1, 32767, 32768, 32769, 3*32768 + 1783}
	for _, et := range sessionEtypes {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", et.name, size), func(t *testing.T) {
				r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
				store := &memStore{}
				logs := &logBuffer{}
				cc := r.clientConfig(t, et.etype)
				var debug bytes.Buffer
				cc.Debug = &debug
				dump := testDump(size)
				cerr, serr := runSession(t, cc, r.serverConfig(store, slog.New(logs)), dump)
				if cerr != nil || serr != nil {
					t.Fatalf("client: %v\nserver: %v\nlog:\n%s", cerr, serr, logs)
				}
				if !store.committed || !bytes.Equal(store.data, dump) {
					t.Fatalf("store committed %v with %d bytes, want %d", store.committed, len(store.data), size)
				}
				if store.client != "host/primary.example.com@EXAMPLE.COM" || store.size != uint64(size) {
					t.Fatalf("Begin(%q, %d)", store.client, store.size)
				}
				var want strings.Builder
				for sent := 0; sent < size; {
					sent = min(sent+BlockSize, size)
					fmt.Fprintf(&want, "%d bytes sent.\n", sent)
				}
				if debug.String() != want.String() {
					t.Fatalf("debug output %q, want %q", debug.String(), want.String())
				}
				for _, l := range []string{
					"INFO Connection from 127.0.0.1",
					"DEBUG authenticated client: host/primary.example.com@EXAMPLE.COM (etype == aes256-cts-hmac-sha1-96)",
					"DEBUG Full propagation transfer started.",
					"DEBUG Full propagation transfer finished.",
				} {
					if !logs.has(l) {
						t.Errorf("log lacks %q:\n%s", l, logs)
					}
				}
			})
		}
	}
}

func TestPropagateLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA384)
	store := &memStore{}
	dump := testDump(5<<20 + 12345)
	cerr, serr := runSession(t, r.clientConfig(t, krb5x.EnctypeAES256CTSHMACSHA384), r.serverConfig(store, nil), dump)
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v\nserver: %v", cerr, serr)
	}
	if !bytes.Equal(store.data, dump) {
		t.Fatal("dump differs")
	}
}

// TestPropagatePipe runs a session over net.Pipe, which has no buffering
// and no IP addresses (directional s-addresses).
func TestPropagatePipe(t *testing.T) {
	r := newTestRealm(t, krb5x.EnctypeAES128CTSHMACSHA196)
	store := &memStore{}
	a, b := net.Pipe()
	dump := testDump(70000)
	done := make(chan error, 1)
	go func() { done <- r.serverConfig(store, nil).Serve(context.Background(), b); b.Close() }()
	cerr := r.clientConfig(t, krb5x.EnctypeAES128CTSHMACSHA196).Send(context.Background(), a, bytes.NewReader(dump), int64(len(dump)))
	a.Close()
	if serr := <-done; cerr != nil || serr != nil {
		t.Fatalf("client: %v\nserver: %v", cerr, serr)
	}
	if !bytes.Equal(store.data, dump) {
		t.Fatal("dump differs")
	}
}
