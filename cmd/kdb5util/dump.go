package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/krb5prop/krb5prop/internal/filelock"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdb/dump"
	"github.com/krb5prop/krb5prop/kdb/dumpload"
	"github.com/krb5prop/krb5prop/kdb/tabdump"
)

// dumpArgs are kdb5_util dump's options, parsed as MIT's dump_db does:
// options until the first other word, which is the file; the rest are
// principal patterns.
type dumpArgs struct {
	format      dump.Format
	iprop       bool
	conditional bool
	verbose     bool
	mkeyConvert bool
	newMKeyFile string
	reverse     bool
	file        string
	patterns    []string
}

func parseDumpArgs(args []string) (dumpArgs, error) {
	d := dumpArgs{format: dump.Version7}
	i := 0
	for ; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-b7":
			d.format = dump.Version4
		case a == "-r13":
			d.format = dump.Version5
		case a == "-r18":
			d.format = dump.Version6
		case a == "-ov":
			return d, errors.New("OV dump format not supported")
		case strings.HasPrefix(a, "-i"):
			// Undocumented, for kadmind: -i0 iprop, -iN ipropx.
			n, _ := strconv.Atoi(a[2:])
			d.iprop = true
			d.format = dump.IpropX
			if n == 0 {
				d.format = dump.Iprop
			}
		case a == "-c":
			d.conditional = true
		case a == "-verbose":
			d.verbose = true
		case a == "-mkey_convert":
			d.mkeyConvert = true
		case a == "-new_mkey_file":
			if i+1 >= len(args) {
				return d, errUsage
			}
			i++
			d.newMKeyFile, d.mkeyConvert = args[i], true
		case a == "-rev":
			d.reverse = true
		case a == "-recurse":
			// MIT's DB2 walks its btree recursively; the order is the same.
		default:
			goto rest
		}
	}
rest:
	if i < len(args) {
		d.file = args[i]
		d.patterns = args[i+1:]
		if d.file != "-" && strings.HasPrefix(d.file, "-") {
			return d, errUsage // MIT discourages file names starting with '-'
		}
	}
	return d, nil
}

// nameMatcher selects principals for a dump as MIT's name_matches does:
// POSIX extended regular expressions, any of which must match the whole
// unparsed name.
func nameMatcher(patterns []string) (func(string) bool, error) {
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		re, err := regexp.CompilePOSIX(p)
		if err != nil {
			return nil, fmt.Errorf("regular expression error: %v", err)
		}
		res[i] = re
	}
	return func(name string) bool {
		if len(res) == 0 {
			return true
		}
		for _, re := range res {
			if loc := re.FindStringIndex(name); loc != nil && loc[0] == 0 && loc[1] == len(name) {
				return true
			}
		}
		return false
	}, nil
}

