// Command bench measures MIT's tools and krb5prop's on the same data in
// one run and prints the ratio ours/MIT.
//
//	go run ./bench -n 1000,100000,1000000          # kdb5_util dump and load
//	go run ./bench -prop -n 100000,1000000         # kprop to kpropd
//	go run ./bench -kdc -n 100000                  # krb5kdc under load
//	go run ./bench -replica -n 100000,1000000      # a secondary replica's delivery
//	go run ./bench -fanout -n 100000               # kprop to ten replicas
//
// The first times dump and load of synthetic realms of the given sizes
// (every principal with aes256 and aes128 keys and kadmin's four tl-data
// items), each measured several times with MIT and ours alternating, and
// prints the median wall time and the peak RSS of each. The second times
// propagation: MIT kprop to MIT kpropd and ours to ours, the transfer alone
// (the replica's kpropd runs /bin/true instead of loading) and end to end
// (dump, send, load, acknowledgement). The third runs MIT's krb5kdc and
// ours on the same database and drives each with the same load generator
// (gokrb5's client messages: AS with preauthentication, TGS with a cached
// TGT, at several numbers of concurrent clients), printing requests per
// second, latency, KDC CPU time per request and the KDC's peak RSS. The
// fourth times a secondary replica's delivery of a few hundred changes
// after a load of the realm, against the load itself (see runReplica).
// The fifth times one propagation to ten replicas, our kprop's list mode
// against MIT's serial kprop loop (see runFanout).
//
// Everything happens in a temporary directory with private KRB5_CONFIG and
// KRB5_KDC_PROFILE; each realm is built once per size as a dump file both
// tools load.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/krb5prop/krb5prop/internal/synth"
)

const realm = "BENCH.TEST"

func main() {
	sizes := flag.String("n", "1000,100000,1000000", "comma-separated realm sizes (user principals)")
	runs := flag.Int("runs", 3, "measurements per tool and operation (the median is reported)")
	ours := flag.String("ours", "", "our kdb5util binary (default: built from ./cmd/kdb5util)")
	mit := flag.String("mit", "", "MIT's kdb5_util (default: looked up in PATH and /usr/sbin)")
	keep := flag.Bool("keep", false, "keep the work directory")
	prop := flag.Bool("prop", false, "measure kprop to kpropd instead of dump and load")
	kdc := flag.Bool("kdc", false, "measure krb5kdc instead of dump and load")
	replicas := flag.Bool("replica", false, "measure a secondary replica's delivery after a load instead of dump and load")
	fanouts := flag.Bool("fanout", false, "measure kprop to ten replicas (our list mode, MIT's serial loop) instead of dump and load")
	flag.StringVar(&kdcFlags.clients, "clients", "1,4,16", "with -kdc: comma-separated numbers of concurrent clients")
	flag.StringVar(&kdcFlags.kinds, "kinds", "AS,TGS", "with -kdc: the requests to measure")
	flag.IntVar(&kdcFlags.services, "services", 1000, "with -kdc: TGS requests name one of this many services (the first users), 0 for any user")
	flag.DurationVar(&kdcFlags.duration, "duration", 5*time.Second, "with -kdc: how long each measurement lasts")
	flag.IntVar(&kdcFlags.mitWorkers, "mit-workers", 0, "with -kdc: run MIT's krb5kdc with -w N (0: one process, its default)")
	flag.IntVar(&kdcFlags.ourWorkers, "our-workers", 0, "with -kdc: run our krb5kdc with -w N (0: its default, four UDP goroutines per CPU)")
	flag.StringVar(&kdcFlags.cpus, "kdc-cpus", "", "with -kdc: run each KDC on these CPUs (taskset -c list); run the generator on others with taskset too")
	flag.BoolVar(&kdcFlags.pac, "pac", false, "with -kdc: let MIT's KDC add PACs, its 1.20 default (ours never adds one)")
	flag.Parse()
	do := run
	switch {
	case *prop:
		do = runProp
	case *kdc:
		do = runKDC
	case *replicas:
		do = runReplica
	case *fanouts:
		do = runFanout
	}
	if err := do(*sizes, *runs, *ours, *mit, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one tool's measurements of one operation.
type result struct {
	wall []time.Duration
	rss  int64 // KiB, the largest of the runs
}

func (r result) median() time.Duration {
	w := append([]time.Duration(nil), r.wall...)
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	return w[len(w)/2]
}

func run(sizesFlag string, runs int, ours, mit string, keep bool) error {
	if !isExec(gnuTime) {
		return errors.New(gnuTime + " not found: apt-get install time")
	}
	w, err := newWorkspace("krb5prop-bench-", keep, mit, ours, "./cmd/kdb5util")
	if err != nil {
		return err
	}
	defer w.close()
	mit = w.mit
	if ours == "" {
		ours = filepath.Join(w.bin, "kdb5util")
	}
	sizes, err := parseCounts(sizesFlag)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "principals\toperation\tMIT\tours\tours/MIT\tMIT peak RSS\tours peak RSS\t")
	for _, n := range sizes {
		rows, err := measure(w.work, n, runs, mit, ours)
		if err != nil {
			return fmt.Errorf("%d principals: %w", n, err)
		}
		for _, r := range rows {
			m, o := r.mit.median(), r.ours.median()
			fmt.Fprintf(os.Stderr, "%d principals, %s: MIT %s, ours %s\n", n, r.op, seconds(m), seconds(o))
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.2f\t%s\t%s\t\n", n, r.op, seconds(m), seconds(o),
				o.Seconds()/m.Seconds(), mib(r.mit.rss), mib(r.ours.rss))
		}
	}
	return tw.Flush()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }
func mib(kib int64) string           { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// workspace is where a measurement works: a temporary directory, MIT's
// kdb5_util (the other MIT tools are found beside it) and the directory
// of our binaries.
type workspace struct {
	work, mit, bin string
	keep           bool
}

// newWorkspace makes the temporary directory, finds MIT's kdb5_util
// unless mit names it, and builds our pkgs into the directory unless ours
// names one of our binaries (the others are taken from beside it).
func newWorkspace(prefix string, keep bool, mit, ours string, pkgs ...string) (*workspace, error) {
	work, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	w := &workspace{work: work, mit: mit, bin: filepath.Join(work, "bin"), keep: keep}
	if keep {
		fmt.Println("work directory:", work)
	}
	if w.mit == "" {
		if w.mit, err = lookMIT(); err != nil {
			w.close()
			return nil, err
		}
	}
	if ours != "" {
		w.bin = filepath.Dir(ours)
		return w, nil
	}
	build := exec.Command("go", append([]string{"build", "-o", w.bin + "/"}, pkgs...)...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		w.close()
		return nil, fmt.Errorf("build our tools: %w", err)
	}
	return w, nil
}

func (w *workspace) close() {
	if !w.keep {
		os.RemoveAll(w.work)
	}
}

func lookMIT() (string, error) {
	if p, err := exec.LookPath("kdb5_util"); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(d, "kdb5_util"); isExec(p) {
			return p, nil
		}
	}
	return "", errors.New("MIT kdb5_util not found: apt-get install krb5-kdc krb5-admin-server")
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}

type row struct {
	op        string
	mit, ours result
}

// side is one tool's private realm.
type side struct {
	bin string
	dir string
	env []string
}

func newSide(work, name, bin string) (*side, error) {
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	krb5 := filepath.Join(dir, "krb5.conf")
	kdc := filepath.Join(dir, "kdc.conf")
	if err := os.WriteFile(krb5, []byte("[libdefaults]\n    default_realm = "+realm+"\n"), 0o600); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("[realms]\n    %s = {\n        database_name = %s/principal\n        key_stash_file = %s/stash\n    }\n", realm, dir, dir)
	if err := os.WriteFile(kdc, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "KRB5_CONFIG="+krb5, "KRB5_KDC_PROFILE="+kdc)
	return &side{bin: bin, dir: dir, env: env}, nil
}

