package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// sessionEnctypes are the enctypes MIT 1.20 issues session keys in by
// default; each runs the whole matrix with a realm whose host key, and so
// session key, is of that one type.
var sessionEnctypes = []string{
	"aes256-cts-hmac-sha1-96",
	"aes128-cts-hmac-sha1-96",
	"aes256-cts-hmac-sha384-192",
	"aes128-cts-hmac-sha256-128",
}

// transferSizes cross the block boundary (32768 bytes) and the cipher
// state chaining from one block to the next; 0 and 1 byte cannot hold a
// realm and are only transferred.
var transferSizes = []int{0, 1, 32767, 32768, 32769, 3 * 32768, 3<<20 + 12345}

// direction is a kprop and the kpropd it sends to.
type direction struct {
	name          string
	kprop, kpropd tools
}

func directions(t *testing.T) []direction {
	mit, ours := mitTools(t), ourTools(t)
	return []direction{
		{"our kprop to MIT kpropd", ours, mit},
		{"MIT kprop to our kpropd", mit, ours},
		{"our kprop to our kpropd", ours, ours},
	}
}

// TestTransferMatrix propagates dumps of every size with every session
// enctype in each direction: the replica receives the file byte for byte,
// loads it (its own dump of the result equals the primary's), and kprop
// reports success as MIT's does.
func TestTransferMatrix(t *testing.T) {
	dirs := directions(t)
	for _, enc := range sessionEnctypes {
		t.Run(enc, func(t *testing.T) {
			t.Parallel()
			p := newPrimary(t, enc)
			for _, d := range dirs {
				r := p.newReplica(t, d.kpropd)
				for _, size := range transferSizes {
					t.Run(fmt.Sprintf("%s/%d", d.name, size), func(t *testing.T) {
						propagateAndCheck(t, p, r, d.kprop, size)
					})
				}
			}
			if got := p.sessionEnctypes(t); len(got) != 1 || got[enc] == 0 {
				t.Errorf("KDC issued session keys %v, want only %s", got, enc)
			}
		})
	}
}

// propagateAndCheck sends a dump of size bytes with kprop to a one-shot
// kpropd of the replica and checks everything both ends leave behind.
func propagateAndCheck(t *testing.T, p *primary, r *replicaHost, kprop tools, size int) {
	t.Helper()
	dump := p.dumpFile(t, size)
	lastProp := dump + "." + p.host + ".last_prop"
	os.Remove(lastProp)
	os.Remove(r.file)
	var extra []string
	if !p.loadable(size) {
		// Both kpropds run PROGRAM -r REALM load FILE.
		extra = []string{"-p", "/bin/true"}
	}
	kpropd, port := r.startKpropd(t, append([]string{"-t"}, extra...)...)
	stdout, stderr, exit := p.kprop(t, kprop, dump, port)
	if exit != 0 {
		// Shown even if kpropd then fails to exit.
		t.Logf("kprop: exit %d\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
	st := kpropd.Wait(t, runTimeout)
	_, log := kpropd.Output()
	if exit != 0 || stdout != "Database propagation to "+p.host+": SUCCEEDED\n" || stderr != "" {
		t.Fatalf("kprop: exit %d\nstdout:\n%s\nstderr:\n%s\nkpropd log:\n%s", exit, stdout, stderr, log)
	}
	if !st.Success() {
		t.Errorf("kpropd: %v", st)
	}
	if want := fmt.Sprintf("authenticated client: host/%s@%s (etype == %s)", p.host, testRealm, p.enctype); !strings.Contains(log, want) {
		t.Errorf("kpropd log lacks %q:\n%s", want, log)
	}
	if got := mittest.ReadFile(t, lastProp); !bytes.Equal(got, []byte{0}) {
		t.Errorf("%s holds %q, want one NUL byte", lastProp, got)
	}
	if got := mittest.ReadFile(t, r.file); !bytes.Equal(got, mittest.ReadFile(t, dump)) {
		t.Fatalf("the replica received %d bytes that differ from the %d sent", len(got), size)
	}
	if p.loadable(size) {
		if got := r.dumpDatabase(t); !bytes.Equal(got, p.dump) {
			t.Errorf("the replica's dump differs from the primary's:\nreplica:\n%s\nprimary:\n%s", got, p.dump)
		}
	}
}

// TestUnloadableDump sends dumps too short to hold a realm to kpropds
// that really load them: both kpropds close the connection without a
// word, and both kprops print MIT's message for that (ours with a hint
// after it).
func TestUnloadableDump(t *testing.T) {
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	replicas := map[string]*replicaHost{"MIT": p.newReplica(t, mit), "ours": p.newReplica(t, ours)}
	// A realm in place, to show that the failed loads leave it alone.
	for _, r := range replicas {
		_, port := r.startKpropd(t, "-t")
		p.propagate(t, mit, r, port)
	}
	const mitMessage = "kprop: Software caused connection abort while reading response from server\n"
	for _, size := range []int{0, 1} {
		for _, kprop := range []tools{mit, ours} {
			for _, kpropd := range []tools{mit, ours} {
				t.Run(fmt.Sprintf("%d bytes/%s kprop to %s kpropd", size, kprop.name, kpropd.name), func(t *testing.T) {
					r := replicas[kpropd.name]
					proc, port := r.startKpropd(t, "-t")
					stdout, stderr, exit := p.kprop(t, kprop, p.dumpFile(t, size), port)
					proc.Wait(t, runTimeout)
					_, log := proc.Output()
					if exit != 1 || stdout != "" || withoutHints(stderr) != mitMessage {
						t.Fatalf("kprop: exit %d\nstdout:\n%s\nstderr:\n%s\nkpropd log:\n%s", exit, stdout, stderr, log)
					}
					if hints := len(lines(stderr)) - 1; kprop.name == "ours" && (hints != 1 || !strings.Contains(stderr, "the load on the replica failed")) {
						t.Errorf("our kprop's hint:\n%s", stderr)
					}
					if got := r.dumpDatabase(t); !bytes.Equal(got, p.dump) {
						t.Errorf("the failed load changed the replica's database")
					}
				})
			}
		}
	}
}