// dumpCmd writes the database in one of MIT's dump formats (dump_db).
func (e *env) dumpCmd(args []string) error {
	d, err := parseDumpArgs(args)
	if errors.Is(err, errUsage) {
		return err
	}
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return failed
	}
	if d.iprop && !e.cfg.IpropEnable {
		fmt.Fprintln(e.stderr, "Iprop not enabled")
		return failed
	}
	if d.conditional && !d.iprop {
		return e.errorf("Conditional dump is an undocumented option for use only for iprop dumps")
	}
	match, err := nameMatcher(d.patterns)
	if err != nil {
		return e.errorf("%v", err)
	}
	var (
		store *kdb.Store
		conv  *mkeyConversion
	)
	if d.mkeyConvert {
		var mkeys *kdb.MasterKeys
		if store, mkeys, err = e.openWithKeys(); err != nil {
			return err
		}
		if conv, err = e.newMKeyConversion(store, mkeys, d.newMKeyFile); err != nil {
			store.Close()
			return err
		}
	} else if store, err = kdb.Open(e.cfg.DBName, kdb.ReadOnly); err != nil {
		// A plain dump needs no master key (the keys stay encrypted), so
		// unlike MIT it succeeds without a readable stash.
		return e.errorf("%v while initializing database", err)
	}
	defer store.Close()

	var out io.Writer = e.stdout
	var tmp *os.File
	var ok *os.File
	if d.file != "" && d.file != "-" {
		// MIT's order, which MIT's kprop relies on: lock FILE.dump_ok,
		// write FILE-XXXXXX, rename it to FILE, then write the one byte of
		// FILE.dump_ok, so that .dump_ok is never older than a finished
		// dump.
		if ok, err = os.OpenFile(d.file+".dump_ok", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return e.errorf("%v while creating 'ok' file, '%s'", errText(err), d.file+".dump_ok")
		}
		defer ok.Close()
		if err := filelock.Lock(ok, true); err != nil {
			return e.errorf("%v while locking 'ok' file, '%s'", err, d.file+".dump_ok")
		}
		if tmp, err = os.CreateTemp(filepath.Dir(d.file), filepath.Base(d.file)+"-"); err != nil {
			return e.errorf("%v while allocating temporary filename dump", errText(err))
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}
	var ih *dump.IpropHeader
	if d.iprop {
		pos, err := store.IpropPosition(e.ctx)
		if err != nil {
			return e.errorf("%v while reading update log header", err)
		}
		ih = &dump.IpropHeader{SerialNumber: pos.SerialNumber, Sec: pos.Sec, Usec: pos.Usec}
	}
	w, err := dump.NewWriter(out, d.format, ih)
	if err != nil {
		return e.errorf("%v", err)
	}
	err = store.Snapshot(e.ctx, func(v *kdb.View) error {
		err := v.Principals(e.ctx, d.reverse, func(p *kdb.Principal) error {
			if conv != nil {
				if err := conv.apply(p); err != nil {
					return fmt.Errorf("%v while converting %s to new master key", err, p.Name)
				}
			}
			name := p.Name.String()
			if !match(name) {
				return nil
			}
			if err := w.WritePrincipal(p); err != nil {
				return err
			}
			if d.verbose {
				fmt.Fprintln(e.stderr, name)
			}
			return nil
		})
		if err != nil || len(d.patterns) > 0 {
			return err
		}
		return v.Policies(e.ctx, w.WritePolicy)
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return e.errorf("%v performing %s dump", err, d.format.Name())
	}
	if tmp != nil {
		// Like MIT, no fsync: a dump is re-made on the next run, and
		// forcing hundreds of megabytes to disk would double its time.
		if err := tmp.Close(); err != nil {
			return e.errorf("%v while writing %s", err, d.file)
		}
		if err := os.Rename(tmp.Name(), d.file); err != nil {
			return e.errorf("%v while renaming dump file into place", errText(err))
		}
		tmp = nil
		if _, err := ok.Write([]byte{0}); err != nil {
			return e.errorf("%v while writing 'ok' file", err)
		}
	}
	return nil
}

// loadArgs are kdb5_util load's options (load_db).
type loadArgs struct {
	format  *dump.Format
	iprop   bool
	verbose bool
	update  bool
	file    string
}

func parseLoadArgs(args []string) (loadArgs, error) {
	var l loadArgs
	force := func(f dump.Format) { l.format = &f }
	i := 0
	for ; i < len(args); i++ {
		switch args[i] {
		case "-b7":
			force(dump.Version4)
		case "-r13":
			force(dump.Version5)
		case "-r18":
			force(dump.Version6)
		case "-ov":
			return l, errors.New("OV dump format not supported")
		case "-i":
			l.iprop = true
			force(dump.Iprop)
		case "-verbose":
			l.verbose = true
		case "-update":
			l.update = true
		case "-hash":
			// A DB2 layout choice; SQLite has one layout.
		default:
			goto rest
		}
	}
rest:
	if len(args)-i != 1 {
		return l, errUsage
	}
	l.file = args[i]
	return l, nil
}

// loadCmd replaces the database with a dump's contents, or merges them in
// with -update (load_db). The whole dump is read and checked before the
// live database is touched; a bad record anywhere leaves it unchanged.
// No master key is needed: keys stay as encrypted in the dump.
func (e *env) loadCmd(args []string) error {
	l, err := parseLoadArgs(args)
	if errors.Is(err, errUsage) {
		return err
	}
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return failed
	}
	if l.iprop && !e.cfg.IpropEnable {
		fmt.Fprintln(e.stderr, "Iprop not enabled")
		return failed
	}
	opts := dumpload.Options{Format: l.format, Update: l.update, Iprop: l.iprop, DefaultRealm: e.cfg.Realm,
		Warn: func(w dump.Warning) { fmt.Fprintln(e.stderr, w.String()) }}
	if l.verbose {
		opts.Loaded = func(rec dump.Record) {
			if rec.Principal != nil {
				fmt.Fprintln(e.stderr, rec.Principal.Name)
			} else {
				fmt.Fprintf(e.stderr, "created policy %s\n", rec.Policy.Name)
			}
		}
	}
	format, err := dumpload.File(e.ctx, l.file, e.cfg.DBName, opts)
	var (
		he *dump.HeaderError
		pe *dump.ParseError
		re *dumpload.RecordError
		se *dumpload.StageError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &he):
		fmt.Fprintf(e.stderr, "%s: %s\n", e.prog, he.Msg)
		return failed
	case errors.As(err, &pe):
		return e.restoreFailed(pe, format, l.file)
	case errors.As(err, &re):
		fmt.Fprintln(e.stderr, re.Error())
		return e.restoreFailed(&dump.ParseError{File: l.file, Line: re.Line}, format, l.file)
	case errors.As(err, &se):
		return e.errorf("%v %s", errText(se.Err), se.Stage)
	}
	return e.errorf("%v", err)
}

