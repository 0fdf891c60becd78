package propagation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// authedClient authenticates to the server at the other end of conn with
// our client's handshake, for tests that then misbehave by hand.
func authedClient(t *testing.T, cc *ClientConfig, conn net.Conn) *clientSession {
	t.Helper()
	st, stop := newStream(context.Background(), conn, 10*time.Second, time.Minute)
	t.Cleanup(stop)
	s := &clientSession{cfg: cc, st: st, now: time.Now, local: localAddress(conn.LocalAddr(), 0)}
	if err := s.authenticate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *clientSession) safe(t *testing.T, data []byte, seq uint32) []byte {
	t.Helper()
	der, err := krb5x.MakeSafe(s.key, krb5x.SafeMessage{UserData: data, Seq: seq, SAddr: s.local})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// serverReply reads the rest of the stream: the KRB-ERROR the server sent
// before closing, if any.
func serverReply(t *testing.T, c net.Conn) *krb5x.Error {
	t.Helper()
	got := readAll(t, c)
	if len(got) == 0 {
		return nil
	}
	msg, err := ReadMessage(bytes.NewReader(got), MaxAuthMessage)
	if err != nil {
		t.Fatalf("reply %x: %v", got, err)
	}
	kerr, err := krb5x.ReadError(msg)
	if err != nil {
		t.Fatalf("reply %x: %v", msg, err)
	}
	return kerr
}

// TestServeTransferErrors sends damaged size and block messages after a
// good authentication (spec §6.1 and the tampering scenarios of §9.6).
func TestServeTransferErrors(t *testing.T) {
	three := testDump(2*BlockSize + 1783)
	tests := []struct {
		name string
		// send writes messages after authentication.
		send func(t *testing.T, s *clientSession)
		code int32
		text string
		log  string
	}{
		{"size checksum flipped", func(t *testing.T, s *clientSession) {
			m := s.safe(t, AppendSize(nil, 100), s.localSeq)
			m[len(m)-1] ^= 1
			s.st.writeMessage(m)
		}, 41, "while decoding database size", "Message stream modified while decoding database size from client"},
		{"size user-data flipped", func(t *testing.T, s *clientSession) {
			m := s.safe(t, AppendSize(nil, 100), s.localSeq)
			i := bytes.Index(m, []byte{0x04, 0x04, 0, 0, 0, 100})
			m[i+5] ^= 1
			s.st.writeMessage(m)
		}, 41, "while decoding database size", "Message stream modified while decoding database size from client"},
		{"size sequence", func(t *testing.T, s *clientSession) {
			s.st.writeMessage(s.safe(t, AppendSize(nil, 100), s.localSeq+1))
		}, 42, "while decoding database size", krb5x.ErrorText(42) + " while decoding database size from client"},
		{"size r-address not ours", func(t *testing.T, s *clientSession) {
			other := krb5x.AddressOf(net.IPv4(10, 9, 8, 7))
			der, _ := krb5x.MakeSafe(s.key, krb5x.SafeMessage{UserData: AppendSize(nil, 100), Seq: s.localSeq, SAddr: s.local, RAddr: &other})
			s.st.writeMessage(der)
		}, 38, "while decoding database size", krb5x.ErrorText(38) + " while decoding database size from client"},
		{"size is a KRB-PRIV", func(t *testing.T, s *clientSession) {
			p, _ := krb5x.NewPrivStream(s.key)
			m, _ := p.Seal(krb5x.PrivMessage{UserData: []byte("x"), Seq: s.localSeq, SAddr: s.local})
			s.st.writeMessage(m)
		}, 40, "while decoding database size", krb5x.ErrorText(40) + " while decoding database size from client"},
		{"size malformed", func(t *testing.T, s *clientSession) {
			s.st.writeMessage(s.safe(t, []byte{0, 0, 0, 0, 1}, s.localSeq))
		}, 60, "malformed database size message", "Generic error (see e-text) malformed database size message from client"},
		{"size non-canonical", func(t *testing.T, s *clientSession) {
			s.st.writeMessage(s.safe(t, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, s.localSeq))
		}, 60, "malformed database size message", "Generic error (see e-text) malformed database size message from client"},
		{"block 1 flipped", func(t *testing.T, s *clientSession) {
			sendBlocks(t, s, three, func(k int, m []byte) []byte {
				if k == 1 {
					m[len(m)-20] ^= 1
				}
				return m
			})
		}, 31, "while decoding database block starting at offset 32768", krb5x.ErrorText(31) + " while decoding database block starting at offset 32768"},
		{"block 0 dropped", func(t *testing.T, s *clientSession) {
			sendBlocks(t, s, three, func(k int, m []byte) []byte {
				if k == 0 {
					return nil
				}
				return m
			})
		}, 31, "while decoding database block starting at offset 0", krb5x.ErrorText(31) + " while decoding database block starting at offset 0"},
		{"block sequence", func(t *testing.T, s *clientSession) {
			s.localSeq++ // size with C, then blocks from C+2
			s.st.writeMessage(s.safe(t, AppendSize(nil, uint64(len(three))), s.localSeq-1))
			p, _ := krb5x.NewPrivStream(s.key)
			m, _ := p.Seal(krb5x.PrivMessage{UserData: three[:BlockSize], Seq: s.localSeq + 1, SAddr: s.local})
			s.st.writeMessage(m)
		}, 42, "while decoding database block starting at offset 0", krb5x.ErrorText(42) + " while decoding database block starting at offset 0"},
		{"size message again as block", func(t *testing.T, s *clientSession) {
			m := s.safe(t, AppendSize(nil, 100), s.localSeq)
			s.st.writeMessage(m)
			s.st.writeMessage(m)
		}, 40, "while decoding database block starting at offset 0", krb5x.ErrorText(40) + " while decoding database block starting at offset 0"},
		{"overshoot", func(t *testing.T, s *clientSession) {
			s.st.writeMessage(s.safe(t, AppendSize(nil, 10), s.localSeq))
			p, _ := krb5x.NewPrivStream(s.key)
			m, _ := p.Seal(krb5x.PrivMessage{UserData: make([]byte, 25), Seq: s.localSeq + 1, SAddr: s.local})
			s.st.writeMessage(m)
		}, 60, "Received 25 bytes, expected 10 bytes for database file", "Generic error (see e-text) Received 25 bytes, expected 10 bytes for database file"},
		{"eof before size", func(t *testing.T, s *clientSession) {
			s.st.conn.(*net.TCPConn).CloseWrite()
		}, 60, "Software caused connection abort while reading database size", "Software caused connection abort while reading size of database from client"},
		{"eof inside block", func(t *testing.T, s *clientSession) {
			s.st.writeMessage(s.safe(t, AppendSize(nil, 100), s.localSeq))
			s.st.write([]byte{0, 0, 1})
			s.st.conn.(*net.TCPConn).CloseWrite()
		}, 60, "Software caused connection abort while reading database block starting at offset 0", "Software caused connection abort while reading database block starting at offset 0"},
		{"oversized frame", func(t *testing.T, s *clientSession) {
			s.st.writeMessage(s.safe(t, AppendSize(nil, 100), s.localSeq))
			s.st.write([]byte{0x7f, 0xff, 0xff, 0xff})
		}, 60, "Message too large: 2147483647 bytes announced, limit 1048576 while reading database block starting at offset 0", "Message too large: 2147483647 bytes announced, limit 1048576 while reading database block starting at offset 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
			store := &memStore{}
			logs := &logBuffer{}
			c, done := serveRaw(t, r.serverConfig(store, slog.New(logs)))
			s := authedClient(t, r.clientConfig(t, krb5x.EnctypeAES256CTSHMACSHA196), c)
			tt.send(t, s)
			kerr := serverReply(t, c)
			serr := <-done
			if kerr == nil || kerr.Code != tt.code || kerr.Text != tt.text {
				t.Fatalf("KRB-ERROR %+v, want %d %q", kerr, tt.code, tt.text)
			}
			// kpropd's error names both ends (spec §3.7).
			if kerr.CName == nil || strings.Join(kerr.CName.NameString, "/") != "host/primary.example.com" ||
				strings.Join(kerr.SName.NameString, "/") != "host/replica.example.com" || kerr.Realm != testRealmName {
				t.Fatalf("KRB-ERROR names %+v / %+v", kerr.CName, kerr.SName)
			}
			var e *Error
			if !errors.As(serr, &e) || e.Message() != tt.log {
				t.Fatalf("Serve: %v, want %q", serr, tt.log)
			}
			if !logs.has("ERROR " + tt.log) {
				t.Fatalf("log:\n%s", logs)
			}
			if store.committed {
				t.Fatal("committed")
			}
			// How our kprop would print it.
			ce := &Error{Remote: kerr, Side: "server"}
			lines := ce.Lines("kprop")
			if tt.code == 60 {
				if len(lines) != 1 || lines[0] != "Generic remote error: "+tt.text {
					t.Fatalf("kprop lines %q", lines)
				}
			} else if len(lines) != 2 || lines[0] != "kprop: "+krb5x.ErrorText(tt.code)+" signalled from server" ||
				lines[1] != "Error text from server: "+tt.text {
				t.Fatalf("kprop lines %q", lines)
			}
		})
	}
}

