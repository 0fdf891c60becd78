package propagation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// SipHash-2-4 reference vectors from the SipHash paper (key 00..0f,
// message 00..len-1).
func TestSipHash(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for _, tt := range []struct {
		n    int
		want uint64
	}{
		{0, 0x726fdb47dd0e0e31},
		{1, 0x74f839c593dc67fd},
		{7, 0xab0200f58b01d137},
		{8, 0x93f5f5799a932462},
		{12, 0x751e8fbc860ee5fb}, // a replay tag's length
		{15, 0xa129ca6149be45e5},
		{63, 0x958a324ceb064572},
	} {
		if got := siphash24(msg[:tt.n], key); got != tt.want {
			t.Errorf("siphash24(%d bytes) = %#x, want %#x", tt.n, got, tt.want)
		}
	}
}

func tagOf(i int) [ReplayTagSize]byte {
	var tag [ReplayTagSize]byte
	binary.BigEndian.PutUint64(tag[:], uint64(i)+1)
	copy(tag[8:], "rtag")
	return tag
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestReplayCacheMemory(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	c := NewReplayCache("", clock.now)
	skew := 300 * time.Second
	if err := c.Store(tagOf(1), skew); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(tagOf(1), skew); !errors.Is(err, ErrReplay) {
		t.Fatalf("second store: %v", err)
	}
	if err := c.Store(tagOf(2), skew); err != nil {
		t.Fatal(err)
	}
	clock.add(skew) // now == stamp+skew: not yet expired
	if err := c.Store(tagOf(1), skew); !errors.Is(err, ErrReplay) {
		t.Fatalf("at skew: %v", err)
	}
	clock.add(time.Second)
	if err := c.Store(tagOf(1), skew); err != nil {
		t.Fatalf("after skew: %v", err)
	}
}

func TestReplayCacheFile(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	path := filepath.Join(t.TempDir(), "krb5_0.rcache2")
	skew := 300 * time.Second
	a := NewReplayCache(path, clock.now)
	b := NewReplayCache(path, clock.now) // another process, as far as memory goes
	if err := a.Store(tagOf(1), skew); err != nil {
		t.Fatal(err)
	}
	if err := b.Store(tagOf(1), skew); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay through the file not detected: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// MIT's layout: seed, then a 1023-record table; one record written.
	if fi.Size() < rcSeedLen+rcRecordLen || fi.Size() > rcSeedLen+rcFirstRecords*rcRecordLen {
		t.Fatalf("file size %d", fi.Size())
	}
	// MIT's store reports a matching tag as a replay even once expired
	// (the authenticator would fail the clock-skew check anyway); only
	// its slot becomes reusable.
	clock.add(skew + time.Second)
	if err := b.Store(tagOf(1), skew); !errors.Is(err, ErrReplay) {
		t.Fatalf("expired entry: %v", err)
	}
}

// TestReplayCacheFill stores more tags than the first table holds, so the
// search moves on to the second and third tables as MIT's does, and every
// one of them is still found.
func TestReplayCacheFill(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	path := filepath.Join(t.TempDir(), "rc")
	// A fixed seed makes the slots, and so the file's growth, the same on
	// every run.
	if err := os.WriteFile(path, []byte("0123456789abcdef")[:rcSeedLen], 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	c := NewReplayCache(path, clock.now)
	for i := 0; i < n; i++ {
		if err := c.Store(tagOf(i), time.Hour); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	d := NewReplayCache(path, clock.now)
	for i := 0; i < n; i++ {
		if err := d.Store(tagOf(i), time.Hour); !errors.Is(err, ErrReplay) {
			t.Fatalf("tag %d not found: %v", i, err)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Size() <= rcSeedLen+rcFirstRecords*rcRecordLen {
		t.Fatalf("file of %d bytes never grew past the first table", fi.Size())
	}
	// After expiry the slots are reused: the file does not grow by more
	// than one table (a tag whose slot in every table already holds one of
	// the new tags needs a new table, as in MIT's).
	clock.add(2 * time.Hour)
	size := int64(rcSeedLen)
	nrec := int64(rcFirstRecords)
	for size < fi.Size() {
		size += nrec * rcRecordLen
		if nrec == rcFirstRecords {
			nrec++ // tables of 1023, 2048, 4096… records
		}
		nrec *= 2
	}
	size += nrec * rcRecordLen
	for i := n; i < 2*n; i++ {
		if err := d.Store(tagOf(i), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	fi, _ = os.Stat(path)
	if fi.Size() > size {
		t.Fatalf("file grew to %d, more than one table past its end before (%d), although every old entry expired", fi.Size(), size)
	}
}

// TestReplayCacheCrossProcess runs the store in child processes: two
// kpropds started by inetd for the same AP-REQ, one after the other and at
// once.
func TestReplayCacheCrossProcess(t *testing.T) {
	if os.Getenv("RCACHE_CHILD_PATH") != "" {
		return
	}
	path := filepath.Join(t.TempDir(), "krb5_1.rcache2")
	run := func(tag int) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReplayCacheChild$")
		cmd.Env = append(os.Environ(), "RCACHE_CHILD_PATH="+path, "RCACHE_CHILD_TAG="+strconv.Itoa(tag))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(7)
	if err != nil {
		t.Fatalf("first child: %v\n%s", err, out)
	}
	out, err = run(7)
	if err == nil {
		t.Fatalf("second child accepted a replay\n%s", out)
	}
	// Eight children race with eight different tags and then the same
	// ones again: exactly one store per tag succeeds.
	var wg sync.WaitGroup
	results := make(chan error, 16)
	for round := 0; round < 2; round++ {
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := run(100 + i)
				results <- err
			}(i)
		}
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		if err == nil {
			ok++
		}
	}
	if ok != 8 {
		t.Fatalf("%d of 16 racing stores succeeded, want 8", ok)
	}
}

func TestReplayCacheChild(t *testing.T) {
	path := os.Getenv("RCACHE_CHILD_PATH")
	if path == "" {
		t.Skip("run by TestReplayCacheCrossProcess")
	}
	tag, _ := strconv.Atoi(os.Getenv("RCACHE_CHILD_TAG"))
	if err := NewReplayCache(path, nil).Store(tagOf(tag), time.Hour); err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
}

func TestReplayCacheRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "krb5_0.rcache2")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	if err := NewReplayCache(link, nil).Store(tagOf(1), time.Minute); err == nil || errors.Is(err, ErrReplay) {
		t.Fatalf("store through a symlink: %v", err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("symlink target created")
	}
}

func TestDefaultReplayCachePath(t *testing.T) {
	tests := []struct {
		env      map[string]string
		profile  string
		want     string
		disabled bool
		err      bool
	}{
		{nil, "", "/var/tmp/krb5_0.rcache2", false, false},
		{map[string]string{"TMPDIR": "/tmp"}, "", "/tmp/krb5_0.rcache2", false, false},
		{map[string]string{"TMPDIR": "/tmp", "KRB5RCACHEDIR": "/rc"}, "", "/rc/krb5_0.rcache2", false, false},
		{map[string]string{"KRB5RCACHETYPE": "none"}, "", "", true, false},
		{map[string]string{"KRB5RCACHENAME": "none:"}, "", "", true, false},
		{map[string]string{"KRB5RCACHENAME": "file2:/x/rc"}, "", "/x/rc", false, false},
		{map[string]string{"KRB5RCACHENAME": "file2:/x/rc", "KRB5RCACHETYPE": "none"}, "", "/x/rc", false, false},
		{nil, "file2:/p/rc", "/p/rc", false, false},
		{map[string]string{"KRB5RCACHETYPE": "dfl"}, "file2:/p/rc", "/var/tmp/krb5_0.rcache2", false, false},
		{map[string]string{"KRB5RCACHENAME": "rc"}, "", "", false, true},
		{map[string]string{"KRB5RCACHENAME": "memory:x"}, "", "", false, true},
	}
	for i, tt := range tests {
		got, disabled, err := DefaultReplayCachePath(func(k string) string { return tt.env[k] }, tt.profile, 0)
		if (err != nil) != tt.err || got != tt.want || disabled != tt.disabled {
			t.Errorf("%d: got %q, %v, %v", i, got, disabled, err)
		}
	}
}
