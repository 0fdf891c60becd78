package realm

import (
	"fmt"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/profile"
)

// settings are the per-realm kdc.conf relations the admin tools read, with
// Debian's compiled-in defaults (spec §8).
type settings struct {
	DatabaseName               string
	KeyStashFile               string
	MasterKeyName              string
	MasterKeyType              int32
	SupportedEnctypes          []krb5x.KeySalt
	MaxLife                    time.Duration
	MaxRenewableLife           time.Duration
	DefaultPrincipalFlags      uint32
	DefaultPrincipalExpiration uint32
}

func realmSettings(p *profile.Profile, realm string) (settings, error) {
	s := settings{
		DatabaseName:  "/var/lib/krb5kdc/principal",
		KeyStashFile:  "/etc/krb5kdc/.k5." + realm,
		MasterKeyName: "K/M",
		MasterKeyType: krb5x.EnctypeAES256CTSHMACSHA196,
		SupportedEnctypes: []krb5x.KeySalt{{Enctype: krb5x.EnctypeAES256CTSHMACSHA196},
			{Enctype: krb5x.EnctypeAES128CTSHMACSHA196}},
		MaxLife: 24 * time.Hour,
	}
	get := func(tag string) (profile.Relation, bool) {
		rs := p.Relations("realms", realm, tag)
		if len(rs) == 0 {
			return profile.Relation{}, false
		}
		return rs[0], true
	}
	bad := func(r profile.Relation, tag string, err error) error {
		return fmt.Errorf("%s:%d: [realms] %s %s: %w", r.File, r.Line, realm, tag, err)
	}
	if r, ok := get("database_name"); ok {
		s.DatabaseName = r.Value
	}
	module := realm
	if r, ok := get("database_module"); ok {
		module = r.Value
	}
	if v, ok := p.Value("dbmodules", module, "database_name"); ok {
		s.DatabaseName = v
	}
	if r, ok := get("key_stash_file"); ok {
		s.KeyStashFile = r.Value
	}
	if r, ok := get("master_key_name"); ok {
		s.MasterKeyName = r.Value
	}
	var err error
	if r, ok := get("master_key_type"); ok {
		if s.MasterKeyType, err = krb5x.EnctypeByName(r.Value); err != nil {
			return s, bad(r, "master_key_type", err)
		}
	}
	if r, ok := get("supported_enctypes"); ok {
		if s.SupportedEnctypes, err = krb5x.ParseKeySalts(r.Value); err != nil {
			return s, bad(r, "supported_enctypes", err)
		}
	}
	if r, ok := get("max_life"); ok {
		if s.MaxLife, err = profile.ParseDuration(r.Value); err != nil {
			return s, bad(r, "max_life", err)
		}
	}
	if r, ok := get("max_renewable_life"); ok {
		if s.MaxRenewableLife, err = profile.ParseDuration(r.Value); err != nil {
			return s, bad(r, "max_renewable_life", err)
		}
	}
	if r, ok := get("default_principal_flags"); ok {
		if s.DefaultPrincipalFlags, err = profile.ParseFlagSpec(r.Value); err != nil {
			return s, bad(r, "default_principal_flags", err)
		}
	}
	if r, ok := get("default_principal_expiration"); ok {
		t, err := profile.ParseTimestamp(r.Value, time.Now())
		if err != nil {
			return s, bad(r, "default_principal_expiration", err)
		}
		s.DefaultPrincipalExpiration = uint32(t.Unix())
	}
	return s, nil
}
