package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// TestConcurrentKpropsAreSerialised sends two propagations at once to one
// standalone kpropd, MIT's and ours: the second waits, connected, until
// the first one's load has finished, and then both succeed, as with MIT.
// The load is held by a wrapper around kdb5_util that waits for the test,
// so the overlap does not depend on timing.
func TestConcurrentKpropsAreSerialised(t *testing.T) {
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	for _, impl := range []tools{mit, ours} {
		t.Run(impl.name+" kpropd", func(t *testing.T) {
			r := p.newReplica(t, impl)
			gate := r.Path("gate")
			loader := r.Path("held-load")
			writeFile(t, loader, []byte(fmt.Sprintf("#!/bin/sh\n: > %s.loading\nwhile [ ! -e %s.open ]; do sleep 0.02; done\nexec %s \"$@\"\n",
				gate, gate, impl.kdb5util)))
			os.Chmod(loader, 0o755)
			kpropd, port := r.startKpropd(t, "-p", loader)

			first := p.Start(t, ours.kprop, "-f", p.dumpFile(t, 3<<20), "-P", port, "-s", p.keytab, p.host)
			waitFor(t, "the first load to start", func() bool { return exists(gate + ".loading") }, first)
			second := p.Start(t, mit.kprop, "-f", p.dumpFile(t, 3<<20+1), "-P", port, "-s", p.keytab, p.host)
			portNum, _ := strconv.Atoi(port)
			waitFor(t, "the second connection", func() bool { return established(portNum) >= 2 }, second)
			if _, log := kpropd.Output(); strings.Count(log, "Connection from") != 1 || second.State() != nil {
				t.Fatalf("the second propagation did not wait for the first one's load (state %v):\n%s", second.State(), log)
			}
			writeFile(t, gate+".open", nil)

			for _, k := range []*mittest.Process{first, second} {
				st := k.Wait(t, runTimeout)
				stdout, stderr := k.Output()
				if !st.Success() || stdout != "Database propagation to "+p.host+": SUCCEEDED\n" {
					_, log := kpropd.Output()
					t.Errorf("kprop: %v\nstdout:\n%s\nstderr:\n%s\nkpropd:\n%s", st, stdout, stderr, log)
				}
			}
			// kpropd logs a load's completion after sending the
			// confirmation, so the last line may follow kprop's exit.
			waitFor(t, "the second load's log line", func() bool {
				_, log := kpropd.Output()
				return strings.Count(log, "Database load process for full propagation completed.") >= 2
			}, kpropd)
			_, log := kpropd.Output()
			if got := sessionOrder(log); got != "CLCL" {
				t.Errorf("kpropd sessions interleaved (%s):\n%s", got, log)
			}
			if got := r.dumpDatabase(t); !bytes.Equal(got, p.dump) {
				t.Errorf("the replica's dump differs from the primary's")
			}
		})
	}
}

// sessionOrder reduces a kpropd log to C for each accepted connection and
// L for each completed load.
func sessionOrder(log string) string {
	var b strings.Builder
	for _, l := range lines(log) {
		switch {
		case strings.HasPrefix(l, "Connection from "):
			b.WriteByte('C')
		case l == "Database load process for full propagation completed.":
			b.WriteByte('L')
		}
	}
	return b.String()
}

// waitFor polls cond until it holds, failing the test if proc exits or
// runTimeout passes first.
func waitFor(t *testing.T, what string, cond func() bool, proc *mittest.Process) {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	for !cond() {
		if proc.State() != nil || time.Now().After(deadline) {
			stdout, stderr := proc.Output()
			t.Fatalf("gave up waiting for %s (%s: %v)\n%s%s", what, proc.Name, proc.State(), stdout, stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// established counts the established TCP connections whose local port is
// port, from the kernel's tables: those kpropd serves and those waiting
// in its listen queue alike.
func established(port int) int {
	n := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st ...; state 01 is ESTABLISHED.
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "01" {
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				n++
			}
		}
		f.Close()
	}
	return n
}
