// Package initcreds gets a service ticket straight from the KDC with a
// keytab, as kprop does (krb5_get_init_creds_keytab with in_tkt_service
// set): an AS exchange whose server is the replica's host principal, no
// TGT, nothing cached. The KDC is found from krb5.conf as MIT's library
// finds it; gokrb5 does the exchange itself.
package initcreds

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
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

// Error is a failure to get the credentials, worded as MIT's
// krb5_get_init_creds_keytab words it (kprop prints the text before
// "while getting initial credentials"); Err is the underlying account,
// gokrb5's own for a failed exchange.
type Error struct {
	Text string
	// Code is the KDC's error code when the KDC answered with a
	// KRB-ERROR, else 0.
	Code int32
	Err  error
}

func (e *Error) Error() string { return e.Text }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// MIT's messages (krb5_err.et) for the failures Get reports itself.
const (
	textKeytabNotFound = "Key table entry not found"                  // KRB5_KT_NOTFOUND
	textRealmUnknown   = "Cannot find KDC for requested realm"        // KRB5_REALM_UNKNOWN
	textKDCUnreachable = "Cannot contact any KDC for requested realm" // KRB5_KDC_UNREACH
	textPreauthFailed  = "Generic preauthentication failure"          // KRB5_PREAUTH_FAILED
)

// Get performs the AS exchange described by req, locating the realm's
// KDCs through prof ([realms] REALM kdc, as krb5.conf lists them). Its
// errors are *Error values with MIT's text.
func Get(prof *profile.Profile, req Request) (*Credentials, error) {
	ktName := strings.TrimPrefix(strings.TrimPrefix(req.Keytab, "FILE:"), "WRFILE:")
	kt, ktErr := keytab.Load(ktName)
	switch {
	case ktErr != nil:
		// MIT carries on without the keys and fails where it first
		// needs one, so the KDC decides the message; a key of a type
		// no KDC picks stands in for them.
		kt = keytab.New()
		if err := kt.AddEntry(strings.Join(req.Client, "/"), req.Realm, "", time.Unix(0, 0), 0, etypeID.RC4_HMAC); err != nil {
			return nil, &Error{Text: osErrorText(ktErr), Err: ktErr}
		}
	case !hasPrincipal(kt, req.Client, req.Realm):
		// MIT looks for the client's keys before it looks for a KDC.
		return nil, &Error{Text: textKeytabNotFound}
	}
	cfg, err := gokrb5Config(prof, req.Realm)
	if err != nil {
		return nil, &Error{Text: textRealmUnknown, Err: err}
	}
	cname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_HST, NameString: req.Client}
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_HST, NameString: req.Service}
	cl := client.NewWithKeytab(strings.Join(req.Client, "/"), req.Realm, kt, cfg, client.DisablePAFXFAST(true))
	asreq, err := messages.NewASReq(req.Realm, cfg, cname, sname)
	if err != nil {
		return nil, &Error{Text: err.Error(), Err: err}
	}
	rep, err := cl.ASExchange(req.Realm, asreq, 0)
	if err != nil {
		e := exchangeError(err)
		if ktErr != nil && e.Code == 0 && e.Text != textKDCUnreachable {
			// Without the keytab: a KDC that wants preauthentication
			// fails it, else the reply cannot be opened and MIT
			// reports why the keytab could not be read.
			e = &Error{Text: osErrorText(ktErr), Err: ktErr}
			if strings.Contains(err.Error(), "PAData") {
				e.Text = textPreauthFailed
			}
		}
		return nil, e
	}
	return &Credentials{Ticket: rep.Ticket, SessionKey: rep.DecryptedEncPart.Key, Client: cname, Realm: req.Realm}, nil
}

func hasPrincipal(kt *keytab.Keytab, components []string, realm string) bool {
	for _, e := range kt.Entries {
		if e.Principal.Realm == realm && slices.Equal(e.Principal.Components, components) {
			return true
		}
	}
	return false
}

// krbErrorCode finds the KDC's error code in gokrb5's text for a
// KRB-ERROR reply ("KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN …"):
// gokrb5 v8 keeps the reply only as text once ASExchange wraps it.
var krbErrorCode = regexp.MustCompile(`KRB Error: \((\d+)\)`)

// exchangeError words a failed AS exchange as MIT's kprop prints it
// (com_err, the error table's text without the library's extended
// message): the KDC's error code's text, no answer from any KDC as
// KRB5_KDC_UNREACH, a reply no key in the keytab opens as
// KRB5_KT_NOTFOUND.
func exchangeError(err error) *Error {
	var ke krberror.Krberror
	if !errors.As(err, &ke) {
		return &Error{Text: err.Error(), Err: err}
	}
	text := ke.Error()
	if m := krbErrorCode.FindStringSubmatch(text); m != nil {
		code, _ := strconv.ParseInt(m[1], 10, 32)
		return &Error{Code: int32(code), Text: krb5x.ErrorText(int32(code)), Err: err}
	}
	switch {
	case ke.RootCause == krberror.NetworkingError:
		return &Error{Text: textKDCUnreachable, Err: err}
	case strings.Contains(text, "matching key not found in keytab"):
		return &Error{Text: textKeytabNotFound, Err: err}
	}
	return &Error{Text: text, Err: err}
}

// osErrorText is strerror's text for a system error, as MIT prints it
// ("No such file or directory"), without Go's operation and path.
func osErrorText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
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
