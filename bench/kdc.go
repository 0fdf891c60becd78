package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// kdcFlags are the command-line settings of the KDC measurement.
var kdcFlags struct {
	clients    string
	kinds      string
	services   int
	cpus       string
	duration   time.Duration
	mitWorkers int
	ourWorkers int
	pac        bool
}

// kdcSide is one KDC under test: its realm directory, configuration and
// running process.
type kdcSide struct {
	name string
	dir  string
	addr string
	env  []string
	cmd  *exec.Cmd
}

// load is one measurement: a kind of request at some number of clients
// against one KDC.
type load struct {
	ok, failed int
	firstErr   error
	latencies  []time.Duration
	window     time.Duration
	cpu        time.Duration // the KDC process's user + system time in the window
	genCPU     time.Duration // the generator's (this process's) in the window
}

func (l load) perSecond() float64 { return float64(l.ok) / l.window.Seconds() }

func (l load) percentile(p float64) time.Duration {
	if len(l.latencies) == 0 {
		return 0
	}
	return l.latencies[int(p*float64(len(l.latencies)-1))]
}

func (l load) cpuPerRequest() time.Duration {
	if l.ok == 0 {
		return 0
	}
	return l.cpu / time.Duration(l.ok)
}

func runKDC(sizesFlag string, runs int, ours, mit string, keep bool) error {
	clients, err := parseCounts(kdcFlags.clients)
	if err != nil {
		return err
	}
	w, err := newWorkspace("krb5prop-bench-kdc-", keep, mit, ours, "./cmd/kdb5util", "./cmd/kadmin", "./cmd/krb5kdc")
	if err != nil {
		return err
	}
	defer w.close()
	work, mitDir, bin := w.work, filepath.Dir(w.mit), w.bin
	sizes, err := parseCounts(sizesFlag)
	if err != nil {
		return err
	}
	for _, n := range sizes {
		if n < 1 {
			return fmt.Errorf("bad size %d: the load needs at least one user", n)
		}
		if err := benchKDCs(filepath.Join(work, strconv.Itoa(n)), n, clients, runs, mitDir, bin); err != nil {
			return fmt.Errorf("%d principals: %w", n, err)
		}
	}
	return nil
}

