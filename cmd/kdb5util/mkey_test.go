package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdb/dump"
)

// readDump reads every principal of a dump, by unparsed name.
func readDump(t *testing.T, data []byte) map[string]*kdb.Principal {
	t.Helper()
	r, err := dump.NewReader(bytes.NewReader(data), "dump", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*kdb.Principal{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Principal != nil {
			out[rec.Principal.Name.String()] = rec.Principal
		}
	}
}

// shape describes a principal without what differs between two runs of
// the same commands (random keys and salts, times): attributes, lifetimes,
// tl-data types in stored order with the layout of the master-key ones,
// who modified it, and each key's version, kvno, enctype and length.
func shape(p *kdb.Principal) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s attrs=%#x life=%d/%d tl=", p.Name, p.Attributes, p.MaxLife, p.MaxRenewableLife)
	for _, tl := range p.TLData {
		fmt.Fprintf(&b, "%d,", tl.Type)
	}
	if _, by, ok := p.ModPrinc(); ok {
		fmt.Fprintf(&b, " modby=%s", by)
	}
	fmt.Fprintf(&b, " mkvno=%d", p.MKVNO())
	act, _ := p.ActKVNOs()
	for _, a := range act {
		fmt.Fprintf(&b, " act(%d,%v)", a.KVNO, a.ActivTime != 0)
	}
	aux, _ := p.MKeyAuxes()
	for _, a := range aux {
		fmt.Fprintf(&b, " aux(%d->%d,%d,%d)", a.MKVNO, a.LatestKVNO, a.Enctype, len(a.Contents))
	}
	for _, k := range p.KeyData {
		fmt.Fprintf(&b, " key(v%d,kvno%d,e%d,%d)", k.Version, k.KVNO, k.Enctype, len(k.Contents))
	}
	return b.String()
}

