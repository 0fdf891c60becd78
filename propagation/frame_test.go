package propagation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestReadMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    []byte
		wantErr error
	}{
		{"empty frame", []byte{0, 0, 0, 0}, 10, []byte{}, nil},
		{"small", []byte{0, 0, 0, 3, 'a', 'b', 'c', 'x'}, 10, []byte("abc"), nil},
		{"at limit", []byte{0, 0, 0, 2, 'a', 'b'}, 2, []byte("ab"), nil},
		{"over limit", []byte{0, 0, 0, 3, 'a', 'b', 'c'}, 2, nil, ErrMessageTooLarge},
		{"huge length", []byte{0x80, 0, 0, 0}, MaxBlockMessage, nil, ErrMessageTooLarge},
		{"max uint32", []byte{0xff, 0xff, 0xff, 0xff}, MaxAuthMessage, nil, ErrMessageTooLarge},
		{"eof", nil, 10, nil, io.EOF},
		{"short length", []byte{0, 0}, 10, nil, io.ErrUnexpectedEOF},
		{"short body", []byte{0, 0, 0, 5, 'a'}, 10, nil, io.ErrUnexpectedEOF},
		{"no body", []byte{0, 0, 0, 5}, 10, nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadMessage(bytes.NewReader(tt.in), tt.max)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestReadMessageRefusesBeforeAllocating announces a 2 GiB frame: the
// refusal must not allocate anything like it.
func TestReadMessageRefusesBeforeAllocating(t *testing.T) {
	before := memStats()
	_, err := ReadMessage(bytes.NewReader([]byte{0x7f, 0xff, 0xff, 0xff}), MaxAuthMessage)
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatal(err)
	}
	if grew := memStats() - before; grew > 1<<20 {
		t.Fatalf("refusing an oversized frame allocated %d bytes", grew)
	}
}

func TestWriteMessage(t *testing.T) {
	var b bytes.Buffer
	w := &countingWriter{w: &b}
	if err := WriteMessage(w, []byte("KRB5_SENDAUTH_V1.0\x00"), []byte("kprop5_01\x00")); err != nil {
		t.Fatal(err)
	}
	want := "\x00\x00\x00\x13KRB5_SENDAUTH_V1.0\x00\x00\x00\x00\x0akprop5_01\x00"
	if b.String() != want {
		t.Fatalf("got %q", b.String())
	}
	if w.writes != 1 {
		t.Fatalf("%d writes, want one", w.writes)
	}
}

type countingWriter struct {
	w      io.Writer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return c.w.Write(p) }

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0}, 16)
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3}, 16)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, MaxBlockMessage)
	f.Add([]byte{0, 0, 0x80, 0, 1}, MaxBlockMessage)
	f.Add([]byte{0, 0}, 0)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max > MaxBlockMessage {
			max = MaxBlockMessage
		}
		r := bytes.NewReader(in)
		for {
			msg, err := ReadMessage(r, max)
			if err != nil {
				if errors.Is(err, ErrMessageTooLarge) && len(in) < 4 {
					t.Fatal("too large without a complete header")
				}
				return
			}
			if len(msg) > max {
				t.Fatalf("message of %d bytes over limit %d", len(msg), max)
			}
			// Round trip: the frame re-encodes to the bytes consumed.
			if got := AppendMessage(nil, msg); !bytes.Equal(got[4:], msg) {
				t.Fatal("round trip")
			}
		}
	})
}

// TestStreamDeadlines checks the per-operation timeout and the overall
// session deadline on a real socket pair.
func TestStreamDeadlines(t *testing.T) {
	a, b := tcpPair(t)
	defer a.Close()
	defer b.Close()

	// Per-operation: the peer stays silent, the read gives up after the
	// timeout with a timeout error that is not the session timeout.
	s, stop := newStream(context.Background(), a, 50*time.Millisecond, time.Hour)
	defer stop()
	start := time.Now()
	_, err := s.readMessage(16)
	if !isTimeout(err) || errors.Is(err, ErrSessionTimeout) {
		t.Fatalf("err = %v, want a per-operation timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}

	// Overall: a generous per-operation timeout, but the session ends.
	s, stop = newStream(context.Background(), a, time.Hour, 80*time.Millisecond)
	defer stop()
	_, err = s.readByte()
	if !errors.Is(err, ErrSessionTimeout) {
		t.Fatalf("err = %v, want ErrSessionTimeout", err)
	}
	// Later operations fail at once.
	if err := s.write([]byte{0}); !errors.Is(err, ErrSessionTimeout) {
		t.Fatalf("write after end: %v", err)
	}

	// A trickling peer cannot stretch one frame past the session's end.
	s, stop = newStream(context.Background(), a, time.Hour, 300*time.Millisecond)
	defer stop()
	go func() {
		b.Write([]byte{0, 0, 0, 100})
		for i := 0; i < 50; i++ {
			time.Sleep(20 * time.Millisecond)
			if _, err := b.Write([]byte{1}); err != nil {
				return
			}
		}
	}()
	_, err = s.readMessage(1000)
	if !errors.Is(err, ErrSessionTimeout) {
		t.Fatalf("trickle: err = %v, want ErrSessionTimeout", err)
	}
}

func TestStreamWriteDeadline(t *testing.T) {
	a, b := net.Pipe() // unbuffered: a write blocks until read
	defer a.Close()
	defer b.Close()
	s, stop := newStream(context.Background(), a, 50*time.Millisecond, 0)
	defer stop()
	err := s.writeMessage([]byte("x"))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	return a, b
}

func TestMITErrorText(t *testing.T) {
	a, b := net.Pipe()
	b.Close()
	_, werr := a.Write([]byte{1})
	tests := []struct {
		err  error
		want string
	}{
		{io.EOF, "Software caused connection abort"},
		{io.ErrUnexpectedEOF, "Software caused connection abort"},
		{werr, "Broken pipe"},
		{os.ErrDeadlineExceeded, "Connection timed out"},
	}
	for _, tt := range tests {
		if got := causeText(tt.err); !strings.HasPrefix(got, tt.want) {
			t.Errorf("causeText(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
