package initcreds

import (
	"context"
	"net"
	"os"
	"strings"

	"github.com/krb5prop/krb5prop/profile"
)

// Canonicalize turns a host name into the form krb5_sname_to_principal
// puts in a host principal, following [libdefaults]
// dns_canonicalize_hostname (default true: forward lookup for the
// canonical name, then, with rdns, default true, the reverse name of its
// first address) or, when false, the name as given with qualify_shortname
// appended to a single label. Always lower-cased, one trailing dot
// removed. "fallback" uses the name as given, as kprop does in practice
// (it unparses the server principal before any fallback could apply).
func Canonicalize(ctx context.Context, prof *profile.Profile, host string) string {
	mode, _ := prof.Value("libdefaults", "dns_canonicalize_hostname")
	mode = strings.ToLower(mode)
	name := host
	switch {
	case mode == "fallback":
	case isFalse(mode):
		name = qualify(prof, name)
	default:
		r := net.DefaultResolver
		cname, err := r.LookupCNAME(ctx, host)
		if err != nil || cname == "" {
			name = qualify(prof, name)
			break
		}
		name = cname
		rdns, _ := prof.Value("libdefaults", "rdns")
		if !isFalse(strings.ToLower(rdns)) {
			if addrs, err := r.LookupHost(ctx, name); err == nil && len(addrs) > 0 {
				if names, err := r.LookupAddr(ctx, addrs[0]); err == nil && len(names) > 0 {
					name = names[0]
				}
			}
		}
	}
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// qualify appends qualify_shortname to a single-label name; its default
// is the first search domain of the resolver configuration, and an empty
// value turns qualification off (MIT 1.18 and later).
func qualify(prof *profile.Profile, name string) string {
	if strings.Contains(name, ".") {
		return name
	}
	q, ok := prof.Value("libdefaults", "qualify_shortname")
	if !ok {
		q = searchDomain("/etc/resolv.conf")
	}
	if q == "" {
		return name
	}
	return name + "." + q
}

// searchDomain is the first search (or domain) entry of a resolv.conf.
func searchDomain(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "search" || f[0] == "domain") {
			return strings.TrimSuffix(f[1], ".")
		}
	}
	return ""
}

func isFalse(v string) bool {
	switch v {
	case "n", "no", "false", "nil", "0", "off":
		return true
	}
	return false
}

// LocalHost is this host's name as it goes into its host principal.
func LocalHost(ctx context.Context, prof *profile.Profile) (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", err
	}
	return Canonicalize(ctx, prof, h), nil
}
