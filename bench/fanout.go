package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// fanoutReplicas is how many replicas the fan-out measurement sends to.
const fanoutReplicas = 10

// runFanout times one propagation round to ten replicas: our kprop's list
// mode (one run, the dump read once, all replicas at once) to ten of our
// kpropds, against the loop of MIT's install guide, `for h in …; do kprop
// -f dump $h; done`, to ten MIT kpropds. End to end, a round ends when
// every replica has loaded the dump and acknowledged it; transfer only,
// the kpropds run /bin/true instead of loading, which leaves the primary's
// share. Both send the same synthetic dump file, not remade in between;
// every kpropd stays up, and one untimed round first gives each replica a
// database to replace.
func runFanout(sizesFlag string, runs int, ours, mit string, keep bool) error {
	w, err := newWorkspace("krb5prop-bench-fanout-", keep, mit, ours, "./cmd/kdb5util", "./cmd/kprop", "./cmd/kpropd")
	if err != nil {
		return err
	}
	defer w.close()
	sizes, err := parseCounts(sizesFlag)
	if err != nil {
		return err
	}
	mitSide, ourSide := w.propTools()
	sides := []tools{mitSide, ourSide}
	pr, err := newPropRealm(w.work, filepath.Dir(w.mit))
	if err != nil {
		return err
	}
	defer pr.stop()

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "principals\tdump size\treplicas\tround\tMIT serial loop\tours fan-out\tours/MIT\t")
	for _, n := range sizes {
		dump, err := realmDump(filepath.Join(w.work, "fanout-"+strconv.Itoa(n)), n)
		if err != nil {
			return err
		}
		dir := filepath.Dir(dump)
		// kprop sends a dump only when its .dump_ok is no older.
		if err := os.WriteFile(dump+".dump_ok", []byte{0}, 0o600); err != nil {
			return err
		}
		st, err := os.Stat(dump)
		if err != nil {
			return err
		}
		for _, round := range []string{"end to end", "transfer only"} {
			var res [2]result
			if err := measureFanout(pr, dir, dump, st.Size(), sides, round == "transfer only", runs, &res); err != nil {
				return fmt.Errorf("%d principals, %s: %w", n, round, err)
			}
			m, o := res[0].median(), res[1].median()
			fmt.Fprintf(os.Stderr, "%d principals to %d replicas, %s: MIT serial %s, ours fan-out %s\n", n, fanoutReplicas, round, seconds(m), seconds(o))
			fmt.Fprintf(tw, "%d\t%.0f MB\t%d\t%s\t%s\t%s\t%.2f\t\n", n, float64(st.Size())/1e6, fanoutReplicas, round,
				seconds(m), seconds(o), o.Seconds()/m.Seconds())
		}
	}
	return tw.Flush()
}

// measureFanout starts both sides' replicas (loading, or with /bin/true
// for a loader when transferOnly), gives each a first untimed round, then
// times runs rounds per side, alternating which goes first, into res
// (MIT's, ours).
func measureFanout(pr *propRealm, dir, dump string, size int64, sides []tools, transferOnly bool, runs int, res *[2]result) error {
	fans := make([]*fanout, len(sides))
	for j, t := range sides {
		if transferOnly {
			t.loader = []string{"-p", "/bin/true"}
		}
		f, err := pr.startFanout(dir, dump, t)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		defer f.stop()
		fans[j] = f
		if _, err := f.round(); err != nil {
			return fmt.Errorf("%s, first round: %w", t.name, err)
		}
	}
	for i := 0; i < runs; i++ {
		for k := range fans {
			j := (i + k) % 2
			d, err := fans[j].round()
			if err != nil {
				return fmt.Errorf("%s: %w", sides[j].name, err)
			}
			res[j].wall = append(res[j].wall, d)
		}
	}
	for j, f := range fans {
		if err := f.check(size); err != nil {
			return fmt.Errorf("%s: %w", sides[j].name, err)
		}
	}
	return nil
}

