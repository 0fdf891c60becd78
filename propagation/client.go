package propagation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/princname"
)

// The version strings sendauth exchanges, NUL included (spec §2.1).
const (
	sendauthVersion = "KRB5_SENDAUTH_V1.0\x00"
	kpropVersion    = "kprop5_01\x00"
)

// Defaults for the session deadlines.
const (
	// DefaultTimeout bounds each read and write. MIT has none; a replica
	// that stops answering for this long is treated as gone.
	DefaultTimeout = 60 * time.Second
	// DefaultReplyTimeout bounds kprop's wait for the confirmation,
	// which kpropd sends only after loading the dump: longer than MIT
	// kpropd's default session limit (iprop_resync_timeout, 300 s).
	DefaultReplyTimeout = 10 * time.Minute
	// DefaultOverall is kdc.conf's iprop_resync_timeout default, the
	// alarm MIT's kpropd sets over a whole session, load included.
	DefaultOverall = 300 * time.Second
)

// ClientConfig is the kprop end of a session: the credentials obtained for
// the replica's host principal, and the session's deadlines.
type ClientConfig struct {
	// Ticket is the service ticket for host/<replica>@REALM (kprop gets it
	// straight from the AS exchange, spec §2.3).
	Ticket messages.Ticket
	// SessionKey is the ticket's session key.
	SessionKey types.EncryptionKey
	// ClientRealm and ClientName are the ticket's client,
	// host/<primary>@REALM.
	ClientRealm string
	ClientName  types.PrincipalName

	// Timeout bounds each read and write (DefaultTimeout if 0; negative
	// means none). Overall bounds the whole session, the wait for the
	// replica's load included (no limit if 0, as MIT's kprop).
	Timeout time.Duration
	Overall time.Duration

	// ReplyTimeout bounds the wait for the replica's answer after the
	// last block, which includes its load of the dump
	// (DefaultReplyTimeout if 0; negative means only Overall applies).
	ReplyTimeout time.Duration

	// Debug, if set, receives "<n> bytes sent." after every block, as
	// MIT kprop -d prints on stdout.
	Debug io.Writer

	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Send propagates size bytes of dump over conn, a connection to the
// replica's kpropd, as MIT kprop does (spec §0 steps 3–10): sendauth with a
// mutual-required AP-REQ, the size in a KRB-SAFE, the dump in KRB-PRIV
// blocks of 32768 bytes, then the replica's answer. It returns nil once the
// replica confirms it loaded exactly size bytes. Failures are *Error
// values carrying MIT kprop's message for the failed step. Send does not
// close conn.
func (c *ClientConfig) Send(ctx context.Context, conn net.Conn, dump io.Reader, size int64) error {
	if size < 0 {
		return &Error{Op: fmt.Sprintf("invalid database size %d", size)}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	} else if timeout < 0 {
		timeout = 0
	}
	st, stop := newStream(ctx, conn, timeout, c.Overall)
	defer stop()
	s := &clientSession{cfg: c, st: st, now: now, size: uint64(size)}
	s.local = localAddress(conn.LocalAddr(), 0)
	if err := s.authenticate(); err != nil {
		return err
	}
	if err := s.transmit(dump); err != nil {
		return err
	}
	return s.readConfirmation()
}

// clientSession is one kprop session's state.
type clientSession struct {
	cfg   *ClientConfig
	st    *stream
	now   func() time.Time
	size  uint64
	local krb5x.Address

	key       types.EncryptionKey // session key, or the AP-REP subkey
	localSeq  uint32              // C: the next sequence number we send
	remoteSeq uint32              // S: what the confirmation must carry
	authed    bool                // the AP-REP has been verified
	sent      uint64
}

const opAuthenticate = "while authenticating to server"

// authenticate is krb5_sendauth with kprop's arguments (spec §2).
func (s *clientSession) authenticate() error {
	if err := s.st.writeMessage([]byte(sendauthVersion), []byte(kpropVersion)); err != nil {
		return s.fail(opAuthenticate, err)
	}
	reply, err := s.st.readByte()
	if err != nil {
		return s.fail(opAuthenticate, err)
	}
	switch reply {
	case 0:
	case 1:
		return &Error{Op: opAuthenticate, Err: ErrBadSendauthVersion}
	case 2:
		return &Error{Op: opAuthenticate, Err: ErrBadApplVersion}
	default:
		return &Error{Op: opAuthenticate, Err: ErrBadResponse}
	}

	seq, err := krb5x.NewSeqNumber()
	if err != nil {
		return &Error{Op: opAuthenticate, Err: err}
	}
	ticket, err := krb5x.MarshalTicket(s.cfg.Ticket)
	if err != nil {
		return &Error{Op: opAuthenticate, Err: err}
	}
	apreq, ctime, cusec, err := krb5x.MakeAPReq(ticket, s.cfg.SessionKey, s.cfg.ClientRealm, s.cfg.ClientName, s.now(), seq)
	if err != nil {
		return &Error{Op: opAuthenticate, Err: err}
	}
	if err := s.st.writeMessage(apreq); err != nil {
		return s.fail(opAuthenticate, err)
	}
	// An empty message means accepted; anything else is a KRB-ERROR.
	msg, err := s.st.readMessage(MaxAuthMessage)
	if err != nil {
		return s.fail(opAuthenticate, err)
	}
	if len(msg) > 0 {
		kerr, derr := krb5x.ReadError(msg)
		if derr != nil {
			return &Error{Op: opAuthenticate, Err: derr}
		}
		return &Error{Op: opAuthenticate, Err: ErrSendauthRejected, Remote: kerr, Side: "server",
			Hint: s.rejectionHint(kerr)}
	}
	aprep, err := s.st.readMessage(MaxAuthMessage)
	if err != nil {
		return s.fail(opAuthenticate, err)
	}
	remote, subkey, err := krb5x.ReadAPRep(s.cfg.SessionKey, aprep, ctime, cusec)
	if err != nil {
		return &Error{Op: opAuthenticate, Err: err}
	}
	s.key = s.cfg.SessionKey
	if subkey != nil {
		// MIT kpropd never sends one; a subkey, if present, keys the
		// KRB-SAFE and KRB-PRIV messages in both directions.
		s.key = *subkey
	}
	s.localSeq, s.remoteSeq = seq, remote
	s.authed = true
	return nil
}

// transmit sends the size and the blocks (xmit_database in kprop.c).
func (s *clientSession) transmit(dump io.Reader) error {
	safe, err := krb5x.MakeSafe(s.key, krb5x.SafeMessage{
		UserData: AppendSize(nil, s.size), Seq: s.localSeq, SAddr: s.local,
	})
	if err != nil {
		s.sendError("while encoding database size", err)
		return &Error{Op: "while encoding database size", Err: err}
	}
	s.localSeq++
	if err := s.st.writeMessage(safe); err != nil {
		return s.fail("while sending database size", err)
	}
	// The cipher state starts here and runs through every block (§3.4).
	priv, err := krb5x.NewPrivStream(s.key)
	if err != nil {
		s.sendError("failed while initializing i_vector", err)
		return &Error{Op: "while allocating i_vector", Err: err}
	}
	buf := make([]byte, BlockSize)
	// Each block is sealed straight into its frame (4 length bytes, then
	// the KRB-PRIV), reusing one buffer for the whole dump.
	frame := make([]byte, 4, 4+BlockSize+1024)
	for s.sent < s.size {
		n := BlockSize
		if rest := s.size - s.sent; rest < uint64(n) {
			n = int(rest)
		}
		got, rerr := io.ReadFull(dump, buf[:n])
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				s.sendError(ErrPrematureEOF.Error(), &krb5x.Error{Code: krb5x.CodeGeneric})
				return &Error{Op: ErrPrematureEOF.Error(), Hint: fmt.Sprintf(
					"the dump ended after %d of the %d bytes announced", s.sent+uint64(got), s.size)}
			}
			op := fmt.Sprintf("while reading database file at offset %d", s.sent+uint64(got))
			s.sendError(op, rerr)
			return &Error{Op: op, Err: rerr}
		}
		frame, err = priv.AppendSeal(frame[:4], krb5x.PrivMessage{UserData: buf[:n], Seq: s.localSeq, SAddr: s.local})
		if err != nil {
			op := fmt.Sprintf("while encoding database block starting at %d", s.sent)
			s.sendError(op, err)
			return &Error{Op: op, Err: err}
		}
		s.localSeq++
		if err := s.st.writeFramed(frame); err != nil {
			return s.fail(fmt.Sprintf("while sending database block starting at %d", s.sent), err)
		}
		s.sent += uint64(n)
		if s.cfg.Debug != nil {
			fmt.Fprintf(s.cfg.Debug, "%d bytes sent.\n", s.sent)
		}
	}
	return nil
}

