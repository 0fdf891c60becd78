// Command kprop is krb5prop's twin of MIT's kprop: it sends a database
// dump to a replica's kpropd over MIT's propagation protocol, with MIT's
// command line, files, messages and exit codes.
//
//	kprop [-r realm] [-f file] [-d] [-P port] [-s keytab] replica_host
//	kprop [-r realm] [-f file] [-d] [-P port] [-s keytab] [-j jobs] [-T timeout]
//	      [-n|--no-wait] {-l list_file | replica...}
//	kprop --status [-f file]
//
// The first form is MIT's, byte for byte. The second (list mode, chosen by
// several replicas or by any of -l, -j, -T, -n) reads the dump once and sends
// it to many replicas at once, prints one line per replica, keeps a status
// file beside the dump and takes a run lock so overlapping runs from cron
// do not collide (fanout.go). The third prints that status file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/krb5prop/krb5prop/internal/filelock"
	"github.com/krb5prop/krb5prop/internal/getopt"
	"github.com/krb5prop/krb5prop/internal/initcreds"
	"github.com/krb5prop/krb5prop/internal/princname"
	"github.com/krb5prop/krb5prop/profile"
	"github.com/krb5prop/krb5prop/propagation"
)

// Debian's compiled-in defaults (spec kprop-protocol §4.1).
const (
	defaultDumpFile = "/var/lib/krb5kdc/replica_datatrans"
	defaultKeytab   = "FILE:/etc/krb5.keytab"
	kpropService    = "krb5_prop"
	kpropPort       = 754
)

// usage is MIT's usage text, printed with the program name as invoked.
const usage = "\nUsage: %s [-r realm] [-f file] [-d] [-P port] [-s keytab] replica_host\n\n"

// listUsage is the usage text once list mode's options are in play.
const listUsage = "\nUsage: %[1]s [-r realm] [-f file] [-d] [-P port] [-s keytab] replica_host\n" +
	"       %[1]s [-r realm] [-f file] [-d] [-P port] [-s keytab] [-j jobs] [-T timeout]\n" +
	"             [-n|--no-wait] {-l list_file | replica[:port]...}\n" +
	"       %[1]s --status [-f file]\n\n"

// Exit statuses. MIT's kprop knows only 0 and 1; list mode adds one for a
// run that did not start because another holds the run lock, and --status
// one for replicas behind the dump.
const (
	exitOK     = 0
	exitFailed = 1
	// exitBehind: --status found a replica failing or behind the dump.
	exitBehind = 2
	// exitBusy is sysexits.h's EX_TEMPFAIL: with -n, another run holds
	// the lock; try again later.
	exitBusy = 75
)

// options are kprop's command line.
type options struct {
	realm, file, port, keytab string
	replicas                  []string
	debug                     bool
	timeout                   time.Duration

	// List mode.
	list     string        // -l: a file of replicas
	jobs     int           // -j: replicas at a time; 0 means the default
	deadline time.Duration // -T: each replica's overall deadline; 0 means none
	noWait   bool          // -n, --no-wait: fail at once if the run lock is held

	status bool // --status
}

// listMode reports whether the command line asks for more than MIT's kprop
// does; only then does kprop print per-replica lines, lock and keep status.
func (o options) listMode() bool {
	return len(o.replicas) != 1 || o.list != "" || o.jobs != 0 || o.deadline != 0 || o.noWait
}

// extended reports whether a list-mode option or long option was given,
// which makes a usage error print list mode's usage instead of MIT's.
func (o options) extended() bool {
	return o.list != "" || o.jobs != 0 || o.deadline != 0 || o.noWait || o.status
}

// usageError is a command line kprop refuses; msg, if any, is printed
// before the usage text.
type usageError struct {
	msg      string
	extended bool
}

func (e *usageError) Error() string { return e.msg }

