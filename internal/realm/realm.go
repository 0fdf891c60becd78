// Package realm resolves which realm a KDC-side tool works on and opens it
// as MIT's tools do: settings from kdc.conf and krb5.conf, the database at
// database_name, and the master key from the stash file or the master
// password.
package realm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/prompt"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/profile"
)

// Options are the command-line choices the tools share (kdb5_util's
// global options; kadmin.local's -r, -d, -m).
type Options struct {
	Realm        string   // -r; empty means default_realm
	DBName       string   // -d
	DBArgs       []string // -x; "dbname=PATH" is honoured, others ignored
	StashFile    string   // -sf
	MKeyName     string   // -M
	MKeyType     string   // -k, an enctype name
	MKeyVNO      uint16   // -kv
	Password     string   // -P
	HavePassword bool
	FromKeyboard bool // -m
	// Env reads environment variables (os.Getenv).
	Env func(string) string
}

// Config is a resolved realm: names, paths and the settings new principals
// get.
type Config struct {
	Realm     string
	DBName    string
	StashFile string
	MKeyName  kdb.Name
	MKeyType  int32
	MKeyVNO   uint16
	// IpropEnable is the realm's iprop_enable: MIT accepts the iprop dump
	// formats only then.
	IpropEnable bool
	Params      kadm5.RealmParams
	Profile     *profile.Profile
	opts        Options
}

// Load reads the profile (kdc.conf files first, then krb5.conf files, as
// KDC-side programs merge them) and resolves the realm.
func Load(opts Options) (*Config, error) {
	prof, err := profile.LoadKDC(profile.Env(opts.Env))
	if err != nil {
		return nil, err
	}
	return Resolve(prof, opts)
}