// benchKDCs builds a realm of n users, loads it into an MIT and an own
// database, starts both KDCs and measures them alternately.
func benchKDCs(dir string, n int, clients []int, runs int, mitDir, bin string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dumpFile := filepath.Join(dir, "realm.dump")
	if err := writeRealm(dumpFile, n); err != nil {
		return err
	}
	mitArgs := []string{filepath.Join(mitDir, "krb5kdc"), "-n"}
	if kdcFlags.mitWorkers > 0 {
		mitArgs = append(mitArgs, "-w", strconv.Itoa(kdcFlags.mitWorkers))
	}
	sides := []*kdcSide{
		{name: "MIT", dir: filepath.Join(dir, "mit")},
		{name: "ours", dir: filepath.Join(dir, "ours")},
	}
	ourArgs := []string{filepath.Join(bin, "krb5kdc"), "-n"}
	if kdcFlags.ourWorkers > 0 {
		ourArgs = append(ourArgs, "-w", strconv.Itoa(kdcFlags.ourWorkers))
	}
	daemons := [][]string{mitArgs, ourArgs}
	if kdcFlags.cpus != "" {
		for i := range daemons {
			daemons[i] = append([]string{"taskset", "-c", kdcFlags.cpus}, daemons[i]...)
		}
	}
	utils := []string{filepath.Join(mitDir, "kdb5_util"), filepath.Join(bin, "kdb5util")}
	for i, s := range sides {
		if err := s.setUp(utils[i], dumpFile); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	defer func() {
		for _, s := range sides {
			s.stop()
		}
	}()
	for i, s := range sides {
		if err := s.start(daemons[i]); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	// Every user has the same key (synth shares one set of sealed keys),
	// so the generator can authenticate as any of them with user 0's.
	kt := filepath.Join(dir, "user.keytab")
	out, err := command(sides[1].env, filepath.Join(bin, "kadmin"), "-q", "ktadd -k "+kt+" -norandkey user00000000").CombinedOutput()
	if err != nil {
		return fmt.Errorf("kadmin ktadd: %w\n%s", err, out)
	}
	key, err := userKey(kt)
	if err != nil {
		return err
	}
	gen, err := newGenerator(n, key)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d principals\tclients\tMIT req/s\tours req/s\tours/MIT\tMIT p50\tours p50\tMIT p99\tours p99\tMIT CPU/req\tours CPU/req\t\n", n)
	for _, kind := range strings.Split(kdcFlags.kinds, ",") {
		if kind != "AS" && kind != "TGS" {
			return fmt.Errorf("unknown request kind %q: AS or TGS", kind)
		}
		for _, c := range clients {
			var res [2][]load
			for r := 0; r < runs; r++ {
				// Alternate which KDC goes first.
				loads, err := gen.measure(sides, r%2, kind, c, kdcFlags.duration)
				if err != nil {
					return fmt.Errorf("%s, %d clients: %w", kind, c, err)
				}
				for j, l := range loads {
					if l.failed > 0 {
						return fmt.Errorf("%s %s, %d clients: %d of %d requests failed, the first with: %v",
							sides[j].name, kind, c, l.failed, l.ok+l.failed, l.firstErr)
					}
					res[j] = append(res[j], l)
				}
			}
			m, o := medianLoad(res[0]), medianLoad(res[1])
			fmt.Fprintf(os.Stderr, "%s, %d clients: MIT %.0f/s, ours %.0f/s; generator CPU/req %s, %s\n", kind, c, m.perSecond(), o.perSecond(),
				micros(m.genCPU/time.Duration(max(m.ok, 1))), micros(o.genCPU/time.Duration(max(o.ok, 1))))
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", kind, c, m.perSecond(), o.perSecond(),
				o.perSecond()/m.perSecond(), micros(m.percentile(0.5)), micros(o.percentile(0.5)),
				micros(m.percentile(0.99)), micros(o.percentile(0.99)), micros(m.cpuPerRequest()), micros(o.cpuPerRequest()))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range sides {
		rss, err := s.peakRSS()
		if err != nil {
			return err
		}
		fmt.Printf("%s krb5kdc peak RSS: %s\n", s.name, mib(rss))
	}
	return nil
}

func micros(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

// medianLoad is the measurement with the median request rate.
func medianLoad(ls []load) load {
	sort.Slice(ls, func(i, j int) bool { return ls[i].perSecond() < ls[j].perSecond() })
	return ls[len(ls)/2]
}

func parseCounts(list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad number %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// setUp writes the side's configuration (its own port, a log file, PACs
// off unless -pac) and loads the realm with the side's kdb5_util.
func (s *kdcSide) setUp(kdb5util, dumpFile string) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", port)
	krb5 := filepath.Join(s.dir, "krb5.conf")
	kdc := filepath.Join(s.dir, "kdc.conf")
	if err := os.WriteFile(krb5, []byte("[libdefaults]\n default_realm = "+realm+"\n"), 0o600); err != nil {
		return err
	}
	conf := fmt.Sprintf("[kdcdefaults]\n kdc_listen = %s\n kdc_tcp_listen = %s\n"+
		"[realms]\n %s = {\n  database_name = %s/principal\n  key_stash_file = %s/stash\n  disable_pac = %v\n }\n"+
		"[logging]\n kdc = FILE:%s/kdc.log\n", s.addr, s.addr, realm, s.dir, s.dir, !kdcFlags.pac, s.dir)
	if err := os.WriteFile(kdc, []byte(conf), 0o600); err != nil {
		return err
	}
	s.env = append(os.Environ(), "KRB5_CONFIG="+krb5, "KRB5_KDC_PROFILE="+kdc, "KRB5RCACHEDIR="+s.dir)
	for _, args := range [][]string{{"load", dumpFile}, {"-P", "bench-master-pw", "stash"}} {
		if out, err := command(s.env, append([]string{kdb5util}, args...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

func (s *kdcSide) start(args []string) error {
	s.cmd = command(s.env, args...)
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		return err
	}
	return waitTCP(s.addr)
}

func (s *kdcSide) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
	}
}

// cpuTime is the KDC's user and system time so far, its workers'
// included once they have exited (MIT's -w forks them).
func (s *kdcSide) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the parenthesised command name; utime and stime
	// are fields 14 and 15 of the whole line, in clock ticks, which
	// Linux reports at USER_HZ = 100 whatever the kernel's own HZ.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("short /proc stat line %q", b)
	}
	var ticks int64
	for _, k := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	if kdcFlags.mitWorkers > 0 && s.name == "MIT" {
		// Live workers' time is not in the parent's counters yet.
		kids, err := childCPU(s.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		ticks += kids
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// selfCPU is this process's user and system time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childCPU sums the user and system ticks of pid's live children.
func childCPU(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, c := range strings.Fields(string(b)) {
		st, err := os.ReadFile("/proc/" + c + "/stat")
		if err != nil {
			return 0, err
		}
		i := strings.LastIndexByte(string(st), ')')
		f := strings.Fields(string(st[i+1:]))
		for _, k := range []int{11, 12} {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			sum += v
		}
	}
	return sum, nil
}

// peakRSS is the KDC's peak resident set (VmHWM) in KiB, its workers'
// added when MIT's runs several.
func (s *kdcSide) peakRSS() (int64, error) {
	pids := []string{strconv.Itoa(s.cmd.Process.Pid)}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", s.cmd.Process.Pid, s.cmd.Process.Pid)); err == nil {
		pids = append(pids, strings.Fields(string(b))...)
	}
	var sum int64
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				if err != nil {
					return 0, fmt.Errorf("VmHWM of %s: %q", pid, v)
				}
				sum += kib
			}
		}
	}
	return sum, nil
}

// generator makes and checks requests as a gokrb5 client would: AS-REQs
// for a random user's TGT with PA-ENC-TIMESTAMP already attached (the
// second request of a kinit), and TGS-REQs with a cached TGT for a service
// ticket. AS clients are spread over the whole database; TGS requests name
// one of the first -services users, as a realm's tickets are mostly for
// its few hundred or thousand services.
//
// gokrb5 spends more CPU making a request and checking its reply than a
// KDC spends answering it, and the generator shares the machine's cores
// with the KDC. So requests are made before a measurement starts and
// replies checked after it ends: during the measurement the generator
// only sends and receives, and the KDC's numbers are the KDC's.
type generator struct {
	users    int
	services int // TGS requests name users below this
	key      types.EncryptionKey
	cfg      *config.Config
	tgts     []tgt // one per client, for TGS requests
	// expect is the request rate each kind's batches are sized for; it
	// follows the fastest rate seen.
	expect map[string]float64
}

// tgt is a client's ticket-granting ticket and its session key.
type tgt struct {
	cname   types.PrincipalName
	ticket  messages.Ticket
	session types.EncryptionKey
}

// request is one prepared request and what checks its reply.
type request struct {
	der   []byte
	nonce int
	key   types.EncryptionKey // the reply's enc-part key: the user's or the TGT session key
}

func newGenerator(users int, key types.EncryptionKey) (*generator, error) {
	cfg, err := config.NewFromString("[libdefaults]\n default_realm = " + realm + "\n" +
		" default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n" +
		" default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n noaddresses = true\n")
	if err != nil {
		return nil, err
	}
	services := kdcFlags.services
	if services <= 0 || services > users {
		services = users
	}
	return &generator{users: users, services: services, key: key, cfg: cfg, expect: map[string]float64{"AS": 20000, "TGS": 30000}}, nil
}

func userKey(keytabFile string) (types.EncryptionKey, error) {
	kt, err := keytab.Load(keytabFile)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	for _, e := range kt.Entries {
		if e.Key.KeyType == 18 {
			return e.Key, nil
		}
	}
	return types.EncryptionKey{}, errors.New(keytabFile + " holds no aes256-cts-hmac-sha1-96 key")
}

// warmUp is how long clients run before a measurement window opens, so
// connections, caches and the Go runtime have settled.
const warmUp = 500 * time.Millisecond

// measure prepares a batch of requests for clients concurrent clients and
// runs it against every side, in turn from first: each KDC sees each
// request once. A batch that ran out before the window closed is made
// again, twice as large.
func (g *generator) measure(sides []*kdcSide, first int, kind string, clients int, window time.Duration) ([]load, error) {
	if kind == "TGS" {
		if err := g.getTGTs(sides[0].addr, clients); err != nil {
			return nil, err
		}
	}
	perClient := int(g.expect[kind]*(warmUp+window).Seconds())/clients + 1
	for {
		batch, err := g.prepare(kind, clients, perClient)
		if err != nil {
			return nil, err
		}
		loads := make([]load, len(sides))
		short := false
		for k := range sides {
			j := (first + k) % len(sides)
			l, exhausted, err := drive(sides[j], batch, window)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sides[j].name, err)
			}
			short = short || exhausted
			g.expect[kind] = max(g.expect[kind], 1.5*l.perSecond())
			loads[j] = l
		}
		if !short {
			return loads, nil
		}
		perClient *= 2
	}
}

