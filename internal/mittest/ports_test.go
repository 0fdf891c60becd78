package mittest

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestFreePorts(t *testing.T) {
	ports := FreePorts(t, 5)
	seen := map[int]bool{}
	ephemeral := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &ephemeral)
	}
	for _, p := range ports {
		if p <= 1024 || p > 65535 {
			t.Errorf("port %d is not a high port", p)
		}
		if ephemeral > 11000 && p >= ephemeral {
			t.Errorf("port %d is in the kernel's ephemeral range (from %d), where client sockets take theirs", p, ephemeral)
		}
		if seen[p] {
			t.Errorf("port %d returned twice", p)
		}
		seen[p] = true
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		tl, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %d not free for TCP: %v", p, err)
			continue
		}
		ul, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Errorf("port %d not free for UDP: %v", p, err)
		} else {
			ul.Close()
		}
		tl.Close()
	}
	if p := FreePort(t); p <= 1024 {
		t.Errorf("FreePort = %d", p)
	}
}

func TestWaitPort(t *testing.T) {
	port := FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ap := netip.MustParseAddrPort(addr)

	for _, network := range []string{"tcp", "udp"} {
		if ok, err := listening(network, ap); err != nil || ok {
			t.Fatalf("listening(%s, %s) before bind = %v, %v", network, addr, ok, err)
		}
	}

	tl, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	WaitPort(t, "tcp", addr, 5*time.Second)
	if ok, _ := listening("udp", ap); ok {
		t.Error("a TCP listener counted as UDP")
	}

	ul, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	WaitPort(t, "udp", addr, 5*time.Second)

	// A wildcard bind serves the loopback address too.
	wport := FreePort(t)
	wl, err := net.Listen("tcp", ":"+strconv.Itoa(wport))
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Close()
	WaitPort(t, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(wport)), 5*time.Second)

	if err := waitPort("tcp", "127.0.0.1:1", 100*time.Millisecond, nil); err == nil {
		t.Error("waitPort succeeded on a port nobody listens on")
	}
	exited := make(chan struct{})
	close(exited)
	if err := waitPort("tcp", "127.0.0.1:1", time.Minute, exited); err == nil {
		t.Error("waitPort did not stop when the process exited")
	}
	if err := waitPort("tcp", "localhost:88", time.Second, nil); err == nil {
		t.Error("waitPort accepted a host name")
	}
}

func TestParseProcAddr(t *testing.T) {
	// Lines as a little-endian kernel prints them; on a big-endian host
	// the words would be printed the other way round, so test only where
	// the expectation holds.
	if !littleEndian() {
		t.Skip("expectations written for a little-endian host")
	}
	tests := map[string]string{
		"0100007F":                         "127.0.0.1",
		"00000000":                         "0.0.0.0",
		"00000000000000000000000001000000": "::1",
		"0000000000000000FFFF00000100007F": "127.0.0.1", // ::ffff:127.0.0.1, unmapped
	}
	for in, want := range tests {
		got, err := parseProcAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parseProcAddr(%s) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := parseProcAddr("0100"); err == nil {
		t.Error("parseProcAddr accepted a short address")
	}
}

func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }
