package kdc

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// startServer serves f's handler on loopback UDP and TCP ports and
// returns the address (the same port for both); configure may change the
// Server before it starts.
func startServer(t *testing.T, f *fixture, configure ...func(*Server)) string {
	t.Helper()
	var pc net.PacketConn
	var l net.Listener
	for i := 0; ; i++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if i == 20 {
			t.Fatal(err)
		}
	}
	s := &Server{Handler: f.h, Log: f.h.Log}
	for _, c := range configure {
		c(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, []net.PacketConn{pc}, []net.Listener{l}, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return pc.LocalAddr().String()
}

func gokrb5Config(t *testing.T, addr string, tcpOnly bool) *config.Config {
	t.Helper()
	udpLimit := 1465
	if tcpOnly {
		udpLimit = 1
	}
	cfg, err := config.NewFromString(fmt.Sprintf(`[libdefaults]
 default_realm = %s
 dns_lookup_kdc = false
 udp_preference_limit = %d
 default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
 default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
 forwardable = true
[realms]
 %s = {
  kdc = %s
 }
`, testRealm, udpLimit, testRealm, addr))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestGokrb5Client runs gokrb5's client against the KDC over UDP and TCP:
// password login with PREAUTH_REQUIRED, ETYPE-INFO2 and PA-ENC-TIMESTAMP,
// the RFC 6806 check of the AS-REP, a service ticket with a subkey, and
// a wrong password.
func TestGokrb5Client(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		t.Run(fmt.Sprintf("tcp=%v", tcp), func(t *testing.T) {
			f := newFixture(t)
			f.h.Now = time.Now
			f.addPrinc("alice", "alice-pw", nil)
			f.addPrinc("HTTP/web.kdc.test", "", nil)
			addr := startServer(t, f)
			cfg := gokrb5Config(t, addr, tcp)
			cl := client.NewWithPassword("alice", testRealm, "alice-pw", cfg)
			defer cl.Destroy()
			if err := cl.Login(); err != nil {
				t.Fatalf("login: %v", err)
			}
			tkt, key, err := cl.GetServiceTicket("HTTP/web.kdc.test")
			if err != nil {
				t.Fatalf("service ticket: %v", err)
			}
			if tkt.SName.PrincipalNameString() != "HTTP/web.kdc.test" || key.KeyType != 18 {
				t.Errorf("ticket %v key type %d", tkt.SName, key.KeyType)
			}
			// The service decrypts its ticket.
			svcKey := f.key("HTTP/web.kdc.test", tkt.EncPart.EType)
			plain, err := krb5x.Decrypt(svcKey, keyUsageTicket, tkt.EncPart.Cipher)
			if err != nil {
				t.Fatalf("service cannot decrypt its ticket: %v", err)
			}
			var etp messages.EncTicketPart
			if err := etp.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			if !types.IsFlagSet(&etp.Flags, flags.PreAuthent) || !types.IsFlagSet(&etp.Flags, flags.Forwardable) {
				t.Errorf("service ticket flags %x", etp.Flags.Bytes)
			}

			bad := client.NewWithPassword("alice", testRealm, "wrong", cfg)
			defer bad.Destroy()
			err = bad.Login()
			if err == nil {
				t.Fatal("login with a wrong password succeeded")
			}
			if !strings.Contains(err.Error(), "KDC_ERR_PREAUTH_FAILED") {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

func TestServerTCPFraming(t *testing.T) {
	f := newFixture(t)
	addr := startServer(t, f)
	// A length beyond MIT's 1 MiB buffer gets KRB_ERR_FIELD_TOOLONG.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{0x7f, 0xff, 0xff, 0xff})
	reply := readFrame(t, c)
	wantError(t, reply, CodeFieldTooLong, "")
	// Garbage gets no reply: the connection is closed.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	c2.Write([]byte{0, 0, 0, 5, 1, 2, 3, 4, 5})
	if n, err := c2.Read(make([]byte, 10)); err != io.EOF {
		t.Errorf("read %d, %v; want EOF", n, err)
	}
	// A UDP datagram of garbage gets nothing either.
	u, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("hello"))
	u.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := u.Read(make([]byte, 100)); err == nil {
		t.Errorf("got %d bytes for garbage", n)
	}
}

func TestServerDropsOldestConnection(t *testing.T) {
	f := newFixture(t)
	addr := startServer(t, f, func(s *Server) { s.MaxTCPConns = 2 })
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		time.Sleep(50 * time.Millisecond)
	}
	conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conns[0].Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("oldest connection: %v, want EOF", err)
	}
}

func TestServerConcurrentUDP(t *testing.T) {
	f := newFixture(t)
	f.addPrinc("open", "open-pw", attrs(0))
	addr := startServer(t, f)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := f.asReq("open")
			q.nonce = int32(i)
			c, err := net.Dial("udp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write(q.marshal())
			buf := make([]byte, 4096)
			n, err := c.Read(buf)
			if err != nil {
				errs <- err
				return
			}
			var rep messages.ASRep
			if err := rep.Unmarshal(buf[:n]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"88":              ":88",
		"750":             ":750",
		"127.0.0.1":       "127.0.0.1:88",
		"127.0.0.1:17088": "127.0.0.1:17088",
		"::1":             "[::1]:88",
		"[::1]:1088":      "[::1]:1088",
		"kdc.example.com": "kdc.example.com:88",
		"":                ":88",
	} {
		if got := ListenAddr(in); got != want {
			t.Errorf("ListenAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestListenAddrs checks which addresses the listen entries of several
// realms bind, as MIT's loop_add_address keeps them.
func TestListenAddrs(t *testing.T) {
	for _, tc := range []struct {
		specs, want []string
	}{
		{nil, nil},
		{[]string{"127.0.0.1:1088"}, []string{"127.0.0.1:1088"}},
		// Two realms on one port: bound once.
		{[]string{"127.0.0.1:1088", "127.0.0.1:1088", "127.0.0.1:2088"}, []string{"127.0.0.1:1088", "127.0.0.1:2088"}},
		{[]string{"88", "750", "88"}, []string{":88", ":750"}},
		// The wildcard address covers the others on its port, before or
		// after it, and no other port.
		{[]string{"127.0.0.1:88", "1088", "88", "[::1]:88", "127.0.0.1:1089"}, []string{":1088", ":88", "127.0.0.1:1089"}},
		{[]string{"127.0.0.1", "127.0.0.1:88"}, []string{"127.0.0.1:88"}},
	} {
		if got := listenAddrs(tc.specs); !slices.Equal(got, tc.want) {
			t.Errorf("listenAddrs(%q) = %q, want %q", tc.specs, got, tc.want)
		}
	}
}

func readFrame(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}
