package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseReplica(t *testing.T) {
	tests := []struct {
		in, host, port string
		bad            bool
	}{
		{in: "kdc2.example.com", host: "kdc2.example.com"},
		{in: "kdc2.example.com:7540", host: "kdc2.example.com", port: "7540"},
		{in: "kdc2:krb5_prop", host: "kdc2", port: "krb5_prop"},
		{in: "[2001:db8::2]:754", host: "2001:db8::2", port: "754"},
		{in: "2001:db8::2", host: "2001:db8::2"},
		{in: "", bad: true},
		{in: "kdc2:", bad: true},
		{in: ":754", bad: true},
		{in: "[2001:db8::2]", bad: true},
		{in: "kdc 2", bad: true},
		{in: "../kdc2", bad: true}, // it names the last_prop file
	}
	for _, tc := range tests {
		r, err := parseReplica(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && (r.name != tc.in || r.host != tc.host || r.port != tc.port)) {
			t.Errorf("parseReplica(%q) = %+v, %v", tc.in, r, err)
		}
	}
}

func TestReadReplicaList(t *testing.T) {
	tests := []struct {
		text string
		want []string
		err  string
	}{
		{text: "# replicas\n\nkdc2.example.com\n  kdc3.example.com:7540   # the new one\n\t\n#kdc4\n",
			want: []string{"kdc2.example.com", "kdc3.example.com:7540"}},
		{text: "kdc2\r\nkdc3", want: []string{"kdc2", "kdc3"}},
		{text: "# nobody yet\n\n", err: "no replicas in the list"},
		{text: "", err: "no replicas in the list"},
		// MIT's install guide's kdclist, pasted in.
		{text: "kdc2\nkdc3 kdc4\n", err: `line 2: one replica per line, not "kdc3 kdc4"`},
	}
	for _, tc := range tests {
		got, err := readReplicaList(strings.NewReader(tc.text))
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: %v, %v; want error %q", tc.text, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
}

// TestListModeCommandLine runs kprop's command-line and list checks, which
// fail before any realm is consulted.
func TestListModeCommandLine(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "replicas")
	os.WriteFile(list, []byte("kdc2\n"), 0o600)
	twice := filepath.Join(dir, "twice")
	os.WriteFile(twice, []byte("kdc2\n# again\nkdc2\n"), 0o600)
	extended := fmt.Sprintf(listUsage, "kprop")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"-l and arguments", []string{"-l", list, "kdc3"},
			"kprop: give the replicas either with -l or as arguments, not both\n" + extended},
		{"neither", []string{"-j", "2"}, extended},
		{"bad -j", []string{"-j", "0", "a", "b"},
			"kprop: -j wants how many replicas to send to at a time (1 or more), not \"0\"\n" + extended},
		{"bad -T", []string{"-T", "soon", "a", "b"},
			"kprop: -T wants a duration such as 90s or 10m, not \"soon\"\n" + extended},
		{"--status with replicas", []string{"--status", "a"}, "kprop: --status takes no replicas\n" + extended},
		{"unknown option, MIT's usage", []string{"-x", "a"}, "kprop: invalid option -- 'x'\n" + fmt.Sprintf(usage, "kprop")},
		{"missing list", []string{"-l", filepath.Join(dir, "missing")},
			"kprop: replica list: open " + filepath.Join(dir, "missing") + ": no such file or directory\n"},
		{"a replica twice in the list", []string{"-l", twice}, "kprop: replica kdc2 is listed twice\n"},
		{"a replica twice as arguments", []string{"a", "b", "a"}, "kprop: replica a is listed twice\n"},
		{"a bad name", []string{"a", "b:"}, "kprop: \"b:\" is not a replica host name: want host, host:port or [address]:port\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			exit := run(t.Context(), "kprop", tc.args, func(string) string { return "" }, &stdout, &stderr)
			if exit != exitFailed || stdout.Len() != 0 || stderr.String() != tc.stderr {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s", exit, &stdout, &stderr, tc.stderr)
			}
		})
	}
	o, err := parseArgs("kprop", []string{"-n", "-j3", "-T", "90", "-l", list})
	if err != nil || !o.noWait || o.jobs != 3 || o.deadline != 90*time.Second || o.list != list || !o.listMode() {
		t.Errorf("%+v, %v", o, err)
	}
	// A file named like a long option after "--" is a replica.
	if o, err := parseArgs("kprop", []string{"a", "--", "--status"}); err != nil || o.status || len(o.replicas) != 2 {
		t.Errorf("%+v, %v", o, err)
	}
}

// TestFanOutOrderAndBound checks the scheduler: never more than jobs
// sessions at once, every one run, reported in order however they
// finish.
func TestFanOutOrderAndBound(t *testing.T) {
	const n, jobs = 12, 3
	var mu sync.Mutex
	running, most := 0, 0
	var started, reported []int
	fanOut(n, jobs, func(i int) {
		mu.Lock()
		running++
		most = max(most, running)
		started = append(started, i)
		mu.Unlock()
		// Later replicas finish sooner.
		time.Sleep(time.Duration(n-i) * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
	}, func(i int) { reported = append(reported, i) })
	if most != jobs {
		t.Errorf("%d sessions at once, want %d", most, jobs)
	}
	for i := range n {
		if reported[i] != i {
			t.Fatalf("reported in the order %v", reported)
		}
	}
	if len(started) != n {
		t.Errorf("started %v", started)
	}
}

// TestRunLock: a second taker waits, or with wait false gets a busyError
// naming the holder's pid; closing the holder's file releases the lock.
func TestRunLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dump.kprop.lock")
	first, err := takeRunLock(path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = takeRunLock(path, false, nil)
	want := fmt.Sprintf("another kprop run (pid %d) holds %s", os.Getpid(), path)
	if be, ok := err.(*busyError); !ok || be.Error() != want {
		t.Fatalf("second taker: %v, want %q", err, want)
	}
	got := make(chan error)
	waited := make(chan string, 1)
	go func() {
		f, err := takeRunLock(path, true, func(holder string) { waited <- holder })
		if err == nil {
			f.Close()
		}
		got <- err
	}()
	if h := <-waited; h != fmt.Sprintf("pid %d", os.Getpid()) {
		t.Errorf("waiting for %q", h)
	}
	select {
	case err := <-got:
		t.Fatalf("took the lock while it was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// FuzzReplicaList reads arbitrary list files: never a panic, every name
// accepted is one word, and parses as a replica or is refused with an
// error.
func FuzzReplicaList(f *testing.F) {
	for _, seed := range []string{
		"kdc2.example.com\n# comment\n\nkdc3:7540\n[::1]:754\n",
		"kdc2 kdc3\n",
		"\r\n#only a comment\r\n",
		strings.Repeat("x", 70000) + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := readReplicaList(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, " \t\n#") {
				t.Errorf("accepted name %q", n)
			}
			parseReplica(n)
		}
	})
}