// time runs the tool once and returns its wall time and peak RSS (KiB).
// The tool runs under GNU time, which reports the peak RSS: a child's
// ru_maxrss counts from the moment it was forked, so measured from this
// (large) process it would include this process's own memory.
func (s *side) time(args ...string) (time.Duration, int64, error) {
	syncDisks()
	rssFile := filepath.Join(s.dir, "rss")
	cmd := exec.Command(gnuTime, append([]string{"-f", "%M", "-o", rssFile, s.bin}, args...)...)
	cmd.Env = s.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s: %w\n%s", filepath.Base(s.bin), strings.Join(args, " "), err, stderr.String())
	}
	b, err := os.ReadFile(rssFile)
	if err != nil {
		return 0, 0, err
	}
	rss, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("peak RSS from %s: %q", gnuTime, b)
	}
	return wall, rss, nil
}

// gnuTime is GNU time (Debian package "time"), which reports a command's
// peak RSS.
const gnuTime = "/usr/bin/time"

// removeDB deletes a side's database files, for a load into an empty place.
func (s *side) removeDB() error {
	matches, err := filepath.Glob(filepath.Join(s.dir, "principal*"))
	if err != nil {
		return err
	}
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			return err
		}
	}
	return nil
}

func measure(work string, n, runs int, mitBin, oursBin string) ([]row, error) {
	dir := filepath.Join(work, strconv.Itoa(n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	dumpFile := filepath.Join(dir, "realm.dump")
	if err := writeRealm(dumpFile, n); err != nil {
		return nil, err
	}
	mit, err := newSide(dir, "mit", mitBin)
	if err != nil {
		return nil, err
	}
	ours, err := newSide(dir, "ours", oursBin)
	if err != nil {
		return nil, err
	}
	sides := []*side{mit, ours}
	ops := []struct {
		name  string
		setup func(*side) error
		args  func(*side) []string
	}{
		{"load (new database)", (*side).removeDB, func(*side) []string { return []string{"load", dumpFile} }},
		{"load (replace)", nil, func(*side) []string { return []string{"load", dumpFile} }},
		// -P: MIT's dump reads the master key and exits 1 without one.
		{"dump", nil, func(s *side) []string {
			return []string{"-P", "bench-master-pw", "dump", filepath.Join(s.dir, "out.dump")}
		}},
	}
	var rows []row
	for _, op := range ops {
		res := make([]result, 2)
		for i := 0; i < runs; i++ {
			// Alternate which tool goes first, so neither always runs on a
			// cache the other warmed.
			for k := range sides {
				j := (i + k) % 2
				s := sides[j]
				if op.setup != nil {
					if err := op.setup(s); err != nil {
						return nil, err
					}
				}
				wall, rss, err := s.time(op.args(s)...)
				if err != nil {
					return nil, err
				}
				res[j].wall = append(res[j].wall, wall)
				res[j].rss = max(res[j].rss, rss)
			}
		}
		rows = append(rows, row{op: op.name, mit: res[0], ours: res[1]})
	}
	// Both tools must have produced the same dump, or the times compare
	// different work.
	a, err := os.ReadFile(filepath.Join(mit.dir, "out.dump"))
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(ours.dir, "out.dump"))
	if err != nil {
		return nil, err
	}
	if string(a) != string(b) {
		return nil, errors.New("MIT's and our dumps differ")
	}
	return rows, nil
}

// realmDump makes dir and writes a realm of n users into dir/realm.dump.
func realmDump(dir string, n int) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "realm.dump")
	return path, writeRealm(path, n)
}

func writeRealm(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = synth.WriteDump(w, synth.Realm{Name: realm, MasterPassword: "bench-master-pw", Users: n, Generation: 1})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDisks flushes earlier runs' dirty pages, so they are not written
// back on the clock of the run being measured.
func syncDisks() { syscall.Sync() }
