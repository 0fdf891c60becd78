package propagation

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// A captured MIT session (testdata/mit-sessions, from MIT 1.20.1 kprop to
// MIT kpropd on Debian 12, spec §0): what each side sent, in order.
type capture struct {
	start    time.Time
	c2s, s2c []byte
}

func loadCapture(t testing.TB, name string) capture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "mit-sessions", name))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][3]any
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	var c capture
	for i, row := range rows {
		ts, _ := row[0].(float64)
		dir, _ := row[1].(string)
		data, _ := row[2].(string)
		if i == 0 {
			c.start = time.Unix(int64(ts), int64((ts-float64(int64(ts)))*1e9))
		}
		if data == "EOF" {
			continue
		}
		b, err := hex.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		if dir == "C2S" {
			c.c2s = append(c.c2s, b...)
		} else {
			c.s2c = append(c.s2c, b...)
		}
	}
	return c
}

func captureKeys(t testing.TB, name string) []keytab.Entry {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "mit-sessions", name))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := keytab.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// scriptConn is a net.Conn whose peer is a script: reads come from in,
// writes are collected, deadlines are accepted and ignored.
type scriptConn struct {
	in  io.Reader
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error) { return c.in.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}
func (c *scriptConn) Close() error        { return nil }
func (c *scriptConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 754} }
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

var vmAcceptor = keytab.Principal{Components: []string{"host", "vm"}, Realm: "KRBTEST.COM"}

// TestServeMITKprop feeds what MIT's kprop sent in the captured sessions to
// Serve: our kpropd must authenticate it, decrypt all three chained
// blocks, and confirm.
func TestServeMITKprop(t *testing.T) {
	for _, tc := range []struct{ session, keytab string }{
		{"session-aes256-sha1.json", "test-keytab-aes-sha1.kt"},
		{"session-aes256-sha384.json", "test-keytab-aes-sha384.kt"},
	} {
		t.Run(tc.session, func(t *testing.T) {
			c := loadCapture(t, tc.session)
			acl := filepath.Join(t.TempDir(), "acl")
			os.WriteFile(acl, []byte("host/vm@KRBTEST.COM\n"), 0o600)
			store := &memStore{}
			logs := &logBuffer{}
			sc := &ServerConfig{
				Realm: "KRBTEST.COM", Acceptor: types.PrincipalName{NameType: 3, NameString: []string{"host", "vm"}},
				Keys: KeytabKeys(captureKeys(t, tc.keytab), vmAcceptor), ACLPath: acl,
				Replay: NewReplayCache("", nil), Store: store, Log: slog.New(logs),
				Now: func() time.Time { return c.start },
			}
			conn := &scriptConn{in: bytes.NewReader(c.c2s)}
			if err := sc.Serve(context.Background(), conn); err != nil {
				t.Fatalf("Serve: %v\n%s", err, logs)
			}
			if !store.committed || len(store.data) != 67319 || store.client != "host/vm@KRBTEST.COM" {
				t.Fatalf("committed %v, %d bytes from %q", store.committed, len(store.data), store.client)
			}
			if !bytes.HasPrefix(store.data, []byte("kdb5_util load_dump version 7\n")) {
				t.Fatalf("dump starts %q", store.data[:40])
			}
			// Our replies have MIT's shape: 00, empty message, AP-REP,
			// and the confirmation KRB-SAFE (same length as MIT's).
			out := conn.out.Bytes()
			if out[0] != 0 || !bytes.Equal(out[1:5], []byte{0, 0, 0, 0}) {
				t.Fatalf("replies start %x", out[:8])
			}
			if len(out) != len(c.s2c) {
				t.Fatalf("we sent %d bytes, MIT's kpropd %d", len(out), len(c.s2c))
			}
		})
	}
}

// TestSendToMITKpropd plays MIT kpropd's side of the captured sessions to
// Send: the same ticket, authenticator time and dump; our client must
// accept MIT's AP-REP and confirmation.
func TestSendToMITKpropd(t *testing.T) {
	for _, tc := range []struct{ session, keytab string }{
		{"session-aes256-sha1.json", "test-keytab-aes-sha1.kt"},
		{"session-aes256-sha384.json", "test-keytab-aes-sha384.kt"},
	} {
		t.Run(tc.session, func(t *testing.T) {
			c := loadCapture(t, tc.session)
			entries := captureKeys(t, tc.keytab)
			// Recover what kprop had: the ticket, its session key, and
			// the authenticator's time (the AP-REP echoes it).
			frames := splitFrames(t, c.c2s)
			info, err := krb5x.ReadAPReq(frames[2], KeytabKeys(entries, vmAcceptor), c.start, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			var req messages.APReq
			if err := req.Unmarshal(frames[2]); err != nil {
				t.Fatal(err)
			}
			// The dump itself, decrypted from MIT's blocks.
			sessionKey := info.SessionKey
			priv, _ := krb5x.NewPrivStream(sessionKey)
			var dump []byte
			for _, f := range frames[4:] {
				m, err := priv.Open(f)
				if err != nil {
					t.Fatal(err)
				}
				dump = append(dump, m.UserData...)
			}
			cc := &ClientConfig{
				Ticket: req.Ticket, SessionKey: sessionKey,
				ClientRealm: info.ClientRealm, ClientName: info.Client,
				Now: func() time.Time { return info.CTime.Add(time.Duration(info.CUsec) * time.Microsecond) },
			}
			conn := &scriptConn{in: bytes.NewReader(c.s2c)}
			if err := cc.Send(context.Background(), conn, bytes.NewReader(dump), int64(len(dump))); err != nil {
				t.Fatalf("Send: %v", err)
			}
			// And what we sent has MIT kprop's framing and sizes.
			ours := splitFrames(t, conn.out.Bytes())
			if len(ours) != len(frames) {
				t.Fatalf("%d frames, MIT kprop sent %d", len(ours), len(frames))
			}
			for i := range ours {
				if i == 2 {
					continue // the AP-REQ's authenticator has another seq number
				}
				if len(ours[i]) != len(frames[i]) {
					t.Errorf("frame %d: %d bytes, MIT %d", i, len(ours[i]), len(frames[i]))
				}
			}
			if !bytes.Equal(conn.out.Bytes()[:37], c.c2s[:37]) {
				t.Errorf("version strings differ")
			}
		})
	}
}

func splitFrames(t testing.TB, b []byte) [][]byte {
	t.Helper()
	r := bytes.NewReader(b)
	var out [][]byte
	for r.Len() > 0 {
		m, err := ReadMessage(r, MaxBlockMessage)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}
