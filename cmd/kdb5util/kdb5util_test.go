package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/kdb"
)

func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }

const testRealm = "KRB5PROP.TEST"

// ourRealm makes a private realm and creates its database with our
// kdb5util; it returns the realm and the binary.
func ourRealm(t *testing.T, args ...string) (*mittest.Realm, string) {
	t.Helper()
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	r := mittest.NewRealm(t, testRealm)
	r.MustRun(t, bin, append([]string{"-P", "master-pw", "create", "-s"}, args...)...)
	return r, bin
}

// ourRows renders our database as MIT's "tabdump -n" would for the given
// table, so the two can be compared row by row.
func ourRows(t *testing.T, r *mittest.Realm, table string) []string {
	t.Helper()
	ctx := context.Background()
	s, err := kdb.Open(r.DBName, kdb.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var rows []string
	err = s.Snapshot(ctx, func(v *kdb.View) error {
		return v.Principals(ctx, false, func(p *kdb.Principal) error {
			name := p.Name.String()
			switch table {
			case "princ_tktpolicy":
				rows = append(rows, fmt.Sprintf("%s\t%d\t%d\t%d\t%d", name, p.Expiration, p.PwExpiration, p.MaxLife, p.MaxRenewableLife))
			case "princ_flags":
				rows = append(rows, fmt.Sprintf("%s\t0x%08x", name, p.Attributes))
			case "keyinfo":
				sorted := p.Clone()
				sorted.SortKeys()
				for i, kd := range sorted.KeyData {
					salt := "-1"
					if kd.Version > 1 && len(kd.Salt) > 0 {
						salt = hex.EncodeToString(kd.Salt)
					}
					rows = append(rows, fmt.Sprintf("%s\t%d\t%d\t%d\t%d\t%s", name, i, kd.KVNO, kd.Enctype, kd.Salted(), salt))
				}
			case "princ_meta":
				_, modby, _ := p.ModPrinc()
				ad, _, _ := p.KadmData()
				mkvno := p.MKVNO()
				if mkvno == 0 {
					mkvno = 1
				}
				rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%d\t%d", name, modby, ad.Policy, mkvno, ad.AdminHistoryKVNO))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// mitRows runs MIT's tabdump -n on an MIT realm and keeps the columns
// ourRows renders (times are left out: they differ between two runs).
func mitRows(t *testing.T, r *mittest.Realm, table string) []string {
	t.Helper()
	out := r.MustRun(t, "kdb5_util", "tabdump", "-H", "-n", table)
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		switch table {
		case "princ_flags": // name, flag, value: one row per bit
			continue
		case "princ_meta": // name modby modtime lastpwd policy mkvno hist_kvno
			line = strings.Join([]string{f[0], f[1], f[4], f[5], f[6]}, "\t")
		}
		rows = append(rows, line)
	}
	if table == "princ_flags" {
		flags := map[string]uint32{}
		var names []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Split(line, "\t")
			var bit uint32
			fmt.Sscanf(f[1], "0x%x", &bit)
			if _, ok := flags[f[0]]; !ok {
				names = append(names, f[0])
			}
			if f[2] == "1" {
				flags[f[0]] |= bit
			} else {
				flags[f[0]] |= 0
			}
		}
		for _, n := range names {
			rows = append(rows, fmt.Sprintf("%s\t0x%08x", n, flags[n]))
		}
	}
	return rows
}

// TestCreateMatchesMIT creates the same realm with MIT's kdb5_util and ours
// and compares every principal field MIT's tabdump shows: names, flags,
// lifetimes, expirations, key versions, enctypes and salts, modifier,
// policy and master key version.
func TestCreateMatchesMIT(t *testing.T) {
	mittest.Require(t, "kdb5_util")
	mit := mittest.NewRealm(t, testRealm)
	mit.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	ours, _ := ourRealm(t)
	for _, table := range []string{"princ_tktpolicy", "princ_flags", "keyinfo", "princ_meta"} {
		want := mitRows(t, mit, table)
		got := ourRows(t, ours, table)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s differs:\nours:\n%s\nMIT:\n%s", table, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestStashInterop checks both directions: MIT's kdb5_util opens its
// realm with the stash our kdb5util wrote, and ours opens our realm with
// the stash MIT wrote (same realm name and master password, so the same
// master key).
func TestStashInterop(t *testing.T) {
	mittest.Require(t, "kdb5_util")
	mit := mittest.NewRealm(t, testRealm)
	mit.MustRun(t, "kdb5_util", "-P", "master-pw", "create", "-s")
	ours, bin := ourRealm(t)
	want := "Master keys for Principal: K/M@" + testRealm + "\n" +
		"KVNO: 1, Enctype: aes256-cts-hmac-sha1-96, Active on: Thu Jan 01 00:00:00 UTC 1970 *\n"

	out, stderr, code := mit.Run(t, "kdb5_util", "-sf", ours.Stash, "list_mkeys")
	if code != 0 || out != want {
		t.Errorf("MIT list_mkeys with our stash: exit %d\n%s%s", code, out, stderr)
	}
	// Our stash command rewrites the stash from the database's key list.
	restash := ours.Path("restash")
	ours.MustRun(t, bin, "stash", "-f", restash)
	if out, stderr, code := mit.Run(t, "kdb5_util", "-sf", restash, "list_mkeys"); code != 0 || out != want {
		t.Errorf("MIT list_mkeys with our re-stash: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = ours.Run(t, bin, "-sf", mit.Stash, "list_mkeys")
	if code != 0 || out != want {
		t.Errorf("our list_mkeys with MIT's stash: exit %d\n%s%s", code, out, stderr)
	}
	if mitOut := mit.MustRun(t, "kdb5_util", "list_mkeys"); mitOut != out {
		t.Errorf("list_mkeys output differs:\nours: %q\nMIT:  %q", out, mitOut)
	}
}

// snapshot hashes every file under dir, to prove a failed command changed
// nothing on disk.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path] = hex.EncodeToString(sum[:])
		return nil
	})
	return out
}

func TestBadInput(t *testing.T) {
	ours, bin := ourRealm(t)
	stash, _ := os.ReadFile(ours.Stash)
	os.WriteFile(ours.Path("garbage-stash"), []byte("this is not a keytab\n"), 0o600)
	os.WriteFile(ours.Path("short-stash"), stash[:30], 0o600)
	badConf := ours.Path("bad-kdc.conf")
	os.WriteFile(badConf, []byte("[realms]\n  "+testRealm+" = {\n    database_name = "+ours.DBName+"\n  oops\n"), 0o600)
	enctypeConf := ours.Path("enctype-kdc.conf")
	os.WriteFile(enctypeConf, []byte("[realms]\n  "+testRealm+" = {\n    database_name = "+ours.Path("other")+
		"\n    supported_enctypes = aes256-cts:normal des-cbc-crazy:normal\n  }\n"), 0o600)
	cases := []struct {
		name string
		env  string // KRB5_KDC_PROFILE override
		args []string
		want []string
	}{
		{"corrupt stash", "", []string{"-sf", ours.Path("garbage-stash"), "list_mkeys"}, []string{"garbage-stash", "Can not fetch master key"}},
		{"truncated stash", "", []string{"-sf", ours.Path("short-stash"), "list_mkeys"}, []string{"short-stash", "truncated"}},
		{"wrong master password", "", []string{"-P", "wrong", "list_mkeys"}, []string{"Unable to decrypt latest master key"}},
		{"wrong password for stash", "", []string{"-P", "wrong", "stash", "-f", ours.Path("new-stash")}, []string{"Unable to decrypt"}},
		{"profile syntax error", badConf, []string{"list_mkeys"}, []string{"bad-kdc.conf:4"}},
		{"unknown enctype option", "", []string{"-k", "des-cbc-crazy", "-P", "x", "create"}, []string{"des-cbc-crazy is an invalid enctype"}},
		{"unknown enctype in kdc.conf", enctypeConf, []string{"-P", "x", "create"}, []string{"enctype-kdc.conf:4", "supported_enctypes", "des-cbc-crazy"}},
		{"bad principal escaping", "", []string{"-M", "K@X", "list_mkeys"}, []string{"Malformed representation of principal"}},
		{"create over existing", "", []string{"-P", "x", "create"}, []string{"File exists"}},
		{"destroy of an MIT database", "", []string{"-d", ours.Path("mit-db2"), "destroy", "-f"}, []string{"MIT Kerberos DB2 database", "kdb5_util dump"}},
	}
	os.WriteFile(ours.Path("mit-db2"), []byte{0x62, 0x31, 0x05, 0x00, 3, 0, 0, 0, 0, 0x10, 0, 0}, 0o600)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, ours.Dir)
			ours.ExtraEnv = nil
			if c.env != "" {
				ours.ExtraEnv = []string{"KRB5_KDC_PROFILE=" + c.env}
			}
			_, stderr, code := ours.Run(t, bin, c.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("want one line on stderr, got %q", stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			after := snapshot(t, ours.Dir)
			if !mapsEqual(before, after) {
				t.Errorf("files changed: %v -> %v", keys(before), keys(after))
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, filepath.Base(k))
	}
	sort.Strings(out)
	return out
}
