package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// The frames a kprop client sends, counted from 0 (spec §2–§3).
const (
	sizeFrame   = 3 // after the two version strings and the AP-REQ
	blockFrame0 = 4
)

// TestTamperedStreamAnsweredLikeMIT flips a bit in the size message or a
// dump block between each kprop and each kpropd (spec §9.6): both kpropds
// answer with the same KRB-ERROR, log its text, exit alike, and neither puts the
// received file in place or loads anything.
func TestTamperedStreamAnsweredLikeMIT(t *testing.T) {
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	replicas := map[string]*replicaHost{"MIT": p.newReplica(t, mit), "ours": p.newReplica(t, ours)}
	dump := p.dumpFile(t, 3*32768)
	tests := []struct {
		name  string
		frame int
		want  krb5x.Error // Code and Text
	}{
		{"size message", sizeFrame, krb5x.Error{Code: 41, Text: "while decoding database size"}},
		{"block 0", blockFrame0, krb5x.Error{Code: 31, Text: "while decoding database block starting at offset 0"}},
		{"block 1", blockFrame0 + 1, krb5x.Error{Code: 31, Text: "while decoding database block starting at offset 32768"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, kprop := range []tools{mit, ours} {
				got := map[string]answer{}
				exits := map[string]int{} // MIT's kpropd -t exits 0 after a failed session too
				connected := map[string]string{}
				for _, kpropd := range []tools{mit, ours} {
					where := kprop.name + " kprop to " + kpropd.name + " kpropd"
					r := replicas[kpropd.name]
					proc, port := r.startKpropd(t, "-t")
					proxy, answered := tamperingProxy(t, "127.0.0.1:"+port, tc.frame)
					_, proxyPort, _ := net.SplitHostPort(proxy)
					stdout, stderr, exit := p.kprop(t, kprop, dump, proxyPort)
					if exit != 1 || stdout != "" {
						t.Errorf("%s: exit %d, stdout %q, stderr %q", where, exit, stdout, stderr)
					}
					st := proc.Wait(t, runTimeout)
					_, log := proc.Output()
					exits[kpropd.name] = st.ExitCode()
					if !strings.Contains(log, tc.want.Text) {
						t.Errorf("%s: kpropd did not log %q:\n%s", where, tc.want.Text, log)
					}
					if _, err := os.Stat(r.file); !os.IsNotExist(err) {
						t.Errorf("%s: %s is in place after a tampered transfer (%v)", where, r.file, err)
					}
					if _, err := os.Stat(r.DBName); !os.IsNotExist(err) {
						t.Errorf("%s: a database appeared at %s (%v)", where, r.DBName, err)
					}
					got[kpropd.name] = answered(t)
					connected[kpropd.name] = connectionLine(log)
				}
				if connected["ours"] != connected["MIT"] {
					t.Errorf("%s kprop: our kpropd logged %q, MIT's %q", kprop.name, connected["ours"], connected["MIT"])
				}
				if exits["ours"] != exits["MIT"] {
					t.Errorf("%s kprop: our kpropd exited %d, MIT's %d", kprop.name, exits["ours"], exits["MIT"])
				}
				checkAnswers(t, got, answer{Error: &tc.want, ETextNUL: true, Closed: true})
				if e := got["MIT"].Error; e != nil && e.Text != tc.want.Text {
					t.Errorf("%s kprop: MIT's kpropd sent e-text %q, want %q", kprop.name, e.Text, tc.want.Text)
				}
			}
		})
	}
}

// tamperingProxy forwards one kprop session to target, flipping the low
// bit of the last byte of the client's frame number tamper (counted from
// 0) and forwarding nothing after it, so that kpropd closes with nothing
// unread. answered returns the last frame kpropd sent, decoded as a
// KRB-ERROR, once the session is over.
func tamperingProxy(t *testing.T, target string, tamper int) (addr string, answered func(*testing.T) answer) {
	t.Helper()
	var (
		fromKpropd bytes.Buffer
		proxyErr   error
	)
	addr, wait := proxyOnce(t, target, func(client, server *net.TCPConn) {
		done := make(chan struct{})
		go func() {
			io.Copy(io.MultiWriter(client, &fromKpropd), server)
			client.CloseWrite()
			close(done)
		}()
		proxyErr = forwardFrames(client, server, tamper)
		<-done
	})
	return addr, func(t *testing.T) answer {
		t.Helper()
		if err := wait(); err != nil {
			proxyErr = err
		}
		if proxyErr != nil {
			t.Fatalf("tampering proxy: %v", proxyErr)
		}
		stream := fromKpropd.Bytes()
		if len(stream) < 1 || stream[0] != 0 {
			t.Fatalf("kpropd did not accept the sendauth versions: % x", stream)
		}
		stream = stream[1:]
		var last []byte
		for len(stream) >= 4 && len(stream) >= 4+int(binary.BigEndian.Uint32(stream)) {
			size := int(binary.BigEndian.Uint32(stream))
			last, stream = stream[4:4+size], stream[4+size:]
		}
		if len(stream) != 0 || last == nil {
			t.Fatalf("kpropd's answer is not whole frames: % x", fromKpropd.Bytes())
		}
		e, err := krb5x.ReadError(last)
		if err != nil {
			t.Fatalf("kpropd's last frame is no KRB-ERROR: %v (% x)", err, last)
		}
		e.STime, e.SUsec = time.Time{}, 0
		return answer{Error: e, ETextNUL: bytes.HasSuffix(last, []byte{0}), Closed: true}
	}
}

// forwardFrames copies the client's frames up to and including number
// tamper, flipping the low bit of that one's last byte.
func forwardFrames(client, server net.Conn, tamper int) error {
	for n := 0; n <= tamper; n++ {
		var size [4]byte
		if _, err := io.ReadFull(client, size[:]); err != nil {
			return err
		}
		msg := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(client, msg); err != nil {
			return err
		}
		if n == tamper && len(msg) > 0 {
			msg[len(msg)-1] ^= 1
		}
		if _, err := server.Write(append(size[:], msg...)); err != nil {
			return err
		}
	}
	return nil
}

// connectionLine is the "Connection from" line of a kpropd -d log.
func connectionLine(log string) string {
	for _, l := range lines(log) {
		if strings.HasPrefix(l, "Connection from ") {
			return l
		}
	}
	return ""
}
