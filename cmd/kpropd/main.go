// Command kpropd is krb5prop's twin of MIT's kpropd: it receives database
// propagations from kprop and loads them, standalone, under inetd or
// xinetd, or socket-activated by systemd, with MIT's flags, files, log
// lines and wire protocol.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/krb5prop/krb5prop/internal/getopt"
)

// usage is MIT's usage text, printed with the program name as invoked.
const usage = "\nUsage: %s [-r realm] [-s keytab] [-d] [-D] [-S]\n\t[-f replica_file] [-F kerberos_db_file ]\n" +
	"\t[-p kdb5_util_pathname] [-x db_args]* [-P port]\n\t[-a acl_file] [-A admin_server] [--pid-file=pid_file]\n"

// Debian's compiled-in defaults (spec kprop-protocol §5.1).
const (
	defaultFile = "/var/lib/krb5kdc/from_master"
	defaultACL  = "/etc/krb5kdc/kpropd.acl"
)

// options are kpropd's command line.
type options struct {
	prog                                                                  string // argv[0], which MIT's messages start with
	realm, keytab, file, dbName, program, port, acl, adminServer, pidFile string
	dbArgs                                                                []string
	debug, noDaemon, once                                                 bool
	// check is --check: report what a propagation would need, and exit.
	check bool
}

// parseArgs reads getopt_long "A:f:F:p:P:r:s:DdSa:tx:" plus --pid-file, as
// kpropd.c does; prog is argv[0].
func parseArgs(prog string, args []string) (options, error) {
	o := options{prog: prog, file: defaultFile, acl: defaultACL}
	norm, err := getopt.NormalizeFlags(prog, "A:f:F:p:P:r:s:DdSa:tx:", []string{"pid-file"}, []string{"check"}, args)
	if err != nil {
		return o, err
	}
	app := &cli.App{
		Name: "kpropd", HideHelp: true, HideHelpCommand: true, HideVersion: true,
		Writer: io.Discard, ErrWriter: io.Discard,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "A", Destination: &o.adminServer},
			&cli.StringFlag{Name: "f", Destination: &o.file, Value: defaultFile},
			&cli.StringFlag{Name: "F", Destination: &o.dbName},
			&cli.StringFlag{Name: "p", Destination: &o.program},
			&cli.StringFlag{Name: "P", Destination: &o.port},
			&cli.StringFlag{Name: "r", Destination: &o.realm},
			&cli.StringFlag{Name: "s", Destination: &o.keytab},
			&cli.BoolFlag{Name: "D", Destination: &o.noDaemon},
			&cli.BoolFlag{Name: "d", Destination: &o.debug},
			&cli.BoolFlag{Name: "S"}, // accepted and ignored since MIT 1.11
			&cli.StringFlag{Name: "a", Destination: &o.acl, Value: defaultACL},
			&cli.BoolFlag{Name: "t", Destination: &o.once},
			&cli.StringSliceFlag{Name: "x"},
			&cli.StringFlag{Name: "pid-file", Destination: &o.pidFile},
			&cli.BoolFlag{Name: "check", Destination: &o.check},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return errors.New("no operands expected")
			}
			o.dbArgs = c.StringSlice("x")
			return nil
		},
	}
	if err := app.Run(append([]string{"kpropd"}, norm...)); err != nil {
		return o, err
	}
	if o.debug {
		o.noDaemon = true
	}
	return o, nil
}

func main() {
	o, err := parseArgs(os.Args[0], os.Args[1:])
	if err != nil {
		var ge *getopt.Error
		if errors.As(err, &ge) {
			fmt.Fprintln(os.Stderr, ge.Msg)
		}
		fmt.Fprintf(os.Stderr, usage, os.Args[0])
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if o.check {
		os.Exit(check(ctx, o, os.Stdout))
	}
	os.Exit(run(ctx, o))
}
