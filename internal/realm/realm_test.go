package realm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/profile"
)

func writeConf(t *testing.T, kdc, krb5 string) func(string) string {
	t.Helper()
	dir := t.TempDir()
	kp, cp := filepath.Join(dir, "kdc.conf"), filepath.Join(dir, "krb5.conf")
	os.WriteFile(kp, []byte(kdc), 0o600)
	os.WriteFile(cp, []byte(krb5), 0o600)
	return func(k string) string {
		switch k {
		case "KRB5_KDC_PROFILE":
			return kp
		case "KRB5_CONFIG":
			return cp
		}
		return ""
	}
}

const kdcConf = `[realms]
    R.TEST = {
        database_name = /db/principal
        key_stash_file = /db/stash
        max_life = 10h
        max_renewable_life = 7d
        default_principal_flags = +preauth
        supported_enctypes = aes256-cts:normal aes128-cts:special
    }
`

func TestLoadPrecedence(t *testing.T) {
	env := writeConf(t, kdcConf, "[libdefaults]\n default_realm = R.TEST\n")
	c, err := Load(Options{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != "R.TEST" || c.DBName != "/db/principal" || c.StashFile != "/db/stash" ||
		c.MKeyName.String() != "K/M@R.TEST" || c.MKeyType != 18 {
		t.Errorf("defaults from the profile: %+v", c)
	}
	p := c.Params
	if p.MaxLife != 36000 || p.MaxRenewableLife != 604800 || p.Flags != 0x80 || len(p.KeySalts) != 2 ||
		p.KeySalts[1].SaltType != 4 || p.MasterKeyEnctype != 18 {
		t.Errorf("params: %+v", p)
	}
	c, err = Load(Options{Env: env, DBArgs: []string{"dbname=/x/db"}, StashFile: "/x/stash", MKeyName: "other/key", MKeyType: "aes128-cts"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DBName != "/x/db" || c.StashFile != "/x/stash" || c.MKeyName.String() != "other/key@R.TEST" || c.MKeyType != 17 {
		t.Errorf("options: %+v", c)
	}
	if c, _ := Load(Options{Env: env, DBArgs: []string{"dbname=/x/db"}, DBName: "/y/db"}); c.DBName != "/y/db" {
		t.Errorf("-d does not win over -x dbname: %s", c.DBName)
	}
	c, err = Load(Options{Env: env, Realm: "OTHER.TEST"})
	if err != nil || c.DBName != "/var/lib/krb5kdc/principal" || c.StashFile != "/etc/krb5kdc/.k5.OTHER.TEST" {
		t.Errorf("Debian defaults for a realm without a block: %+v, %v", c, err)
	}
}

func TestLoadErrors(t *testing.T) {
	env := writeConf(t, kdcConf, "")
	if _, err := Load(Options{Env: env}); err == nil || !strings.Contains(err.Error(), "default realm") {
		t.Errorf("no default realm: %v", err)
	}
	if _, err := Load(Options{Env: env, Realm: "R.TEST", MKeyType: "des-cbc-crazy"}); err == nil {
		t.Error("unknown -k enctype accepted")
	}
	if _, err := Load(Options{Env: env, Realm: "R.TEST", MKeyName: "a@b"}); err == nil {
		t.Error("malformed master key name accepted")
	}
}

// TestResolveSeveral resolves two realms from one profile, as krb5kdc -r
// A -r B does: each gets its own database, stash and settings.
func TestResolveSeveral(t *testing.T) {
	env := writeConf(t, kdcConf+`[realms]
    S.TEST = {
        database_name = /db/s-principal
        key_stash_file = /db/s-stash
        max_life = 5h
    }
`, "[libdefaults]\n default_realm = R.TEST\n")
	prof, err := profile.LoadKDC(profile.Env(env))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(prof, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(prof, Options{Realm: "S.TEST", DBName: "/x/s"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Realm != "R.TEST" || r.DBName != "/db/principal" || r.StashFile != "/db/stash" || r.Params.MaxLife != 36000 {
		t.Errorf("default realm: %+v", r)
	}
	if s.Realm != "S.TEST" || s.DBName != "/x/s" || s.StashFile != "/db/s-stash" || s.Params.MaxLife != 18000 ||
		s.MKeyName.String() != "K/M@S.TEST" || s.Profile != prof {
		t.Errorf("second realm: %+v", s)
	}
}