// parseArgs reads kprop's command line as kprop.c's getopt "r:f:dP:s:"
// does (clustered and attached options, options after the operand), with
// list mode's -j, -T, -l and -n and the long options --status and
// --no-wait added; prog is the program name getopt's messages start with.
func parseArgs(prog string, args []string) (options, error) {
	o := options{file: defaultDumpFile, timeout: propagation.DefaultTimeout}
	args, long := takeLongFlags(args, "status", "no-wait")
	o.status, o.noWait = long["status"], long["no-wait"]
	norm, err := getopt.Normalize(prog, "r:f:dP:s:j:T:l:n", nil, args)
	if err != nil {
		return o, &usageError{msg: err.Error(), extended: o.extended()}
	}
	var jobs, deadline string
	app := &cli.App{
		Name: "kprop", HideHelp: true, HideHelpCommand: true, HideVersion: true,
		Writer: io.Discard, ErrWriter: io.Discard,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "r", Destination: &o.realm},
			&cli.StringFlag{Name: "f", Destination: &o.file, Value: defaultDumpFile},
			&cli.BoolFlag{Name: "d", Destination: &o.debug},
			&cli.StringFlag{Name: "P", Destination: &o.port},
			&cli.StringFlag{Name: "s", Destination: &o.keytab},
			&cli.StringFlag{Name: "j", Destination: &jobs},
			&cli.StringFlag{Name: "T", Destination: &deadline},
			&cli.StringFlag{Name: "l", Destination: &o.list},
			&cli.BoolFlag{Name: "n", Destination: &o.noWait},
		},
		Action: func(c *cli.Context) error {
			o.replicas = c.Args().Slice()
			return nil
		},
	}
	if err := app.Run(append([]string{"kprop"}, norm...)); err != nil {
		return o, &usageError{extended: o.extended()}
	}
	// cli resets each Destination to its flag's default before parsing.
	o.noWait = o.noWait || long["no-wait"]
	if jobs != "" {
		n, err := strconv.Atoi(jobs)
		if err != nil || n < 1 {
			return o, &usageError{msg: fmt.Sprintf("%s: -j wants how many replicas to send to at a time (1 or more), not %q", prog, jobs), extended: true}
		}
		o.jobs = n
	}
	if deadline != "" {
		d, err := parseDuration(deadline)
		if err != nil || d <= 0 {
			return o, &usageError{msg: fmt.Sprintf("%s: -T wants a duration such as 90s or 10m, not %q", prog, deadline), extended: true}
		}
		o.deadline = d
	}
	switch {
	case o.status:
		if len(o.replicas) > 0 || o.list != "" {
			return o, &usageError{msg: prog + ": --status takes no replicas", extended: true}
		}
	case o.list != "" && len(o.replicas) > 0:
		return o, &usageError{msg: prog + ": give the replicas either with -l or as arguments, not both", extended: true}
	case o.list == "" && len(o.replicas) == 0:
		return o, &usageError{extended: o.extended()}
	}
	return o, nil
}

// takeLongFlags removes the long options named (which take no value) from
// args, up to a "--", and reports which were present. internal/getopt's
// long options always take a value, and MIT's getopt string has none.
func takeLongFlags(args []string, names ...string) ([]string, map[string]bool) {
	set := map[string]bool{}
	var rest []string
	for i, a := range args {
		if a == "--" {
			return append(rest, args[i:]...), set
		}
		name, ok := strings.CutPrefix(a, "--")
		if ok && slices.Contains(names, name) {
			set[name] = true
			continue
		}
		rest = append(rest, a)
	}
	return rest, set
}

// parseDuration reads -T: a Go duration ("90s", "1h30m") or a number of
// seconds.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

