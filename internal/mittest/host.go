package mittest

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

// LoopbackHostName is this machine's name as kprop and kpropd form
// host/<name> when the realm's krb5.conf turns off canonicalisation (as
// NewRealm does) and qualification (qualify_shortname = ""): os.Hostname
// in lower case. kprop also connects to the replica by that name, so it
// must resolve to a loopback address; when it does not, the test is
// skipped, or fails when RequireEnv asks the interop tests to run.
func LoopbackHostName(t testing.TB) string {
	t.Helper()
	host, err := os.Hostname()
	if err == nil {
		host = strings.ToLower(host)
		var addrs []string
		if addrs, err = net.LookupHost(host); err == nil && (len(addrs) == 0 || !net.ParseIP(addrs[0]).IsLoopback()) {
			err = fmt.Errorf("host name %q resolves to %v, not a loopback address; add it to /etc/hosts as 127.0.1.1, as Debian's installer does", host, addrs)
		}
	}
	if err != nil {
		v, present := os.LookupEnv(RequireEnv)
		if required(v, present) {
			t.Fatalf("the kprop interop tests need this host's name on loopback: %v (%s is set, so this is a failure)", err, RequireEnv)
		}
		t.Skipf("the kprop interop tests need this host's name on loopback: %v", err)
	}
	return host
}
