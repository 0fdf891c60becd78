package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// runReplica measures a secondary replica's delivery against the load
// that precedes it: a realm is loaded, the replica gets its first (full)
// delivery, then loads alternate between two dumps that differ in a few
// hundred principals (every 3,333rd user flagged DISALLOW_SVR, every
// 10,000th deleted), each followed by the delivery of that difference,
// which has to read the whole database and the whole acknowledged
// snapshot. The plugin is `cat > /dev/null`, so the time is the
// infrastructure's. MIT's kdb5_util load of the same dumps is the
// reference: a delivery slower than the load would double the time a
// replica takes to take in a propagation.
func runReplica(sizesFlag string, runs int, ours, mit string, keep bool) error {
	if !isExec(gnuTime) {
		return fmt.Errorf("%s not found: apt-get install time", gnuTime)
	}
	w, err := newWorkspace("krb5prop-bench-replica-", keep, mit, ours, "./cmd/kdb5util")
	if err != nil {
		return err
	}
	defer w.close()
	if ours == "" {
		ours = filepath.Join(w.bin, "kdb5util")
	}
	sizes, err := parseCounts(sizesFlag)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "principals\tchanges\tMIT load\tours load\tdelivery\tdelivery/ours load\tdelivery/MIT load\tfull delivery\tdelivery peak RSS\t")
	for _, n := range sizes {
		if err := measureReplica(tw, w, n, runs, w.mit, ours); err != nil {
			return fmt.Errorf("%d principals: %w", n, err)
		}
	}
	return tw.Flush()
}

func measureReplica(tw *tabwriter.Writer, w *workspace, n, runs int, mitBin, oursBin string) error {
	dir := filepath.Join(w.work, strconv.Itoa(n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dumps := []string{filepath.Join(dir, "a.dump"), filepath.Join(dir, "b.dump")}
	if err := writeRealm(dumps[0], n); err != nil {
		return err
	}
	changes, err := changeDump(dumps[0], dumps[1])
	if err != nil {
		return err
	}
	mit, err := newSide(dir, "mit", mitBin)
	if err != nil {
		return err
	}
	ours, err := newSide(dir, "ours", oursBin)
	if err != nil {
		return err
	}
	plugin := filepath.Join(dir, "plugin")
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\n[ \"$1\" = apply ] && cat > /dev/null\nexit 0\n"), 0o755); err != nil {
		return err
	}
	conf := fmt.Sprintf("[secondary_replicas]\n    bench = {\n        plugin = %s\n        realm = %s\n    }\n", plugin, realm)
	if err := appendFile(filepath.Join(ours.dir, "kdc.conf"), conf); err != nil {
		return err
	}
	for _, s := range []*side{mit, ours} {
		if _, _, err := s.time("load", dumps[0]); err != nil {
			return err
		}
	}
	full, _, err := ours.time("replica", "retry", "bench")
	if err != nil {
		return err
	}
	var mitLoad, ourLoad, delivery result
	for i := 0; i < runs; i++ {
		d := dumps[(i+1)%2]
		wall, rss, err := mit.time("load", d)
		if err != nil {
			return err
		}
		mitLoad.wall, mitLoad.rss = append(mitLoad.wall, wall), max(mitLoad.rss, rss)
		if wall, rss, err = ours.time("load", d); err != nil {
			return err
		}
		ourLoad.wall, ourLoad.rss = append(ourLoad.wall, wall), max(ourLoad.rss, rss)
		if wall, rss, err = ours.time("replica", "retry", "bench"); err != nil {
			return err
		}
		delivery.wall, delivery.rss = append(delivery.wall, wall), max(delivery.rss, rss)
	}
	m, o, d := mitLoad.median(), ourLoad.median(), delivery.median()
	fmt.Fprintf(os.Stderr, "%d principals, %d changes: MIT load %s, ours %s, delivery %s\n", n, changes, seconds(m), seconds(o), seconds(d))
	fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%.2f\t%.2f\t%s\t%s\t\n", n, changes, seconds(m), seconds(o), seconds(d),
		d.Seconds()/o.Seconds(), d.Seconds()/m.Seconds(), seconds(full), mib(delivery.rss))
	return nil
}

// changeDump writes a copy of the dump at from with every 3,333rd user
// flagged DISALLOW_SVR and every 10,000th left out, and returns how many
// principals differ.
func changeDump(from, to string) (int, error) {
	in, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	changes := 0
	for sc.Scan() {
		line := sc.Text()
		// A principal line of a version 7 dump: "princ", five counts and
		// lengths, the name, then the attributes.
		f := strings.Split(line, "\t")
		if len(f) > 7 && f[0] == "princ" && strings.HasPrefix(f[6], "user") {
			i, err := strconv.Atoi(strings.TrimPrefix(strings.SplitN(f[6], "@", 2)[0], "user"))
			if err == nil && i%10000 == 0 {
				changes++
				continue
			}
			if err == nil && i%3333 == 0 {
				attrs, err := strconv.ParseUint(f[7], 10, 32)
				if err != nil {
					return 0, fmt.Errorf("%s: attributes %q", from, f[7])
				}
				f[7] = strconv.FormatUint(attrs|0x1000, 10)
				line = strings.Join(f, "\t")
				changes++
			}
		}
		bw.WriteString(line)
		bw.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return changes, out.Close()
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