// sendBlocks sends the size and dump as kprop does, passing each KRB-PRIV
// through edit (nil drops it).
func sendBlocks(t *testing.T, s *clientSession, dump []byte, edit func(k int, m []byte) []byte) {
	t.Helper()
	s.st.writeMessage(s.safe(t, AppendSize(nil, uint64(len(dump))), s.localSeq))
	s.localSeq++
	p, _ := krb5x.NewPrivStream(s.key)
	for k := 0; k*BlockSize < len(dump); k++ {
		blk := dump[k*BlockSize : min((k+1)*BlockSize, len(dump))]
		m, err := p.Seal(krb5x.PrivMessage{UserData: blk, Seq: s.localSeq, SAddr: s.local})
		if err != nil {
			t.Fatal(err)
		}
		s.localSeq++
		if m = edit(k, m); m != nil {
			if err := s.st.writeMessage(m); err != nil {
				return
			}
		}
	}
}

func TestSilentCloses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *testRealm, store *memStore, sc *ServerConfig)
		log   string
	}{
		{"not in ACL", func(r *testRealm, store *memStore, sc *ServerConfig) {
			r.writeACL(t, "host/other.example.com@EXAMPLE.COM\n")
		}, "WARN Rejected connection from unauthorized principal host/primary.example.com@EXAMPLE.COM"},
		{"ACL wrong enctype", func(r *testRealm, store *memStore, sc *ServerConfig) {
			r.writeACL(t, "host/primary.example.com@EXAMPLE.COM aes128-cts\n")
		}, "WARN Rejected connection from unauthorized principal host/primary.example.com@EXAMPLE.COM"},
		{"ACL missing", func(r *testRealm, store *memStore, sc *ServerConfig) {
			sc.ACLPath = r.dir + "/nonexistent.acl"
		}, "WARN Rejected connection from unauthorized principal host/primary.example.com@EXAMPLE.COM"},
		{"lock busy", func(r *testRealm, store *memStore, sc *ServerConfig) {
			store.beginErr = errors.New("Resource temporarily unavailable while trying to lock '/var/lib/krb5kdc/from_master.temp'")
		}, "ERROR Resource temporarily unavailable while trying to lock '/var/lib/krb5kdc/from_master.temp'"},
		{"load fails", func(r *testRealm, store *memStore, sc *ServerConfig) {
			store.commitErr = errors.New("/usr/sbin/kdb5_util returned a bad exit status (1)")
		}, "ERROR /usr/sbin/kdb5_util returned a bad exit status (1)"},
	}
	for _, tt := range tests {
		for _, size := range []int{100, 300000} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, size), func(t *testing.T) {
				r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
				store := &memStore{}
				logs := &logBuffer{}
				sc := r.serverConfig(store, slog.New(logs))
				tt.setup(r, store, sc)
				cerr, serr := runSession(t, r.clientConfig(t, krb5x.EnctypeAES256CTSHMACSHA196), sc, testDump(size))
				if serr == nil || !logs.has(tt.log) {
					t.Fatalf("Serve %v; log:\n%s", serr, logs)
				}
				var e *Error
				if !errors.As(cerr, &e) {
					t.Fatalf("client: %v", cerr)
				}
				lines := e.Lines("kprop")
				ok := len(lines) == 1 && (lines[0] == "kprop: Software caused connection abort while reading response from server" ||
					strings.HasPrefix(lines[0], "kprop: Broken pipe while sending database block starting at ") ||
					strings.HasPrefix(lines[0], "kprop: Connection reset by peer while "))
				if !ok {
					t.Fatalf("kprop lines %q", lines)
				}
				if !strings.Contains(e.Hint, "kpropd.acl does not list host/primary.example.com@EXAMPLE.COM (with enctype aes256-cts-hmac-sha1-96") {
					t.Fatalf("hint %q", e.Hint)
				}
				if store.committed {
					t.Fatal("committed")
				}
				if strings.HasPrefix(tt.name, "ACL") || tt.name == "not in ACL" {
					if !errors.Is(serr, ErrUnauthorized) {
						t.Fatalf("Serve: %v is not ErrUnauthorized", serr)
					}
				}
				if tt.name == "load fails" && !store.aborted {
					t.Fatal("failed load not aborted")
				}
			})
		}
	}
}

