package propagation

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Message size limits for ReadMessage. MIT's krb5_read_message allocates
// whatever length the peer announces (spec §3.9); we refuse more than these
// before allocating anything.
const (
	// MaxAuthMessage bounds the version strings, the AP-REQ, the AP-REP,
	// KRB-ERRORs and KRB-SAFEs: 591 bytes is a typical AP-REQ, and tickets
	// with large authorization data stay far below 64 KiB.
	MaxAuthMessage = 64 << 10
	// MaxBlockMessage bounds one KRB-PRIV dump block. MIT kprop sends at
	// most 32768 plaintext bytes (32876 on the wire with aes256-sha1);
	// other senders get generous room.
	MaxBlockMessage = 1 << 20
)

// BlockSize is the plaintext size of every KRB-PRIV block but the last
// (MIT's KPROP_BUFSIZ, spec §3.3).
const BlockSize = 32768

// ErrMessageTooLarge reports a frame whose announced length exceeds the
// limit the reader set for it.
var ErrMessageTooLarge = errors.New("message too large")

// ErrSessionTimeout reports that a session ran past its overall deadline
// (kpropd's iprop_resync_timeout, spec §5.7).
var ErrSessionTimeout = errors.New("propagation timed out")

// ReadMessage reads one krb5_read_message frame: a 4-byte big-endian length
// and that many bytes. A length above max is refused before anything is
// allocated. An end of stream before the first byte is io.EOF; one inside
// the frame is io.ErrUnexpectedEOF (MIT reports both as ECONNABORTED).
func ReadMessage(r io.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("read message length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if max < 0 || uint64(n) > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrMessageTooLarge, n, max)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read %d-byte message: %w", n, err)
	}
	return buf, nil
}

// AppendMessage appends msg framed as krb5_write_message frames it.
func AppendMessage(dst, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(msg)))
	return append(dst, msg...)
}

// WriteMessage writes each msg framed, all in one Write, as sendauth sends
// its two version strings in one sendmsg (spec §2.1).
func WriteMessage(w io.Writer, msgs ...[]byte) error {
	n := 0
	for _, m := range msgs {
		if uint64(len(m)) > 0xffffffff {
			return fmt.Errorf("%w: %d bytes do not fit a frame", ErrMessageTooLarge, len(m))
		}
		n += 4 + len(m)
	}
	buf := make([]byte, 0, n)
	for _, m := range msgs {
		buf = AppendMessage(buf, m)
	}
	_, err := w.Write(buf)
	return err
}

