package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/mittest"
)

// The version strings krb5_sendauth sends first (spec §2.1).
var (
	sendauthVersion = []byte("KRB5_SENDAUTH_V1.0\x00")
	kpropVersion    = []byte("kprop5_01\x00")
)

// frame is krb5_write_message's framing: a 4-byte big-endian length, then
// the bytes.
func frame(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
	}
	return b
}

// splitFrames reads n frames from the start of a recorded stream.
func splitFrames(t *testing.T, stream []byte, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for len(out) < n {
		if len(stream) < 4 || len(stream) < 4+int(binary.BigEndian.Uint32(stream)) {
			t.Fatalf("the recorded stream holds %d frames, want %d", len(out), n)
		}
		size := int(binary.BigEndian.Uint32(stream))
		out = append(out, stream[4:4+size])
		stream = stream[4+size:]
	}
	return out
}

// answer is what a kpropd sent back to a raw client: the sendauth reply
// byte, then the KRB-ERROR it sent instead of accepting the AP-REQ (with
// the server time cleared, the one field that differs from run to run),
// and whether it closed the connection after that.
type answer struct {
	Reply    byte
	Error    *krb5x.Error
	ETextNUL bool // e-text ends in NUL on the wire, as MIT's does
	Closed   bool
}

// sendRaw sends frames to a kpropd as a client of our own would and reads
// what comes back.
func sendRaw(t *testing.T, addr string, frames []byte) answer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(runTimeout))
	if _, err := conn.Write(frames); err != nil {
		t.Fatal(err)
	}
	var a answer
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		t.Fatalf("no sendauth reply: %v", err)
	}
	a.Reply = b[0]
	if a.Reply == 0 {
		var size [4]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			t.Fatalf("no answer to the AP-REQ: %v", err)
		}
		msg := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(conn, msg); err != nil {
			t.Fatalf("short answer to the AP-REQ: %v", err)
		}
		if a.Error, err = krb5x.ReadError(msg); err != nil {
			t.Fatalf("answer to the AP-REQ is no KRB-ERROR: %v (% x)", err, msg)
		}
		a.ETextNUL = bytes.HasSuffix(msg, []byte{0})
		a.Error.STime, a.Error.SUsec = time.Time{}, 0
	}
	_, err = conn.Read(b[:])
	a.Closed = errors.Is(err, io.EOF)
	return a
}

// TestRawClientsAnsweredLikeMIT sends broken sessions straight to MIT's
// kpropd and ours, each running standalone: bad version strings, AP-REQs
// that are not one, and an AP-REQ replayed from a real session. Both
// answer with the same bytes (the KRB-ERROR's server time aside) and keep
// serving.
func TestRawClientsAnsweredLikeMIT(t *testing.T) {
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	addrs := map[string]string{}
	replicas := map[string]*replicaHost{}
	for _, impl := range []tools{mit, ours} {
		r := p.newReplica(t, impl)
		_, port := r.startKpropd(t, "-p", "/bin/true")
		replicas[impl.name], addrs[impl.name] = r, "127.0.0.1:"+port
	}
	tests := []struct {
		name   string
		frames []byte
		want   answer // Error compared between MIT and ours; its code here
	}{
		{"bad sendauth version", frame([]byte("KRB5_SENDAUTH_V1.1\x00"), kpropVersion), answer{Reply: 1, Closed: true}},
		{"bad application version", frame(sendauthVersion, []byte("kprop5_02\x00")), answer{Reply: 2, Closed: true}},
		{"garbage AP-REQ", frame(sendauthVersion, kpropVersion, []byte{0x6e, 0x03, 0x02, 0x01, 0x05}),
			answer{Error: &krb5x.Error{Code: krb5x.CodeGeneric}, ETextNUL: true, Closed: true}},
		{"not an AP-REQ", frame(sendauthVersion, kpropVersion, []byte{0x30, 0x00}),
			answer{Error: &krb5x.Error{Code: krb5x.CodeMsgType}, ETextNUL: true, Closed: true}},
		{"empty AP-REQ", frame(sendauthVersion, kpropVersion, nil),
			answer{Error: &krb5x.Error{Code: krb5x.CodeMsgType}, ETextNUL: true, Closed: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]answer{}
			for name, addr := range addrs {
				got[name] = sendRaw(t, addr, tc.frames)
			}
			checkAnswers(t, got, tc.want)
			t.Logf("both answered %s", describe(got["MIT"]))
		})
	}
	t.Run("replayed AP-REQ", func(t *testing.T) {
		got := map[string]answer{}
		for name, addr := range addrs {
			// A real session through a recording proxy, then its
			// first frames again, straight to the same kpropd.
			proxy, recorded := recordingProxy(t, addr)
			_, port, _ := net.SplitHostPort(proxy)
			if stdout, stderr, exit := p.kprop(t, mit, p.dumpFile(t, 1), port); exit != 0 {
				t.Fatalf("%s kpropd: kprop through the proxy: exit %d\n%s%s", name, exit, stdout, stderr)
			}
			got[name] = sendRaw(t, addr, frame(splitFrames(t, recorded(), 3)...))
		}
		checkAnswers(t, got, answer{Error: &krb5x.Error{Code: krb5x.CodeRepeat}, ETextNUL: true, Closed: true})
	})
	// Neither kpropd was put off by any of it.
	for name, r := range replicas {
		_, port, _ := net.SplitHostPort(addrs[name])
		if stdout, stderr, exit := p.kprop(t, ours, p.dumpFile(t, 1), port); exit != 0 {
			t.Errorf("%s kpropd after the raw clients: exit %d\n%s%s", r.impl.name, exit, stdout, stderr)
		}
	}
}