func main() {
	os.Exit(run(context.Background(), os.Args[0], os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is kprop; it returns the exit status (0 success, 1 any failure, as
// MIT's; list mode and --status add their own). prog is argv[0], which
// MIT's kprop starts every message with as it was invoked
// ("/usr/sbin/kprop: database locked").
func run(ctx context.Context, prog string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseArgs(prog, args)
	if err != nil {
		var ue *usageError
		errors.As(err, &ue)
		if ue.msg != "" {
			fmt.Fprintln(stderr, ue.msg)
		}
		if ue.extended {
			fmt.Fprintf(stderr, listUsage, prog)
		} else {
			fmt.Fprintf(stderr, usage, prog)
		}
		return exitFailed
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: "+format+"\n", append([]any{prog}, a...)...)
		return exitFailed
	}
	if o.status {
		return showStatus(o.file, time.Now(), stdout, stderr, prog)
	}
	var names []string
	if o.listMode() {
		// The list is read before anything else, so a typo in it fails
		// at once, whatever the state of the realm.
		if names, err = replicaNames(o); err != nil {
			return fail("%v", err)
		}
	}
	prof, err := profile.LoadConfig(profile.Env(getenv))
	if err != nil {
		return fail("%v while initializing krb5", err)
	}
	p := &primary{prof: prof, realm: o.realm, port: o.port, timeout: o.timeout}
	if p.realm == "" {
		var ok bool
		if p.realm, ok = prof.DefaultRealm(); !ok {
			return fail("Configuration file does not specify default realm while getting default realm")
		}
	}
	if p.local, err = initcreds.LocalHost(ctx, prof); err != nil {
		return fail("%v while setting client principal name", err)
	}
	if p.keytab = o.keytab; p.keytab == "" {
		p.keytab = defaultKeytabName(getenv, prof)
	}
	if o.listMode() {
		return runList(ctx, p, o, names, stdout, stderr, prog)
	}
	return runOne(ctx, p, o, stdout, stderr, prog)
}

// runOne is MIT's kprop: one replica, its output word for word.
func runOne(ctx context.Context, p *primary, o options, stdout, stderr io.Writer, prog string) int {
	host := o.replicas[0]
	// 1. The ticket first, so a bad host name fails here (spec §4.2).
	creds, err := p.ticket(p.principals(ctx, host))
	if err != nil {
		// MIT's format string ends in a newline, hence the blank line.
		fmt.Fprintf(stderr, "%s: %v\n\n", prog, err)
		return exitFailed
	}
	// 2. The dump, under a shared lock, no older than its .dump_ok.
	dump, err := openDump(o.file)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitFailed
	}
	defer dump.Close()
	// 3. The connection and the session.
	var debug io.Writer
	if o.debug {
		debug = stdout
	}
	if err := p.send(ctx, creds, host, "", dump, dump.size, debug, 0); err != nil {
		var pe *propagation.Error
		if !errors.As(err, &pe) {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return exitFailed
		}
		for _, l := range pe.Lines(prog) {
			fmt.Fprintln(stderr, l)
		}
		if pe.Hint != "" {
			fmt.Fprintf(stderr, "%s: hint: %s\n", prog, pe.Hint)
		}
		return exitFailed
	}
	// 4. The marker MIT's scripts look at: <file>.<host>.last_prop.
	if err := markLastProp(o.file, host); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	}
	fmt.Fprintf(stdout, "Database propagation to %s: SUCCEEDED\n", host)
	return exitOK
}

// primary is what every propagation from this host shares: the
// configuration, the realm, this host's name in its host principal, the
// keytab holding that principal's key, and the connection settings.
type primary struct {
	prof    *profile.Profile
	realm   string
	local   string
	keytab  string
	port    string        // -P
	timeout time.Duration // each read and write
}

// principals names what a propagation to one replica runs as: this
// host's host principal, whose key is in keytab, asking for a ticket to the
// replica's.
type principals struct {
	realm           string
	client, service []string
	keytab          string
}

// principals builds the principals for a replica host as kprop.c does
// (sn2princ_realm, spec §2.2).
func (p *primary) principals(ctx context.Context, host string) principals {
	return principals{realm: p.realm, client: []string{"host", p.local},
		service: []string{"host", initcreds.Canonicalize(ctx, p.prof, host)}, keytab: p.keytab}
}

func (w principals) clientName() string { return princname.Unparse(w.client, w.realm) }
func (w principals) serverName() string { return princname.Unparse(w.service, w.realm) }

// String names all three, for a failure's reason.
func (w principals) String() string {
	return fmt.Sprintf("client %s, server %s, keytab %s", w.clientName(), w.serverName(), w.keytab)
}

// credsError is a failure to get the ticket for a replica.
type credsError struct{ err error }

// Error is MIT's message.
func (e *credsError) Error() string { return e.err.Error() + " while getting initial credentials" }

func (e *credsError) Unwrap() error { return e.err }

// ticket gets a ticket for the replica's host principal with this host's
// key: kprop's AS exchange (spec §2.3).
func (p *primary) ticket(w principals) (*initcreds.Credentials, error) {
	creds, err := initcreds.Get(p.prof, initcreds.Request{Realm: w.realm, Client: w.client, Service: w.service, Keytab: w.keytab})
	if err != nil {
		return nil, &credsError{err: err}
	}
	return creds, nil
}

// connectError is a failure to reach a replica's kpropd.
type connectError struct {
	host string
	err  error
}

// Error is MIT's message: getaddrinfo's text after the host name, or the
// system's after which "while connecting to server" follows.
func (e *connectError) Error() string {
	var ne *net.DNSError
	if errors.As(e.err, &ne) {
		return e.host + ": " + ne.Err
	}
	return errText(e.err) + " while connecting to server"
}

func (e *connectError) Unwrap() error { return e.err }

// send connects to the kpropd of host (on port, else -P, else krb5_prop)
// and propagates size bytes of dump in one session bounded by overall (0:
// no bound); debug, if set, gets MIT's "<n> bytes sent." lines.
func (p *primary) send(ctx context.Context, creds *initcreds.Credentials, host, port string, dump io.Reader, size int64, debug io.Writer, overall time.Duration) error {
	if port == "" {
		port = p.port
	}
	dialTimeout := p.timeout
	if overall > 0 && overall < dialTimeout {
		dialTimeout = overall
	}
	start := time.Now()
	conn, err := dial(ctx, host, port, dialTimeout)
	if err != nil {
		return &connectError{host: host, err: err}
	}
	defer conn.Close()
	if overall > 0 {
		if overall -= time.Since(start); overall <= 0 {
			return &propagation.Error{Op: "while connecting to server", Err: propagation.ErrSessionTimeout}
		}
	}
	cfg := &propagation.ClientConfig{Ticket: creds.Ticket, SessionKey: creds.SessionKey,
		ClientRealm: creds.Realm, ClientName: creds.Client, Timeout: p.timeout, Overall: overall, Debug: debug}
	return cfg.Send(ctx, conn, dump, size)
}

// markLastProp writes <file>.<host>.last_prop, the marker MIT's kprop
// leaves after each success (one NUL byte, mode 0600).
func markLastProp(file, host string) error {
	path := file + "." + host + ".last_prop"
	if err := os.WriteFile(path, []byte{0}, 0o600); err != nil {
		return fmt.Errorf("%s while creating 'last_prop' file, '%s'", errText(err), path)
	}
	return nil
}

// dumpFile is the dump being propagated, open under a shared lock.
type dumpFile struct {
	*os.File
	size  int64
	mtime time.Time
}

// openDump opens the dump file as kprop does: a shared lock that must be
// free now ("database locked" while kdb5util dump writes it), and a
// .dump_ok no older than the dump. Its errors are MIT's messages.
func openDump(file string) (*dumpFile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%s while trying to open %s", errText(err), file)
	}
	if err := filelock.TryLock(f, false); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrLocked) {
			return nil, errors.New("database locked")
		}
		return nil, fmt.Errorf("%v while trying to lock '%s'", err, file)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s while trying to stat %s", errText(err), file)
	}
	ok, err := os.Stat(file + ".dump_ok")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s while trying to stat %s.dump_ok", errText(err), file)
	}
	// MIT compares whole seconds.
	if st.ModTime().Unix() > ok.ModTime().Unix() {
		f.Close()
		return nil, fmt.Errorf("'%s' more recent than '%s.dump_ok'.", file, file)
	}
	return &dumpFile{File: f, size: st.Size(), mtime: st.ModTime()}, nil
}