// Conn is what a session needs of its connection; a net.Conn has it.
type Conn interface {
	io.Reader
	io.Writer
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// stream is one session's connection with its deadlines: every read and
// every write must finish within timeout, and none may run past end, the
// session's overall deadline. MIT has no socket timeouts at all (kprop
// waits forever, spec §1.2); we bound both ends.
type stream struct {
	ctx     context.Context
	conn    Conn
	timeout time.Duration // per read or write; 0 means only end applies
	end     time.Time     // overall deadline; zero means none
	now     func() time.Time
}

// newStream starts a session's clock. When ctx is cancelled the operation
// in progress is interrupted (by a deadline in the past) and every later
// one fails with ctx's error; stop releases that watch.
//
// Deadlines are real time, whatever clock the session uses for Kerberos
// timestamps: the connection's deadlines are.
func newStream(ctx context.Context, conn Conn, timeout, overall time.Duration) (s *stream, stop func()) {
	if ctx == nil {
		ctx = context.Background()
	}
	s = &stream{ctx: ctx, conn: conn, timeout: timeout, now: time.Now}
	if overall > 0 {
		s.end = s.now().Add(overall)
	}
	unwatch := context.AfterFunc(ctx, func() {
		past := time.Unix(1, 0)
		_ = conn.SetReadDeadline(past)
		_ = conn.SetWriteDeadline(past)
	})
	return s, func() { unwatch() }
}

// deadline is the deadline for the next operation: timeout from now, but
// never past the session's end.
func (s *stream) deadline() (time.Time, error) {
	if err := s.ctx.Err(); err != nil {
		return time.Time{}, err
	}
	now := s.now()
	if !s.end.IsZero() && !now.Before(s.end) {
		return time.Time{}, ErrSessionTimeout
	}
	var d time.Time
	if s.timeout > 0 {
		d = now.Add(s.timeout)
	}
	if !s.end.IsZero() && (d.IsZero() || s.end.Before(d)) {
		d = s.end
	}
	return d, nil
}

// expired turns a deadline error into ErrSessionTimeout once the session's
// overall deadline has passed, so callers can tell "the peer was silent
// for Timeout" from "the whole session took too long".
func (s *stream) expired(err error) error {
	if err != nil && s.ctx.Err() != nil {
		return fmt.Errorf("%w: %w", s.ctx.Err(), err)
	}
	if err != nil && isTimeout(err) && !s.end.IsZero() && !s.now().Before(s.end) {
		return fmt.Errorf("%w: %w", ErrSessionTimeout, err)
	}
	return err
}

// context is the session's context bounded by its overall deadline, for
// work that is not I/O on the connection (the load).
func (s *stream) context() (context.Context, context.CancelFunc) {
	if s.end.IsZero() {
		return context.WithCancel(s.ctx)
	}
	return context.WithDeadline(s.ctx, s.end)
}

func (s *stream) readMessage(max int) ([]byte, error) {
	return s.readMessageWithin(max, s.timeout)
}

// readMessageWithin is readMessage with another per-operation timeout.
func (s *stream) readMessageWithin(max int, timeout time.Duration) ([]byte, error) {
	saved := s.timeout
	s.timeout = timeout
	d, err := s.deadline()
	s.timeout = saved
	if err != nil {
		return nil, err
	}
	if err := s.conn.SetReadDeadline(d); err != nil {
		return nil, fmt.Errorf("set read deadline: %w", err)
	}
	b, err := ReadMessage(s.conn, max)
	return b, s.expired(err)
}

func (s *stream) readByte() (byte, error) {
	d, err := s.deadline()
	if err != nil {
		return 0, err
	}
	if err := s.conn.SetReadDeadline(d); err != nil {
		return 0, fmt.Errorf("set read deadline: %w", err)
	}
	var b [1]byte
	if _, err := io.ReadFull(s.conn, b[:]); err != nil {
		return 0, s.expired(err)
	}
	return b[0], nil
}

// write sends raw bytes (the unframed sendauth reply byte, or frames built
// with AppendMessage).
func (s *stream) write(b []byte) error {
	d, err := s.deadline()
	if err != nil {
		return err
	}
	if err := s.conn.SetWriteDeadline(d); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	_, err = s.conn.Write(b)
	return s.expired(err)
}

func (s *stream) writeMessage(msgs ...[]byte) error {
	d, err := s.deadline()
	if err != nil {
		return err
	}
	if err := s.conn.SetWriteDeadline(d); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	return s.expired(WriteMessage(s.conn, msgs...))
}

// writeFramed writes frame, whose first four bytes are left for the
// length: the data path builds each block in place behind them, so a 32
// KiB block is not copied again to be framed.
func (s *stream) writeFramed(frame []byte) error {
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	d, err := s.deadline()
	if err != nil {
		return err
	}
	if err := s.conn.SetWriteDeadline(d); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	_, err = s.conn.Write(frame)
	return s.expired(err)
}

// readMessageInto is readMessage into buf's storage when it is large
// enough, so the data path does not allocate a block per message; the
// result is only valid until the next call with the same buf.
func (s *stream) readMessageInto(buf []byte, max int) ([]byte, error) {
	d, err := s.deadline()
	if err != nil {
		return nil, err
	}
	if err := s.conn.SetReadDeadline(d); err != nil {
		return nil, fmt.Errorf("set read deadline: %w", err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(s.conn, hdr[:]); err != nil {
		return nil, s.expired(fmt.Errorf("read message length: %w", err))
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if max < 0 || uint64(n) > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrMessageTooLarge, n, max)
	}
	if int(n) > cap(buf) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(s.conn, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, s.expired(fmt.Errorf("read %d-byte message: %w", n, err))
	}
	return buf, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
