package mittest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestNewRealmFiles(t *testing.T) {
	r := NewRealm(t, "FILES.TEST")
	for _, p := range []string{r.KRB5Config, r.KDCProfile, r.DBName, r.Stash, r.ACLFile, r.Keytab, r.CCache, r.LogFile} {
		if !strings.HasPrefix(p, r.Dir+string(filepath.Separator)) {
			t.Errorf("%s is outside the realm directory %s", p, r.Dir)
		}
	}
	if _, err := os.Stat(r.ACLFile); err != nil {
		t.Errorf("ACL file not created: %v", err)
	}
	krb5 := string(ReadFile(t, r.KRB5Config))
	kdc := string(ReadFile(t, r.KDCProfile))
	addr := "127.0.0.1:" + strconv.Itoa(r.KDCPort)
	for _, want := range []string{
		"[libdefaults]\n\tdefault_realm = FILES.TEST\n",
		"\tdns_lookup_kdc = false\n",
		"[realms]\n\tFILES.TEST = {\n\t\tkdc = " + addr + "\n\t}\n",
	} {
		if !strings.Contains(krb5, want) {
			t.Errorf("krb5.conf lacks %q:\n%s", want, krb5)
		}
	}
	for _, want := range []string{
		"[kdcdefaults]\n\tkdc_listen = " + addr + "\n\tkdc_tcp_listen = " + addr + "\n",
		"\tFILES.TEST = {\n\t\tdatabase_name = " + r.DBName + "\n",
		"\t\tkey_stash_file = " + r.Stash + "\n",
		"\t\tmax_life = 10h 0m 0s\n",
		"\t\tsupported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n",
		"\t\tdefault_principal_flags = +preauth\n",
		"[logging]\n\tdefault = FILE:" + r.LogFile + "\n",
	} {
		if !strings.Contains(kdc, want) {
			t.Errorf("kdc.conf lacks %q:\n%s", want, kdc)
		}
	}
	if r.KDCAddr() != addr {
		t.Errorf("KDCAddr = %s, want %s", r.KDCAddr(), addr)
	}
}

func TestNewRealmOptions(t *testing.T) {
	port := FreePort(t)
	db := filepath.Join(t.TempDir(), "elsewhere", "db")
	r := NewRealm(t, "OPTS.TEST",
		WithKDCPort(port),
		WithKDCConf("realms", "max_life", "1h 0m 0s"),
		WithKDCConf("realms", "default_principal_flags", ""),
		WithKDCConf("realms", "database_name", db),
		WithKDCConf("dbmodules", "db_module_dir", "/nonexistent"),
		WithKRB5Conf("realms", "admin_server", "127.0.0.1:1"),
		WithKRB5Conf("libdefaults", "rdns", ""),
		WithKDCConfText("# extra kdc"),
		WithKRB5ConfText("# extra krb5"),
	)
	if r.KDCPort != port {
		t.Errorf("KDCPort = %d, want %d", r.KDCPort, port)
	}
	if r.DBName != db {
		t.Errorf("DBName = %s, want the overridden %s", r.DBName, db)
	}
	kdc := string(ReadFile(t, r.KDCProfile))
	krb5 := string(ReadFile(t, r.KRB5Config))
	for _, want := range []string{"127.0.0.1:" + strconv.Itoa(port), "\t\tmax_life = 1h 0m 0s\n", "[dbmodules]\n\tdb_module_dir = /nonexistent\n", "# extra kdc\n"} {
		if !strings.Contains(kdc, want) {
			t.Errorf("kdc.conf lacks %q:\n%s", want, kdc)
		}
	}
	for _, unwanted := range []string{"default_principal_flags", "10h 0m 0s"} {
		if strings.Contains(kdc, unwanted) {
			t.Errorf("kdc.conf still has %q:\n%s", unwanted, kdc)
		}
	}
	for _, want := range []string{"\t\tadmin_server = 127.0.0.1:1\n", "# extra krb5\n"} {
		if !strings.Contains(krb5, want) {
			t.Errorf("krb5.conf lacks %q:\n%s", want, krb5)
		}
	}
	if strings.Contains(krb5, "rdns") {
		t.Errorf("krb5.conf still has rdns:\n%s", krb5)
	}
}

func TestRealmEnv(t *testing.T) {
	t.Setenv("KRB5_CONFIG", "/etc/krb5.conf")
	t.Setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_0")
	r := NewRealm(t, "ENV.TEST")
	r.ExtraEnv = []string{"KRB5_TRACE=/dev/null"}
	counts := map[string]int{}
	values := map[string]string{}
	for _, kv := range r.Env() {
		k, v, _ := strings.Cut(kv, "=")
		counts[k]++
		values[k] = v
	}
	want := map[string]string{
		"KRB5_CONFIG":        r.KRB5Config,
		"KRB5_KDC_PROFILE":   r.KDCProfile,
		"KRB5_KTNAME":        "FILE:" + r.Keytab,
		"KRB5_CLIENT_KTNAME": "FILE:" + filepath.Join(r.Dir, "client.keytab"),
		"KRB5CCNAME":         "FILE:" + r.CCache,
		"KRB5RCACHEDIR":      r.Dir,
		"KRB5_TRACE":         "/dev/null",
	}
	for k, v := range want {
		if values[k] != v || counts[k] != 1 {
			t.Errorf("%s = %q (%d times), want %q once", k, values[k], counts[k], v)
		}
	}
	if values["PATH"] != os.Getenv("PATH") {
		t.Error("PATH not passed through")
	}
}

func TestNewRealmDistinctPorts(t *testing.T) {
	a := NewRealm(t, "A.TEST")
	b := NewRealm(t, "B.TEST")
	if a.Dir == b.Dir {
		t.Error("two realms share a directory")
	}
	if a.KDCPort == b.KDCPort {
		// Possible in principle (FreePort promises distinct ports only
		// within one call) but so unlikely that it points to a bug.
		t.Errorf("two realms got the same KDC port %d", a.KDCPort)
	}
}