// dial connects to the replica's kpropd: -P as a service name or number,
// else the krb5_prop service, else port 754; every address in turn.
func dial(ctx context.Context, host, port string, timeout time.Duration) (net.Conn, error) {
	p, err := resolvePort(port)
	if err != nil {
		return nil, err
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: timeout}
	var last error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a, strconv.Itoa(p)))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

func resolvePort(port string) (int, error) {
	if port == "" {
		if p, err := net.LookupPort("tcp", kpropService); err == nil {
			return p, nil
		}
		return kpropPort, nil
	}
	return net.LookupPort("tcp", port)
}

// defaultKeytabName is MIT's default keytab: KRB5_KTNAME, else
// [libdefaults] default_keytab_name, else FILE:/etc/krb5.keytab.
func defaultKeytabName(getenv func(string) string, prof *profile.Profile) string {
	if v := getenv("KRB5_KTNAME"); v != "" {
		return v
	}
	if v, ok := prof.Value("libdefaults", "default_keytab_name"); ok && v != "" {
		return v
	}
	return defaultKeytab
}

// errText is the operating system's text for err, as strerror gives it
// ("Connection refused"), without Go's operation prefix.
func errText(err error) string {
	var se interface{ Unwrap() error }
	for errors.As(err, &se) {
		inner := se.Unwrap()
		if inner == nil {
			break
		}
		err = inner
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
