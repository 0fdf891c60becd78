// Command kdb5util is krb5prop's twin of MIT's kdb5_util: it creates,
// destroys and maintains the KDC database and its master key, with MIT's
// command line, messages and exit codes. Installed as kdb5_util too.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/krb5prop/krb5prop/internal/prompt"
	"github.com/krb5prop/krb5prop/internal/realm"
)

// env is what one run works with: the resolved realm, the terminal and the
// output streams. Commands report failures by returning an error; main
// prints it as MIT's com_err does ("progname: message") and exits 1.
type env struct {
	ctx    context.Context
	g      globals
	prog   string
	in     *prompt.Reader
	stdout io.Writer
	stderr io.Writer
	cfg    *realm.Config
}

// failed is a command failure whose message has already been printed.
var failed = errors.New("failed")

func (e *env) errorf(format string, args ...any) error {
	fmt.Fprintf(e.stderr, "%s: "+format+"\n", append([]any{e.prog}, args...)...)
	return failed
}

const usageText = `Usage: kdb5_util [-r realm] [-d dbname] [-k mkeytype] [-kv mkeyVNO]
	        [-M mkeyname] [-m] [-sf stashfilename] [-P password]
	        [-x db_args]* cmd [cmd_options]
	create  [-s]
	destroy [-f]
	stash   [-f keyfile]
	dump    [-b7|-r13|-r18] [-verbose]
	        [-mkey_convert] [-new_mkey_file mkey_file]
	        [-rev] [-recurse] [filename [princs...]]
	load    [-b7|-r13|-r18] [-hash] [-verbose] [-update] filename
	ark     [-e etype_list] principal
	add_mkey [-e etype] [-s]
	use_mkey kvno [time]
	list_mkeys
	update_princ_encryption [-f] [-n] [-v] [princ-pattern]
	purge_mkeys [-f] [-n] [-v]
	tabdump [-H] [-c] [-e] [-n] [-o outfile] dumptype
	replica list | info name | retry [name] | reinit name
	        | stop name | start name | destroy name
`

func main() {
	e := &env{ctx: context.Background(), prog: filepath.Base(os.Args[0]),
		in: prompt.New(os.Stdin, os.Stdout), stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(run(e, os.Args[1:]))
}

// run executes one command line and returns the exit status.
func run(e *env, args []string) int {
	g, rest, err := splitGlobals(args)
	if errors.Is(err, errUsage) {
		fmt.Fprint(e.stderr, usageText)
		return 1
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", e.prog, err)
		return 1
	}
	e.g = g
	app := &cli.App{
		Name:            e.prog,
		HideHelp:        true,
		HideHelpCommand: true,
		Writer:          e.stdout,
		ErrWriter:       e.stderr,
		Commands:        commands(e),
		CommandNotFound: func(*cli.Context, string) {},
		OnUsageError: func(*cli.Context, error, bool) error {
			return errUsage
		},
	}
	if !knownCommand(app.Commands, rest[0]) {
		fmt.Fprint(e.stderr, usageText)
		return 1
	}
	g.opts.Env = os.Getenv
	e.g.opts.Env = os.Getenv
	cfg, err := realm.Load(e.g.opts)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", e.prog, err)
		return 1
	}
	e.cfg = cfg
	// Dumps and stashes must not be world-readable (MIT calls umask(077)).
	setUmask()
	err = app.RunContext(e.ctx, append([]string{e.prog}, rest...))
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprint(e.stderr, usageText)
		return 1
	case errors.Is(err, failed):
		return 1
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	fmt.Fprintf(e.stderr, "%s: %v\n", e.prog, err)
	return 1
}

func knownCommand(cmds []*cli.Command, name string) bool {
	for _, c := range cmds {
		if c.Name == name {
			return true
		}
	}
	return false
}

// noArgs rejects stray arguments, which MIT answers with the usage text.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return errUsage
	}
	return nil
}

func commands(e *env) []*cli.Command {
	return []*cli.Command{
		{Name: "create", Flags: []cli.Flag{&cli.BoolFlag{Name: "s"}, &cli.BoolFlag{Name: "W"}},
			Action: func(c *cli.Context) error { return e.create(c) }},
		{Name: "destroy", Flags: []cli.Flag{&cli.BoolFlag{Name: "f"}},
			Action: func(c *cli.Context) error { return e.destroy(c) }},
		{Name: "stash", Flags: []cli.Flag{&cli.StringFlag{Name: "f"}},
			Action: func(c *cli.Context) error { return e.stash(c) }},
		{Name: "list_mkeys", Action: func(c *cli.Context) error { return e.listMKeys(c) }},
		{Name: "add_mkey", Flags: []cli.Flag{&cli.StringFlag{Name: "e"}, &cli.BoolFlag{Name: "s"}},
			Action: func(c *cli.Context) error { return e.addMKey(c) }},
		{Name: "use_mkey", Action: func(c *cli.Context) error { return e.useMKey(c) }},
		{Name: "update_princ_encryption", Flags: []cli.Flag{&cli.BoolFlag{Name: "f"}, &cli.BoolFlag{Name: "n"}, &cli.BoolFlag{Name: "v"}},
			Action: func(c *cli.Context) error { return e.updatePrincEncryption(c) }},
		{Name: "purge_mkeys", Flags: []cli.Flag{&cli.BoolFlag{Name: "f"}, &cli.BoolFlag{Name: "n"}, &cli.BoolFlag{Name: "v"}},
			Action: func(c *cli.Context) error { return e.purgeMKeys(c) }},
		{Name: "dump", SkipFlagParsing: true, Action: func(c *cli.Context) error { return e.dumpCmd(c.Args().Slice()) }},
		{Name: "load", SkipFlagParsing: true, Action: func(c *cli.Context) error { return e.loadCmd(c.Args().Slice()) }},
		{Name: "tabdump", SkipFlagParsing: true, Action: func(c *cli.Context) error { return e.tabdumpCmd(c.Args().Slice()) }},
		{Name: "ark", Flags: []cli.Flag{&cli.StringFlag{Name: "e"}},
			Action: func(c *cli.Context) error { return e.ark(c) }},
		{Name: "replica", SkipFlagParsing: true, Action: func(c *cli.Context) error { return e.replicaCmd(c.Args().Slice()) }},
	}
}

// errText is the message of err without the context our packages wrap
// around MIT's text, for lines that scripts compare with MIT's.
func errText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
