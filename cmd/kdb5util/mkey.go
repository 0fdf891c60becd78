package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/krb5prop/krb5prop/internal/getdate"
	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/prompt"
	"github.com/krb5prop/krb5prop/kdb"
)

// addMKey adds a new master key to K/M without activating it
// (kdb5_add_mkey).
func (e *env) addMKey(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	etype := e.cfg.MKeyType
	if name := c.String("e"); name != "" {
		var err error
		if etype, err = krb5x.EnctypeByName(name); err != nil {
			return e.errorf("Invalid argument %s is an invalid enctype", name)
		}
	}
	store, mkeys, err := e.openWithKeys()
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(e.stdout, "Creating new master key for master key principal '%s'\n", e.cfg.MKeyName)
	fmt.Fprintf(e.stdout, "You will be prompted for a new database Master Password.\n"+
		"It is important that you NOT FORGET this password.\n")
	pw, err := e.in.NewPassword(kdcMKeyPrompt, kdcMKeyVerify)
	if err != nil {
		if errors.Is(err, prompt.ErrMismatch) {
			return e.errorf("Password mismatch while reading new master key from keyboard")
		}
		return e.errorf("%v while reading new master key from keyboard", err)
	}
	key, err := kdb.DeriveMasterKey(pw, e.cfg.MKeyName, etype)
	if err != nil {
		return e.errorf("%v while transforming master key from password", err)
	}
	var kvno uint16
	err = store.Update(e.ctx, func(tx *kdb.Tx) error {
		km, err := tx.Get(e.ctx, e.cfg.MKeyName.String())
		if err != nil {
			return err
		}
		kvno = kdb.NextMasterKVNO(km)
		if err := kdb.AddMasterKey(km, mkeys, key, kvno); err != nil {
			return err
		}
		km.SetModPrinc(kdb.Unix(time.Now()), e.cfg.MKeyName.String())
		return tx.Put(e.ctx, km)
	})
	if err != nil {
		return e.errorf("%v adding new master key to master principal", err)
	}
	if c.Bool("s") {
		if err := kdb.WriteStash(e.cfg.StashFile, e.cfg.MKeyName, []kdb.MasterKey{{KVNO: kvno, Key: key}}, time.Now()); err != nil {
			e.errorf("%v while storing key", err)
			fmt.Fprintln(e.stdout, "Warning: couldn't stash master key.")
			return failed
		}
	}
	return nil
}

// The master password prompts (KRB5_KDC_MKEY_1/2).
const (
	kdcMKeyPrompt = "Enter KDC database master key: "
	kdcMKeyVerify = "Re-enter KDC database master key to verify: "
)

// useMKey makes a master key version the one new keys are encrypted in,
// now or from a given time (kdb5_use_mkey).
func (e *env) useMKey(c *cli.Context) error {
	if c.NArg() < 1 || c.NArg() > 2 {
		return errUsage
	}
	kvno, _ := strconv.Atoi(c.Args().Get(0)) // MIT's atoi: garbage reads as 0
	store, mkeys, err := e.openWithKeys()
	if err != nil {
		return err
	}
	defer store.Close()
	if kvno == 0 {
		return e.errorf("Invalid argument 0 is an invalid KVNO value")
	}
	if _, ok := mkeys.ByKVNO(uint16(kvno)); !ok || kvno > 0xffff {
		return e.errorf("Invalid argument %d is an invalid KVNO value", kvno)
	}
	now := time.Now()
	start := now
	if c.NArg() == 2 {
		t, ok := getdate.Get(c.Args().Get(1), now, time.Local)
		if !ok {
			return e.errorf("could not parse date-time string '%s'", c.Args().Get(1))
		}
		start = time.Unix(t, 0)
	}
	err = store.Update(e.ctx, func(tx *kdb.Tx) error {
		km, err := tx.Get(e.ctx, e.cfg.MKeyName.String())
		if err != nil {
			return err
		}
		if err := kdb.UseMasterKey(km, uint16(kvno), kdb.Unix(start), kdb.Unix(now)); err != nil {
			return err
		}
		km.SetModPrinc(kdb.Unix(now), e.cfg.MKeyName.String())
		return tx.Put(e.ctx, km)
	})
	if errors.Is(err, kdb.ErrNoActiveMasterKey) {
		return e.errorf("Invalid argument %v", err)
	}
	if err != nil {
		return e.errorf("%v while adding master key entry to the database", err)
	}
	return nil
}