// Resolve resolves the realm from a profile already read, for a program
// that opens several realms from one profile (krb5kdc -r A -r B); opts.Env
// is not used.
func Resolve(prof *profile.Profile, opts Options) (*Config, error) {
	name := opts.Realm
	if name == "" {
		name, _ = prof.DefaultRealm()
		if name == "" {
			return nil, errors.New("Configuration file does not specify default realm while getting default realm")
		}
	}
	rs, err := prof.Realm(name)
	if err != nil {
		return nil, err
	}
	var expiration uint32
	if rs.DefaultPrincipalExpiration != "" {
		t, err := profile.ParseTimestamp(rs.DefaultPrincipalExpiration, time.Now())
		if err != nil {
			return nil, fmt.Errorf("[realms] %s default_principal_expiration: %w", name, err)
		}
		expiration = uint32(t.Unix())
	}
	c := &Config{Realm: name, DBName: rs.DatabaseName, StashFile: rs.KeyStashFile, MKeyType: rs.MasterKeyType,
		MKeyVNO: opts.MKeyVNO, IpropEnable: rs.IpropEnable, Profile: prof, opts: opts}
	for _, a := range opts.DBArgs {
		if v, ok := cutPrefix(a, "dbname="); ok {
			c.DBName = v
		}
	}
	if opts.DBName != "" {
		c.DBName = opts.DBName
	}
	if opts.StashFile != "" {
		c.StashFile = opts.StashFile
	}
	if opts.MKeyType != "" {
		if c.MKeyType, err = krb5x.EnctypeByName(opts.MKeyType); err != nil {
			return nil, err
		}
	}
	mkname := rs.MasterKeyName
	if opts.MKeyName != "" {
		mkname = opts.MKeyName
	}
	// MIT builds "NAME@REALM" and parses it (krb5_db_setup_mkey_name).
	if c.MKeyName, err = kdb.ParseName(mkname+"@"+name, name); err != nil {
		return nil, fmt.Errorf("while setting up master key name: %w", err)
	}
	c.Params = kadm5.RealmParams{
		Realm: name, MaxLife: int32(rs.MaxLife / time.Second), MaxRenewableLife: int32(rs.MaxRenewableLife / time.Second),
		Expiration: expiration, Flags: rs.DefaultPrincipalFlags, KeySalts: rs.SupportedEnctypes,
		MasterKeyEnctype: c.MKeyType,
	}
	return c, nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// KDCMasterKeyPrompt and its verification are MIT's prompts
// (KRB5_KDC_MKEY_1, KRB5_KDC_MKEY_2).
const (
	KDCMasterKeyPrompt = "Enter KDC database master key: "
	KDCMasterKeyVerify = "Re-enter KDC database master key to verify: "
)

// MasterKeyFromPassword derives the master key from -P, or from a prompt
// when -m was given (verify asks twice, as create does).
func (c *Config) MasterKeyFromPassword(in *prompt.Reader, verify bool) (kdb.MasterKey, error) {
	pw := c.opts.Password
	if !c.opts.HavePassword {
		var err error
		if verify {
			pw, err = in.NewPassword(KDCMasterKeyPrompt, KDCMasterKeyVerify)
		} else {
			pw, err = in.Password(KDCMasterKeyPrompt)
		}
		if err != nil {
			return kdb.MasterKey{}, fmt.Errorf("while reading master key from keyboard: %w", err)
		}
	}
	kvno := c.MKeyVNO
	if kvno == 0 {
		kvno = 1
	}
	key, err := kdb.DeriveMasterKey(pw, c.MKeyName, c.MKeyType)
	if err != nil {
		return kdb.MasterKey{}, fmt.Errorf("while transforming master key from password: %w", err)
	}
	return kdb.MasterKey{KVNO: kvno, Key: key}, nil
}

// ManualKey reports whether the master key comes from a password rather
// than the stash (-P or -m).
func (c *Config) ManualKey() bool { return c.opts.HavePassword || c.opts.FromKeyboard }

// FetchMasterKeys opens K/M's key list with the key from the stash, or
// from the password with -P/-m, as open_db_and_mkey does.
func (c *Config) FetchMasterKeys(ctx context.Context, store *kdb.Store, in *prompt.Reader) (*kdb.MasterKeys, error) {
	km, err := store.Get(ctx, c.MKeyName.String())
	if err != nil {
		return nil, fmt.Errorf("%v while retrieving master entry", err)
	}
	var candidates []kdb.MasterKey
	if c.ManualKey() {
		mk, err := c.MasterKeyFromPassword(in, false)
		if err != nil {
			return nil, err
		}
		// With a password the kvno is unknown unless -kv was given: try it
		// against K/M's newest key and every MKEY_AUX entry.
		if c.MKeyVNO == 0 {
			mk.KVNO = 0
		}
		candidates = []kdb.MasterKey{mk}
	} else {
		keys, err := kdb.ReadStash(c.StashFile, c.MKeyName)
		if err != nil {
			// MIT's wording, with the file named.
			return nil, fmt.Errorf("Can not fetch master key (error: %v). while reading master key", err)
		}
		for _, k := range keys {
			if c.MKeyVNO == 0 || k.KVNO == c.MKeyVNO {
				candidates = append(candidates, k)
			}
		}
	}
	var lastErr error = kdb.ErrBadMasterKey
	for _, mk := range candidates {
		mkeys, err := kdb.LoadMasterKeys(km, mk)
		if err == nil {
			return mkeys, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("%v while getting master key list", lastErr)
}

// OpenAdmin opens the database read-write with its master keys and returns
// a kadm5 server acting as caller, and the function that closes it.
func (c *Config) OpenAdmin(ctx context.Context, caller string, in *prompt.Reader) (*kadm5.Server, func(), error) {
	store, err := kdb.Open(c.DBName, kdb.ReadWrite)
	if err != nil {
		return nil, nil, err
	}
	mkeys, err := c.FetchMasterKeys(ctx, store, in)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	srv := &kadm5.Server{Store: store, MKeys: mkeys, Params: c.Params, Caller: caller}
	return srv, func() { store.Close() }, nil
}
