package mittest

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FreePort returns a loopback port that is free for both TCP and UDP right
// now, for a KDC (which needs both) or a kpropd. Another process may take it
// before the caller binds it; on a test host that is rare enough.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n distinct ports, each free for TCP and UDP on
// 127.0.0.1. All n are held until the last is found, so they differ from
// each other; separate calls may, rarely, return the same port.
//
// The ports are drawn at random below the kernel's ephemeral range: a
// port the kernel handed out for port 0 could be handed out again, between
// this call and the daemon's bind, to any client socket on the machine
// (every kinit and kprop of the tests running alongside).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var (
		ports   []int
		holding []io.Closer
	)
	defer func() {
		for _, c := range holding {
			c.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries == 100+n {
			t.Fatalf("mittest.FreePorts: no port free for both TCP and UDP after %d tries", tries)
		}
		tl, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(candidatePort())))
		if err != nil {
			continue // taken
		}
		holding = append(holding, tl)
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // UDP side taken; keep the TCP one so it is not offered again
		}
		holding = append(holding, ul)
		ports = append(ports, port)
	}
	return ports
}

// candidatePort is a random port between 10000 and the start of the
// kernel's ephemeral range (ip_local_port_range), or 0 (any port) when
// that range leaves no room below it.
func candidatePort() int {
	const lowest = 10000
	top := 32768 // Linux's default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				top = v
			}
		}
	}
	if top-lowest < 1000 {
		return 0
	}
	return lowest + rand.IntN(top-lowest)
}

// WaitPort waits until something listens on addr ("IP:port") for network
// "tcp" or "udp", and fails the test after timeout.
//
// It looks at the kernel's socket tables (/proc/net) instead of connecting:
// a probe connection would be a session to the daemon, and kpropd -D serves
// exactly one session and exits. A socket bound to the wildcard address
// counts as listening on every address. Linux only.
func WaitPort(t testing.TB, network, addr string, timeout time.Duration) {
	t.Helper()
	if err := waitPort(network, addr, timeout, nil); err != nil {
		t.Fatalf("mittest.WaitPort: %v", err)
	}
}

// waitPort polls until addr is bound, timeout passes, or exited is closed.
func waitPort(network, addr string, timeout time.Duration, exited <-chan struct{}) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want IP:port: %w", addr, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := listening(network, ap)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before listening on %s %s", network, addr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s %s after %v", network, addr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listening reports whether a socket of network ("tcp" or "udp") is bound to
// ap, or to ap's port on the wildcard address, according to /proc/net. A TCP
// socket counts only in state LISTEN (0A), a UDP one only unconnected
// (state 07, TCP_CLOSE in the kernel's table).
func listening(network string, ap netip.AddrPort) (bool, error) {
	var state string
	switch network {
	case "tcp":
		state = "0A"
	case "udp":
		state = "07"
	default:
		return false, fmt.Errorf("network %q: want tcp or udp", network)
	}
	want := ap.Addr().Unmap()
	for _, file := range []string{"/proc/net/" + network, "/proc/net/" + network + "6"} {
		f, err := os.Open(file)
		if os.IsNotExist(err) && strings.HasSuffix(file, "6") {
			continue // kernel without IPv6
		}
		if err != nil {
			return false, err
		}
		found, err := scanSocketTable(f, state, ap.Port(), want)
		f.Close()
		if err != nil {
			return false, fmt.Errorf("%s: %w", file, err)
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}

// scanSocketTable reads a /proc/net/{tcp,udp}[6] table, whose lines look like
//
//	sl  local_address rem_address   st ...
//	 0: 0100007F:0058 00000000:0000 0A ...
//
// with the address printed as the kernel's 32-bit words in host byte order.
func scanSocketTable(f *os.File, state string, port uint16, want netip.Addr) (bool, error) {
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != state {
			continue
		}
		hexAddr, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || uint16(p) != port {
			continue
		}
		addr, err := parseProcAddr(hexAddr)
		if err != nil {
			return false, err
		}
		if addr.IsUnspecified() || addr == want {
			return true, nil
		}
	}
	return false, sc.Err()
}

func parseProcAddr(s string) (netip.Addr, error) {
	raw, err := hex.DecodeString(s)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	// Each 32-bit word was printed as a number in host order; writing it
	// back the same way recovers the bytes in network order.
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return addr.Unmap(), nil
}