// globToRegexp converts update_princ_encryption's glob to an anchored
// regular expression as MIT's glob_to_regexp does: ? and * become . and
// .*, the regexp metacharacters . ^ $ are escaped, a backslash quotes the
// next character, and a glob without @ matches in any realm.
func globToRegexp(glob string) (*regexp.Regexp, error) {
	if strings.HasSuffix(glob, `\`) {
		return nil, fmt.Errorf("converting glob pattern '%s' to regular expression", glob)
	}
	var b strings.Builder
	b.WriteByte('^')
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '?':
			b.WriteByte('.')
		case '*':
			b.WriteString(".*")
		case '.', '^', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\\':
			i++
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if !strings.Contains(glob, "@") {
		b.WriteString("@.*")
	}
	b.WriteByte('$')
	return regexp.Compile(b.String())
}

// updatePrincEncryption re-encrypts every matching principal's keys in the
// active master key (kdb5_update_princ_encryption). Unlike MIT, which
// writes principal by principal, all changes commit in one transaction.
func (e *env) updatePrincEncryption(c *cli.Context) error {
	if c.NArg() > 1 {
		return errUsage
	}
	pattern := "*"
	if c.NArg() == 1 {
		pattern = c.Args().Get(0)
	}
	re, err := globToRegexp(pattern)
	if err != nil {
		return e.errorf("Cannot allocate memory %v", err)
	}
	force, dry, verbose := c.Bool("f"), c.Bool("n"), c.Bool("v")
	store, mkeys, err := e.openWithKeys()
	if err != nil {
		return err
	}
	defer store.Close()
	active, err := mkeys.Active(time.Now())
	if err != nil {
		return e.errorf("%v while looking up active master key", err)
	}
	if !force && !dry {
		ans, err := e.in.Line(fmt.Sprintf("Re-encrypt all keys not using master key vno %d?\n(type 'yes' to confirm)? ", active.KVNO))
		if err != nil || ans != "yes" {
			fmt.Fprintln(e.stdout, "OK, doing nothing.")
			return failed
		}
	}
	if verbose {
		if dry {
			fmt.Fprintf(e.stdout, "Principals whose keys WOULD BE re-encrypted to master key vno %d:\n", active.KVNO)
		} else {
			fmt.Fprintf(e.stdout, "Principals whose keys are being re-encrypted to master key vno %d if necessary:\n", active.KVNO)
		}
	}
	var matched, updated, current int
	err = store.Update(e.ctx, func(tx *kdb.Tx) error {
		now := kdb.Unix(time.Now())
		return tx.Rewrite(e.ctx, func(p *kdb.Principal) (bool, error) {
			name := p.Name.String()
			if p.Name.Equal(e.cfg.MKeyName) || !re.MatchString(name) {
				return false, nil
			}
			matched++
			if mkeys.EffectiveMKVNO(p) == active.KVNO {
				current++
				if verbose && dry {
					fmt.Fprintf(e.stdout, "would skip:   %s\n", name)
				} else if verbose {
					fmt.Fprintf(e.stdout, "skipping: %s\n", name)
				}
				return false, nil
			}
			updated++
			if dry {
				if verbose {
					fmt.Fprintf(e.stdout, "would update: %s\n", name)
				}
				return false, nil
			}
			if verbose {
				fmt.Fprintf(e.stdout, "updating: %s\n", name)
			}
			if err := kdb.ConvertKeys(p, mkeys, active); err != nil {
				return false, fmt.Errorf("%v error re-encrypting key for principal '%s'", err, name)
			}
			p.SetModPrinc(now, e.cfg.MKeyName.String())
			return true, nil
		})
	})
	if err != nil {
		return e.errorf("%v", err)
	}
	if dry {
		fmt.Fprintf(e.stdout, "%d principals processed: %d would be updated, %d already current\n", matched, updated, current)
	} else {
		fmt.Fprintf(e.stdout, "%d principals processed: %d updated, %d already current\n", matched, updated, current)
	}
	return nil
}

// purgeMKeys removes master keys that no principal uses (kdb5_purge_mkeys).
func (e *env) purgeMKeys(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	force, dry, verbose := c.Bool("f"), c.Bool("n"), c.Bool("v")
	if dry {
		force = true
	}
	store, mkeys, err := e.openWithKeys()
	if err != nil {
		return err
	}
	defer store.Close()
	name := e.cfg.MKeyName.String()
	if !force {
		fmt.Fprintf(e.stdout, "Will purge all unused master keys stored in the '%s' principal, are you sure?\n", name)
		ans, err := e.in.Line("(type 'yes' to confirm)? ")
		if err != nil || ans != "yes" {
			return failed
		}
		fmt.Fprintf(e.stdout, "OK, purging unused master keys from '%s'...\n", name)
	}
	return store.Update(e.ctx, func(tx *kdb.Tx) error {
		km, err := tx.Get(e.ctx, name)
		if err != nil {
			return e.errorf("%v while getting master key principal %s", err, name)
		}
		if len(km.KeyData) == 1 {
			if verbose {
				fmt.Fprintln(e.stdout, "There is only one master key which can not be purged.")
			}
			return nil
		}
		inUse := map[uint16]int{}
		err = tx.Principals(e.ctx, func(p *kdb.Principal) error {
			inUse[mkeys.EffectiveMKVNO(p)]++
			return nil
		})
		if err != nil {
			return e.errorf("%v while finding master keys in use", err)
		}
		if dry {
			fmt.Fprintf(e.stdout, "Would purge the following master key(s) from %s:\n", name)
		} else {
			fmt.Fprintf(e.stdout, "Purging the following master key(s) from %s:\n", name)
		}
		var unused []uint16
		for _, kd := range km.KeyData {
			if inUse[kd.KVNO] > 0 {
				continue
			}
			// The key that opened the database (from the stash) must
			// not go: the stash would no longer open it.
			if kd.KVNO == mkeys.OpenedWith {
				return e.errorf("Stored master key is not current master key command aborting")
			}
			unused = append(unused, kd.KVNO)
			fmt.Fprintf(e.stdout, "KVNO: %d\n", kd.KVNO)
		}
		if len(unused) == 0 {
			fmt.Fprintln(e.stdout, "All keys in use, nothing purged.")
			return nil
		}
		if dry {
			fmt.Fprintf(e.stdout, "%d key(s) would be purged.\n", len(unused))
			return nil
		}
		if _, err := kdb.PurgeMasterKeys(km, inUse); err != nil {
			return e.errorf("%v", err)
		}
		km.SetModPrinc(kdb.Unix(time.Now()), name)
		if err := tx.Put(e.ctx, km); err != nil {
			return e.errorf("%v while updating the master key principal", err)
		}
		fmt.Fprintf(e.stdout, "%d key(s) purged.\n", len(unused))
		return nil
	})
}

// ark adds new random keys at the next kvno, keeping the previous kvno's
// (kdb5_util's add_random_key).
func (e *env) ark(c *cli.Context) error {
	if c.NArg() != 1 {
		return errUsage
	}
	princ := c.Args().Get(0)
	var ks []krb5x.KeySalt
	if s := c.String("e"); s != "" {
		var err error
		if ks, err = krb5x.ParseKeySalts(s); err != nil {
			return e.errorf("%v while parsing keysalts %s", err, s)
		}
	}
	srv, closeDB, err := e.cfg.OpenAdmin(e.ctx, "", e.in)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer closeDB()
	name, err := kdb.ParseName(princ, e.cfg.Realm)
	if err != nil {
		return e.errorf("%v while parsing principal name %s", errText(err), princ)
	}
	if err := srv.AddRandomKeys(e.ctx, name, ks); err != nil {
		return e.errorf("%v while randomizing principal %s", errText(err), princ)
	}
	fmt.Fprintf(e.stdout, "%s changed\n", princ)
	return nil
}
