package propagation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/princname"
)

// DefaultSkew is krb5.conf's clockskew default, the window for
// authenticator times and replay-cache entries.
const DefaultSkew = 300 * time.Second

// KeyLookup finds the acceptor's long-term key for a ticket: the keytab
// entry for the ticket's server name and realm with that key version and
// enctype. Its error, if a *krb5x.Error, says which KRB-ERROR to send
// (45 no key, 44 wrong key version, 35 not us); any other error is sent as
// 60 with its text.
type KeyLookup func(sname []string, realm string, kvno uint32, etype int32) (types.EncryptionKey, error)

// Store receives the dumps kpropd accepts. It is where the database side
// begins: propagation hands it bytes and asks it to load them.
type Store interface {
	// Begin prepares to receive a dump of size bytes from client (the
	// unparsed principal), after authentication and the ACL check. MIT
	// opens and locks <file>.temp here; an error (such as that lock being
	// held by another session) ends the session without a reply.
	Begin(ctx context.Context, client string, size uint64) (Transfer, error)
}

// Transfer is one dump being received.
type Transfer interface {
	// Write stores the next bytes of the dump.
	io.Writer
	// Commit makes the complete dump the replica's database (MIT: rename
	// <file>.temp to <file> and run kdb5_util load) and returns only once
	// the load has committed or failed. kprop is told of success only
	// after Commit returns nil.
	Commit(ctx context.Context) error
	// Abort discards the dump. Serve calls it when the session fails
	// before or during Commit; it must be harmless after a failed Commit.
	Abort()
}

// ServerConfig is the kpropd end of a session.
type ServerConfig struct {
	// Realm and Acceptor are kpropd's own principal, host/<its host
	// name>@Realm: the server named in its KRB-ERRORs.
	Realm    string
	Acceptor types.PrincipalName
	// Keys looks up the acceptor's keys (the -s keytab).
	Keys KeyLookup
	// ACLPath is kpropd.acl, read on every connection (§5.5).
	ACLPath string
	// Skew is the allowed clock skew (DefaultSkew if 0).
	Skew time.Duration
	// Replay detects replayed AP-REQs; nil disables it, as
	// KRB5RCACHETYPE=none does.
	Replay *ReplayCache
	// Timeout bounds each read and write (DefaultTimeout if 0; negative
	// means none). Overall bounds the whole session including the load,
	// like MIT's alarm(iprop_resync_timeout) (DefaultOverall if 0;
	// negative means none).
	Timeout time.Duration
	Overall time.Duration
	// Store receives the dump.
	Store Store
	// Log receives MIT kpropd's log lines (spec §5.6) with MIT's texts;
	// MIT's debug-only stderr lines are logged at debug level. Nil
	// discards them.
	Log *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Serve runs one kpropd session on conn (spec §5.4): recvauth, the ACL
// check, the transfer into Store, the load, and the confirmation. It
// returns nil when kprop has been told of a successful load, else an
// *Error whose Message is the line MIT's kpropd logs. Serve never panics
// on any input and always returns once the session's deadlines pass; it
// does not close conn.
func (c *ServerConfig) Serve(ctx context.Context, conn net.Conn) error {
	if c.Keys == nil || c.Store == nil {
		return &Error{Op: "kpropd: ServerConfig needs Keys and Store"}
	}
	s := c.newSession(ctx, conn)
	defer s.stop()
	err := s.run()
	if err != nil && s.transfer != nil {
		s.transfer.Abort()
	}
	if err != nil && errors.Is(err, ErrSessionTimeout) {
		// MIT's alarm handler writes this to stderr and exits (§5.4).
		s.log.Error("Full propagation timed out")
	}
	return err
}

// serverSession is one kpropd session's state.
type serverSession struct {
	cfg   *ServerConfig
	st    *stream
	stop  func()
	now   func() time.Time
	log   *slog.Logger
	skew  time.Duration
	local krb5x.Address

	clientRealm   string
	clientName    *types.PrincipalName
	client        string // unparsed
	ticketEnctype int32
	key           types.EncryptionKey
	localSeq      uint32 // S
	remoteSeq     uint32 // C, then C+1… as messages arrive
	size          uint64
	transfer      Transfer
}

func (c *ServerConfig) newSession(ctx context.Context, conn net.Conn) *serverSession {
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
	overall := c.Overall
	if overall == 0 {
		overall = DefaultOverall
	} else if overall < 0 {
		overall = 0
	}
	skew := c.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, stop := newStream(ctx, conn, timeout, overall)
	return &serverSession{
		cfg: c, st: st, stop: stop, now: now, log: log, skew: skew,
		local: localAddress(conn.LocalAddr(), 1),
	}
}

func (s *serverSession) run() error {
	if host := peerHost(s.st.conn); host != "" {
		s.log.Info("Connection from " + host)
	}
	if err := s.recvauth(); err != nil {
		return err
	}
	if err := s.authorize(); err != nil {
		return err
	}
	confirmation, err := s.receive()
	if err != nil {
		return err
	}
	// The load runs under the session's overall deadline, as MIT's alarm
	// covers kdb5_util load.
	ctx, cancel := s.st.context()
	defer cancel()
	if err := s.transfer.Commit(ctx); err != nil {
		// MIT logs "<kdb5_util> returned a bad exit status (n)" and exits
		// without a reply (§5.4 step 8); the Store words the failure.
		e := &Error{Err: err}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrSessionTimeout) {
			e.Err = fmt.Errorf("%w: %w", ErrSessionTimeout, err)
		}
		s.log.Error(e.Message())
		return e
	}
	s.transfer = nil
	if err := s.st.writeMessage(confirmation); err != nil {
		e := &Error{Op: "while sending # of received bytes", Err: err}
		s.log.Error(e.Message())
		return e
	}
	s.log.Debug("Database load process for full propagation completed.")
	return nil
}

