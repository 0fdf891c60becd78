package propagation

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// serveRaw runs Serve on one end of a TCP pair and returns the other end
// for a test to speak the protocol on by hand.
func serveRaw(t *testing.T, sc *ServerConfig) (net.Conn, <-chan error) {
	t.Helper()
	a, b := tcpPair(t)
	done := make(chan error, 1)
	go func() {
		done <- sc.Serve(context.Background(), b)
		b.Close()
	}()
	t.Cleanup(func() { a.Close() })
	return a, done
}

func readAll(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	return b
}

func TestServeVersionStrings(t *testing.T) {
	tests := []struct {
		name     string
		sendauth string
		appl     string
		reply    byte
		log      string
	}{
		{"bad sendauth", "KRB5_SENDAUTH_V1.1\x00", kpropVersion, 1, "ERROR Error in krb5_recvauth: Bad sendauth version was sent"},
		{"sendauth without NUL", "KRB5_SENDAUTH_V1.0", kpropVersion, 1, "ERROR Error in krb5_recvauth: Bad sendauth version was sent"},
		{"both bad", "x", "y", 1, "ERROR Error in krb5_recvauth: Bad sendauth version was sent"},
		{"bad appl", sendauthVersion, "kprop5_02\x00", 2, "ERROR Error in krb5_recvauth: Bad application version was sent (via sendauth)"},
		{"appl without NUL", sendauthVersion, "kprop5_01", 2, "ERROR Error in krb5_recvauth: Bad application version was sent (via sendauth)"},
		{"empty appl", sendauthVersion, "", 2, "ERROR Error in krb5_recvauth: Bad application version was sent (via sendauth)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
			logs := &logBuffer{}
			c, done := serveRaw(t, r.serverConfig(&memStore{}, slog.New(logs)))
			if err := WriteMessage(c, []byte(tt.sendauth), []byte(tt.appl)); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, c)
			if !bytes.Equal(got, []byte{tt.reply}) {
				t.Fatalf("reply %x, want %02x and close", got, tt.reply)
			}
			if err := <-done; err == nil {
				t.Fatal("Serve succeeded")
			}
			if !logs.has(tt.log) {
				t.Fatalf("log lacks %q:\n%s", tt.log, logs)
			}
		})
	}
}

func TestSendVersionReplies(t *testing.T) {
	for _, tt := range []struct {
		reply []byte
		want  string
	}{
		{[]byte{1}, "kprop: Bad sendauth version was sent while authenticating to server"},
		{[]byte{2}, "kprop: Bad application version was sent (via sendauth) while authenticating to server"},
		{[]byte{7}, "kprop: Bad response (during sendauth exchange) while authenticating to server"},
		{nil, "kprop: Software caused connection abort while authenticating to server"},
	} {
		r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
		a, b := tcpPair(t)
		go func() {
			ReadMessage(b, 100)
			ReadMessage(b, 100)
			b.Write(tt.reply)
			b.Close()
		}()
		err := r.clientConfig(t, krb5x.EnctypeAES256CTSHMACSHA196).Send(context.Background(), a, bytes.NewReader(nil), 0)
		a.Close()
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("err %T %v", err, err)
		}
		if got := e.Lines("kprop"); len(got) != 1 || got[0] != tt.want {
			t.Errorf("reply %x: lines %q, want %q", tt.reply, got, tt.want)
		}
	}
}