// readConfirmation reads kpropd's answer: a KRB-ERROR, or a KRB-SAFE with
// the size it was told, sent only after its load succeeded (§3.6).
func (s *clientSession) readConfirmation() error {
	wait := s.cfg.ReplyTimeout
	if wait == 0 {
		wait = DefaultReplyTimeout
	} else if wait < 0 {
		wait = 0
	}
	msg, err := s.st.readMessageWithin(MaxAuthMessage, wait)
	if err != nil {
		return s.fail("while reading response from server", err)
	}
	if isKRBError(msg) {
		kerr, derr := krb5x.ReadError(msg)
		if derr != nil {
			return &Error{Op: "while decoding error response from server", Err: derr}
		}
		return &Error{Remote: kerr, Side: "server"}
	}
	const opFinal = "while decoding final size packet from server"
	safe, err := krb5x.ReadSafe(s.key, msg)
	if err != nil {
		return &Error{Op: opFinal, Err: err}
	}
	if err := checkSafePriv(safe.Seq, s.remoteSeq, safe.RAddr, s.local); err != nil {
		return &Error{Op: opFinal, Err: err}
	}
	got, err := DecodeSize(safe.UserData)
	if err != nil {
		return &Error{Op: "malformed sent database size message",
			Err: &krb5x.Error{Code: krb5x.CodeGeneric, Err: err}}
	}
	if got != s.size {
		return &Error{Op: fmt.Sprintf("Kpropd sent database size %d, expecting %d", got, s.size)}
	}
	return nil
}

