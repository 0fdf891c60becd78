package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/realm"
)

// errUsage makes main print the usage text and exit 1, as MIT does for any
// malformed command line.
var errUsage = errors.New("usage")

// globals holds kdb5_util's global options.
type globals struct {
	opts realm.Options
	kvno uint16 // -kv; 0 when not given
}

// splitGlobals takes kdb5_util's global options out of argv wherever they
// stand, as MIT's main loop does, so "kdb5util -r R create -s -P pw" and
// "kdb5util create -r R -s" both work; the rest, command first, is
// returned in order.
func splitGlobals(argv []string) (globals, []string, error) {
	var g globals
	var rest []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		val := func() (string, error) {
			if i+1 >= len(argv) {
				return "", errUsage
			}
			i++
			return argv[i], nil
		}
		var err error
		switch a {
		case "-P":
			g.opts.Password, err = val()
			g.opts.HavePassword = true
		case "-d":
			g.opts.DBName, err = val()
		case "-x":
			var arg string
			if arg, err = val(); err == nil {
				g.opts.DBArgs = append(g.opts.DBArgs, arg)
			}
		case "-r":
			g.opts.Realm, err = val()
		case "-k":
			var name string
			if name, err = val(); err == nil {
				if _, e := krb5x.EnctypeByName(name); e != nil {
					return g, nil, fmt.Errorf("Invalid argument : %s is an invalid enctype", name)
				}
				g.opts.MKeyType = name
			}
		case "-kv":
			var v string
			if v, err = val(); err == nil {
				n, e := strconv.Atoi(v)
				if e != nil || n <= 0 || n > 0xffff {
					return g, nil, fmt.Errorf("Invalid argument : %s is an invalid mkeyVNO", v)
				}
				g.kvno = uint16(n)
				g.opts.MKeyVNO = g.kvno
			}
		case "-M":
			g.opts.MKeyName, err = val()
		case "-sf":
			g.opts.StashFile, err = val()
		case "-m":
			g.opts.FromKeyboard = true
		default:
			rest = append(rest, a)
		}
		if err != nil {
			return g, nil, err
		}
	}
	if len(rest) == 0 {
		return g, nil, errUsage
	}
	return g, rest, nil
}