// getTGTs gets a TGT for each of clients users from the KDC at addr. The
// realms of both KDCs are loaded from one dump, so either KDC accepts the
// other's tickets.
func (g *generator) getTGTs(addr string, clients int) error {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, 65536)
	for len(g.tgts) < clients {
		req, err := g.asReq(len(g.tgts))
		if err != nil {
			return err
		}
		conn.Write(req.der)
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			return fmt.Errorf("getting a TGT: %w", err)
		}
		rep, part, err := checkASRep(buf[:n], &req)
		if err != nil {
			return fmt.Errorf("getting a TGT: %w", err)
		}
		g.tgts = append(g.tgts, tgt{cname: rep.CName, ticket: rep.Ticket, session: part.Key})
	}
	return nil
}

// prepare makes perClient requests for each client, on every core.
func (g *generator) prepare(kind string, clients, perClient int) ([][]request, error) {
	batch := make([][]request, clients)
	for c := range batch {
		batch[c] = make([]request, perClient)
	}
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(w)))
			for c := range batch {
				for i := w; i < perClient; i += workers {
					var err error
					if kind == "AS" {
						batch[c][i], err = g.asReq(rng.IntN(g.users))
					} else {
						batch[c][i], err = g.tgsReq(g.tgts[c], rng.IntN(g.services))
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return batch, nil
}

func userName(i int) types.PrincipalName {
	return types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{fmt.Sprintf("user%08d", i)}}
}

func (g *generator) asReq(user int) (request, error) {
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}}
	req, err := messages.NewASReq(realm, g.cfg, userName(user), sname)
	if err != nil {
		return request{}, err
	}
	ts, err := types.GetPAEncTSEncAsnMarshalled()
	if err != nil {
		return request{}, err
	}
	ed, err := crypto.GetEncryptedData(ts, g.key, keyusage.AS_REQ_PA_ENC_TIMESTAMP, 1)
	if err != nil {
		return request{}, err
	}
	pa, err := ed.Marshal()
	if err != nil {
		return request{}, err
	}
	req.PAData = types.PADataSequence{{PADataType: patype.PA_ENC_TIMESTAMP, PADataValue: pa}}
	b, err := req.Marshal()
	return request{der: b, nonce: req.ReqBody.Nonce, key: g.key}, err
}

