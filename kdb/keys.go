package kdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// keyUsageMaster is the key usage MIT encrypts keys at rest with
// (krb5_dbe_encrypt_key_data passes 0); gokrb5 cannot encrypt with it,
// krb5x can.
const keyUsageMaster = 0

// MasterKey is one version of the realm's master key, in the clear.
type MasterKey struct {
	KVNO uint16
	Key  types.EncryptionKey
}

// DeriveMasterKey turns the master password into a key as kdb5_util does:
// string-to-key of enctype with K/M's normal salt (realm followed by the
// name's components: "EXAMPLE.TESTKM").
func DeriveMasterKey(password string, mkeyName Name, etype int32) (types.EncryptionKey, error) {
	k, err := krb5x.StringToKey(etype, password, mkeyName.Salt())
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("derive master key: %w", err)
	}
	return k, nil
}

// sealKey is key data element 0 as MIT stores it: the clear key length as
// two bytes little-endian, then the key encrypted in the master key with
// usage 0.
func sealKey(mk types.EncryptionKey, clear []byte) ([]byte, error) {
	if len(clear) > 0xffff {
		return nil, errors.New("key too long")
	}
	ct, err := krb5x.Encrypt(mk, keyUsageMaster, clear)
	if err != nil {
		return nil, err
	}
	return append(binary.LittleEndian.AppendUint16(nil, uint16(len(clear))), ct...), nil
}

// unsealKey reverses sealKey. Old enctypes pad the plaintext, so the stored
// length says how much of it is key.
func unsealKey(mk types.EncryptionKey, sealed []byte) ([]byte, error) {
	if len(sealed) < 2 {
		return nil, errors.New("key data too short")
	}
	n := int(binary.LittleEndian.Uint16(sealed))
	pt, err := krb5x.Decrypt(mk, keyUsageMaster, sealed[2:])
	if err != nil {
		return nil, err
	}
	if n > len(pt) {
		return nil, fmt.Errorf("key data says %d bytes, decrypts to %d", n, len(pt))
	}
	return pt[:n], nil
}

// SealKey builds the key data MIT stores for key (kvno, salt), encrypted in
// mk. As MIT does, a normal salt is not stored (version 1); any other salt
// type is stored with its salt bytes (version 2).
func SealKey(mk MasterKey, key types.EncryptionKey, kvno uint16, saltType int16, salt []byte) (KeyData, error) {
	sealed, err := sealKey(mk.Key, key.KeyValue)
	if err != nil {
		return KeyData{}, fmt.Errorf("encrypt %s key in master key %d: %w", krb5x.EnctypeName(key.KeyType), mk.KVNO, err)
	}
	kd := KeyData{Version: 1, KVNO: kvno, Enctype: int16(key.KeyType), Contents: sealed}
	if saltType > krb5x.SaltNormal {
		kd.Version, kd.SaltType, kd.Salt = 2, saltType, salt
	}
	return kd, nil
}

// MasterKeys is the realm's list of master keys, loaded from K/M, with the
// activation list that says which one encrypts new keys.
type MasterKeys struct {
	Name Name
	// Keys are in K/M's order: highest kvno first.
	Keys []MasterKey
	// Act is K/M's KRB5_TL_ACTKVNO list sorted by activation time; when K/M
	// has none, the lowest kvno counts as active since time 0.
	Act []ActKVNO
	// OpenedWith is the kvno of the key that opened K/M (the stash's or
	// the password's): purge_mkeys must not remove it.
	OpenedWith uint16
}

// ErrBadMasterKey means the given key opens none of K/M's keys: a wrong
// master password or a stash from another realm. The text is MIT's.
var ErrBadMasterKey = errors.New("Unable to decrypt latest master key with the provided master key")

// LoadMasterKeys unlocks K/M's key list with one master key, as
// krb5_def_fetch_mkey_list does: the key opens K/M's newest key directly,
// or through the KRB5_TL_MKEY_AUX copy of that key made for an older
// master key; the newest key then opens all the others.
func LoadMasterKeys(km *Principal, mk MasterKey) (*MasterKeys, error) {
	if len(km.KeyData) == 0 {
		return nil, fmt.Errorf("%s has no keys", km.Name)
	}
	keys := append([]KeyData(nil), km.KeyData...)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].KVNO > keys[j].KVNO })
	newest := keys[0]
	var latest []byte
	opened := newest.KVNO
	if int32(newest.Enctype) == mk.Key.KeyType {
		if clear, err := unsealKey(mk.Key, newest.Contents); err == nil {
			latest = clear
		}
	}
	if latest == nil {
		auxes, err := km.MKeyAuxes()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", km.Name, err)
		}
		for _, a := range auxes {
			if a.MKVNO != mk.KVNO && mk.KVNO != 0 {
				continue
			}
			if clear, err := unsealKey(mk.Key, a.Contents); err == nil {
				latest, opened = clear, a.MKVNO
				break
			}
		}
	}
	if latest == nil {
		return nil, ErrBadMasterKey
	}
	m := &MasterKeys{Name: km.Name, OpenedWith: opened}
	top := types.EncryptionKey{KeyType: int32(newest.Enctype), KeyValue: latest}
	m.Keys = append(m.Keys, MasterKey{KVNO: newest.KVNO, Key: top})
	for _, kd := range keys[1:] {
		clear, err := unsealKey(top, kd.Contents)
		if err != nil {
			return nil, fmt.Errorf("%s: decrypt master key kvno %d: %w", km.Name, kd.KVNO, err)
		}
		m.Keys = append(m.Keys, MasterKey{KVNO: kd.KVNO, Key: types.EncryptionKey{KeyType: int32(kd.Enctype), KeyValue: clear}})
	}
	act, err := km.ActKVNOs()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", km.Name, err)
	}
	if len(act) == 0 {
		act = []ActKVNO{{KVNO: m.Keys[len(m.Keys)-1].KVNO}}
	}
	sort.SliceStable(act, func(i, j int) bool { return act[i].ActivTime < act[j].ActivTime })
	m.Act = act
	return m, nil
}

