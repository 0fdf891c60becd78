package main

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/profile"
)

// This file finds the principal of a credential cache, which kadmin uses
// to name the administrator when -p is not given.

// defaultCCacheName is krb5_cc_default_name: KRB5CCNAME, else
// [libdefaults] default_ccache_name, else Debian's FILE:/tmp/krb5cc_%{uid}.
func defaultCCacheName(env func(string) (string, bool), prof *profile.Profile) string {
	if v, ok := env("KRB5CCNAME"); ok && v != "" {
		return v
	}
	if v, ok := prof.Value("libdefaults", "default_ccache_name"); ok && v != "" {
		return v
	}
	return "FILE:/tmp/krb5cc_%{uid}"
}

// expandCCacheName expands the path tokens MIT allows in cache names that
// matter for file caches.
func expandCCacheName(name string) string {
	uid := strconv.Itoa(os.Getuid())
	r := strings.NewReplacer("%{uid}", uid, "%{USERID}", uid, "%{euid}", strconv.Itoa(os.Geteuid()),
		"%{TEMP}", os.TempDir(), "%{null}", "")
	return r.Replace(name)
}

// ccachePrincipal returns the default principal of a FILE credential
// cache. Other cache types (KEYRING, KCM, DIR) are not read; kadmin then
// falls back as MIT does when a cache has no principal.
func ccachePrincipal(name string) (kdb.Name, error) {
	name = expandCCacheName(name)
	typ, rest, ok := strings.Cut(name, ":")
	switch {
	case !ok:
		rest = name
	case typ != "FILE":
		return kdb.Name{}, errors.New("credential cache type " + typ + " is not read")
	}
	f, err := os.Open(rest)
	if err != nil {
		return kdb.Name{}, err
	}
	defer f.Close()
	// The header and principal come first; 64 KiB covers any real one.
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return kdb.Name{}, err
	}
	return parseCCachePrincipal(b)
}

var errBadCCache = errors.New("bad credential cache format")

// parseCCachePrincipal decodes the default principal of a credential cache
// file (format versions 0x0501 to 0x0504).
func parseCCachePrincipal(b []byte) (kdb.Name, error) {
	if len(b) < 2 || b[0] != 5 || b[1] < 1 || b[1] > 4 {
		return kdb.Name{}, errBadCCache
	}
	version := b[1]
	var order binary.ByteOrder = binary.BigEndian
	if version <= 2 {
		// Versions 1 and 2 are in the writer's byte order; every host MIT
		// still builds for is little-endian.
		order = binary.LittleEndian
	}
	p := b[2:]
	take := func(n int) ([]byte, bool) {
		if n < 0 || len(p) < n {
			return nil, false
		}
		v := p[:n]
		p = p[n:]
		return v, true
	}
	u32 := func() (uint32, bool) {
		v, ok := take(4)
		if !ok {
			return 0, false
		}
		return order.Uint32(v), true
	}
	if version == 4 {
		h, ok := take(2)
		if !ok {
			return kdb.Name{}, errBadCCache
		}
		if _, ok := take(int(binary.BigEndian.Uint16(h))); !ok {
			return kdb.Name{}, errBadCCache
		}
	}
	if version != 1 {
		if _, ok := u32(); !ok { // name type
			return kdb.Name{}, errBadCCache
		}
	}
	count, ok := u32()
	if !ok || count > 1024 {
		return kdb.Name{}, errBadCCache
	}
	if version == 1 {
		if count == 0 {
			return kdb.Name{}, errBadCCache
		}
		count-- // version 1 counts the realm
	}
	str := func() (string, bool) {
		n, ok := u32()
		if !ok {
			return "", false
		}
		v, ok := take(int(n))
		return string(v), ok
	}
	var n kdb.Name
	if n.Realm, ok = str(); !ok {
		return kdb.Name{}, errBadCCache
	}
	for i := uint32(0); i < count; i++ {
		c, ok := str()
		if !ok {
			return kdb.Name{}, errBadCCache
		}
		n.Components = append(n.Components, c)
	}
	return n, nil
}
