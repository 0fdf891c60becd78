// Command krb5kdc is krb5prop's twin of MIT's krb5kdc: it answers AS and
// TGS requests for one realm or several over UDP and TCP from the
// databases kdb5util and kadmin maintain, with MIT's command line,
// configuration and log files.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/krb5prop/krb5prop/internal/getopt"
	"github.com/krb5prop/krb5prop/profile"
)

// usage is MIT 1.20's usage text (kdc/main.c), with the program's base
// name as MIT prints it.
const usage = "usage: %s [-x db_args]* [-d dbpathname] [-r dbrealmname]\n" +
	"\t\t[-T time_offset] [-m] [-k masterenctype]\n" +
	"\t\t[-M masterkeyname] [-p port] [-P pid_file]\n" +
	"\t\t[-n] [-w numworkers] [/]\n\n" +
	"where,\n" +
	"\t[-x db_args]* - Any number of database specific arguments.\n" +
	"\t\t\tLook at each database module documentation for \t\t\tsupported arguments\n"

// optstring is MIT 1.20's getopt string, obsolete options included
// (-R replay cache, -s, -e, -4, -X, -3 are accepted and ignored).
const optstring = "x:r:d:mM:k:R:e:P:p:s:nw:4:T:X3"

// options are krb5kdc's command line.
type options struct {
	prog string // base name of argv[0], which MIT's messages start with
	// realms are the realms to serve, in command-line order; one with
	// an empty name, the default realm, when there is no -r.
	realms                      []realmArgs
	mkeyName, mkeyType, pidFile string
	port                        string
	fromKeyboard, noFork        bool
	workers                     int
	timeOffset                  time.Duration
	// waitForDB is --wait-for-database: how long a replica's KDC waits
	// for its first propagation to create the database (0: no limit);
	// nil exits at once, as MIT's does.
	waitForDB *time.Duration
}

// realmArgs is a realm to serve and the options that name its database.
type realmArgs struct {
	name   string   // -r; empty for the default realm
	dbName string   // -d
	dbArgs []string // -x
}

// realmFlags reads -r, -d and -x in command-line order, as MIT's krb5kdc
// does: it opens each -r realm as soon as it reads it, with the -d and -x
// given since the previous -r, and then starts those afresh; with no -r
// they are the default realm's, after the last -r nobody's. A realm named
// again is served once, and the -d and -x before it wait for the next -r.
// (MIT keeps the path of the first -d for every later -d, a slip not
// copied.) -M, -k, -m and -p apply to every realm wherever they stand;
// MIT applies them only to the realms named after them.
type realmFlags struct {
	realms  []realmArgs
	pending realmArgs
}

func (f *realmFlags) realm(name string) {
	for _, r := range f.realms {
		if r.name == name {
			return
		}
	}
	f.pending.name = name
	f.realms = append(f.realms, f.pending)
	f.pending = realmArgs{}
}

func (f *realmFlags) dbName(path string) { f.pending.dbName = path }

func (f *realmFlags) dbArg(arg string) { f.pending.dbArgs = append(f.pending.dbArgs, arg) }

// list returns the realms to serve.
func (f *realmFlags) list() []realmArgs {
	if len(f.realms) == 0 {
		return []realmArgs{f.pending}
	}
	return f.realms
}

// optionFunc is a flag.Value that passes each value of its option to the
// function, in command-line order.
type optionFunc func(string)

func (optionFunc) String() string { return "" }

func (f optionFunc) Set(v string) error {
	f(v)
	return nil
}

// parseArgs reads MIT's krb5kdc command line. Operands are ignored, as
// MIT's getopt loop ignores them.
func parseArgs(prog string, args []string) (options, error) {
	o := options{prog: prog}
	norm, err := getopt.Normalize(prog, optstring, []string{"wait-for-database"}, args)
	if err != nil {
		return o, err
	}
	var workers, offset, wait string
	var rf realmFlags
	app := &cli.App{
		Name: "krb5kdc", HideHelp: true, HideHelpCommand: true, HideVersion: true,
		Writer: io.Discard, ErrWriter: io.Discard,
		Flags: []cli.Flag{
			&cli.GenericFlag{Name: "x", Value: optionFunc(rf.dbArg)},
			&cli.GenericFlag{Name: "r", Value: optionFunc(rf.realm)},
			&cli.GenericFlag{Name: "d", Value: optionFunc(rf.dbName)},
			&cli.BoolFlag{Name: "m", Destination: &o.fromKeyboard},
			&cli.StringFlag{Name: "M", Destination: &o.mkeyName},
			&cli.StringFlag{Name: "k", Destination: &o.mkeyType},
			&cli.StringFlag{Name: "R"},
			&cli.StringFlag{Name: "e"},
			&cli.StringFlag{Name: "P", Destination: &o.pidFile},
			&cli.StringFlag{Name: "p", Destination: &o.port},
			&cli.StringFlag{Name: "s"},
			&cli.BoolFlag{Name: "n", Destination: &o.noFork},
			&cli.StringFlag{Name: "w", Destination: &workers},
			&cli.StringFlag{Name: "4"},
			&cli.StringFlag{Name: "T", Destination: &offset},
			&cli.BoolFlag{Name: "X"},
			&cli.BoolFlag{Name: "3"},
			&cli.StringFlag{Name: "wait-for-database", Destination: &wait},
		},
		Action: func(*cli.Context) error {
			o.realms = rf.list()
			return nil
		},
	}
	if err := app.Run(append([]string{"krb5kdc"}, norm...)); err != nil {
		return o, err
	}
	// MIT reads both with atoi: garbage is 0.
	if workers != "" {
		o.workers, _ = strconv.Atoi(workers)
	}
	if offset != "" {
		n, _ := strconv.Atoi(offset)
		o.timeOffset = time.Duration(n) * time.Second
	}
	if wait != "" {
		d, err := profile.ParseDuration(wait)
		if err != nil || d < 0 {
			return o, &getopt.Error{Msg: fmt.Sprintf("%s: --wait-for-database wants a duration (0 for no limit), not %q", prog, wait)}
		}
		o.waitForDB = &d
	}
	return o, nil
}

func main() {
	prog := filepath.Base(os.Args[0])
	o, err := parseArgs(prog, os.Args[1:])
	if err != nil {
		var ge *getopt.Error
		if errors.As(err, &ge) {
			fmt.Fprintln(os.Stderr, ge.Msg)
		}
		fmt.Fprintf(os.Stderr, usage, prog)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, o))
}
