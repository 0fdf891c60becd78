package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// propRealm is the realm propagation is measured in: an MIT KDC (kprop
// gets its ticket by an AS exchange), host/<this host>'s key in a keytab,
// and an ACL that lets it in.
type propRealm struct {
	dir, krb5conf, keytab, acl, host string
	kdc                              *exec.Cmd
}

// tools are one side's programs.
type tools struct {
	name                    string
	kdb5util, kprop, kpropd string
	loader                  []string // -p for kpropd; nil loads in-process
}

// propTools are MIT's propagation programs (beside its kdb5_util; its
// kpropd loads with -p kdb5_util) and ours.
func (w *workspace) propTools() (mit, ours tools) {
	dir := filepath.Dir(w.mit)
	mit = tools{name: "MIT", kdb5util: w.mit, kprop: filepath.Join(dir, "kprop"), kpropd: filepath.Join(dir, "kpropd"), loader: []string{"-p", w.mit}}
	ours = tools{name: "ours", kdb5util: filepath.Join(w.bin, "kdb5util"), kprop: filepath.Join(w.bin, "kprop"), kpropd: filepath.Join(w.bin, "kpropd")}
	return mit, ours
}

func runProp(sizesFlag string, runs int, ours, mit string, keep bool) error {
	w, err := newWorkspace("krb5prop-bench-prop-", keep, mit, ours, "./cmd/kdb5util", "./cmd/kprop", "./cmd/kpropd")
	if err != nil {
		return err
	}
	defer w.close()
	work, mit := w.work, w.mit
	sizes, err := parseCounts(sizesFlag)
	if err != nil {
		return err
	}
	mitTools, ourTools := w.propTools()
	pr, err := newPropRealm(work, filepath.Dir(mit))
	if err != nil {
		return err
	}
	defer pr.stop()

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "principals\tdump size\tMIT transfer\tours transfer\tthroughput ours/MIT\tMIT end to end\tours end to end\tours/MIT\t")
	for _, n := range sizes {
		dumpFile, err := realmDump(filepath.Join(work, strconv.Itoa(n)), n)
		if err != nil {
			return err
		}
		st, err := os.Stat(dumpFile)
		if err != nil {
			return err
		}
		var res [2][2]result // [side][transfer, end to end]
		sides := []tools{mitTools, ourTools}
		for i := 0; i < runs; i++ {
			for k := range sides {
				j := (i + k) % 2
				tr, e2e, err := pr.measure(filepath.Dir(dumpFile), dumpFile, sides[j])
				if err != nil {
					return fmt.Errorf("%d principals, %s: %w", n, sides[j].name, err)
				}
				res[j][0].wall = append(res[j][0].wall, tr)
				res[j][1].wall = append(res[j][1].wall, e2e)
			}
		}
		mb := float64(st.Size()) / 1e6
		mt, ot := res[0][0].median(), res[1][0].median()
		me, oe := res[0][1].median(), res[1][1].median()
		fmt.Fprintf(os.Stderr, "%d principals: transfer MIT %s ours %s; end to end MIT %s ours %s\n", n, seconds(mt), seconds(ot), seconds(me), seconds(oe))
		fmt.Fprintf(tw, "%d\t%.0f MB\t%.0f MB/s\t%.0f MB/s\t%.1f\t%s\t%s\t%.2f\t\n", n, mb, mb/mt.Seconds(), mb/ot.Seconds(),
			mt.Seconds()/ot.Seconds(), seconds(me), seconds(oe), oe.Seconds()/me.Seconds())
	}
	return tw.Flush()
}