// ByKVNO returns the master key of that version.
func (m *MasterKeys) ByKVNO(kvno uint16) (MasterKey, bool) {
	for _, k := range m.Keys {
		if k.KVNO == kvno {
			return k, true
		}
	}
	return MasterKey{}, false
}

// Lowest returns the oldest master key: the one that encrypts an entry
// without KRB5_TL_MKVNO.
func (m *MasterKeys) Lowest() MasterKey {
	low := m.Keys[0]
	for _, k := range m.Keys {
		if k.KVNO < low.KVNO {
			low = k
		}
	}
	return low
}

// Active returns the master key new keys are encrypted in at time now: the
// ACTKVNO entry with the latest activation time not after now
// (krb5_dbe_find_act_mkey). With none active yet, MIT falls back to the
// first entry.
func (m *MasterKeys) Active(now time.Time) (MasterKey, error) {
	kvno := m.Act[0].KVNO
	for _, a := range m.Act {
		if int64(a.ActivTime) <= now.Unix() {
			kvno = a.KVNO
		}
	}
	k, ok := m.ByKVNO(kvno)
	if !ok {
		return MasterKey{}, fmt.Errorf("active master key kvno %d is not in %s", kvno, m.Name)
	}
	return k, nil
}

// For returns the master key that encrypts p's keys (its KRB5_TL_MKVNO,
// else the lowest master key).
func (m *MasterKeys) For(p *Principal) (MasterKey, error) {
	v := p.MKVNO()
	if v == 0 {
		return m.Lowest(), nil
	}
	k, ok := m.ByKVNO(v)
	if !ok {
		return MasterKey{}, fmt.Errorf("%s: keys are encrypted in master key kvno %d, which %s no longer holds", p.Name, v, m.Name)
	}
	return k, nil
}

// UnsealKey decrypts one of p's keys and returns it with its salt type and
// explicit salt (nil for normal salt).
func (m *MasterKeys) UnsealKey(p *Principal, kd KeyData) (types.EncryptionKey, error) {
	mk, err := m.For(p)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	clear, err := unsealKey(mk.Key, kd.Contents)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("%s: decrypt %s key kvno %d: %w", p.Name, krb5x.EnctypeName(int32(kd.Enctype)), kd.KVNO, err)
	}
	return types.EncryptionKey{KeyType: int32(kd.Enctype), KeyValue: clear}, nil
}

// Reseal re-encrypts key data sealed under one master key (from) into
// another (to), keeping kvno and salt.
func Reseal(from, to MasterKey, kd KeyData) (KeyData, error) {
	clear, err := unsealKey(from.Key, kd.Contents)
	if err != nil {
		return KeyData{}, err
	}
	sealed, err := sealKey(to.Key, clear)
	if err != nil {
		return KeyData{}, err
	}
	kd.Contents = sealed
	return kd, nil
}

// SaltFor returns the salt string a password key of type saltType uses for
// principal n (spec §1.3). Special salts are random and passed in.
func SaltFor(n Name, saltType int16) (string, error) {
	switch saltType {
	case krb5x.SaltNormal:
		return n.Salt(), nil
	case krb5x.SaltNoRealm:
		return n.Salt()[len(n.Realm):], nil
	case krb5x.SaltOnlyRealm:
		return n.Realm, nil
	}
	return "", fmt.Errorf("no fixed salt for salt type %s", krb5x.SaltTypeName(saltType))
}

// KeySaltOf returns the salt type and salt string a key was made with, as
// krb5_dbe_compute_salt does: normal, norealm and onlyrealm salts are
// computed from the principal's name, special salts are stored.
func KeySaltOf(n Name, kd KeyData) (int16, string, error) {
	st := kd.Salted()
	if st == krb5x.SaltSpecial {
		return st, string(kd.Salt), nil
	}
	salt, err := SaltFor(n, st)
	return st, salt, err
}

// UnsealWith decrypts key data with an explicit key (the history key, or a
// master key chosen by the caller).
func UnsealWith(mk MasterKey, kd KeyData) (types.EncryptionKey, error) {
	clear, err := unsealKey(mk.Key, kd.Contents)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	return types.EncryptionKey{KeyType: int32(kd.Enctype), KeyValue: clear}, nil
}
