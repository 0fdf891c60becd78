package main

import "fmt"

// optString is kadmin's getopt string: "+" stops at the first word that
// is not an option, a colon marks an option that takes a value.
const optString = "+x:r:p:knq:w:d:s:mc:t:e:ON"

// usageText is kadmin's usage(), which it prints before exiting 1.
func usageText(whoami string) string {
	return fmt.Sprintf("Usage: %s [-r realm] [-p principal] [-q query] [clnt|local args]\n"+
		"              [command args...]\n"+
		"\tclnt args: [-s admin_server[:port]] [[-c ccache]|[-k [-t keytab]]]|[-n] [-O | -N]\n"+
		"\tlocal args: [-x db_args]* [-d dbname] [-e \"enc:salt ...\"] [-m] [-w password] where,\n"+
		"\t[-x db_args]* - any number of database specific arguments.\n"+
		"\t\t\tLook at each database documentation for supported arguments\n", whoami)
}
