// Command kprop is krb5prop's twin of MIT's kprop: it sends a database
// dump to a replica's kpropd over MIT's propagation protocol, with MIT's
// command line, files, messages and exit codes.
//
//	kprop [-r realm] [-f file] [-d] [-P port] [-s keytab] replica_host
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/krb5prop/krb5prop/internal/filelock"
	"github.com/krb5prop/krb5prop/internal/getopt"
	"github.com/krb5prop/krb5prop/internal/initcreds"
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

// options are kprop's command line.
type options struct {
	realm, file, port, keytab, host string
	debug                           bool
	timeout                         time.Duration
}

// parseArgs reads kprop's command line as kprop.c's getopt "r:f:dP:s:"
// does (clustered and attached options, options after the operand), with
// exactly one operand; prog is the program name getopt's messages start
// with.
func parseArgs(prog string, args []string) (options, error) {
	o := options{file: defaultDumpFile, timeout: propagation.DefaultTimeout}
	norm, err := getopt.Normalize(prog, "r:f:dP:s:", nil, args)
	if err != nil {
		return o, err
	}
	app := &cli.App{
		Name: "kprop", HideHelp: true, HideHelpCommand: true, HideVersion: true,
		Writer: io.Discard, ErrWriter: io.Discard,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "r", Destination: &o.realm},
			&cli.StringFlag{Name: "f", Destination: &o.file, Value: defaultDumpFile},
			&cli.BoolFlag{Name: "d", Destination: &o.debug},
			&cli.StringFlag{Name: "P", Destination: &o.port},
			&cli.StringFlag{Name: "s", Destination: &o.keytab},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("one replica host expected")
			}
			o.host = c.Args().First()
			return nil
		},
	}
	if err := app.Run(append([]string{"kprop"}, norm...)); err != nil {
		return o, err
	}
	return o, nil
}

func main() {
	os.Exit(run(context.Background(), os.Args[0], os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is kprop; it returns the exit status (0 success, 1 any failure, as
// MIT's). prog is argv[0], which MIT's kprop starts every message with as
// it was invoked ("/usr/sbin/kprop: database locked").
func run(ctx context.Context, prog string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseArgs(prog, args)
	if err != nil {
		var ge *getopt.Error
		if errors.As(err, &ge) {
			fmt.Fprintln(stderr, ge.Msg)
		}
		fmt.Fprintf(stderr, usage, prog)
		return 1
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: "+format+"\n", append([]any{prog}, a...)...)
		return 1
	}
	prof, err := profile.LoadConfig(profile.Env(getenv))
	if err != nil {
		return fail("%v while initializing krb5", err)
	}
	realm := o.realm
	if realm == "" {
		var ok bool
		if realm, ok = prof.DefaultRealm(); !ok {
			return fail("Configuration file does not specify default realm while getting default realm")
		}
	}
	local, err := initcreds.LocalHost(ctx, prof)
	if err != nil {
		return fail("%v while setting client principal name", err)
	}
	replica := initcreds.Canonicalize(ctx, prof, o.host)
	keytab := o.keytab
	if keytab == "" {
		keytab = defaultKeytabName(getenv, prof)
	}
	// 1. The ticket first, so a bad host name fails here (spec §4.2).
	creds, err := initcreds.Get(prof, initcreds.Request{Realm: realm, Client: []string{"host", local},
		Service: []string{"host", replica}, Keytab: keytab})
	if err != nil {
		// MIT's format string ends in a newline, hence the blank line.
		fmt.Fprintf(stderr, "%s: %v while getting initial credentials\n\n", prog, err)
		return 1
	}
	// 2. The dump, under a shared lock, no older than its .dump_ok.
	dump, size, status := openDump(o.file, fail)
	if dump == nil {
		return status
	}
	defer dump.Close()
	// 3. The connection and the session.
	conn, err := dial(ctx, o.host, o.port, o.timeout)
	if err != nil {
		var ne *net.DNSError
		if errors.As(err, &ne) {
			return fail("%s: %s", o.host, ne.Err)
		}
		return fail("%v while connecting to server", errText(err))
	}
	defer conn.Close()
	cfg := &propagation.ClientConfig{Ticket: creds.Ticket, SessionKey: creds.SessionKey,
		ClientRealm: creds.Realm, ClientName: creds.Client, Timeout: o.timeout}
	if o.debug {
		cfg.Debug = stdout
	}
	if err := cfg.Send(ctx, conn, dump, size); err != nil {
		var pe *propagation.Error
		if errors.As(err, &pe) {
			for _, l := range pe.Lines(prog) {
				fmt.Fprintln(stderr, l)
			}
			if pe.Hint != "" {
				fmt.Fprintf(stderr, "%s: hint: %s\n", prog, pe.Hint)
			}
			return 1
		}
		return fail("%v", err)
	}
	// 4. The marker MIT's scripts look at: <file>.<host>.last_prop.
	lastProp := o.file + "." + o.host + ".last_prop"
	if err := os.WriteFile(lastProp, []byte{0}, 0o600); err != nil {
		fmt.Fprintf(stderr, "%s: %v while creating 'last_prop' file, '%s'\n", prog, errText(err), lastProp)
	}
	fmt.Fprintf(stdout, "Database propagation to %s: SUCCEEDED\n", o.host)
	return 0
}

// openDump opens the dump file as kprop does: a shared lock that must be
// free now ("database locked" while kdb5util dump writes it), and a
// .dump_ok no older than the dump.
func openDump(file string, fail func(string, ...any) int) (*os.File, int64, int) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, fail("%v while trying to open %s", errText(err), file)
	}
	if err := filelock.TryLock(f, false); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrLocked) {
			return nil, 0, fail("database locked")
		}
		return nil, 0, fail("%v while trying to lock '%s'", err, file)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fail("%v while trying to stat %s", errText(err), file)
	}
	ok, err := os.Stat(file + ".dump_ok")
	if err != nil {
		f.Close()
		return nil, 0, fail("%v while trying to stat %s.dump_ok", errText(err), file)
	}
	// MIT compares whole seconds.
	if st.ModTime().Unix() > ok.ModTime().Unix() {
		f.Close()
		return nil, 0, fail("'%s' more recent than '%s.dump_ok'.", file, file)
	}
	return f, st.Size(), 0
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
