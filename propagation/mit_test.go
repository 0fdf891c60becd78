package propagation

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/mittest"
)

// mitRealm is an MIT realm with a running krb5kdc, a host key for this
// machine's name (kprop's client and MIT kpropd's acceptor) and one for
// "localhost" (the replica name MIT kprop is given to reach our kpropd),
// both in one keytab.
type mitRealm struct {
	*mittest.Realm
	host   string // this machine's host name, as MIT's tools use it
	keytab string
}

func newMITRealm(t *testing.T) *mitRealm {
	t.Helper()
	mittest.Require(t, "krb5kdc", "kdb5_util", "kadmin.local", "kprop", "kpropd", "kinit", "kvno")
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	host = strings.ToLower(host)
	if addrs, err := net.LookupHost(host); err != nil || len(addrs) == 0 || !net.ParseIP(addrs[0]).IsLoopback() {
		t.Skipf("host name %q does not resolve to a loopback address (%v %v)", host, addrs, err)
	}
	r := &mitRealm{
		// qualify_shortname "" keeps a single-label host name as it is.
		Realm: mittest.NewRealm(t, "KRBTEST.COM", mittest.WithKRB5Conf("libdefaults", "qualify_shortname", `""`)),
		host:  host,
	}
	r.keytab = r.Path("hosts.keytab")
	r.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	for _, p := range []string{"host/" + host, "host/localhost"} {
		r.MustRun(t, "kadmin.local", "-q", "addprinc -randkey "+p)
		r.MustRun(t, "kadmin.local", "-q", "ktadd -k "+r.keytab+" "+p)
	}
	kdc := r.Start(t, "krb5kdc", "-n")
	kdc.WaitPort(t, "tcp", r.KDCAddr(), 20*time.Second)
	return r
}

func (r *mitRealm) writeDump(t *testing.T, size int) (string, []byte) {
	t.Helper()
	path := r.Path("replica_datatrans")
	dump := testDump(size)
	if err := os.WriteFile(path, dump, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".dump_ok", []byte{0}, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, dump
}

// TestMITKpropToServe runs MIT's kprop against Serve on a loopback port.
func TestMITKpropToServe(t *testing.T) {
	r := newMITRealm(t)
	entries, err := keytab.Read(r.keytab)
	if err != nil {
		t.Fatal(err)
	}
	acl := r.Path("kpropd.acl")
	for _, tc := range []struct {
		name    string
		size    int
		acl     string
		success bool
	}{
		{"empty", 0, "host/" + r.host + "@KRBTEST.COM\n", true},
		{"one byte", 1, "host/" + r.host + "@KRBTEST.COM\n", true},
		{"one block", 32768, "host/" + r.host + "@KRBTEST.COM aes256-cts\n", true},
		{"several blocks", 200001, "host/" + r.host + "@KRBTEST.COM\taes256-cts-hmac-sha1-96\n", true},
		{"not in ACL", 100, "host/other@KRBTEST.COM\n", false},
		{"ACL wrong enctype", 100, "host/" + r.host + "@KRBTEST.COM aes128-cts\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(acl, []byte(tc.acl), 0o600); err != nil {
				t.Fatal(err)
			}
			path, dump := r.writeDump(t, tc.size)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			store := &memStore{}
			logs := &logBuffer{}
			sc := &ServerConfig{
				Realm: "KRBTEST.COM", Acceptor: types.PrincipalName{NameType: 3, NameString: []string{"host", "localhost"}},
				Keys:    KeytabKeys(entries, keytab.Principal{Components: []string{"host", "localhost"}, Realm: "KRBTEST.COM"}),
				ACLPath: acl, Replay: NewReplayCache(filepath.Join(r.Dir, "krb5_test.rcache2"), nil),
				Timeout: 20 * time.Second, Overall: time.Minute, Store: store, Log: slog.New(logs),
			}
			done := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				done <- sc.Serve(context.Background(), c)
				c.Close()
			}()
			port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
			stdout, stderr, exit := r.Run(t, "kprop", "-r", "KRBTEST.COM", "-f", path, "-P", port, "-s", r.keytab, "localhost")
			serr := <-done
			if !tc.success {
				if exit != 1 || serr == nil {
					t.Fatalf("kprop exit %d, Serve %v\n%s%s", exit, serr, stdout, stderr)
				}
				if !strings.Contains(stderr, "kprop: Software caused connection abort while reading response from server") &&
					!strings.Contains(stderr, "kprop: Broken pipe while sending database block") &&
					!strings.Contains(stderr, "kprop: Connection reset by peer") {
					t.Fatalf("kprop stderr %q", stderr)
				}
				if !logs.has("WARN Rejected connection from unauthorized principal host/" + r.host + "@KRBTEST.COM") {
					t.Fatalf("log:\n%s", logs)
				}
				return
			}
			if exit != 0 || serr != nil {
				t.Fatalf("kprop exit %d, Serve %v\nstdout %s\nstderr %s\nlog:\n%s", exit, serr, stdout, stderr, logs)
			}
			if stdout != "Database propagation to localhost: SUCCEEDED\n" {
				t.Fatalf("stdout %q", stdout)
			}
			if !store.committed || !bytes.Equal(store.data, dump) || store.client != "host/"+r.host+"@KRBTEST.COM" {
				t.Fatalf("store: committed %v, %d bytes from %q", store.committed, len(store.data), store.client)
			}
		})
	}
}

