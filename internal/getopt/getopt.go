// Package getopt reads command lines the way glibc's getopt and
// getopt_long read MIT's: clustered single-letter options ("-dP 754"),
// values attached to their option ("-Pkrb5_prop") or in the next word,
// "--" ending the options, "--name=value" long options, and, unless the
// option string starts with "+", options after operands (GNU permutation).
// It rewrites the command line into a canonical form that urfave/cli
// parses: "-o value ... -- operands".
package getopt

import (
	"fmt"
	"strings"
)

// Error is a command line getopt refuses; its text is glibc's message,
// naming the program as getopt names argv[0].
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Normalize rewrites args (without the program name) for optstring (the
// getopt string: a letter per option, ':' after one that takes a value,
// a leading '+' to stop at the first operand) and long (long options that
// take a value, without "--"; nil for a program that uses plain getopt,
// which reads "--help" as the options '-', 'h', ...).
func Normalize(prog, optstring string, long []string, args []string) ([]string, error) {
	return NormalizeFlags(prog, optstring, long, nil, args)
}

// NormalizeFlags is Normalize with long options that take no value too
// (flags, without "--"), for options of ours that MIT's programs lack.
func NormalizeFlags(prog, optstring string, long, flags []string, args []string) ([]string, error) {
	if flags != nil && long == nil {
		long = []string{}
	}
	stopAtOperand := strings.HasPrefix(optstring, "+")
	optstring = strings.TrimPrefix(optstring, "+")
	var opts, operands []string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if strings.HasPrefix(a, "--") && long != nil {
			name, val, hasVal := strings.Cut(a[2:], "=")
			if contains(flags, name) {
				if hasVal {
					return nil, &Error{fmt.Sprintf("%s: option '--%s' doesn't allow an argument", prog, name)}
				}
				opts = append(opts, "--"+name)
				continue
			}
			if !contains(long, name) {
				return nil, &Error{fmt.Sprintf("%s: unrecognized option '%s'", prog, a)}
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, &Error{fmt.Sprintf("%s: option '--%s' requires an argument", prog, name)}
				}
				i++
				val = args[i]
			}
			opts = append(opts, "--"+name, val)
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			if stopAtOperand {
				break
			}
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(optstring, c)
			if c == ':' || k < 0 {
				return nil, &Error{fmt.Sprintf("%s: invalid option -- '%c'", prog, c)}
			}
			if k+1 < len(optstring) && optstring[k+1] == ':' {
				v := a[j+1:]
				if v == "" {
					i++
					if i >= len(args) {
						return nil, &Error{fmt.Sprintf("%s: option requires an argument -- '%c'", prog, c)}
					}
					v = args[i]
				}
				opts = append(opts, "-"+string(c), v)
				break
			}
			opts = append(opts, "-"+string(c))
		}
	}
	operands = append(operands, args[i:]...)
	return append(append(opts, "--"), operands...), nil
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