// fanout is one side's ten replicas, their kpropds running, and the
// round that propagates the dump to all of them.
type fanout struct {
	pr       *propRealm
	t        tools
	dump     string
	list     string // our kprop's -l file: host:port per line
	replicas []*fanoutReplica
}

// fanoutReplica is one running kpropd and its directory.
type fanoutReplica struct {
	dir    string
	port   int
	cmd    *exec.Cmd
	stderr *strings.Builder
}

// startFanout starts the side's ten kpropds (standalone, each with its own
// directory and database, loading with t.loader), each until stop.
func (pr *propRealm) startFanout(dir, dump string, t tools) (*fanout, error) {
	// Each set of replicas gets directories of its own.
	set, err := os.MkdirTemp(dir, t.name+"-")
	if err != nil {
		return nil, err
	}
	f := &fanout{pr: pr, t: t, dump: dump, list: filepath.Join(set, "replicas")}
	var list strings.Builder
	for i := range fanoutReplicas {
		r, err := pr.startReplica(filepath.Join(set, strconv.Itoa(i)), t)
		if err != nil {
			f.stop()
			return nil, err
		}
		f.replicas = append(f.replicas, r)
		fmt.Fprintf(&list, "%s:%d\n", pr.host, r.port)
	}
	return f, os.WriteFile(f.list, []byte(list.String()), 0o600)
}

func (pr *propRealm) startReplica(dir string, t tools) (*fanoutReplica, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "kdc.conf")
	text := fmt.Sprintf("[realms]\n %s = {\n  database_name = %s/principal\n  key_stash_file = %s/stash\n }\n", realm, dir, dir)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{t.kpropd, "-D", "-P", strconv.Itoa(port), "-f", filepath.Join(dir, "from_master"),
		"-a", pr.acl, "-s", pr.keytab}, t.loader...)
	r := &fanoutReplica{dir: dir, port: port, cmd: command(pr.env(conf), args...), stderr: &strings.Builder{}}
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	rd := bufio.NewReader(out)
	if line, _ := rd.ReadString('\n'); strings.TrimSpace(line) != "ready" {
		r.stop()
		return nil, fmt.Errorf("kpropd did not start: %q %s", line, r.stderr.String())
	}
	go io.Copy(io.Discard, rd)
	return r, nil
}

func (r *fanoutReplica) stop() {
	if r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

func (f *fanout) stop() {
	for _, r := range f.replicas {
		r.stop()
	}
	f.replicas = nil
}

// round propagates the dump to every replica and returns the wall time:
// our kprop once in list mode, or MIT's kprop once per replica in turn.
func (f *fanout) round() (time.Duration, error) {
	env := f.pr.env(filepath.Join(f.pr.dir, "kdc.conf"))
	syncDisks()
	start := time.Now()
	if f.t.name == "ours" {
		if out, err := command(env, f.t.kprop, "-f", f.dump, "-s", f.pr.keytab, "-l", f.list).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("kprop -l: %w\n%s", err, out)
		}
		return time.Since(start), nil
	}
	for _, r := range f.replicas {
		out, err := command(env, f.t.kprop, "-f", f.dump, "-s", f.pr.keytab, "-P", strconv.Itoa(r.port), f.pr.host).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("kprop to port %d: %w\n%s\nkpropd: %s", r.port, err, out, r.stderr.String())
		}
	}
	return time.Since(start), nil
}

// check makes sure every replica received the whole dump, so both sides
// did the same work.
func (f *fanout) check(size int64) error {
	var errs []error
	for _, r := range f.replicas {
		st, err := os.Stat(filepath.Join(r.dir, "from_master"))
		if err != nil {
			errs = append(errs, err)
		} else if st.Size() != size {
			errs = append(errs, fmt.Errorf("%s received %d bytes, not %d", r.dir, st.Size(), size))
		}
	}
	return errors.Join(errs...)
}
