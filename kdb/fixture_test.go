package kdb

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// TestMITFixtureKeys opens the master key from a stash written by MIT 1.20
// and decrypts every key of that realm (as MIT's tabdump keydata lists them,
// still encrypted), checking password keys against the passwords the
// fixture was made with.
func TestMITFixtureKeys(t *testing.T) {
	const realm = "FIXTURE.TEST"
	mkName := Name{Components: []string{"K", "M"}, Realm: realm}
	stash, err := ReadStash("testdata/mit-basic-stash", mkName)
	if err != nil {
		t.Fatal(err)
	}
	if len(stash) != 1 || stash[0].KVNO != 1 || stash[0].Key.KeyType != 18 {
		t.Fatalf("stash = %+v", stash)
	}
	// The stash key is the password's string-to-key with salt REALM+"KM".
	derived, err := DeriveMasterKey("fixture-master-pw", mkName, 18)
	if err != nil || !bytes.Equal(derived.KeyValue, stash[0].Key.KeyValue) {
		t.Fatalf("master key from password differs from the stash (%v)", err)
	}
	passwords := map[string]string{}
	pwData, _ := os.ReadFile("testdata/mit-basic-passwords.txt")
	for _, line := range strings.Split(string(pwData), "\n") {
		if f := strings.Split(line, "\t"); len(f) == 2 {
			passwords[f[0]] = f[1]
		}
	}
	data, err := os.ReadFile("testdata/mit-basic-keydata.tsv")
	if err != nil {
		t.Fatal(err)
	}
	principals := map[string]*Principal{}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		f := strings.Split(line, "\t") // name keyindex kvno enctype key salttype salt
		n, err := ParseName(f[0], realm)
		if err != nil {
			t.Fatal(err)
		}
		kvno, _ := strconv.Atoi(f[2])
		etype, err := krb5x.EnctypeByName(f[3])
		if err != nil {
			t.Fatal(err)
		}
		contents, _ := hex.DecodeString(f[4])
		kd := KeyData{Version: 1, KVNO: uint16(kvno), Enctype: int16(etype), Contents: contents}
		if f[5] != "normal" {
			st, _ := krb5x.SaltTypeByName(f[5])
			salt, _ := hex.DecodeString(f[6])
			kd.Version, kd.SaltType, kd.Salt = 2, st, salt
		}
		p := principals[f[0]]
		if p == nil {
			p = &Principal{Name: n}
			principals[f[0]] = p
			order = append(order, f[0])
		}
		p.KeyData = append(p.KeyData, kd)
	}
	km := principals["K/M@"+realm]
	km.SetActKVNOs([]ActKVNO{{KVNO: 1}})
	mkeys, err := LoadMasterKeys(km, stash[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKeys(km, MasterKey{KVNO: 1, Key: derivedWrong(t, mkName)}); err == nil {
		t.Error("a wrong master key opened K/M")
	}
	checked := 0
	for _, name := range order {
		p := principals[name]
		for _, kd := range p.KeyData {
			key, err := mkeys.UnsealKey(p, kd)
			if err != nil {
				t.Fatalf("%s kvno %d: %v", name, kd.KVNO, err)
			}
			if len(key.KeyValue) != krb5x.KeySize(key.KeyType) {
				t.Errorf("%s: key length %d", name, len(key.KeyValue))
			}
			pw, ok := passwords[p.Name.Components[0]+"#"+strconv.Itoa(int(kd.KVNO))]
			if !ok || len(p.Name.Components) != 1 {
				continue
			}
			_, salt, err := KeySaltOf(p.Name, kd)
			if err != nil {
				t.Fatal(err)
			}
			want, err := krb5x.StringToKey(key.KeyType, pw, salt)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want.KeyValue, key.KeyValue) {
				t.Errorf("%s kvno %d %s: key does not derive from its password", name, kd.KVNO, krb5x.EnctypeName(key.KeyType))
			}
			checked++
		}
	}
	// alice: 2 kvnos x 2 enctypes; bob: kvno 2 x 2 (kvno 1 is history).
	if checked != 6 {
		t.Errorf("checked %d password keys, want 6", checked)
	}
	// A stash we write for the same key reads back identically.
	out := filepath.Join(t.TempDir(), "stash")
	if err := WriteStash(out, mkName, mkeys.Keys, time.Unix(0x6b045998, 0)); err != nil {
		t.Fatal(err)
	}
	ours, _ := os.ReadFile(out)
	theirs, _ := os.ReadFile("testdata/mit-basic-stash")
	if !bytes.Equal(ours, theirs) {
		t.Errorf("our stash differs from MIT's:\n%x\n%x", ours, theirs)
	}
}

func derivedWrong(t *testing.T, n Name) types.EncryptionKey {
	key, err := DeriveMasterKey("not-the-password", n, 18)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
