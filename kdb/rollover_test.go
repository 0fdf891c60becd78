package kdb

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMITMasterKeyRollover opens K/M as MIT 1.20 left it after
// "add_mkey -e aes128-cts-hmac-sha1-96 -s" (fixtures/mit-1.20-mkey-rollover,
// dump.1-after-add_mkey): two master keys, the new one reachable from the
// old through KRB5_TL_MKEY_AUX, the old one still active.
func TestMITMasterKeyRollover(t *testing.T) {
	const realm = "FIXTURE.TEST"
	mkName := Name{Components: []string{"K", "M"}, Realm: realm}
	km := &Principal{Name: mkName, TLData: []TLData{
		{TLMKeyAux, unhex(t, "01000100020011002e0010009dc24a0c0bd498a2f14350e2d4241d562e7546219428208a194e137c348b1532bd25a2cfb61da28a7534502c")},
		{TLMKVNO, unhex(t, "0200")},
		{TLActKVNO, unhex(t, "0100010000000000")},
		{TLModPrinc, unhex(t, "a359046b4b2f4d40464958545552452e5445535400")},
	}, KeyData: []KeyData{
		{Version: 1, KVNO: 2, Enctype: 17, Contents: unhex(t, "1000a79fd380e1a50526564f2ae85dd75aae6ef5104330d2e28c93c71c342c9a5338213b4bc894444dc88ff4bb95")},
		{Version: 1, KVNO: 1, Enctype: 18, Contents: unhex(t, "2000c27b5ce2d187f08d30dc6762ed66ab0a3198f061ffbba427f6479285f1452f007c6cd3400ad6849e68cfd2c1d361f89a75ce251d39b9bcf444187f08")},
	}}
	aux, err := km.MKeyAuxes()
	if err != nil || len(aux) != 1 || aux[0].MKVNO != 1 || aux[0].LatestKVNO != 2 || aux[0].Enctype != 17 || len(aux[0].Contents) != 46 {
		t.Fatalf("MKEY_AUX = %+v, %v", aux, err)
	}
	old, err := ReadStash("testdata/mit-rollover-stash.1", mkName)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := ReadStash("testdata/mit-rollover-stash.2", mkName)
	if err != nil {
		t.Fatal(err)
	}
	if latest[0].KVNO != 2 || latest[0].Key.KeyType != 17 {
		t.Fatalf("add_mkey -s stash = %+v", latest)
	}
	if k, _ := DeriveMasterKey("mkey-pw-2", mkName, 17); !bytes.Equal(k.KeyValue, latest[0].Key.KeyValue) {
		t.Error("kvno 2 master key does not derive from mkey-pw-2")
	}
	for _, stash := range []MasterKey{old[0], latest[0]} {
		mkeys, err := LoadMasterKeys(km, stash)
		if err != nil {
			t.Fatalf("open K/M with stash kvno %d: %v", stash.KVNO, err)
		}
		if len(mkeys.Keys) != 2 || mkeys.Keys[0].KVNO != 2 || mkeys.Keys[1].KVNO != 1 ||
			!bytes.Equal(mkeys.Keys[0].Key.KeyValue, latest[0].Key.KeyValue) ||
			!bytes.Equal(mkeys.Keys[1].Key.KeyValue, old[0].Key.KeyValue) {
			t.Fatalf("key list from stash kvno %d: %+v", stash.KVNO, mkeys.Keys)
		}
		if act, _ := mkeys.Active(time.Now()); act.KVNO != 1 {
			t.Errorf("active master key %d, want 1 (use_mkey not run yet)", act.KVNO)
		}
		// alice before and after update_princ_encryption: her key moves
		// from master key 1 to 2 and stays the same key.
		want, _ := krb5x.StringToKey(18, "alice-pw-1", realm+"alice")
		for _, c := range []struct {
			mkvno string
			key   string
		}{
			{"0100", "200068985e7b94e2b8023a9a5591b1460795b5c89f9e303cc86890af704d3e8586b75f94a0eaa0f4caed0340716381b5c0137f0f82c52a9330646ebd2061"},
			{"0200", "2000057aa2e61633a51464553f855cececac103d32871cfb12bd418894343cb206458e06e07567c2fc240a0af97de7058581c9333aaf4cb4e65327d8b134"},
		} {
			alice := &Principal{Name: Name{Components: []string{"alice"}, Realm: realm},
				TLData: []TLData{{TLMKVNO, unhex(t, c.mkvno)}}}
			k, err := mkeys.UnsealKey(alice, KeyData{Version: 1, KVNO: 1, Enctype: 18, Contents: unhex(t, c.key)})
			if err != nil || !bytes.Equal(k.KeyValue, want.KeyValue) {
				t.Errorf("alice under master key %s: %v", c.mkvno, err)
			}
		}
	}
}
