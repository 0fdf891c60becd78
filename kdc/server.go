package kdc

import (
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Transport defaults, after MIT's net-server.c where it has them.
const (
	// DefaultMaxTCPConns is MIT's max_tcp_or_rpc_data_connections: past
	// it, the oldest connection is dropped.
	DefaultMaxTCPConns = 45
	// DefaultTCPTimeout bounds reading a request and writing its reply
	// on one TCP connection. MIT has no limit; a KDC without one can be
	// held by idle connections.
	DefaultTCPTimeout = 30 * time.Second
	// DefaultUDPWorkersPerCPU is how many goroutines per CPU answer a UDP
	// socket by default. Each spends part of every request in system
	// calls (the reply, the log line), and with one per CPU the socket
	// went unread meanwhile: four per CPU answered 15% more requests at
	// 16 clients (go run ./bench -kdc).
	DefaultUDPWorkersPerCPU = 4
	// maxTCPRequest is MIT's TCP buffer (1 MiB) less the length prefix.
	maxTCPRequest = 1<<20 - 4
	// maxUDPRequest is the largest datagram (MIT's MAX_DGRAM_SIZE).
	maxUDPRequest = 65536
	// defaultKDCPort is the port of a listen address without one.
	defaultKDCPort = "88"
)

// RequestHandler answers the requests a Server receives: a *Handler for
// one realm, *Realms for several.
type RequestHandler interface {
	// ServeKerberos returns the reply to one request, nil for none; see
	// Handler.ServeKerberos.
	ServeKerberos(ctx context.Context, req []byte, from net.Addr, tcp bool) []byte
	// TooLongError is the reply to a TCP request longer than the
	// transport reads.
	TooLongError() []byte
}

// Server serves a RequestHandler over UDP and TCP: each UDP datagram is a
// request and its reply one datagram back; each TCP connection carries one
// request and its reply, each prefixed with its length as four bytes
// big-endian (RFC 4120 §7.2.2), and is then closed, as MIT's KDC does.
type Server struct {
	// Handler answers the requests.
	Handler RequestHandler
	// Log receives transport errors; nothing is logged when nil.
	Log *slog.Logger
	// UDPWorkers is how many goroutines read and answer datagrams on
	// each UDP socket; 0 means DefaultUDPWorkersPerCPU per CPU.
	UDPWorkers int
	// MaxTCPConns bounds the open TCP connections; 0 means
	// DefaultMaxTCPConns.
	MaxTCPConns int
	// TCPTimeout bounds each TCP connection; 0 means DefaultTCPTimeout.
	TCPTimeout time.Duration

	mu    sync.Mutex
	conns *list.List // open TCP connections, oldest first
}

// ListenAddr turns a kdc_listen or kdc_tcp_listen entry into a host:port
// address for net.Listen: a bare port listens on every address, an address
// without a port on port 88 (MIT's parse of these lists).
func ListenAddr(spec string) string {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return ":" + defaultKDCPort
	}
	if _, err := strconv.ParseUint(spec, 10, 16); err == nil {
		return ":" + spec
	}
	if _, _, err := net.SplitHostPort(spec); err == nil {
		return spec
	}
	return net.JoinHostPort(strings.Trim(spec, "[]"), defaultKDCPort)
}

func (s *Server) logError(format string, args ...any) {
	if s.Log != nil {
		s.Log.Error(fmt.Sprintf(format, args...))
	}
}

// serve runs one request through the handler. The handler does not panic;
// the recover keeps a transport goroutine alive even if it ever did.
func (s *Server) serve(ctx context.Context, req []byte, from net.Addr, tcp bool) (reply []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.logError("panic serving request from %s: %v", addrString(from), p)
			reply = nil
		}
	}()
	return s.Handler.ServeKerberos(ctx, req, from, tcp)
}

// ServeUDP answers datagrams on conn until ctx is done or conn fails, with
// UDPWorkers goroutines. It closes conn when ctx is done.
func (s *Server) ServeUDP(ctx context.Context, conn net.PacketConn) error {
	n := s.UDPWorkers
	if n <= 0 {
		n = DefaultUDPWorkersPerCPU * runtime.GOMAXPROCS(0)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- s.udpWorker(ctx, conn) }()
	}
	var first error
	for i := 0; i < n; i++ {
		if err := <-errs; first == nil {
			first = err
		}
		conn.Close()
	}
	if ctx.Err() != nil {
		return nil
	}
	return first
}

func (s *Server) udpWorker(ctx context.Context, conn net.PacketConn) error {
	buf := make([]byte, maxUDPRequest)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		req := append([]byte(nil), buf[:n]...)
		reply := s.serve(ctx, req, from, false)
		if reply == nil {
			continue
		}
		if _, err := conn.WriteTo(reply, from); err != nil {
			s.logError("sending reply to %s: %v", addrString(from), err)
		}
	}
}