// TestAuthRejections covers the KRB-ERRORs recvauth sends (spec §2.5) and
// how kprop reports them.
func TestAuthRejections(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		setup func(r *testRealm, cc *ClientConfig, sc *ServerConfig)
		code  int32
		text  string
	}{
		{"no key", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			sc.Keys = func([]string, string, uint32, int32) (types.EncryptionKey, error) {
				return types.EncryptionKey{}, krb5x.ErrNoKey
			}
		}, 45, "Service key not available"},
		{"other enctype in keytab", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			other := *r
			other.serviceKey, _ = krb5x.RandomKey(krb5x.EnctypeAES128CTSHMACSHA196)
			sc.Keys = other.keys()
		}, 45, "Service key not available"},
		{"wrong kvno", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			other := *r
			other.kvno = 3
			sc.Keys = other.keys()
		}, 44, krb5x.ErrorText(44)},
		{"wrong key", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			other := *r
			other.serviceKey, _ = krb5x.RandomKey(r.serviceKey.KeyType)
			sc.Keys = other.keys()
		}, 31, krb5x.ErrorText(31)},
		{"not us", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			other := *r
			other.acceptor = types.PrincipalName{NameType: 3, NameString: []string{"host", "elsewhere"}}
			sc.Keys = other.keys()
		}, 35, "The ticket isn't for us"},
		{"clock skew", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			cc.Now = func() time.Time { return now.Add(time.Hour) }
		}, 37, krb5x.ErrorText(37)},
		{"expired ticket", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			cc.Ticket, cc.SessionKey = r.ticket(t, krb5x.EnctypeAES256CTSHMACSHA196, now, func(e *messages.EncTicketPart) {
				e.StartTime = now.Add(-3 * time.Hour).UTC().Truncate(time.Second)
				e.EndTime = now.Add(-2 * time.Hour).UTC().Truncate(time.Second)
			})
		}, 32, krb5x.ErrorText(32)},
		{"ticket not yet valid", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			cc.Ticket, cc.SessionKey = r.ticket(t, krb5x.EnctypeAES256CTSHMACSHA196, now, func(e *messages.EncTicketPart) {
				e.StartTime = now.Add(2 * time.Hour).UTC().Truncate(time.Second)
			})
		}, 33, krb5x.ErrorText(33)},
		{"client mismatch", func(r *testRealm, cc *ClientConfig, sc *ServerConfig) {
			cc.ClientName = types.PrincipalName{NameType: 3, NameString: []string{"host", "intruder"}}
		}, 36, krb5x.ErrorText(36)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
			cc := r.clientConfig(t, krb5x.EnctypeAES256CTSHMACSHA196)
			store := &memStore{}
			logs := &logBuffer{}
			sc := r.serverConfig(store, slog.New(logs))
			tt.setup(r, cc, sc)
			cerr, serr := runSession(t, cc, sc, testDump(100))
			var e *Error
			if !errors.As(cerr, &e) || e.Remote == nil {
				t.Fatalf("client error %v, want a rejection", cerr)
			}
			if e.Remote.Code != tt.code || e.Remote.Text != tt.text {
				t.Fatalf("KRB-ERROR %d %q, want %d %q", e.Remote.Code, e.Remote.Text, tt.code, tt.text)
			}
			want := []string{
				"kprop: Server rejected authentication (during sendauth exchange) while authenticating to server",
				"kprop: " + krb5x.ErrorText(tt.code) + " signalled from server",
				"Error text from server: " + tt.text,
			}
			if got := e.Lines("kprop"); !reflect.DeepEqual(got, want) {
				t.Fatalf("lines %q\nwant %q", got, want)
			}
			if serr == nil || !logs.has("ERROR Error in krb5_recvauth: "+tt.text) {
				t.Fatalf("server %v, log:\n%s", serr, logs)
			}
			if store.committed || store.size != 0 {
				t.Fatal("store used")
			}
		})
	}
}

