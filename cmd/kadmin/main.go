package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/krb5prop/krb5prop/internal/getopt"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/realm"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/profile"
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}

// options are kadmin's command-line settings.
type options struct {
	dbArgs      []string // -x
	realm       string   // -r
	principal   string   // -p
	haveP       bool
	query       string // -q
	haveQuery   bool
	dbName      string // -d
	enctypes    string // -e
	haveEnc     bool
	ccache      string // -c
	haveCCache  bool
	keytab      string // -t
	haveKeytab  bool
	useKeytab   bool // -k
	anonymous   bool // -n
	mkeyFromKbd bool // -m
	operands    []string
}

// run is kadmin's main: it returns the exit status.
func run(ctx context.Context, argv []string, stdin *os.File, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	prog := "kadmin"
	if len(argv) > 0 {
		prog = argv[0]
	}
	whoami := filepath.Base(prog)
	args, err := getopt.Normalize(prog, optString, nil, argv[1:])
	if err != nil {
		fmt.Fprint(stderr, err.Error()+"\n"+usageText(whoami))
		return 1
	}
	var opts options
	app := &cli.App{
		Name:                      whoami,
		HideHelp:                  true,
		HideHelpCommand:           true,
		HideVersion:               true,
		DisableSliceFlagSeparator: true,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "x", Usage: "database argument (dbname=PATH)"},
			&cli.StringFlag{Name: "r", Usage: "realm"},
			&cli.StringFlag{Name: "p", Usage: "principal to act as"},
			&cli.BoolFlag{Name: "k", Usage: "authenticate with a keytab (names the caller only)"},
			&cli.BoolFlag{Name: "n", Usage: "anonymous (names the caller only)"},
			&cli.StringFlag{Name: "q", Usage: "run one query"},
			&cli.StringFlag{Name: "w", Usage: "password (ignored locally)"},
			&cli.StringFlag{Name: "d", Usage: "database name"},
			&cli.StringFlag{Name: "s", Usage: "admin server (ignored locally)"},
			&cli.BoolFlag{Name: "m", Usage: "read the master password from the keyboard"},
			&cli.StringFlag{Name: "c", Usage: "credential cache (names the caller only)"},
			&cli.StringFlag{Name: "t", Usage: "keytab for -k"},
			&cli.StringFlag{Name: "e", Usage: "key/salt types for new keys"},
			&cli.BoolFlag{Name: "O", Usage: "old-style GSS-API authentication (ignored locally)"},
			&cli.BoolFlag{Name: "N", Usage: "no GSS-API fallback (ignored locally)"},
		},
		Action: func(c *cli.Context) error {
			opts = options{
				dbArgs: c.StringSlice("x"), realm: c.String("r"),
				principal: c.String("p"), haveP: c.IsSet("p"),
				query: c.String("q"), haveQuery: c.IsSet("q"), dbName: c.String("d"),
				enctypes: c.String("e"), haveEnc: c.IsSet("e"),
				ccache: c.String("c"), haveCCache: c.IsSet("c"),
				keytab: c.String("t"), haveKeytab: c.IsSet("t"), useKeytab: c.Bool("k"), anonymous: c.Bool("n"),
				mkeyFromKbd: c.Bool("m"), operands: c.Args().Slice(),
			}
			return nil
		},
	}
	if err := app.RunContext(ctx, append([]string{prog}, args...)); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", whoami, err)
		return 1
	}
	return start(ctx, whoami, opts, stdin, stdout, stderr, env)
}

