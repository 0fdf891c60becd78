package daemon

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const modeEnv = "KRB5PROP_DAEMON_TEST_MODE"

// TestChild runs inside the re-executed test binary: it reports what
// Detect found, then exits.
func TestChild(t *testing.T) {
	mode := os.Getenv(modeEnv)
	if mode == "" {
		return // only as a child of the tests below
	}
	if mode == "systemd" {
		// systemd sets LISTEN_PID to the service's pid.
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	}
	a, err := Detect()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(0)
	}
	fmt.Printf("conn=%v listeners=%d datagram=%d\n", a.Conn != nil, len(a.Listeners), len(a.PacketConns))
	if a.Conn != nil {
		a.Conn.Write([]byte("hello"))
	}
	os.Exit(0)
}

func runChild(t *testing.T, mode string, setup func(*exec.Cmd)) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$")
	cmd.Env = append(os.Environ(), modeEnv+"="+mode)
	setup(cmd)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	return string(out)
}

// runSystemdChild runs the child with f passed as systemd passes a socket
// (fd 3, LISTEN_FDS=1), and closes f.
func runSystemdChild(t *testing.T, f *os.File) string {
	t.Helper()
	defer f.Close()
	return runChild(t, "systemd", func(c *exec.Cmd) {
		c.ExtraFiles = []*os.File{f}
		c.Env = append(c.Env, "LISTEN_FDS=1")
	})
}

func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func TestDetectInetd(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	f, _ := server.File()
	server.Close()
	out := runChild(t, "inetd", func(c *exec.Cmd) { c.Stdin = f })
	f.Close()
	if !strings.Contains(out, "conn=true listeners=0") {
		t.Fatalf("child saw %q", out)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := client.Read(buf); err != nil || string(buf) != "hello" {
		t.Errorf("read from the inetd connection: %q, %v", buf, err)
	}
}

func TestDetectSystemdListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, _ := l.(*net.TCPListener).File()
	if out := runSystemdChild(t, f); !strings.Contains(out, "conn=false listeners=1") {
		t.Fatalf("child saw %q", out)
	}
}

func TestDetectSystemdDatagram(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	f, _ := pc.(*net.UDPConn).File()
	if out := runSystemdChild(t, f); !strings.Contains(out, "conn=false listeners=0 datagram=1") {
		t.Fatalf("child saw %q", out)
	}
}

func TestDetectSystemdAcceptedConnection(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	f, _ := server.File()
	server.Close()
	if out := runSystemdChild(t, f); !strings.Contains(out, "conn=true listeners=0") {
		t.Fatalf("child saw %q", out)
	}
}

func TestDetectStandalone(t *testing.T) {
	out := runChild(t, "plain", func(c *exec.Cmd) {})
	if !strings.Contains(out, "conn=false listeners=0") {
		t.Fatalf("child saw %q", out)
	}
}

func TestWritePIDFile(t *testing.T) {
	path := t.TempDir() + "/kpropd.pid"
	if err := WritePIDFile(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file holds %q", b)
	}
}