// TestRecvauthErrorBytes checks the KRB-ERROR recvauth sends field by
// field against MIT's capture (spec §2.5): no ctime, no client, the
// acceptor as server, e-text NUL-terminated.
func TestRecvauthErrorBytes(t *testing.T) {
	r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
	sc := r.serverConfig(&memStore{}, nil)
	sc.Realm = "KRBTEST.COM"
	sc.Acceptor = types.PrincipalName{NameType: 3, NameString: []string{"host", "vm"}}
	sc.Keys = func([]string, string, uint32, int32) (types.EncryptionKey, error) {
		return types.EncryptionKey{}, krb5x.ErrNoKey
	}
	stime := time.Date(2026, 11, 23, 15, 25, 41, 390674000, time.UTC)
	sc.Now = func() time.Time { return stime }
	sc.Replay = nil
	c, _ := serveRaw(t, sc)
	cc := r.clientConfig(t, krb5x.EnctypeAES256CTSHMACSHA196)
	ticket, _ := krb5x.MarshalTicket(cc.Ticket)
	apreq, _, _, err := krb5x.MakeAPReq(ticket, cc.SessionKey, testRealmName, r.client, stime, 5)
	if err != nil {
		t.Fatal(err)
	}
	WriteMessage(c, []byte(sendauthVersion), []byte(kpropVersion))
	WriteMessage(c, apreq)
	got := readAll(t, c)
	want, _ := hex.DecodeString("00" + "00000071" +
		"7e6f306da003020105a10302011ea411180f32303236313132333135323534315aa505020305f612a60302012da90d1b0b4b5242544553542e434f4daa153013a003020103a10c300a1b04686f73741b02766dab1c1b1a53657276696365206b6579206e6f7420617661696c61626c6500")
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
}

func TestServeGarbageAPReq(t *testing.T) {
	r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
	logs := &logBuffer{}
	c, done := serveRaw(t, r.serverConfig(&memStore{}, slog.New(logs)))
	WriteMessage(c, []byte(sendauthVersion), []byte(kpropVersion))
	WriteMessage(c, []byte{0x6e, 0x03, 0x02, 0x01, 0x05})
	got := readAll(t, c)
	if len(got) < 6 || got[0] != 0 {
		t.Fatalf("reply %x", got)
	}
	msg, err := ReadMessage(bytes.NewReader(got[1:]), MaxAuthMessage)
	if err != nil {
		t.Fatal(err)
	}
	kerr, err := krb5x.ReadError(msg)
	if err != nil {
		t.Fatal(err)
	}
	if kerr.Code != 60 || !strings.HasPrefix(kerr.Text, "ASN.1 ") {
		t.Fatalf("KRB-ERROR %d %q", kerr.Code, kerr.Text)
	}
	<-done
	if !logs.has("ERROR Error in krb5_recvauth: " + kerr.Text) {
		t.Fatalf("log:\n%s", logs)
	}
}

// teeConn records what a client writes.
type teeConn struct {
	net.Conn
	w bytes.Buffer
}

func (c *teeConn) Write(p []byte) (int, error) { c.w.Write(p); return c.Conn.Write(p) }

func TestServeReplay(t *testing.T) {
	for _, file := range []bool{false, true} {
		r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
		rc := NewReplayCache("", nil)
		if file {
			rc = NewReplayCache(r.dir+"/krb5_0.rcache2", nil)
		}
		sc := r.serverConfig(&memStore{}, nil)
		sc.Replay = rc
		// A first, successful session, recorded.
		a, b := tcpPair(t)
		done := make(chan error, 1)
		go func() { done <- sc.Serve(context.Background(), b); b.Close() }()
		tee := &teeConn{Conn: a}
		dump := testDump(10)
		if err := r.clientConfig(t, 18).Send(context.Background(), tee, bytes.NewReader(dump), 10); err != nil {
			t.Fatal(err)
		}
		a.Close()
		<-done
		// The same bytes again, to a server sharing only the file (or
		// the memory cache).
		sc2 := r.serverConfig(&memStore{}, nil)
		if file {
			sc2.Replay = NewReplayCache(rc.Path(), nil)
		} else {
			sc2.Replay = rc
		}
		c, done2 := serveRaw(t, sc2)
		c.Write(tee.w.Bytes())
		got := readAll(t, c)
		if len(got) < 6 || got[0] != 0 {
			t.Fatalf("reply %x", got)
		}
		msg, _ := ReadMessage(bytes.NewReader(got[1:]), MaxAuthMessage)
		kerr, err := krb5x.ReadError(msg)
		if err != nil || kerr.Code != 34 {
			t.Fatalf("file %v: %v %v", file, kerr, err)
		}
		<-done2
	}
}