// start is kadmin_startup followed by the request loop and quit().
func start(ctx context.Context, whoami string, opts options, stdin *os.File, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	usage := func(msg string) int {
		fmt.Fprint(stderr, msg+usageText(whoami))
		return 1
	}
	var keysalts []krb5x.KeySalt
	if opts.haveEnc {
		ks, err := krb5x.ParseKeySalts(opts.enctypes)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v while parsing keysalts %s\n", whoami, err, opts.enctypes)
			return 1
		}
		keysalts = ks
	}
	haveCCache := opts.haveCCache
	if (haveCCache && opts.useKeytab) || (opts.haveKeytab && !opts.useKeytab) ||
		(haveCCache && opts.anonymous) || (opts.anonymous && opts.useKeytab) {
		return usage("")
	}
	if opts.haveQuery && len(opts.operands) > 0 {
		return usage(whoami + ": -q is exclusive with command-line query")
	}
	getenv := func(k string) string { v, _ := env(k); return v }
	prof, err := profile.LoadKDC(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v while initializing krb5 library\n", whoami, err)
		return 1
	}
	defRealm := opts.realm
	if defRealm == "" {
		defRealm, _ = prof.Value("libdefaults", "default_realm")
		if defRealm == "" {
			fmt.Fprintf(stderr, "%s: unable to get default realm\n", whoami)
			return 1
		}
	}
	s := &session{
		ctx: ctx, whoami: whoami, realm: defRealm, prof: prof, env: env,
		stdout: stdout, stderr: stderr, now: time.Now, loc: time.Local,
		script: len(opts.operands) > 0,
	}
	if term.IsTerminal(int(stdin.Fd())) {
		s.in = newTTYInput(stdin, stdout)
	} else {
		path, set := env("SS_READLINE_PATH")
		s.in = newPipeInput(stdin, stdout, !set || (path != "" && path != "none"))
	}

	caller, err := adminPrincipal(opts, defRealm, prof, env)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", whoami, err)
		return 1
	}
	switch {
	case haveCCache:
		s.info("Authenticating as principal %s with existing credentials.\n", caller)
	case opts.anonymous:
		s.info("Authenticating as principal %s with password; anonymous requested.\n", caller)
	case opts.useKeytab && opts.haveKeytab:
		s.info("Authenticating as principal %s with keytab %s.\n", caller, opts.keytab)
	case opts.useKeytab:
		s.info("Authenticating as principal %s with default keytab.\n", caller)
	default:
		s.info("Authenticating as principal %s with password.\n", caller)
	}
	initErr := func(err error) int {
		s.comErr(whoami, err, "while initializing %s interface", whoami)
		return 1
	}
	if opts.mkeyFromKbd && (haveCCache || opts.useKeytab) {
		// kadm5_init_with_creds and _with_skey refuse a keyboard master key.
		initErr(kadm5.ErrBadServerParam)
		return usage("")
	}
	if err := checkDBArgs(opts.dbArgs, true); err != nil {
		return initErr(err)
	}
	ropts := realm.Options{Realm: defRealm, DBName: opts.dbName, DBArgs: opts.dbArgs, Env: getenv}
	if opts.mkeyFromKbd {
		pw, err := s.in.password(realm.KDCMasterKeyPrompt)
		if err != nil {
			return initErr(err)
		}
		ropts.Password, ropts.HavePassword = pw, true
	}
	cfg, err := realm.Load(ropts)
	if err != nil {
		return initErr(err)
	}
	callerName, err := kdb.ParseName(caller, defRealm)
	if err != nil {
		return initErr(err)
	}
	srv, closeDB, err := cfg.OpenAdmin(ctx, callerName.String(), nil)
	if err != nil {
		return initErr(err)
	}
	defer closeDB()
	if keysalts != nil {
		srv.Params.KeySalts = keysalts
	}
	s.srv = srv

	switch {
	case s.script:
		// Post-option words are one request, run in script mode.
		if err := s.executeCommand(opts.operands); errors.Is(err, errNotFound) {
			s.comErr(whoami, err, "%s", opts.operands[0])
			s.exitStatus = 1
		}
	case opts.haveQuery:
		// -q runs one request as if typed.
		if name, err := s.executeLine(opts.query); errors.Is(err, errNotFound) {
			s.comErr(whoami, err, "%s", leadingBlanks(opts.query)+name)
			s.exitStatus = 1
		}
	default:
		s.listen()
	}
	// quit(): release a lock and warn that -c credentials were kept.
	s.locked = false
	if haveCCache && !s.script {
		fmt.Fprintf(stderr, "\n\a\a\a%s", "Administration credentials NOT DESTROYED.\n")
	}
	return s.exitStatus
}

// leadingBlanks returns the blanks and tabs that start s.
func leadingBlanks(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return s[:i]
		}
	}
	return s
}
