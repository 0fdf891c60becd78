// Command krb5prop-ldap-sync is an example secondary-replica plugin
// (replica/PROTOCOL.md) that keeps an OpenLDAP directory in step with the
// Kerberos database kpropd loads: one entry per principal under
// ou=principals and one per policy under ou=policies, below a base the site
// chooses. Keys never reach the directory.
//
// Build it and name it in kdc.conf:
//
//	go build -o /usr/local/lib/krb5prop/krb5prop-ldap-sync ./examples/plugins/ldap
//
//	[secondary_replicas]
//	    ldap = {
//	        plugin = /usr/local/lib/krb5prop/krb5prop-ldap-sync
//	        env = LDAP_URI=ldap://ldap.example.com
//	        env = LDAP_BASE=ou=kerberos,dc=example,dc=com
//	        env = LDAP_BIND_DN=cn=krb5prop,dc=example,dc=com
//	        env = LDAP_BIND_PW_FILE=/etc/krb5kdc/ldap-sync.pw
//	    }
//
// The password file holds the password alone; ldapsearch -y sends every
// byte of it, so it must not end in a newline. The directory needs the
// schema in krb5prop.ldif.
//
// It talks to the directory only through OpenLDAP's ldapsearch, ldapmodify
// and ldapwhoami, found in PATH, so TLS and SASL work as configured for
// them in ldap.conf. An apply runs one ldapmodify for the whole delivery,
// which stops at the first error: the outcome is then cant_process, and the
// retry, carrying every change since the last success, redoes the part that
// was applied harmlessly, because each change is written as whole state.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit statuses, the outcomes of replica/PROTOCOL.md.
const (
	exitSuccess       = 0
	exitCantProcess   = 75 // EX_TEMPFAIL
	exitRequestReinit = 76 // EX_PROTOCOL
	exitUsage         = 64 // EX_USAGE: counts as cant_process too
)

// errRequestReinit, wrapped, makes the outcome request_reinit; every other
// error is cant_process.
var errRequestReinit = errors.New("full delivery needed")

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stderr))
}

// run performs the operation in args[0] and returns the exit status,
// writing the reason for any failure to stderr.
func run(args []string, getenv func(string) string, stdin io.Reader, stderr io.Writer) int {
	const name = "krb5prop-ldap-sync"
	if len(args) != 1 {
		fmt.Fprintf(stderr, "usage: %s auth-init|apply|init-reinit|stop|destroy\n", name)
		return exitUsage
	}
	op := args[0]
	err := operate(op, getenv, stdin)
	if err == nil {
		return exitSuccess
	}
	fmt.Fprintf(stderr, "%s %s: %v\n", name, op, err)
	if errors.Is(err, errRequestReinit) {
		return exitRequestReinit
	}
	return exitCantProcess
}

// operate dispatches one operation. The working directory is the plugin's
// own (state_dir/plugin), where the sequence file lives.
func operate(op string, getenv func(string) string, stdin io.Reader) error {
	switch op {
	case "auth-init", "apply", "init-reinit", "destroy":
	case "stop":
		// No connection or process outlives an operation, so there is
		// nothing to stop.
		return nil
	default:
		// PROTOCOL.md: succeed on a callout a later krb5prop adds.
		return nil
	}
	cfg, err := configFromEnv(getenv)
	if err != nil {
		return err
	}
	ldap := &directory{cfg: cfg}
	switch op {
	case "auth-init":
		return ldap.whoami()
	case "apply":
		return apply(ldap, stdin)
	case "init-reinit":
		return reinit(ldap)
	default: // destroy
		return destroy(ldap)
	}
}
