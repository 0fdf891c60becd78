// Command krb5kdc is krb5prop's twin of MIT's krb5kdc: it answers AS and
// TGS requests for a realm over UDP and TCP from the database kdb5util and
// kadmin maintain, with MIT's command line, configuration and log files.
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
	prog                                string // base name of argv[0], which MIT's messages start with
	realms                              []string
	dbName, mkeyName, mkeyType, pidFile string
	port                                string
	dbArgs                              []string
	fromKeyboard, noFork                bool
	workers                             int
	timeOffset                          time.Duration
}

// parseArgs reads MIT's krb5kdc command line. Operands are ignored, as
// MIT's getopt loop ignores them.
func parseArgs(prog string, args []string) (options, error) {
	o := options{prog: prog}
	norm, err := getopt.Normalize(prog, optstring, nil, args)
	if err != nil {
		return o, err
	}
	var workers, offset string
	app := &cli.App{
		Name: "krb5kdc", HideHelp: true, HideHelpCommand: true, HideVersion: true,
		Writer: io.Discard, ErrWriter: io.Discard,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "x"},
			&cli.StringSliceFlag{Name: "r"},
			&cli.StringFlag{Name: "d", Destination: &o.dbName},
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
		},
		Action: func(c *cli.Context) error {
			o.dbArgs = c.StringSlice("x")
			o.realms = c.StringSlice("r")
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