// restoreFailed prints MIT's three lines for a failed load.
func (e *env) restoreFailed(err error, f dump.Format, file string) error {
	var pe *dump.ParseError
	if errors.As(err, &pe) {
		if pe.Msg != "" {
			fmt.Fprintln(e.stderr, pe.MITMessage(e.prog))
		}
		fmt.Fprintf(e.stderr, "%s: error processing line %d of %s\n", e.prog, pe.Line, file)
	} else {
		fmt.Fprintf(e.stderr, "%s: %v\n", e.prog, err)
	}
	fmt.Fprintf(e.stderr, "%s: %s restore failed\n", e.prog, f.Name())
	return failed
}

// tabdumpCmd writes one of MIT's tabular reports (tabdump.c).
func (e *env) tabdumpCmd(args []string) error {
	var opts tabdump.Options
	out := ""
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-"; i++ {
		switch args[i] {
		case "-H":
			opts.NoHeader = true
		case "-c":
			opts.CSV = true
		case "-e":
			opts.EmptyHex = true
		case "-n":
			opts.Numeric = true
		case "-o":
			if i+1 >= len(args) {
				return errUsage
			}
			i++
			out = args[i]
		default:
			return errUsage
		}
	}
	if len(args)-i != 1 {
		return errUsage
	}
	table := args[i]
	known := false
	for _, t := range tabdump.Tables() {
		known = known || t == table
	}
	if !known {
		return errUsage // MIT has no message for an unknown table
	}
	store, err := kdb.Open(e.cfg.DBName, kdb.ReadOnly)
	if err != nil {
		return e.errorf("%v while initializing database", err)
	}
	defer store.Close()
	// The lowest master kvno stands in for a missing KRB5_TL_MKVNO in
	// princ_meta; without a master key it is unknown and MIT fails there.
	if _, mkeys, err := e.openWithKeysQuiet(store); err == nil {
		opts.LowestMKVNO = uint32(mkeys.Lowest().KVNO)
	}
	var w io.Writer = e.stdout
	if out != "" && out != "-" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return e.errorf("%v while opening %s for writing", errText(err), out)
		}
		defer f.Close()
		w = f
	}
	err = store.Snapshot(e.ctx, func(v *kdb.View) error {
		return tabdump.Write(e.ctx, w, table, opts, func(fn func(*kdb.Principal) error) error {
			return v.Principals(e.ctx, false, fn)
		})
	})
	var re *tabdump.RecordError
	if errors.As(err, &re) {
		fmt.Fprintln(e.stderr, re.MITMessage(e.prog))
		return failed
	}
	if err != nil {
		return e.errorf("%v performing tabular dump", err)
	}
	return nil
}

// openWithKeysQuiet fetches the master keys for an already open store,
// reporting failure only to the caller.
func (e *env) openWithKeysQuiet(store *kdb.Store) (*kdb.Store, *kdb.MasterKeys, error) {
	mkeys, err := e.cfg.FetchMasterKeys(e.ctx, store, e.in)
	return store, mkeys, err
}

// mkeyConversion re-encrypts entries in a new master key as they are
// dumped (dump -mkey_convert): the database itself is not changed.
type mkeyConversion struct {
	mkeys  *kdb.MasterKeys
	newKey kdb.MasterKey
	mkName kdb.Name
}

func (e *env) newMKeyConversion(store *kdb.Store, mkeys *kdb.MasterKeys, file string) (*mkeyConversion, error) {
	km, err := store.Get(e.ctx, e.cfg.MKeyName.String())
	if err != nil {
		return nil, e.errorf("%v while getting master key principal", err)
	}
	c := &mkeyConversion{mkeys: mkeys, mkName: e.cfg.MKeyName}
	c.newKey.KVNO = kdb.NextMasterKVNO(km)
	if file != "" {
		keys, err := kdb.ReadStash(file, e.cfg.MKeyName)
		if err != nil {
			return nil, e.errorf("%v while reading new master key", err)
		}
		k := keys[0]
		for _, cand := range keys {
			if e.g.kvno != 0 && cand.KVNO == e.g.kvno {
				k = cand
			}
		}
		c.newKey.Key = k.Key
		return c, nil
	}
	fmt.Fprintln(e.stdout, "Please enter new master key....")
	pw, err := e.in.NewPassword(kdcMKeyPrompt, kdcMKeyVerify)
	if err != nil {
		return nil, e.errorf("%v while reading new master key", err)
	}
	if c.newKey.Key, err = kdb.DeriveMasterKey(pw, e.cfg.MKeyName, e.cfg.MKeyType); err != nil {
		return nil, e.errorf("%v while reading new master key", err)
	}
	return c, nil
}

// apply is MIT's master_key_convert for one entry: K/M gets the new key
// added as add_mkey would, every other entry is re-encrypted.
func (c *mkeyConversion) apply(p *kdb.Principal) error {
	if p.Name.Equal(c.mkName) {
		return kdb.AddMasterKey(p, c.mkeys, c.newKey.Key, c.newKey.KVNO)
	}
	return kdb.ConvertKeys(p, c.mkeys, c.newKey)
}
