package mittest

import (
	"net"
	"os"
	"strings"
	"testing"
)

// LoopbackHostName is this machine's name as kprop and kpropd form
// host/<name> when the realm's krb5.conf turns off canonicalisation (as
// NewRealm does) and qualification (qualify_shortname = ""): os.Hostname
// in lower case. kprop also connects to the replica by that name, so the
// test is skipped unless it resolves to a loopback address.
func LoopbackHostName(t testing.TB) string {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("mittest.LoopbackHostName: %v", err)
	}
	host = strings.ToLower(host)
	if addrs, err := net.LookupHost(host); err != nil || len(addrs) == 0 || !net.ParseIP(addrs[0]).IsLoopback() {
		t.Skipf("host name %q does not resolve to a loopback address (%v %v)", host, addrs, err)
	}
	return host
}