func TestPrematureEOF(t *testing.T) {
	r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
	store := &memStore{}
	logs := &logBuffer{}
	a, b := tcpPair(t)
	done := make(chan error, 1)
	go func() { done <- r.serverConfig(store, slog.New(logs)).Serve(context.Background(), b); b.Close() }()
	cerr := r.clientConfig(t, 18).Send(context.Background(), a, bytes.NewReader(testDump(40000)), 50000)
	a.Close()
	serr := <-done
	var e *Error
	if !errors.As(cerr, &e) || e.Message() != "Premature EOF found for database file!" {
		t.Fatalf("client: %v", cerr)
	}
	if serr == nil || !logs.has("ERROR Generic remote error: Premature EOF found for database file!") {
		t.Fatalf("server %v; log:\n%s", serr, logs)
	}
	if store.committed {
		t.Fatal("committed")
	}
}

func TestSessionTimeouts(t *testing.T) {
	t.Run("server overall", func(t *testing.T) {
		r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
		logs := &logBuffer{}
		sc := r.serverConfig(&memStore{}, slog.New(logs))
		sc.Overall = 500 * time.Millisecond
		c, done := serveRaw(t, sc)
		authedClient(t, r.clientConfig(t, 18), c)
		// and then nothing: the replica gives up, sending nothing more.
		start := time.Now()
		if kerr := serverReply(t, c); kerr != nil {
			t.Fatalf("sent %v", kerr)
		}
		if err := <-done; !errors.Is(err, ErrSessionTimeout) {
			t.Fatalf("Serve: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
		if !logs.has("ERROR Full propagation timed out") {
			t.Fatalf("log:\n%s", logs)
		}
	})
	t.Run("server overall covers the load", func(t *testing.T) {
		r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
		store := &memStore{commitHook: func() { time.Sleep(800 * time.Millisecond) }}
		sc := r.serverConfig(store, nil)
		sc.Overall = 400 * time.Millisecond
		cerr, serr := runSession(t, r.clientConfig(t, 18), sc, testDump(10))
		if !errors.Is(serr, ErrSessionTimeout) || cerr == nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
	})
	t.Run("client waits at most ReplyTimeout", func(t *testing.T) {
		r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
		store := &memStore{commitHook: func() { time.Sleep(2 * time.Second) }}
		cc := r.clientConfig(t, 18)
		cc.ReplyTimeout = 300 * time.Millisecond
		cerr, _ := runSession(t, cc, r.serverConfig(store, nil), testDump(10))
		var e *Error
		if !errors.As(cerr, &e) || e.Message() != "Connection timed out while reading response from server" {
			t.Fatalf("client %v", cerr)
		}
	})
	t.Run("client cancelled", func(t *testing.T) {
		r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
		store := &memStore{commitHook: func() { time.Sleep(2 * time.Second) }}
		a, b := tcpPair(t)
		go func() { r.serverConfig(store, nil).Serve(context.Background(), b); b.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		err := r.clientConfig(t, 18).Send(ctx, a, bytes.NewReader(testDump(10)), 10)
		a.Close()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send: %v", err)
		}
	})
}

// rawServer authenticates and receives as our kpropd does, then answers
// with reply(session, confirmation) instead of the confirmation.
func rawServer(t *testing.T, r *testRealm, conn net.Conn, reply func(s *serverSession) []byte) {
	s := r.serverConfig(&memStore{}, nil).newSession(context.Background(), conn)
	defer s.stop()
	if err := s.recvauth(); err != nil {
		t.Error(err)
		return
	}
	if _, err := s.receive(); err != nil {
		t.Error(err)
		return
	}
	s.st.writeMessage(reply(s))
}

func TestSendFinalReplies(t *testing.T) {
	tests := []struct {
		name  string
		reply func(s *serverSession) []byte
		lines []string
	}{
		{"size mismatch", func(s *serverSession) []byte {
			der, _ := krb5x.MakeSafe(s.key, krb5x.SafeMessage{UserData: AppendSize(nil, s.size-1), Seq: s.localSeq, SAddr: s.local})
			return der
		}, []string{"kprop: Kpropd sent database size 99, expecting 100"}},
		{"wrong sequence", func(s *serverSession) []byte {
			der, _ := krb5x.MakeSafe(s.key, krb5x.SafeMessage{UserData: AppendSize(nil, s.size), Seq: s.localSeq + 1, SAddr: s.local})
			return der
		}, []string{"kprop: " + krb5x.ErrorText(42) + " while decoding final size packet from server"}},
		{"tampered", func(s *serverSession) []byte {
			der, _ := krb5x.MakeSafe(s.key, krb5x.SafeMessage{UserData: AppendSize(nil, s.size), Seq: s.localSeq, SAddr: s.local})
			der[len(der)-1] ^= 0x80
			return der
		}, []string{"kprop: " + krb5x.ErrorText(41) + " while decoding final size packet from server"}},
		{"malformed size", func(s *serverSession) []byte {
			der, _ := krb5x.MakeSafe(s.key, krb5x.SafeMessage{UserData: []byte{1, 2}, Seq: s.localSeq, SAddr: s.local})
			return der
		}, []string{"kprop: Generic error (see e-text) malformed sent database size message"}},
		{"generic KRB-ERROR", func(s *serverSession) []byte {
			der, _ := krb5x.MakeError(&krb5x.Error{Code: 60, Text: "load refused", Realm: s.cfg.Realm, SName: s.cfg.Acceptor}, time.Now())
			return der
		}, []string{"Generic remote error: load refused"}},
		{"coded KRB-ERROR", func(s *serverSession) []byte {
			der, _ := krb5x.MakeError(&krb5x.Error{Code: 41, Text: "while decoding database size", Realm: s.cfg.Realm, SName: s.cfg.Acceptor}, time.Now())
			return der
		}, []string{"kprop: " + krb5x.ErrorText(41) + " signalled from server", "Error text from server: while decoding database size"}},
		{"garbage", func(s *serverSession) []byte { return []byte{0x30, 0x00} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRealm(t, krb5x.EnctypeAES256CTSHMACSHA196)
			a, b := tcpPair(t)
			go func() { rawServer(t, r, b, tt.reply); b.Close() }()
			err := r.clientConfig(t, 18).Send(context.Background(), a, bytes.NewReader(testDump(100)), 100)
			a.Close()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Send: %v", err)
			}
			if tt.lines == nil {
				if !strings.HasSuffix(e.Message(), "while decoding final size packet from server") {
					t.Fatalf("lines %q", e.Lines("kprop"))
				}
				return
			}
			if got := e.Lines("kprop"); strings.Join(got, "\n") != strings.Join(tt.lines, "\n") {
				t.Fatalf("lines %q\nwant %q", got, tt.lines)
			}
		})
	}
}
