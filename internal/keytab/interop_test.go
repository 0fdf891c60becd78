package keytab

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// mitProgram finds an MIT krb5 program. Without it the test is skipped,
// unless KRB5PROP_REQUIRE_MIT=1 makes a missing program a failure.
func mitProgram(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("KRB5PROP_REQUIRE_MIT") == "1" {
		t.Fatalf("MIT %s not found and KRB5PROP_REQUIRE_MIT=1", name)
	}
	t.Skipf("MIT %s not found", name)
	return ""
}

// mitEnv keeps MIT tools away from the host's configuration and makes
// their dates and output predictable.
func mitEnv(t *testing.T) []string {
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(conf, []byte("[libdefaults]\n\tdefault_realm = EXAMPLE.TEST\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "KRB5_CONFIG="+conf, "TZ=UTC", "LC_ALL=C")
}

var enctypeNames = map[int32]string{
	17: "aes128-cts-hmac-sha1-96",
	18: "aes256-cts-hmac-sha1-96",
	20: "aes256-cts-hmac-sha384-192",
}

// klistLine matches one key of "klist -k -e -K -t":
// "   3 11/23/26 16:50:38 foo@R (aes256-cts-hmac-sha1-96)  (0x0001...)".
var klistLine = regexp.MustCompile(`^\s*(\d+) (\d\d/\d\d/\d\d \d\d:\d\d:\d\d) (\S+) \(([^)]+)\)\s+\(0x([0-9a-f]+)\)$`)

func TestMITKlistReadsOurKeytab(t *testing.T) {
	klist := mitProgram(t, "klist")
	entries := testEntries(t)
	path := filepath.Join(t.TempDir(), "kt")
	if err := Write(path, entries); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(klist, "-k", "-e", "-K", "-t", "FILE:"+path)
	cmd.Env = mitEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("klist: %v\n%s", err, out)
	}
	var got []string
	for _, line := range strings.Split(string(out), "\n") {
		m := klistLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		got = append(got, strings.Join(m[1:], " "))
	}
	var want []string
	for _, e := range entries {
		want = append(want, strings.Join([]string{
			strconv.FormatUint(uint64(e.KVNO), 10),
			e.Timestamp.UTC().Format("01/02/06 15:04:05"),
			e.Principal.String(),
			enctypeNames[e.Key.KeyType],
			hex.EncodeToString(e.Key.KeyValue),
		}, " "))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("klist lists\n%s\nwant\n%s\nfull output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
}

// ktutil drives an interactive MIT ktutil. Its key prompt reads stdin
// through stdio, which would swallow every line already in the pipe, and
// the prompt itself stays in ktutil's stdout buffer; so the key is sent
// once the command line's echo shows it was read, and the next command
// once the following "ktutil:" prompt appears.
type ktutil struct {
	t      *testing.T
	stdin  io.WriteCloser
	chunks chan []byte
	seen   []byte
	stderr lockedBuffer
}

// lockedBuffer collects a child's stderr, which os/exec copies from
// another goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startKtutil(t *testing.T) *ktutil {
	cmd := exec.Command(mitProgram(t, "ktutil"))
	cmd.Env = mitEnv(t)
	k := &ktutil{t: t, chunks: make(chan []byte)}
	cmd.Stderr = &k.stderr
	var err error
	if k.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(k.chunks)
		for {
			buf := make([]byte, 4096)
			n, err := stdout.Read(buf)
			if n > 0 {
				k.chunks <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		k.stdin.Close()
		for range k.chunks {
		}
		cmd.Wait()
	})
	k.expect("ktutil:  ")
	return k
}

func (k *ktutil) expect(prompt string) {
	k.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		if i := bytes.Index(k.seen, []byte(prompt)); i >= 0 {
			k.seen = k.seen[i+len(prompt):]
			return
		}
		select {
		case c, ok := <-k.chunks:
			if !ok {
				k.t.Fatalf("ktutil exited waiting for %q; output %q, stderr %q", prompt, k.seen, k.stderr.String())
			}
			k.seen = append(k.seen, c...)
		case <-timeout:
			k.t.Fatalf("ktutil: no %q after %q; stderr %q", prompt, k.seen, k.stderr.String())
		}
	}
}

func (k *ktutil) send(line, prompt string) {
	k.t.Helper()
	if _, err := io.WriteString(k.stdin, line+"\n"); err != nil {
		k.t.Fatal(err)
	}
	k.expect(prompt)
}

func TestReadMITKtutilKeytab(t *testing.T) {
	k := startKtutil(t)
	want := testEntries(t)
	for _, e := range want {
		name := e.Principal.String()
		k.send(fmt.Sprintf("addent -key -p %s -k %d -e %s", name, e.KVNO, enctypeNames[e.Key.KeyType]), "\n")
		k.send(hex.EncodeToString(e.Key.KeyValue), "ktutil:  ")
	}
	path := filepath.Join(t.TempDir(), "mit.kt")
	before := time.Now().Add(-time.Second)
	k.send("wkt "+path, "ktutil:  ")
	after := time.Now().Add(time.Second)
	if k.stderr.String() != "" {
		t.Fatalf("ktutil: %s", k.stderr.String())
	}

	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		// ktutil stamps the time it writes and, from a name string,
		// name type KRB5_NT_PRINCIPAL.
		if got[i].Timestamp.Before(before) || got[i].Timestamp.After(after) {
			t.Errorf("entry %d timestamp %v, want the time of writing", i, got[i].Timestamp)
		}
		w := want[i]
		w.Timestamp, w.Principal.NameType = got[i].Timestamp, 1
		if !reflect.DeepEqual(got[i], w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], w)
		}
	}
	// MIT writes exactly what Marshal does, timestamps aside.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ours, _ := Marshal(got); !bytes.Equal(raw, ours) {
		t.Errorf("ktutil wrote\n%x\nMarshal gives\n%x", raw, ours)
	}
}

func TestMITKtutilRewritesOurKeytab(t *testing.T) {
	want := testEntries(t)
	ours := filepath.Join(t.TempDir(), "ours.kt")
	if err := Add(ours, want...); err != nil {
		t.Fatal(err)
	}
	k := startKtutil(t)
	theirs := filepath.Join(t.TempDir(), "theirs.kt")
	k.send("rkt "+ours, "ktutil:  ")
	k.send("wkt "+theirs, "ktutil:  ")
	if k.stderr.String() != "" {
		t.Fatalf("ktutil: %s", k.stderr.String())
	}
	got, err := Read(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d entries, want %d", len(got), len(want))
	}
	for i := range got {
		w := want[i]
		w.Timestamp = got[i].Timestamp // rewritten by MIT
		if !reflect.DeepEqual(got[i], w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], w)
		}
	}
}