// checkSafePriv applies the checks MIT's rd_safe and rd_priv make after
// the checksum or decryption, with DO_SEQUENCE on and no remote address
// (spec §1.4, §3.5): an r-address, if present, must be ours; the sequence
// number must be exactly the expected one.
func checkSafePriv(seq, want uint32, raddr *krb5x.Address, local krb5x.Address) error {
	if raddr != nil && !raddr.Equal(local) {
		return &krb5x.Error{Code: krb5x.CodeBadAddr, Text: krb5x.ErrorText(krb5x.CodeBadAddr)}
	}
	if seq != want {
		return &krb5x.Error{Code: krb5x.CodeBadOrder, Text: krb5x.ErrorText(krb5x.CodeBadOrder),
			Err: fmt.Errorf("sequence number %d, expected %d", seq, want)}
	}
	return nil
}

// fail wraps an I/O failure of step op, explaining a vanished replica.
func (s *clientSession) fail(op string, err error) *Error {
	e := &Error{Op: op, Err: err}
	if s.authed && peerVanished(err) {
		e.Hint = s.vanishedHint()
	}
	return e
}

// vanishedHint says what a silent close after authentication means: kpropd
// answers an ACL miss, a busy lock, a failed load and its own timeout all
// by closing the connection (spec §6.1), which MIT kprop reports only as
// "Software caused connection abort" or "Broken pipe".
func (s *clientSession) vanishedHint() string {
	return fmt.Sprintf("the replica closed the connection without a reply; usually its kpropd.acl "+
		"does not list %s (with enctype %s, or with no enctype), the load on the replica failed, "+
		"or another propagation holds its lock; the replica's kpropd log says which",
		s.clientName(), krb5x.EnctypeName(s.cfg.Ticket.EncPart.EType))
}

// rejectionHint explains the authentication rejections operators meet.
func (s *clientSession) rejectionHint(e *krb5x.Error) string {
	server := princname.Unparse(s.cfg.Ticket.SName.NameString, s.cfg.Ticket.Realm)
	switch e.Code {
	case krb5x.CodeNoKey:
		return fmt.Sprintf("the replica's keytab has no %s key for %s", krb5x.EnctypeName(s.cfg.Ticket.EncPart.EType), server)
	case krb5x.CodeBadKeyVer:
		return fmt.Sprintf("the replica's keytab has an old key version of %s; extract its current keys again", server)
	case krb5x.CodeSkew:
		return "the clocks of the primary and the replica differ by more than the allowed skew"
	case krb5x.CodeNotUs:
		return fmt.Sprintf("the replica is not %s (wrong host name given, or its kpropd runs as another principal)", server)
	}
	return ""
}

func (s *clientSession) clientName() string {
	return princname.Unparse(s.cfg.ClientName.NameString, s.cfg.ClientRealm)
}

// sendError tells kpropd why we stop, as kprop's send_error: ctime/cusec
// set, stime zero, our principal as client, the ticket's server, the text
// as given (never prefixed on this side), best effort.
func (s *clientSession) sendError(text string, cause error) {
	now := s.now()
	e := &krb5x.Error{
		Code:   wireCode(cause),
		Text:   text,
		CTime:  now,
		CUsec:  now.Nanosecond() / 1000,
		CRealm: s.cfg.ClientRealm,
		CName:  &s.cfg.ClientName,
		Realm:  s.cfg.Ticket.Realm,
		SName:  s.cfg.Ticket.SName,
	}
	der, err := krb5x.MakeError(e, time.Time{})
	if err != nil {
		return
	}
	_ = s.st.writeMessage(der)
}

// wireCode is the error-code MIT puts on the wire for a failure: the
// protocol code of a Kerberos error, 60 (KRB_ERR_GENERIC) for anything
// else.
func wireCode(err error) int32 {
	var ke *krb5x.Error
	if errors.As(err, &ke) && ke.Code > 0 && ke.Code <= 127 {
		return ke.Code
	}
	return krb5x.CodeGeneric
}

// localAddress is the s-address of our KRB-SAFE and KRB-PRIV messages: our
// end of the socket as MIT converts it (v4-mapped becomes IPv4). For a
// connection without an IP address (a pipe in tests, a Unix socket) it is
// the directional address MIT 1.22 falls back to: 0 for the client, 1 for
// the server.
func localAddress(addr net.Addr, direction byte) krb5x.Address {
	var ip net.IP
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	if a := krb5x.AddressOf(ip); a.Type != 0 {
		return a
	}
	return krb5x.Address{Type: krb5x.AddrTypeDirectional, Addr: []byte{0, 0, 0, direction}}
}

// isKRBError is krb5_is_krb_error: the message starts with the
// [APPLICATION 30] tag.
func isKRBError(msg []byte) bool { return len(msg) > 0 && msg[0] == 0x7e }