// TestSkewedAPREQAnsweredLikeMIT records the AP-REQ of a real session and
// sends it, two and a half seconds later, to kpropds with a fresh replay
// cache that allow one second of clock skew (krb5.conf clockskew): both
// answer with the same KRB-ERROR.
func TestSkewedAPREQAnsweredLikeMIT(t *testing.T) {
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	got := map[string]answer{}
	for _, impl := range []tools{mit, ours} {
		_, port := p.newReplica(t, impl).startKpropd(t, "-p", "/bin/true")
		proxy, recorded := recordingProxy(t, "127.0.0.1:"+port)
		_, proxyPort, _ := net.SplitHostPort(proxy)
		if stdout, stderr, exit := p.kprop(t, mit, p.dumpFile(t, 1), proxyPort); exit != 0 {
			t.Fatalf("%s kpropd: kprop through the proxy: exit %d\n%s%s", impl.name, exit, stdout, stderr)
		}
		frames := frame(splitFrames(t, recorded(), 3)...)
		strict := p.newReplica(t, impl, mittest.WithKRB5Conf("libdefaults", "clockskew", "1"))
		_, port = strict.startKpropd(t, "-p", "/bin/true")
		time.Sleep(2500 * time.Millisecond) // the authenticator is now over a second old
		got[impl.name] = sendRaw(t, "127.0.0.1:"+port, frames)
	}
	checkAnswers(t, got, answer{Error: &krb5x.Error{Code: krb5x.CodeSkew}, ETextNUL: true, Closed: true})
}

// checkAnswers compares MIT's kpropd's answer with want (for a KRB-ERROR,
// its code) and ours with MIT's.
func checkAnswers(t *testing.T, got map[string]answer, want answer) {
	t.Helper()
	mit, ours := got["MIT"], got["ours"]
	if mit.Reply != want.Reply || mit.Closed != want.Closed || mit.ETextNUL != want.ETextNUL ||
		(mit.Error == nil) != (want.Error == nil) || (want.Error != nil && mit.Error.Code != want.Error.Code) {
		t.Fatalf("MIT's kpropd answered %s, want %s", describe(mit), describe(want))
	}
	if !reflect.DeepEqual(ours, mit) {
		t.Errorf("our kpropd answered %s\nMIT's answered %s", describe(ours), describe(mit))
	}
}

func describe(a answer) string {
	s := fmt.Sprintf("reply byte %02x", a.Reply)
	if e := a.Error; e != nil {
		s += fmt.Sprintf(", KRB-ERROR %d %q (NUL-terminated %v) realm %q sname %v crealm %q cname %v ctime %v",
			e.Code, e.Text, a.ETextNUL, e.Realm, e.SName.NameString, e.CRealm, e.CName, e.CTime)
	}
	if a.Closed {
		s += ", then closed"
	}
	return s
}

// proxyOnce accepts one connection, connects it to target and runs
// session on the pair; wait returns once session has and both are closed,
// with the error that kept session from running, if any.
func proxyOnce(t *testing.T, target string, session func(client, server *net.TCPConn)) (addr string, wait func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan error, 1)
	go func() {
		client, err := ln.Accept()
		ln.Close()
		if err != nil {
			done <- err
			return
		}
		defer client.Close()
		client.SetDeadline(time.Now().Add(runTimeout))
		server, err := net.Dial("tcp", target)
		if err != nil {
			done <- err
			return
		}
		defer server.Close()
		session(client.(*net.TCPConn), server.(*net.TCPConn))
		done <- nil
	}()
	var once sync.Once
	var result error
	return ln.Addr().String(), func() error {
		once.Do(func() { result = <-done })
		return result
	}
}

// recordingProxy forwards one connection to target and records what the
// client sent; recorded returns it once the session is over.
func recordingProxy(t *testing.T, target string) (addr string, recorded func() []byte) {
	t.Helper()
	var buf bytes.Buffer
	addr, wait := proxyOnce(t, target, func(client, server *net.TCPConn) {
		done := make(chan struct{})
		go func() {
			io.Copy(client, server)
			client.CloseWrite()
			close(done)
		}()
		io.Copy(io.MultiWriter(server, &buf), client)
		server.CloseWrite()
		<-done
	})
	return addr, func() []byte {
		wait()
		return buf.Bytes()
	}
}