// recvauth is krb5_recvauth as kpropd calls it (§2.1, §2.5).
func (s *serverSession) recvauth() error {
	fail := func(err error) error {
		e := &Error{Op: "Error in krb5_recvauth:", Err: err}
		s.log.Error(e.Message())
		return e
	}
	// Both version strings are read before either is checked.
	sendauth, err := s.st.readMessage(MaxAuthMessage)
	if err != nil {
		return fail(err)
	}
	appl, err := s.st.readMessage(MaxAuthMessage)
	if err != nil {
		return fail(err)
	}
	var problem error
	var reply byte
	switch {
	case string(sendauth) != sendauthVersion:
		problem, reply = ErrBadSendauthVersion, 1
	case string(appl) != kpropVersion:
		problem, reply = ErrBadApplVersion, 2
	}
	if err := s.st.write([]byte{reply}); err != nil && problem == nil {
		return fail(err)
	}
	if problem != nil {
		return fail(problem)
	}

	apreq, err := s.st.readMessage(MaxAuthMessage)
	if err != nil {
		return fail(err)
	}
	info, err := s.acceptAPReq(apreq)
	if err != nil {
		s.sendRecvauthError(err)
		return fail(err)
	}
	s.clientRealm = info.ClientRealm
	cname := info.Client
	s.clientName = &cname
	s.client = princname.Unparse(cname.NameString, info.ClientRealm)
	s.key = info.SessionKey
	if info.Subkey != nil {
		s.key = *info.Subkey
	}
	s.remoteSeq = info.Seq

	// Accepted: an empty message, then the AP-REP if mutual
	// authentication was asked for (always, from kprop).
	reply2 := AppendMessage(nil, nil)
	if info.MutualRequired {
		seq, err := krb5x.NewSeqNumber()
		if err != nil {
			return fail(err)
		}
		aprep, err := krb5x.MakeAPRep(info.SessionKey, info.CTime, info.CUsec, seq)
		if err != nil {
			return fail(err)
		}
		s.localSeq = seq
		reply2 = AppendMessage(reply2, aprep)
	} else {
		// rd_req's rule for non-mutual requests: our first sequence
		// number is the client's (auth_con's zero XOR the remote one).
		s.localSeq = info.Seq
	}
	if err := s.st.write(reply2); err != nil {
		return fail(err)
	}
	s.log.Debug(fmt.Sprintf("authenticated client: %s (etype == %s)", s.client, krb5x.EnctypeName(info.TicketEnctype)))
	s.ticketEnctype = info.TicketEnctype
	return nil
}

// acceptAPReq is krb5_rd_req with kpropd's settings: the keytab, the
// clock skew, and the replay cache, which MIT consults after decrypting
// the authenticator and before the time checks.
func (s *serverSession) acceptAPReq(der []byte) (*krb5x.APReqInfo, error) {
	var replay func(*krb5x.APReqInfo) error
	if s.cfg.Replay != nil {
		replay = func(info *krb5x.APReqInfo) error {
			var tag [ReplayTagSize]byte
			copy(tag[:], info.ReplayTag)
			err := s.cfg.Replay.Store(tag, s.skew)
			if err != nil && !errors.Is(err, ErrReplay) {
				// rcache I/O failures reach the wire as 60 (§2.5).
				return &krb5x.Error{Code: krb5x.CodeGeneric, Text: causeText(err), Err: err}
			}
			return err
		}
	}
	return krb5x.ReadAPReqReplay(der, s.cfg.Keys, s.now(), s.skew, replay)
}