func newPropRealm(work, mitDir string) (*propRealm, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	host = strings.ToLower(host)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	pr := &propRealm{dir: work, host: host, krb5conf: filepath.Join(work, "krb5.conf"),
		keytab: filepath.Join(work, "host.keytab"), acl: filepath.Join(work, "kpropd.acl")}
	conf := fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n dns_canonicalize_hostname = false\n"+
		" rdns = false\n qualify_shortname = \"\"\n[realms]\n %s = {\n  kdc = 127.0.0.1:%d\n }\n", realm, realm, port)
	if err := os.WriteFile(pr.krb5conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	kdcConf := filepath.Join(work, "kdc.conf")
	if err := os.WriteFile(kdcConf, []byte(fmt.Sprintf("[kdcdefaults]\n kdc_listen = 127.0.0.1:%d\n kdc_tcp_listen = 127.0.0.1:%d\n"+
		"[realms]\n %s = {\n  database_name = %s/kdc/principal\n  key_stash_file = %s/kdc/stash\n }\n", port, port, realm, work, work)), 0o600); err != nil {
		return nil, err
	}
	os.MkdirAll(filepath.Join(work, "kdc"), 0o700)
	env := pr.env(kdcConf)
	for _, args := range [][]string{
		{filepath.Join(mitDir, "kdb5_util"), "-P", "kdc-master-pw", "create", "-s"},
		{filepath.Join(mitDir, "kadmin.local"), "-q", "addprinc -randkey host/" + host},
		{filepath.Join(mitDir, "kadmin.local"), "-q", "ktadd -k " + pr.keytab + " host/" + host},
	} {
		if out, err := command(env, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	if err := os.WriteFile(pr.acl, []byte("host/"+host+"@"+realm+"\n"), 0o600); err != nil {
		return nil, err
	}
	pr.kdc = command(env, filepath.Join(mitDir, "krb5kdc"), "-n")
	if err := pr.kdc.Start(); err != nil {
		return nil, err
	}
	return pr, waitTCP(fmt.Sprintf("127.0.0.1:%d", port))
}

func (pr *propRealm) stop() {
	if pr.kdc != nil && pr.kdc.Process != nil {
		pr.kdc.Process.Kill()
		pr.kdc.Wait()
	}
}

func (pr *propRealm) env(kdcProfile string) []string {
	return append(os.Environ(), "KRB5_CONFIG="+pr.krb5conf, "KRB5_KDC_PROFILE="+kdcProfile, "KRB5RCACHEDIR="+pr.dir)
}

func command(env []string, args ...string) *exec.Cmd {
	c := exec.Command(args[0], args[1:]...)
	c.Env = env
	return c
}

// measure runs one side's propagation of dumpFile twice: to a kpropd
// that only receives (its loader is /bin/true) for the transfer time, and
// to one that loads, timing dump + kprop for the end-to-end time.
func (pr *propRealm) measure(dir, dumpFile string, t tools) (time.Duration, time.Duration, error) {
	side := filepath.Join(dir, t.name)
	for _, d := range []string{"primary", "replica"} {
		if err := os.MkdirAll(filepath.Join(side, d), 0o700); err != nil {
			return 0, 0, err
		}
	}
	confs := map[string]string{}
	for _, d := range []string{"primary", "replica"} {
		confs[d] = filepath.Join(side, d+".conf")
		text := fmt.Sprintf("[realms]\n %s = {\n  database_name = %s/%s/principal\n  key_stash_file = %s/%s/stash\n }\n", realm, side, d, side, d)
		if err := os.WriteFile(confs[d], []byte(text), 0o600); err != nil {
			return 0, 0, err
		}
	}
	primary, replica := pr.env(confs["primary"]), pr.env(confs["replica"])
	// The primary holds the realm; the replica a copy of it, which the
	// propagation replaces.
	for _, env := range [][]string{primary, replica} {
		if out, err := command(env, t.kdb5util, "load", dumpFile).CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("load: %w\n%s", err, out)
		}
	}
	sent := filepath.Join(side, "sent.dump")
	// Transfer alone.
	if out, err := command(primary, t.kdb5util, "-P", "bench-master-pw", "dump", sent).CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("dump: %w\n%s", err, out)
	}
	transfer, err := pr.propagate(t, replica, primary, sent, side, []string{"-p", "/bin/true"}, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("transfer: %w", err)
	}
	// End to end: dump, send, load, acknowledgement.
	e2e, err := pr.propagate(t, replica, primary, sent, side, t.loader, func() error {
		out, err := command(primary, t.kdb5util, "-P", "bench-master-pw", "dump", sent).CombinedOutput()
		if err != nil {
			return fmt.Errorf("dump: %w\n%s", err, out)
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("end to end: %w", err)
	}
	return transfer, e2e, nil
}

// propagate starts the side's kpropd for one connection, then times
// before (if any) and the side's kprop of file to it.
func (pr *propRealm) propagate(t tools, replicaEnv, primaryEnv []string, file, side string, loader []string, before func() error) (time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	args := append([]string{t.kpropd, "-D", "-t", "-P", strconv.Itoa(port), "-f", filepath.Join(side, "from_master"),
		"-a", pr.acl, "-s", pr.keytab}, loader...)
	kpropd := command(replicaEnv, args...)
	out, err := kpropd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr strings.Builder
	kpropd.Stderr = &stderr
	if err := kpropd.Start(); err != nil {
		return 0, err
	}
	defer func() { kpropd.Process.Kill(); kpropd.Wait() }()
	if line, _ := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		return 0, fmt.Errorf("kpropd did not start: %q %s", line, stderr.String())
	}
	syncDisks()
	start := time.Now()
	if before != nil {
		if err := before(); err != nil {
			return 0, err
		}
	}
	kprop := command(primaryEnv, t.kprop, "-P", strconv.Itoa(port), "-f", file, "-s", pr.keytab, pr.host)
	if o, err := kprop.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("kprop: %w\n%s\nkpropd: %s", err, o, stderr.String())
	}
	return time.Since(start), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitTCP(addr string) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	return errors.New("KDC did not start on " + addr)
}