// TestSendToMITKpropdLive runs Send against MIT's kpropd (-t: one connection)
// with a ticket MIT's kvno obtained.
func TestSendToMITKpropdLive(t *testing.T) {
	r := newMITRealm(t)
	cc := r.Path("ccache")
	r.MustRun(t, "kinit", "-k", "-t", r.keytab, "-c", cc, "host/"+r.host)
	r.MustRun(t, "kvno", "-c", cc, "host/"+r.host)
	cache, err := credentials.LoadCCache(cc)
	if err != nil {
		t.Fatal(err)
	}
	sname := types.PrincipalName{NameType: 3, NameString: []string{"host", r.host}}
	cred, ok := cache.GetEntry(sname)
	if !ok {
		t.Fatal("no service ticket in the cache")
	}
	var tkt messages.Ticket
	if err := tkt.Unmarshal(cred.Ticket); err != nil {
		t.Fatal(err)
	}
	acl := r.Path("kpropd.acl")
	os.WriteFile(acl, []byte("host/"+r.host+"@KRBTEST.COM\n"), 0o600)

	for _, size := range []int{0, 32769, 150000} {
		ports := mittest.FreePorts(t, 1)
		port := strconv.Itoa(ports[0])
		received := r.Path("from_master")
		os.Remove(received)
		kpropd := r.Start(t, "kpropd", "-d", "-t", "-P", port, "-f", received, "-p", "/bin/true",
			"-a", acl, "-s", r.keytab, "-r", "KRBTEST.COM")
		kpropd.WaitPort(t, "tcp", "127.0.0.1:"+port, 20*time.Second)
		conn, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		dump := testDump(size)
		cfg := &ClientConfig{
			Ticket: tkt, SessionKey: cred.Key, ClientRealm: "KRBTEST.COM", ClientName: sname,
			Timeout: 20 * time.Second, Overall: time.Minute,
		}
		err = cfg.Send(context.Background(), conn, bytes.NewReader(dump), int64(size))
		conn.Close()
		kpropd.Wait(t, 20*time.Second)
		if err != nil {
			out, errOut := kpropd.Output()
			t.Fatalf("size %d: %v\nkpropd: %s%s", size, err, out, errOut)
		}
		got, err := os.ReadFile(received)
		if err != nil || !bytes.Equal(got, dump) {
			t.Fatalf("size %d: from_master has %d bytes (%v)", size, len(got), err)
		}
	}
}
