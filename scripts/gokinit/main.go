// Command gokinit gets a ticket-granting ticket with a password, using
// gokrb5's client: the demo's Kerberos client when MIT's kinit is not
// installed. Usage: gokinit principal < password (KRB5_CONFIG names the
// realm's KDCs, as for kinit).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gokinit principal < password")
		os.Exit(2)
	}
	if err := kinit(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gokinit:", err)
		os.Exit(1)
	}
}

func kinit(principal string) error {
	path := os.Getenv("KRB5_CONFIG")
	if path == "" {
		path = "/etc/krb5.conf"
	}
	cfg, err := config.Load(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	user, realm, ok := strings.Cut(principal, "@")
	if !ok {
		realm = cfg.LibDefaults.DefaultRealm
	}
	password, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && password == "" {
		return fmt.Errorf("reading the password: %w", err)
	}
	cl := client.NewWithPassword(user, realm, strings.TrimRight(password, "\r\n"), cfg, client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		return err
	}
	defer cl.Destroy()
	tgt, _, err := cl.GetServiceTicket("krbtgt/" + realm)
	if err != nil {
		return err
	}
	fmt.Printf("Ticket for %s@%s: %s@%s\n", user, realm, tgt.SName.PrincipalNameString(), tgt.Realm)
	return nil
}