func (g *generator) tgsReq(t tgt, service int) (request, error) {
	req, err := messages.NewTGSReq(t.cname, realm, g.cfg, t.ticket, t.session, userName(service), false)
	if err != nil {
		return request{}, err
	}
	b, err := req.Marshal()
	return request{der: b, nonce: req.ReqBody.Nonce, key: t.session}, err
}

// drive sends each client's requests one after another over its own UDP
// socket until warmUp plus window have passed, and then checks the
// replies of the requests that fell inside the window. exhausted reports
// a client that ran out of requests before the window closed.
func drive(s *kdcSide, batch [][]request, window time.Duration) (l load, exhausted bool, err error) {
	type exchange struct {
		req     *request
		reply   []byte
		latency time.Duration
		err     error
	}
	start := time.Now()
	from, to := start.Add(warmUp), start.Add(warmUp+window)
	done := make([][]exchange, len(batch))
	short := make([]bool, len(batch))
	var wg sync.WaitGroup
	dialErr := make(chan error, len(batch))
	for c := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("udp", s.addr)
			if err != nil {
				dialErr <- err
				return
			}
			defer conn.Close()
			buf := make([]byte, 65536)
			for i := range batch[c] {
				t0 := time.Now()
				if !t0.Before(to) {
					return
				}
				req := &batch[c][i]
				x := exchange{req: req}
				if _, x.err = conn.Write(req.der); x.err == nil {
					conn.SetReadDeadline(t0.Add(2 * time.Second))
					var n int
					n, x.err = conn.Read(buf)
					x.latency = time.Since(t0)
					x.reply = buf[:n]
				}
				if t0.Before(from) || time.Now().After(to) {
					continue
				}
				x.reply = append([]byte(nil), x.reply...)
				done[c] = append(done[c], x)
			}
			short[c] = true
		}()
	}
	time.Sleep(time.Until(from))
	cpu0, err := s.cpuTime()
	if err != nil {
		return load{}, false, err
	}
	gen0 := selfCPU()
	time.Sleep(time.Until(to))
	cpu1, err := s.cpuTime()
	if err != nil {
		return load{}, false, err
	}
	gen1 := selfCPU()
	wg.Wait()
	select {
	case err := <-dialErr:
		return load{}, false, err
	default:
	}
	l = load{window: window, cpu: cpu1 - cpu0, genCPU: gen1 - gen0}
	for c, xs := range done {
		exhausted = exhausted || short[c]
		for _, x := range xs {
			if x.err == nil {
				x.err = checkReply(x.reply, x.req)
			}
			if x.err != nil {
				l.failed++
				if l.firstErr == nil {
					l.firstErr = x.err
				}
				continue
			}
			l.ok++
			l.latencies = append(l.latencies, x.latency)
		}
	}
	sort.Slice(l.latencies, func(i, j int) bool { return l.latencies[i] < l.latencies[j] })
	return l, exhausted, nil
}

