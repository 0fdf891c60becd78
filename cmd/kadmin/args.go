package main

import (
	"fmt"
	"strings"
)

// optString is kadmin's getopt string: "+" stops at the first word that
// is not an option, a colon marks an option that takes a value.
const optString = "+x:r:p:knq:w:d:s:mc:t:e:ON"

// usageError is a command line getopt or kadmin refuses; message is what
// precedes the usage text (empty for none).
type usageError struct{ message string }

func (e *usageError) Error() string { return e.message }

// getoptArgs rewrites args (without the program name) into the canonical
// form "-o value ... -- operands", accepting exactly what glibc's getopt
// accepts for optString: clustered options ("-kt keytab"), values attached
// to their option ("-qgetprivs") or in the next word, "--" ending the
// options, and the first non-option word ending them too. Its messages
// name prog as getopt names argv[0].
func getoptArgs(prog string, args []string) ([]string, error) {
	var out []string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(optString[1:], c)
			if c == ':' || k < 0 {
				return nil, &usageError{fmt.Sprintf("%s: invalid option -- '%c'\n", prog, c)}
			}
			if k+2 < len(optString) && optString[1+k+1] == ':' {
				v := a[j+1:]
				if v == "" {
					i++
					if i >= len(args) {
						return nil, &usageError{fmt.Sprintf("%s: option requires an argument -- '%c'\n", prog, c)}
					}
					v = args[i]
				}
				out = append(out, "-"+string(c), v)
				break
			}
			out = append(out, "-"+string(c))
		}
	}
	out = append(out, "--")
	return append(out, args[i:]...), nil
}

// usageText is kadmin's usage(), which it prints before exiting 1.
func usageText(whoami string) string {
	return fmt.Sprintf("Usage: %s [-r realm] [-p principal] [-q query] [clnt|local args]\n"+
		"              [command args...]\n"+
		"\tclnt args: [-s admin_server[:port]] [[-c ccache]|[-k [-t keytab]]]|[-n] [-O | -N]\n"+
		"\tlocal args: [-x db_args]* [-d dbname] [-e \"enc:salt ...\"] [-m] [-w password] where,\n"+
		"\t[-x db_args]* - any number of database specific arguments.\n"+
		"\t\t\tLook at each database documentation for supported arguments\n", whoami)
}
