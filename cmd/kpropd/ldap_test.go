package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/ldaptest"
	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/replica"
)

// ldapBase is where the example LDAP plugin keeps the realm.
const ldapBase = "ou=kerberos," + ldaptest.DefaultSuffix

// newLDAPFixture is the whole chain with the example LDAP plugin
// (examples/plugins/ldap) keeping a real slapd in step.
func newLDAPFixture(t *testing.T, options string) (*replicaFixture, *ldaptest.Server) {
	t.Helper()
	root, err := mittest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	srv := ldaptest.Start(t, ldaptest.WithSchema(filepath.Join(root, "examples", "plugins", "ldap", "krb5prop.ldif")))
	env := ""
	for _, kv := range []string{"LDAP_URI=" + srv.URI(), "LDAP_BASE=" + ldapBase, "LDAP_BIND_DN=" + srv.BindDN(),
		"LDAP_BIND_PW_FILE=" + srv.PasswordFile(), "LDAPNOINIT=1"} {
		env += "\t\tenv = " + kv + "\n"
	}
	f := newPluginFixture(t, mittest.GoBinary(t, "./examples/plugins/ldap"), env+options)
	return f, srv
}

// ldapSummary is what the test compares: per principal its flags, key
// version, expiration and policy; per policy its minimum length.
func ldapSummary(flags []string, kvno, expiration, policy string) string {
	flags = slices.Clone(flags)
	slices.Sort(flags)
	return fmt.Sprintf("flags=%s kvno=%s expires=%s policy=%s", strings.Join(flags, ","), kvno, expiration, policy)
}

// realmInLDAP is what the directory should hold for the replica's
// database.
func (f *replicaFixture) realmInLDAP(t *testing.T) map[string]string {
	t.Helper()
	principals, policies := f.realm(t)
	want := map[string]string{}
	for _, p := range principals {
		exp := ""
		if p.Expiration != 0 {
			exp = time.Unix(int64(p.Expiration), 0).UTC().Format("20060102150405Z")
		}
		policy := ""
		if kd, ok, err := p.KadmData(); err == nil && ok {
			policy = kd.Policy
		}
		want["p "+p.Name.String()] = ldapSummary(kdb.AttrStrings(p.Attributes), fmt.Sprint(p.MaxKVNO()), exp, policy)
	}
	for _, p := range policies {
		want["y "+p.Name] = fmt.Sprintf("minlength=%d", p.PwMinLength)
	}
	return want
}

// directory reads the summary back from slapd.
func directory(t *testing.T, srv *ldaptest.Server) map[string]string {
	t.Helper()
	got := map[string]string{}
	one := func(e ldaptest.Entry, attr string) string { return strings.Join(e[attr], "|") }
	for _, e := range srv.Entries(t, ldapBase) {
		switch {
		case len(e["krb5propPrincipalName"]) > 0:
			got["p "+one(e, "krb5propPrincipalName")] = ldapSummary(e["krb5propFlags"], one(e, "krb5propKeyVersion"),
				one(e, "krb5propPrincipalExpiration"), one(e, "krb5propPrincipalPolicy"))
		case slices.Contains(e["objectClass"], "krb5propPolicy"):
			got["y "+one(e, "cn")] = "minlength=" + one(e, "krb5propPwMinLength")
		}
	}
	return got
}

// ldapInStep waits for a successful delivery after the last load, then
// compares the directory with the realm.
func (f *replicaFixture) ldapInStep(t *testing.T, srv *ldaptest.Server) {
	t.Helper()
	waitFor(t, "a successful delivery after the load", func() bool {
		st := f.status(t)
		return st.State == replica.InService && st.LastAttempt.After(f.loaded)
	}, f.kpropd)
	if got, want := directory(t, srv), f.realmInLDAP(t); !maps.Equal(got, want) {
		t.Errorf("the directory is not in step with the realm:\n got %v\nwant %v", got, want)
	}
}

// TestLDAPReplica: the example LDAP plugin behind our kpropd keeps a real
// slapd in step with the primary through adds, flag and expiry changes,
// a password change, a rename, deletions and policy changes; with slapd
// down across three propagations nothing is lost, and a request for a
// reinit after the directory lost its data rebuilds it.
func TestLDAPReplica(t *testing.T) {
	f, srv := newLDAPFixture(t, "\t\tretry_interval = 1s\n\t\tmax_retry_interval = 2s\n")
	f.start(t)
	f.propagate(t)
	f.ldapInStep(t, srv)

	f.change(t,
		"addpol -minlength 10 strict",
		"addprinc -pw bob-pw -policy strict bob",
		"addprinc -pw carol-pw carol",
		"modprinc -allow_svr -expire 2030-01-01 alice",
		"cpw -pw alice-pw2 alice",
		"renprinc -force carol carol2",
		"delprinc -force service/other.test",
	)
	f.propagate(t)
	f.ldapInStep(t, srv)
	f.change(t, "modprinc -clearpolicy bob", "delpol -force strict", "addpol -minlength 12 lax", "modpol -minlength 14 lax")
	f.propagate(t)
	f.ldapInStep(t, srv)

	// slapd down across three propagations.
	srv.Stop()
	for i, q := range []string{"addprinc -pw dan-pw dan", "modprinc +requires_preauth bob", "delprinc -force carol2"} {
		f.change(t, q)
		f.propagate(t)
		waitFor(t, "the failure to be recorded", func() bool {
			st := f.status(t)
			return st.State == replica.CantProcess && st.LastAttempt.After(f.loaded)
		}, f.kpropd)
		if st := f.status(t); st.Seq != 3 || st.Retries < i+1 {
			t.Errorf("propagation %d with slapd down: %+v", i, st)
		}
	}
	srv.Start(t)
	f.loaded = time.Now()
	f.ldapInStep(t, srv)
	if st := f.status(t); st.Seq != 4 {
		t.Errorf("after slapd came back: %+v", st)
	}

	// The directory restored from an old backup: an entry gone, the
	// plugin's sequence number lost. The plugin asks for a reinit at the
	// next delivery and gets the whole realm.
	srv.Modify(t, "dn: krb5propPrincipalName=alice@"+testRealm+",ou=principals,"+ldapBase+"\nchangetype: delete\n")
	if err := os.Remove(filepath.Join(f.state, "plugin", "seq")); err != nil {
		t.Fatal(err)
	}
	f.change(t, "addprinc -pw eve-pw eve")
	f.propagate(t)
	f.ldapInStep(t, srv)
	if st := f.status(t); st.Seq != 5 || st.Reinit {
		t.Errorf("after the reinit: %+v", st)
	}
}
