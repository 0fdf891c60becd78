package mittest

import (
	"net"
	"strings"
	"testing"
)

func TestLoopbackHostName(t *testing.T) {
	host := LoopbackHostName(t)
	if host != strings.ToLower(host) {
		t.Errorf("LoopbackHostName = %q, not in lower case", host)
	}
	addrs, err := net.LookupHost(host)
	if err != nil || !net.ParseIP(addrs[0]).IsLoopback() {
		t.Errorf("%s resolves to %v (%v), want a loopback address", host, addrs, err)
	}
}