// openKeys opens a dump's master key list with the master key derived from
// a password (the rollover fixture's passwords) and returns it.
func openKeys(t *testing.T, princs map[string]*kdb.Principal, pw string, etype int32) *kdb.MasterKeys {
	t.Helper()
	mkName := kdb.Name{Components: []string{"K", "M"}, Realm: fixtureRealm}
	key, err := kdb.DeriveMasterKey(pw, mkName, etype)
	if err != nil {
		t.Fatal(err)
	}
	mkeys, err := kdb.LoadMasterKeys(princs["K/M@"+fixtureRealm], kdb.MasterKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return mkeys
}

// TestMasterKeyRolloverMatchesMIT runs MIT's rollover fixture sequence with
// our tools and compares every step's dump with MIT's: the same principals
// with the same structure, and keys that decrypt to the same values.
func TestMasterKeyRolloverMatchesMIT(t *testing.T) {
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	kadmin := mittest.GoBinary(t, "./cmd/kadmin")
	r := mittest.NewRealm(t, fixtureRealm,
		mittest.WithKDCConf("realms", "supported_enctypes", "aes256-cts-hmac-sha1-96:normal"),
		mittest.WithKDCConf("realms", "default_principal_flags", ""),
		mittest.WithKDCConf("realms", "max_life", ""),
		mittest.WithKDCConf("realms", "max_renewable_life", ""))
	r.MustRun(t, bin, "-P", "mkey-pw-1", "create", "-s")
	r.MustRun(t, kadmin, "-q", "addprinc -pw alice-pw-1 alice")
	alice1, _ := krb5x.StringToKey(18, "alice-pw-1", fixtureRealm+"alice")
	steps := []struct {
		fixture string
		run     func()
		pw      string // a master password that opens this step's K/M
		etype   int32
		out     string // expected stdout of the step's command, if checked
	}{
		{"dump.0-initial", func() {}, "mkey-pw-1", 18, ""},
		{"dump.1-after-add_mkey", func() {
			r.RunStdin(t, "mkey-pw-2\nmkey-pw-2\n", bin, "add_mkey", "-e", "aes128-cts-hmac-sha1-96", "-s")
		}, "mkey-pw-1", 18, ""},
		{"dump.2-after-update_princ_encryption", func() {
			r.MustRun(t, bin, "use_mkey", "2")
			out := r.MustRun(t, bin, "update_princ_encryption", "-f", "-v")
			want := "Principals whose keys are being re-encrypted to master key vno 2 if necessary:\n" +
				"updating: alice@FIXTURE.TEST\nupdating: kadmin/admin@FIXTURE.TEST\n" +
				"updating: kadmin/changepw@FIXTURE.TEST\nupdating: krbtgt/FIXTURE.TEST@FIXTURE.TEST\n" +
				"4 principals processed: 4 updated, 0 already current\n"
			if out != want {
				t.Errorf("update_princ_encryption printed:\n%s\nMIT printed:\n%s", out, want)
			}
		}, "mkey-pw-2", 17, ""},
		{"dump.3-after-purge_mkeys", func() {
			out := r.MustRun(t, bin, "purge_mkeys", "-f", "-v")
			want := "Purging the following master key(s) from K/M@FIXTURE.TEST:\nKVNO: 1\n1 key(s) purged.\n"
			if out != want {
				t.Errorf("purge_mkeys printed:\n%s\nMIT printed:\n%s", out, want)
			}
		}, "mkey-pw-2", 17, ""},
	}
	for _, st := range steps {
		st.run()
		ours := readDump(t, []byte(r.MustRun(t, bin, "dump")))
		mit := readDump(t, mittest.ReadFile(t, "testdata/rollover/"+st.fixture))
		compareShapes(t, st.fixture, ours, mit)
		for name, princs := range map[string]map[string]*kdb.Principal{"ours": ours, "MIT": mit} {
			mkeys := openKeys(t, princs, st.pw, st.etype)
			a := princs["alice@"+fixtureRealm]
			k, err := mkeys.UnsealKey(a, a.KeyData[0])
			if err != nil || !bytes.Equal(k.KeyValue, alice1.KeyValue) {
				t.Errorf("%s %s: alice's key does not decrypt to her password's key (%v)", st.fixture, name, err)
			}
		}
	}
	// dump -mkey_convert with the key from another realm's stash becomes
	// master key 3; the database itself is not changed.
	other := r.Path("other-stash")
	os.WriteFile(other, mittest.ReadFile(t, "testdata/rollover/other-stash"), 0o600)
	ours := readDump(t, []byte(r.MustRun(t, bin, "dump", "-mkey_convert", "-new_mkey_file", other, "-")))
	mit := readDump(t, mittest.ReadFile(t, "testdata/rollover/dump.4-mkey_convert"))
	compareShapes(t, "dump.4-mkey_convert", ours, mit)
	for name, princs := range map[string]map[string]*kdb.Principal{"ours": ours, "MIT": mit} {
		mkeys := openKeys(t, princs, "other-mkey-pw", 18)
		if mkeys.Keys[0].KVNO != 3 || len(mkeys.Keys) != 2 {
			t.Errorf("%s: converted master keys %v", name, kvnos(mkeys.Keys))
		}
		a := princs["alice@"+fixtureRealm]
		if k, err := mkeys.UnsealKey(a, a.KeyData[0]); err != nil || !bytes.Equal(k.KeyValue, alice1.KeyValue) {
			t.Errorf("%s: converted alice key: %v", name, err)
		}
	}
	if got := readDump(t, []byte(r.MustRun(t, bin, "dump"))); shape(got["K/M@"+fixtureRealm]) == shape(ours["K/M@"+fixtureRealm]) {
		t.Error("dump -mkey_convert changed the database")
	}
}

func kvnos(keys []kdb.MasterKey) []uint16 {
	var out []uint16
	for _, k := range keys {
		out = append(out, k.KVNO)
	}
	return out
}

func compareShapes(t *testing.T, step string, ours, mit map[string]*kdb.Principal) {
	t.Helper()
	if len(ours) != len(mit) {
		t.Errorf("%s: %d principals, MIT has %d", step, len(ours), len(mit))
	}
	for name, m := range mit {
		o, ok := ours[name]
		if !ok {
			t.Errorf("%s: %s missing", step, name)
			continue
		}
		if so, sm := shape(o), shape(m); so != sm {
			t.Errorf("%s: %s differs:\nours: %s\nMIT:  %s", step, name, so, sm)
		}
	}
}