// ServeTCP accepts connections on l until ctx is done or l fails. It closes
// l when ctx is done and waits for the open connections to finish.
func (s *Server) ServeTCP(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		el := s.track(c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.untrack(el)
			s.serveConn(ctx, c)
		}()
	}
}

// track records a new connection, dropping the oldest when there are too
// many (MIT's kill_lru_tcp_or_rpc_connection).
func (s *Server) track(c net.Conn) *list.Element {
	max := s.MaxTCPConns
	if max <= 0 {
		max = DefaultMaxTCPConns
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = list.New()
	}
	for s.conns.Len() >= max {
		old := s.conns.Remove(s.conns.Front()).(net.Conn)
		if s.Log != nil {
			s.Log.Info(fmt.Sprintf("too many connections; dropping tcp from %s", addrString(old.RemoteAddr())))
		}
		old.Close()
	}
	return s.conns.PushBack(c)
}

func (s *Server) untrack(el *list.Element) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An element dropped by track has no list any more; Remove ignores
	// it then.
	s.conns.Remove(el)
	el.Value.(net.Conn).Close()
}

// serveConn reads one length-prefixed request, answers it and closes the
// connection.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	timeout := s.TCPTimeout
	if timeout <= 0 {
		timeout = DefaultTCPTimeout
	}
	c.SetDeadline(time.Now().Add(timeout))
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	n := binary.BigEndian.Uint32(hdr[:])
	var reply []byte
	if n > maxTCPRequest {
		s.logError("TCP client %s wants %d bytes, cap is %d", addrString(c.RemoteAddr()), n, maxTCPRequest)
		reply = s.Handler.TooLongError()
	} else {
		req := make([]byte, n)
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		reply = s.serve(ctx, req, c.RemoteAddr(), true)
	}
	if reply == nil {
		return
	}
	out := make([]byte, 4+len(reply))
	binary.BigEndian.PutUint32(out, uint32(len(reply)))
	copy(out[4:], reply)
	if _, err := c.Write(out); err != nil {
		s.logError("sending reply to %s: %v", addrString(c.RemoteAddr()), err)
	}
}

// listenAddrs turns kdc_listen or kdc_tcp_listen entries, of one realm or
// several, into the addresses to bind, as MIT's loop_add_address: an
// address named twice (by two realms sharing a port) is bound once, and a
// wildcard address (a bare port) covers the addresses on its port, which
// are not bound beside it.
func listenAddrs(specs []string) []string {
	addrs := make([]string, len(specs))
	wildcard := map[string]bool{}
	for i, spec := range specs {
		addrs[i] = ListenAddr(spec)
		if host, port, _ := net.SplitHostPort(addrs[i]); host == "" {
			wildcard[port] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		if seen[a] || (host != "" && wildcard[port]) {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out
}

// ListenAndServe listens on the UDP and TCP addresses (kdc_listen and
// kdc_tcp_listen entries, see ListenAddr; each distinct address once, see
// listenAddrs) and serves until ctx is done or a socket fails. ready, if
// not nil, is called once every socket listens.
func (s *Server) ListenAndServe(ctx context.Context, udp, tcp []string, ready func()) error {
	var pcs []net.PacketConn
	var ls []net.Listener
	closeAll := func() {
		for _, p := range pcs {
			p.Close()
		}
		for _, l := range ls {
			l.Close()
		}
	}
	for _, a := range listenAddrs(udp) {
		pc, err := net.ListenPacket("udp", a)
		if err != nil {
			closeAll()
			return err
		}
		pcs = append(pcs, pc)
	}
	for _, a := range listenAddrs(tcp) {
		l, err := net.Listen("tcp", a)
		if err != nil {
			closeAll()
			return err
		}
		ls = append(ls, l)
	}
	return s.Serve(ctx, pcs, ls, ready)
}

// Serve serves on sockets already open (for instance passed by systemd)
// until ctx is done or one fails; then it closes them all.
func (s *Server) Serve(ctx context.Context, pcs []net.PacketConn, ls []net.Listener, ready func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(pcs)+len(ls))
	for _, pc := range pcs {
		go func() { errs <- s.ServeUDP(ctx, pc) }()
	}
	for _, l := range ls {
		go func() { errs <- s.ServeTCP(ctx, l) }()
	}
	if ready != nil {
		ready()
	}
	var first error
	for i := 0; i < len(pcs)+len(ls); i++ {
		err := <-errs
		if first == nil && err != nil {
			first = err
		}
		cancel()
	}
	return first
}
