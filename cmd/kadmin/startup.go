package main

import (
	"errors"
	"net"
	"os"
	"os/user"
	"strings"

	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/profile"
)

// adminPrincipal chooses the name kadmin acts as when -p is not given,
// in kadmin_startup's order: the anonymous principal with -n; the -c
// cache's principal; host/<this host> with -k; "<first component>/admin"
// of the default cache's principal, in its realm; else "$USER/admin" or
// "<login name>/admin" in the default realm. Locally the name only labels
// the changes (it is recorded as each entry's last modifier).
func adminPrincipal(opts options, defRealm string, prof *profile.Profile, env func(string) (string, bool)) (string, error) {
	if opts.haveP {
		return opts.principal, nil
	}
	if opts.anonymous {
		return "WELLKNOWN/ANONYMOUS@" + defRealm, nil
	}
	if opts.haveCCache {
		if n, err := ccachePrincipal(opts.ccache); err == nil {
			return n.String(), nil
		}
	}
	if opts.useKeytab {
		return hostPrincipal(prof), nil
	}
	if n, err := ccachePrincipal(defaultCCacheName(env, prof)); err == nil && len(n.Components) > 0 {
		return kdb.Name{Components: []string{n.Components[0], "admin"}, Realm: n.Realm}.String(), nil
	}
	if u, ok := env("USER"); ok {
		return u + "/admin@" + defRealm, nil
	}
	if u, err := user.Current(); err == nil {
		return u.Username + "/admin@" + defRealm, nil
	}
	return "", errors.New("unable to figure out a principal name")
}

// hostPrincipal is krb5_sname_to_principal(NULL, "host", KRB5_NT_SRV_HST)
// as kadmin -k uses it: the local host name, canonicalised through the
// resolver (forward, then reverse, as MIT's default rdns = true does),
// lower-cased, in the realm [domain_realm] maps it to, or the empty
// referral realm.
func hostPrincipal(prof *profile.Profile) string {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	if addrs, err := net.LookupHost(host); err == nil && len(addrs) > 0 {
		if rdns, _ := prof.Value("libdefaults", "rdns"); !isFalse(rdns) {
			if names, err := net.LookupAddr(addrs[0]); err == nil && len(names) > 0 {
				host = strings.TrimSuffix(names[0], ".")
			}
		}
	}
	host = strings.ToLower(host)
	return kdb.Name{Components: []string{"host", host}, Realm: hostRealm(prof, host)}.String()
}

// hostRealm looks a host up in [domain_realm]: the host itself, then each
// parent domain with its leading dot.
func hostRealm(prof *profile.Profile, host string) string {
	if r, ok := prof.Value("domain_realm", host); ok {
		return r
	}
	for d := host; ; {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return ""
		}
		if r, ok := prof.Value("domain_realm", d[i:]); ok {
			return r
		}
		d = d[i+1:]
	}
}

// isFalse reads a profile boolean as MIT's profile_parse_boolean does.
func isFalse(v string) bool {
	switch strings.ToLower(v) {
	case "n", "no", "false", "nil", "0", "off":
		return true
	}
	return false
}
