package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/krb5prop/krb5prop/internal/initcreds"
	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/realm"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/replica"
)

// checker reports, one line per item, what a new replica needs before its
// first propagation: the lines are "ok", "FAIL" (a propagation would
// fail) or "note" (worth knowing, not fatal).
type checker struct {
	out    io.Writer
	failed bool
}

func (c *checker) ok(format string, args ...any) {
	fmt.Fprintf(c.out, "ok    "+format+"\n", args...)
}

func (c *checker) fail(format string, args ...any) {
	c.failed = true
	fmt.Fprintf(c.out, "FAIL  "+format+"\n", args...)
}

func (c *checker) note(format string, args ...any) {
	fmt.Fprintf(c.out, "note  "+format+"\n", args...)
}

// check is kpropd --check: it reads the configuration, keytab, ACL and
// stash kpropd would use and tries the port, sending and receiving
// nothing, and returns the exit status (1 when a propagation would fail).
func check(ctx context.Context, o options, out io.Writer) int {
	c := &checker{out: out}
	cfg, err := realm.Load(realm.Options{Realm: o.realm, DBName: o.dbName, DBArgs: o.dbArgs, Env: os.Getenv})
	if err != nil {
		c.fail("configuration: %v", err)
		return 1
	}
	dbName := o.dbName
	if dbName == "" {
		dbName = cfg.DBName
	}
	c.ok("realm %s, database %s", cfg.Realm, dbName)
	host, err := initcreds.LocalHost(ctx, cfg.Profile)
	if err != nil {
		c.fail("this host's name: %v", err)
		return 1
	}
	service := keytab.Principal{Components: []string{"host", host}, Realm: cfg.Realm}
	c.checkKeytab(o, cfg, service)
	c.checkACL(o.acl)
	c.checkStash(ctx, cfg, dbName)
	c.checkFile(o.file)
	c.checkPort(o.port)
	if configs, err := replica.Configs(cfg.Profile, cfg.Realm, dbName); err != nil {
		c.fail("secondary replicas: %v", err)
	} else {
		for _, rc := range configs {
			c.ok("secondary replica %s: plugin %s, state in %s", rc.Name, rc.Plugin, rc.StateDir)
		}
	}
	if c.failed {
		return 1
	}
	return 0
}

// checkKeytab looks for the keys kprop's tickets will be encrypted in.
func (c *checker) checkKeytab(o options, cfg *realm.Config, service keytab.Principal) {
	name := o.keytab
	if name == "" {
		name = defaultKeytabName(cfg)
	}
	entries, err := keytab.Read(name)
	if err != nil {
		c.fail("keytab %s: %v", name, err)
		return
	}
	var keys []string
	for _, e := range entries {
		if e.Principal.Equal(service) {
			keys = append(keys, fmt.Sprintf("kvno %d %s", e.KVNO, krb5x.EnctypeName(e.Key.KeyType)))
		}
	}
	if len(keys) == 0 {
		c.fail("keytab %s has no key for %s: kprop's ticket for it could not be decrypted (kadmin: ktadd -k %s %s)",
			name, service, name, service)
		return
	}
	c.ok("keytab %s: %s (%s)", name, service, strings.Join(keys, ", "))
}

// checkACL reads kpropd.acl as kpropd will on each connection.
func (c *checker) checkACL(path string) {
	f, err := os.Open(path)
	if err != nil {
		c.fail("ACL %s: %v: every propagation would be rejected", path, err)
		return
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, strings.Fields(line)[0])
	}
	if err := sc.Err(); err != nil {
		c.fail("ACL %s: %v", path, err)
		return
	}
	if len(names) == 0 {
		c.fail("ACL %s names no principal: every propagation would be rejected (add host/<primary>@REALM)", path)
		return
	}
	c.ok("ACL %s allows %s", path, strings.Join(names, ", "))
}

// checkStash reads the master key, and with a database tries it on K/M:
// a replica needs the primary's stash to use what it receives.
func (c *checker) checkStash(ctx context.Context, cfg *realm.Config, dbName string) {
	keys, err := kdb.ReadStash(cfg.StashFile, cfg.MKeyName)
	if err != nil {
		c.fail("stash %s: %v (copy the primary's stash file here)", cfg.StashFile, err)
		return
	}
	kvnos := make([]string, len(keys))
	for i, k := range keys {
		kvnos[i] = fmt.Sprint(k.KVNO)
	}
	if _, err := os.Stat(dbName); errors.Is(err, os.ErrNotExist) {
		c.ok("stash %s: master key kvno %s", cfg.StashFile, strings.Join(kvnos, ", "))
		c.note("no database yet at %s: the first propagation creates it", dbName)
		return
	}
	store, err := kdb.Open(dbName, kdb.ReadOnly)
	if err != nil {
		c.fail("database %s: %v", dbName, err)
		return
	}
	defer store.Close()
	if _, err := cfg.FetchMasterKeys(ctx, store, nil); err != nil {
		c.fail("stash %s does not open the database %s: %v (the primary's stash is needed)", cfg.StashFile, dbName, err)
		return
	}
	c.ok("stash %s opens the database %s (master key kvno %s)", cfg.StashFile, dbName, strings.Join(kvnos, ", "))
}

// checkFile makes sure the received dump can be written.
func (c *checker) checkFile(file string) {
	dir := filepath.Dir(file)
	f, err := os.CreateTemp(dir, ".kpropd-check-")
	if err != nil {
		c.fail("cannot write %s.temp: %v", file, err)
		return
	}
	f.Close()
	os.Remove(f.Name())
	c.ok("can write %s.temp", file)
}

// checkPort tries to listen where kpropd would. A port in use is only a
// note: kpropd, inetd or systemd may hold it already, as they should.
func (c *checker) checkPort(port string) {
	l, err := listen(port)
	if err == nil {
		addr := l.Addr().String()
		l.Close()
		c.ok("can listen on %s", addr)
		return
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		c.note("the port is in use (%v): a running kpropd, inetd or systemd socket has it, or something else does", err)
	case errors.Is(err, syscall.EACCES):
		c.note("cannot bind the port (%v): kpropd needs root or CAP_NET_BIND_SERVICE for port 754", err)
	default:
		c.fail("port: %v", err)
	}
}
