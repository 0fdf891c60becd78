// Package daemon is the process plumbing the network daemons (kpropd,
// krb5kdc) share: finding out how they were started (inetd, systemd socket
// activation, or standalone), telling systemd they are ready, detaching
// from the terminal, the pid file, and logging to syslog as MIT's daemons
// do.
package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/coreos/go-systemd/v22/activation"
	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// Activation is what the service manager handed the process.
type Activation struct {
	// Conn is the one connection to serve, when fd 0 is a connected
	// socket (inetd "nowait", systemd Accept=yes with
	// StandardInput=socket) or systemd passed a connected socket in
	// LISTEN_FDS (Accept=yes without StandardInput=socket).
	Conn net.Conn
	// Listeners are sockets to accept on (systemd Accept=no, or a
	// listening socket on fd 0).
	Listeners []net.Listener
	// PacketConns are datagram sockets (systemd ListenDatagram=), which
	// a KDC reads requests from.
	PacketConns []net.PacketConn
}

// Standalone reports whether nothing was handed over: the daemon must
// open its own listener.
func (a Activation) Standalone() bool {
	return a.Conn == nil && len(a.Listeners) == 0 && len(a.PacketConns) == 0
}

// Detect finds the sockets the process was started with: systemd's
// LISTEN_FDS first, then a socket on standard input as MIT's kpropd checks
// it (fstat of fd 0), then nothing (standalone).
func Detect() (Activation, error) {
	var a Activation
	for _, f := range activation.Files(true) {
		if err := a.add(f); err != nil {
			return Activation{}, err
		}
	}
	if !a.Standalone() {
		return a, nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(0, &st); err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFSOCK {
		// Duplicate fd 0 so the caller can point standard input at
		// /dev/null without closing the connection, as MIT does.
		fd, err := syscall.Dup(0)
		if err != nil {
			return Activation{}, fmt.Errorf("dup standard input: %w", err)
		}
		if err := a.add(os.NewFile(uintptr(fd), "stdin-socket")); err != nil {
			return Activation{}, err
		}
	}
	return a, nil
}

// add sorts a passed socket into a listener, a datagram socket or a
// connection.
func (a *Activation) add(f *os.File) error {
	defer f.Close()
	typ, err := syscall.GetsockoptInt(int(f.Fd()), syscall.SOL_SOCKET, syscall.SO_TYPE)
	if err != nil {
		return fmt.Errorf("socket %s: %w", f.Name(), err)
	}
	if typ == syscall.SOCK_DGRAM {
		pc, err := net.FilePacketConn(f)
		if err != nil {
			return fmt.Errorf("socket %s: %w", f.Name(), err)
		}
		a.PacketConns = append(a.PacketConns, pc)
		return nil
	}
	listening, err := syscall.GetsockoptInt(int(f.Fd()), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	if err != nil {
		return fmt.Errorf("socket %s: %w", f.Name(), err)
	}
	if listening == 1 {
		l, err := net.FileListener(f)
		if err != nil {
			return fmt.Errorf("socket %s: %w", f.Name(), err)
		}
		a.Listeners = append(a.Listeners, l)
		return nil
	}
	if a.Conn != nil {
		return errors.New("more than one connection passed to the process")
	}
	c, err := net.FileConn(f)
	if err != nil {
		return fmt.Errorf("socket %s: %w", f.Name(), err)
	}
	a.Conn = c
	return nil
}

// NotifyReady tells systemd (when NOTIFY_SOCKET is set) that the daemon is
// up; it does nothing otherwise.
func NotifyReady() error {
	_, err := sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
	return err
}

// NotifyStopping tells systemd the daemon is shutting down.
func NotifyStopping() error {
	_, err := sddaemon.SdNotify(false, sddaemon.SdNotifyStopping)
	return err
}

// WritePIDFile writes the process id to path, replacing the file
// atomically so a reader never sees it half written.
func WritePIDFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// SilenceStdio points standard input, output and error at /dev/null
// wherever they are conn itself, as MIT's kpropd does in inetd mode:
// inetd passes the connection as all three, so a line written to standard
// error would reach the peer in the middle of the protocol. Descriptors
// that are something else (systemd's journal stream) are left alone.
func SilenceStdio(conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var connStat syscall.Stat_t
	var statErr error
	if err := raw.Control(func(fd uintptr) { statErr = syscall.Fstat(int(fd), &connStat) }); err != nil {
		return err
	}
	if statErr != nil {
		return statErr
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	for fd := 0; fd <= 2; fd++ {
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) != nil || st.Dev != connStat.Dev || st.Ino != connStat.Ino {
			continue
		}
		if err := syscall.Dup3(int(null.Fd()), fd, 0); err != nil {
			return fmt.Errorf("point descriptor %d at %s: %w", fd, os.DevNull, err)
		}
	}
	return nil
}
