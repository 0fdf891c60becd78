// Package initcreds gets a service ticket straight from the KDC with a
// keytab, as kprop does (krb5_get_init_creds_keytab with in_tkt_service
// set): an AS exchange whose server is the replica's host principal, no
// TGT, nothing cached. The KDC is found from krb5.conf as MIT's library
// finds it; gokrb5 does the exchange itself.
package initcreds

import (
	"fmt"
	"net"
	"strings"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/profile"
)

// Credentials are a ticket and its session key.
type Credentials struct {
	Ticket     messages.Ticket
	SessionKey types.EncryptionKey
	Client     types.PrincipalName
	Realm      string
}

// Request names the client (whose key is in the keytab) and the service.
type Request struct {
	Realm   string
	Client  []string // components, e.g. host, primary.example.com
	Service []string // components, e.g. host, replica.example.com
	Keytab  string   // a path, optionally FILE:
}

// Get performs the AS exchange described by req, locating the realm's
// KDCs through prof ([realms] REALM kdc, as krb5.conf lists them).
func Get(prof *profile.Profile, req Request) (*Credentials, error) {
	cfg, err := gokrb5Config(prof, req.Realm)
	if err != nil {
		return nil, err
	}
	kt, err := keytab.Load(strings.TrimPrefix(strings.TrimPrefix(req.Keytab, "FILE:"), "WRFILE:"))
	if err != nil {
		return nil, err
	}
	cname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_HST, NameString: req.Client}
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_HST, NameString: req.Service}
	cl := client.NewWithKeytab(strings.Join(req.Client, "/"), req.Realm, kt, cfg, client.DisablePAFXFAST(true))
	asreq, err := messages.NewASReq(req.Realm, cfg, cname, sname)
	if err != nil {
		return nil, err
	}
	rep, err := cl.ASExchange(req.Realm, asreq, 0)
	if err != nil {
		return nil, err
	}
	return &Credentials{Ticket: rep.Ticket, SessionKey: rep.DecryptedEncPart.Key, Client: cname, Realm: req.Realm}, nil
}

// gokrb5Config builds the client configuration gokrb5 needs from our
// profile: gokrb5's own krb5.conf reader drops include files and
// relations it does not know, so only what locating the KDC takes is
// passed on.
func gokrb5Config(prof *profile.Profile, realm string) (*config.Config, error) {
	kdcs := prof.Values("realms", realm, "kdc")
	if len(kdcs) == 0 {
		return nil, fmt.Errorf("Cannot find KDC for realm %q", realm)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n dns_lookup_realm = false\n", realm)
	if v, ok := prof.Value("libdefaults", "udp_preference_limit"); ok {
		fmt.Fprintf(&b, " udp_preference_limit = %s\n", v)
	}
	// Every enctype MIT 1.20 uses by default, newest first; gokrb5's own
	// default leaves out aes-sha2.
	b.WriteString(" default_tkt_enctypes = aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n")
	b.WriteString(" default_tgs_enctypes = aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n")
	b.WriteString(" permitted_enctypes = aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n")
	fmt.Fprintf(&b, "[realms]\n %s = {\n", realm)
	for _, k := range kdcs {
		if _, _, err := net.SplitHostPort(k); err != nil {
			k = net.JoinHostPort(strings.Trim(k, "[]"), "88")
		}
		fmt.Fprintf(&b, "  kdc = %s\n", k)
	}
	b.WriteString(" }\n")
	return config.NewFromString(b.String())
}
