package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/prompt"
	"github.com/krb5prop/krb5prop/kadm5"
	"github.com/krb5prop/krb5prop/kdb"
)

// create makes a new realm database (kdb5_create.c).
func (e *env) create(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	cfg := e.cfg
	fmt.Fprintf(e.stdout, "Initializing database '%s' for realm '%s',\nmaster key name '%s'\n",
		cfg.DBName, cfg.Realm, cfg.MKeyName)
	if !e.g.opts.HavePassword {
		fmt.Fprintf(e.stdout, "You will be prompted for the database Master Password.\n"+
			"It is important that you NOT FORGET this password.\n")
	}
	mk, err := cfg.MasterKeyFromPassword(e.in, true)
	if err != nil {
		return e.errorf("%s", unwrapMIT(err))
	}
	store, err := kdb.Create(cfg.DBName)
	if err != nil {
		if errors.Is(err, kdb.ErrDBExists) {
			return e.errorf("Cannot open database '%s': File exists while creating database '%s'", cfg.DBName, cfg.DBName)
		}
		return e.errorf("%v while creating database '%s'", err, cfg.DBName)
	}
	err = kadm5.CreateRealm(e.ctx, store, cfg.Params, cfg.MKeyName, mk, time.Now)
	store.Close()
	if err != nil {
		// Leave nothing half-made behind: a realm without its kadmin
		// principals would look created but not work.
		kdb.Destroy(cfg.DBName)
		return e.errorf("%v", err)
	}
	if c.Bool("s") {
		if err := kdb.WriteStash(cfg.StashFile, cfg.MKeyName, []kdb.MasterKey{mk}, time.Now()); err != nil {
			e.errorf("%v while storing key", err)
			fmt.Fprintln(e.stdout, "Warning: couldn't stash master key.")
			return failed
		}
	}
	return nil
}

// unwrapMIT strips our "while …: " wrapping when the wrapped error is one
// of MIT's own messages, so "Password mismatch while reading master key
// from keyboard" reads as MIT prints it.
func unwrapMIT(err error) string {
	if errors.Is(err, prompt.ErrMismatch) {
		return "Password mismatch while reading master key from keyboard"
	}
	return err.Error()
}

// destroy removes the realm database (kdb5_destroy.c). Unlike MIT, it first
// checks that the file is a krb5prop database, so it never wipes an MIT
// DB2 file or anything else that happens to sit at database_name.
func (e *env) destroy(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	db := e.cfg.DBName
	store, err := kdb.Open(db, kdb.ReadWrite)
	if err != nil {
		return e.errorf("%v while initializing database", err)
	}
	store.Close()
	if !c.Bool("f") {
		fmt.Fprintf(e.stdout, "Deleting KDC database stored in '%s', are you sure?\n", db)
		ans, err := e.in.Line("(type 'yes' to confirm)? ")
		if err != nil || ans != "yes" {
			return failed
		}
		fmt.Fprintf(e.stdout, "OK, deleting database '%s'...\n", db)
	}
	if err := kdb.Destroy(db); err != nil {
		return e.errorf("%v deleting database '%s'", err, db)
	}
	fmt.Fprintf(e.stdout, "** Database '%s' destroyed.\n", db)
	return nil
}

// openWithKeys opens the database and its master keys, as kdb5_util's
// open_db_and_mkey does for the commands that need them.
func (e *env) openWithKeys() (*kdb.Store, *kdb.MasterKeys, error) {
	store, err := kdb.Open(e.cfg.DBName, kdb.ReadWrite)
	if err != nil {
		return nil, nil, e.errorf("%v while initializing database", err)
	}
	mkeys, err := e.cfg.FetchMasterKeys(e.ctx, store, e.in)
	if err != nil {
		store.Close()
		return nil, nil, e.errorf("%v", err)
	}
	return store, mkeys, nil
}

// stash writes every master key to the stash file (kdb5_stash.c).
func (e *env) stash(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	keyfile := c.String("f")
	if keyfile == "" {
		keyfile = e.cfg.StashFile
	}
	store, mkeys, err := e.openWithKeys()
	if err != nil {
		return err
	}
	defer store.Close()
	if !e.cfg.ManualKey() {
		fmt.Fprintln(e.stdout, "Using existing stashed keys to update stash file.")
	}
	if err := kdb.WriteStash(keyfile, e.cfg.MKeyName, mkeys.Keys, time.Now()); err != nil {
		return e.errorf("%v while storing key", err)
	}
	return nil
}

// listMKeys prints the master keys and which one is active
// (kdb5_list_mkeys).
func (e *env) listMKeys(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	store, mkeys, err := e.openWithKeys()
	if err != nil {
		return err
	}
	defer store.Close()
	active, err := mkeys.Active(time.Now())
	if err != nil {
		return e.errorf("%v while looking up active master key", err)
	}
	fmt.Fprintf(e.stdout, "Master keys for Principal: %s\n", e.cfg.MKeyName)
	for _, k := range mkeys.Keys {
		name := krb5x.EnctypeName(k.Key.KeyType)
		var act *kdb.ActKVNO
		for i := range mkeys.Act {
			if mkeys.Act[i].KVNO == k.KVNO {
				act = &mkeys.Act[i]
			}
		}
		switch {
		case k.KVNO == active.KVNO:
			fmt.Fprintf(e.stdout, "KVNO: %d, Enctype: %s, Active on: %s *\n", k.KVNO, name, strdate(actTime(act)))
		case act != nil:
			fmt.Fprintf(e.stdout, "KVNO: %d, Enctype: %s, Active on: %s\n", k.KVNO, name, strdate(act.ActivTime))
		default:
			fmt.Fprintf(e.stdout, "KVNO: %d, Enctype: %s, No activate time set\n", k.KVNO, name)
		}
	}
	return nil
}

// actTime is the activation time MIT prints for the active key; with no
// ACTKVNO entry it passes -1 to strdate.
func actTime(a *kdb.ActKVNO) uint32 {
	if a == nil {
		return ^uint32(0)
	}
	return a.ActivTime
}

// strdate formats a time as kdb5_util's strdate: "%a %b %d %H:%M:%S %Z %Y"
// in local time.
func strdate(t uint32) string {
	return time.Unix(int64(int32(t)), 0).Local().Format("Mon Jan 02 15:04:05 MST 2006")
}