// checkReply checks that reply answers req: a KDC-REP whose enc-part
// decrypts with the request's key to the request's nonce.
func checkReply(reply []byte, req *request) error {
	if len(reply) > 0 && reply[0] == 0x7e {
		var ke messages.KRBError
		if err := ke.Unmarshal(reply); err != nil {
			return fmt.Errorf("undecodable KRB-ERROR: %w", err)
		}
		return fmt.Errorf("KRB-ERROR %d: %s", ke.ErrorCode, ke.EText)
	}
	if len(reply) > 0 && reply[0] == 0x6b {
		_, _, err := checkASRep(reply, req)
		return err
	}
	var rep messages.TGSRep
	if err := rep.Unmarshal(reply); err != nil {
		return fmt.Errorf("TGS-REP: %w", err)
	}
	if err := rep.DecryptEncPart(req.key); err != nil {
		return fmt.Errorf("TGS-REP enc-part: %w", err)
	}
	if rep.DecryptedEncPart.Nonce != req.nonce {
		return errors.New("TGS-REP for another request")
	}
	return nil
}

func checkASRep(reply []byte, req *request) (messages.ASRep, messages.EncKDCRepPart, error) {
	var rep messages.ASRep
	var part messages.EncKDCRepPart
	if len(reply) > 0 && reply[0] == 0x7e {
		return rep, part, checkReply(reply, req)
	}
	if err := rep.Unmarshal(reply); err != nil {
		return rep, part, fmt.Errorf("AS-REP: %w", err)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, req.key, keyusage.AS_REP_ENCPART)
	if err != nil {
		return rep, part, fmt.Errorf("AS-REP enc-part: %w", err)
	}
	if err := part.Unmarshal(plain); err != nil {
		return rep, part, fmt.Errorf("AS-REP enc-part: %w", err)
	}
	if part.Nonce != req.nonce {
		return rep, part, errors.New("AS-REP for another request")
	}
	return rep, part, nil
}