// sendRecvauthError is recvauth's KRB-ERROR (§2.5): stime now, the
// acceptor as server, no client, error-code the protocol code or 60,
// e-text MIT's error_message of the code.
func (s *serverSession) sendRecvauthError(err error) {
	e := &krb5x.Error{
		Code:  wireCode(err),
		Text:  recvauthText(err),
		Realm: s.cfg.Realm,
		SName: s.cfg.Acceptor,
	}
	if der, merr := krb5x.MakeError(e, s.now()); merr == nil {
		_ = s.st.writeMessage(der)
	}
}

// recvauthText is the e-text recvauth sends: the table message of the
// code, which for a *krb5x.Error is its Text.
func recvauthText(err error) string {
	var ke *krb5x.Error
	if errors.As(err, &ke) {
		if ke.Text != "" {
			return ke.Text
		}
		return krb5x.ErrorText(ke.Code)
	}
	return causeText(err)
}

// authorize checks kpropd.acl (§5.5). A rejected client gets nothing:
// MIT logs a warning and closes after having sent the AP-REP.
func (s *serverSession) authorize() error {
	ok, err := CheckACL(s.cfg.ACLPath, s.client, s.ticketEnctype)
	if ok {
		return nil
	}
	msg := "Rejected connection from unauthorized principal " + s.client
	if err != nil {
		s.log.Warn(msg, "reason", err.Error())
	} else {
		s.log.Warn(msg, "reason", fmt.Sprintf("%s lists no line for %s with no enctype or with %s",
			s.cfg.ACLPath, s.client, krb5x.EnctypeName(s.ticketEnctype)))
	}
	return &Error{Op: msg, Hint: errString(err), kind: ErrUnauthorized}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// receive is recv_database (§3): the size, the blocks into the Store, and
// the confirmation to send once the load has committed.
func (s *serverSession) receive() ([]byte, error) {
	msg, err := s.st.readMessage(MaxAuthMessage)
	if err != nil {
		return nil, s.abort("while reading database size", "while reading size of database from client", err)
	}
	if isKRBError(msg) {
		return nil, s.remoteError(msg)
	}
	safe, err := krb5x.ReadSafe(s.key, msg)
	if err == nil {
		err = checkSafePriv(safe.Seq, s.remoteSeq, safe.RAddr, s.local)
	}
	if err != nil {
		return nil, s.abort("while decoding database size", "while decoding database size from client", err)
	}
	s.remoteSeq++
	size, err := DecodeSize(safe.UserData)
	if err != nil {
		return nil, s.abort("malformed database size message", "malformed database size message from client",
			&krb5x.Error{Code: krb5x.CodeGeneric, Err: err})
	}
	s.size = size

	ctx, cancel := s.st.context()
	s.transfer, err = s.cfg.Store.Begin(ctx, s.client, size)
	cancel()
	if err != nil {
		// MIT: "while trying to lock '<file>.temp'" and exit, no reply.
		e := &Error{Err: err}
		s.log.Error(e.Message())
		return nil, e
	}

	priv, err := krb5x.NewPrivStream(s.key)
	if err != nil {
		return nil, s.abort("failed while initializing i_vector", "while initializing i_vector", err)
	}
	s.log.Debug("Full propagation transfer started.")
	var received uint64
	in := make([]byte, 0, BlockSize+1024)    // one buffer for every block's frame
	plain := make([]byte, 0, BlockSize+1024) // and one for its decryption
	for received < size {
		msg, err := s.st.readMessageInto(in, MaxBlockMessage)
		if err != nil {
			op := fmt.Sprintf("while reading database block starting at offset %d", received)
			return nil, s.abort(op, op, err)
		}
		if isKRBError(msg) {
			return nil, s.remoteError(msg)
		}
		var block krb5x.PrivMessage
		block, plain, err = priv.OpenInto(msg, plain)
		if err == nil {
			err = checkSafePriv(block.Seq, s.remoteSeq, block.RAddr, s.local)
		}
		if err != nil {
			op := fmt.Sprintf("while decoding database block starting at offset %d", received)
			return nil, s.abort(op, op, err)
		}
		s.remoteSeq++
		if received+uint64(len(block.UserData)) > size {
			// MIT reports the overshoot and then loads anyway (§3.8),
			// though its kprop reads this error as the final answer and
			// reports a failure. We stop: a dump of another size than
			// announced is not loaded.
			text := fmt.Sprintf("Received %d bytes, expected %d bytes for database file",
				received+uint64(len(block.UserData)), size)
			return nil, s.abort(text, text, &krb5x.Error{Code: krb5x.CodeGeneric})
		}
		if n, err := s.transfer.Write(block.UserData); err != nil || n != len(block.UserData) {
			// MIT reports a write error and carries on, loading a
			// damaged file; we stop.
			op := fmt.Sprintf("while writing database block starting at offset %d", received)
			if err == nil {
				err = io.ErrShortWrite
			}
			return nil, s.abort(op, op, err)
		}
		received += uint64(len(block.UserData))
	}
	s.log.Debug("Full propagation transfer finished.")
	conf, err := krb5x.MakeSafe(s.key, krb5x.SafeMessage{
		UserData: AppendSize(nil, size), Seq: s.localSeq, SAddr: s.local,
	})
	if err != nil {
		return nil, s.abort("while encoding # of received bytes", "while encoding # of received bytes", err)
	}
	return conf, nil
}

// abort ends the transfer as kpropd's send_error and com_err do (§3.7):
// a KRB-ERROR to the client with sent as its text (prefixed by the
// cause's message when the code is not a protocol code), and logged as
// "<cause> <logged>".
func (s *serverSession) abort(sent, logged string, cause error) error {
	code := wireCode(cause)
	text := sent
	if !protocolCode(cause) {
		text = causeText(cause) + " " + sent
	}
	e := &krb5x.Error{
		Code: code, Text: text,
		CRealm: s.clientRealm, CName: s.clientName,
		Realm: s.cfg.Realm, SName: s.cfg.Acceptor,
	}
	if der, err := krb5x.MakeError(e, s.now()); err == nil {
		_ = s.st.writeMessage(der)
	}
	out := &Error{Op: logged, Err: cause}
	s.log.Error(out.Message())
	return out
}

// protocolCode reports whether MIT has a protocol error code for err, one
// it sends as is; for any other (system errors, ASN.1 and library codes,
// which a *krb5x.Error carries as code 60 with the library's message) MIT
// sends 60 and prefixes the e-text with the message.
func protocolCode(err error) bool {
	var ke *krb5x.Error
	if !errors.As(err, &ke) || ke.Code <= 0 || ke.Code > 127 {
		return false
	}
	return ke.Code != krb5x.CodeGeneric || ke.Text == "" || ke.Text == krb5x.ErrorText(krb5x.CodeGeneric)
}

// remoteError is recv_error: kprop sent a KRB-ERROR in place of the size
// or a block; log it and stop without a reply.
func (s *serverSession) remoteError(msg []byte) error {
	kerr, err := krb5x.ReadError(msg)
	if err != nil {
		e := &Error{Op: "while decoding error packet from client", Err: err}
		s.log.Error(e.Message())
		return e
	}
	e := &Error{Remote: kerr, Side: "client"}
	for _, l := range e.Lines("") {
		s.log.Error(l)
	}
	return e
}

// peerHost is the numeric host of the peer, as MIT logs "Connection from
// <host>" (MIT resolves it to a name when reverse DNS answers; the engine
// does no DNS). An IPv4 peer of an IPv6 socket, as a dual-stack listener
// accepts, is shown in its mapped form ::ffff:a.b.c.d, as MIT shows it.
func peerHost(conn Conn) string {
	nc, ok := conn.(net.Conn)
	if !ok || nc.RemoteAddr() == nil {
		return ""
	}
	a, ok := nc.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return nc.RemoteAddr().String()
	}
	if v4 := a.IP.To4(); v4 != nil && isIPv6Socket(nc) {
		return "::ffff:" + v4.String()
	}
	return a.IP.String()
}

// isIPv6Socket reports whether conn is an AF_INET6 socket; Go shows a
// mapped peer address as plain IPv4 either way.
func isIPv6Socket(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	v6 := false
	raw.Control(func(fd uintptr) {
		if sa, err := syscall.Getsockname(int(fd)); err == nil {
			_, v6 = sa.(*syscall.SockaddrInet6)
		}
	})
	return v6
}
