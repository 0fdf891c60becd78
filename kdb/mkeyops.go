package kdb

import (
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// NextMasterKVNO is the kvno a new master key gets: one above K/M's
// highest, skipping 0 (MIT's get_next_kvno).
func NextMasterKVNO(km *Principal) uint16 {
	v := km.MaxKVNO() + 1
	if v == 0 {
		v = 1
	}
	return v
}

// AddMasterKey puts newKey into K/M as MIT's add_new_mkey does: the new key
// first, encrypted in itself; every key of mkeys after it, re-encrypted in
// the new key; KRB5_TL_MKEY_AUX replaced by one copy of the new key per old
// key, encrypted in that old key (so a stash holding only an old key still
// opens the database); KRB5_TL_MKVNO set to the new kvno. ACTKVNO is not
// touched: the new key is not used until use_mkey says so.
func AddMasterKey(km *Principal, mkeys *MasterKeys, newKey types.EncryptionKey, kvno uint16) error {
	nk := MasterKey{KVNO: kvno, Key: newKey}
	self, err := SealKey(nk, newKey, kvno, krb5x.SaltNormal, nil)
	if err != nil {
		return err
	}
	keys := []KeyData{self}
	var aux []MKeyAux
	for _, old := range mkeys.Keys {
		sealed, err := sealKey(old.Key, newKey.KeyValue)
		if err != nil {
			return fmt.Errorf("encrypt new master key in kvno %d: %w", old.KVNO, err)
		}
		aux = append(aux, MKeyAux{MKVNO: old.KVNO, LatestKVNO: kvno, Enctype: int16(newKey.KeyType), Contents: sealed})
		kd, err := SealKey(nk, old.Key, old.KVNO, krb5x.SaltNormal, nil)
		if err != nil {
			return err
		}
		keys = append(keys, kd)
	}
	km.KeyData = keys
	km.SetMKVNO(kvno)
	km.SetMKeyAuxes(aux)
	return nil
}

// ErrNoActiveMasterKey is MIT's refusal of a use_mkey that would leave no
// master key active now.
var ErrNoActiveMasterKey = errors.New("there must be one master key currently active")

// UseMasterKey records in K/M's KRB5_TL_ACTKVNO that master key kvno is
// active from start on, with MIT's list surgery (kdb5_use_mkey): an existing
// entry for kvno is taken out, unless it is the only one, whose time is
// then changed; the new entry goes in time order. The earliest entry must
// not be in the future.
func UseMasterKey(km *Principal, kvno uint16, start, now uint32) error {
	list, err := km.ActKVNOs()
	if err != nil {
		return err
	}
	if len(list) == 0 && len(km.KeyData) > 0 {
		// As krb5_dbe_lookup_actkvno does for a K/M written before
		// ACTKVNO existed: its lowest key, active since time 0.
		low := km.KeyData[0].KVNO
		for _, kd := range km.KeyData {
			low = min(low, kd.KVNO)
		}
		list = []ActKVNO{{KVNO: low}}
	}
	inserted := false
	for i, a := range list {
		if a.KVNO != kvno {
			continue
		}
		if len(list) == 1 {
			list[0].ActivTime = start
			inserted = true
		} else {
			list = append(list[:i:i], list[i+1:]...)
		}
		break
	}
	if !inserted {
		at := len(list)
		for i, a := range list {
			if int32(a.ActivTime) > int32(start) {
				at = i
				break
			}
		}
		list = append(list[:at], append([]ActKVNO{{KVNO: kvno, ActivTime: start}}, list[at:]...)...)
	}
	if int32(list[0].ActivTime) > int32(now) {
		return ErrNoActiveMasterKey
	}
	km.SetActKVNOs(list)
	return nil
}

// ConvertKeys re-encrypts every key of p in master key to, keeping kvno
// and salt, and records to's kvno in KRB5_TL_MKVNO (MIT's
// master_key_convert for entries other than K/M).
func ConvertKeys(p *Principal, mkeys *MasterKeys, to MasterKey) error {
	from, err := mkeys.For(p)
	if err != nil {
		return err
	}
	for i, kd := range p.KeyData {
		if p.KeyData[i], err = Reseal(from, to, kd); err != nil {
			return fmt.Errorf("%s: re-encrypt %s key kvno %d: %w", p.Name, krb5x.EnctypeName(int32(kd.Enctype)), kd.KVNO, err)
		}
	}
	p.SetMKVNO(to.KVNO)
	return nil
}

// PurgeMasterKeys drops from K/M the master keys no entry uses (inUse
// counts entries per master kvno, K/M included) together with their
// ACTKVNO and MKEY_AUX entries, and returns the purged kvnos in K/M's key
// order (kdb5_purge_mkeys).
func PurgeMasterKeys(km *Principal, inUse map[uint16]int) ([]uint16, error) {
	act, err := km.ActKVNOs()
	if err != nil {
		return nil, err
	}
	aux, err := km.MKeyAuxes()
	if err != nil {
		return nil, err
	}
	var purged []uint16
	var keep []KeyData
	for _, kd := range km.KeyData {
		if inUse[kd.KVNO] > 0 {
			keep = append(keep, kd)
			continue
		}
		purged = append(purged, kd.KVNO)
		act = dropAct(act, kd.KVNO)
		aux = dropAux(aux, kd.KVNO)
	}
	if len(purged) == 0 {
		return nil, nil
	}
	km.KeyData = keep
	km.SetActKVNOs(act)
	km.SetMKeyAuxes(aux)
	return purged, nil
}

func dropAct(list []ActKVNO, kvno uint16) []ActKVNO {
	for i, a := range list {
		if a.KVNO == kvno {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

func dropAux(list []MKeyAux, kvno uint16) []MKeyAux {
	for i, a := range list {
		if a.MKVNO == kvno {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// EffectiveMKVNO is the master key version p's keys are encrypted in: its
// KRB5_TL_MKVNO, else the lowest master kvno (krb5_dbe_get_mkvno).
func (m *MasterKeys) EffectiveMKVNO(p *Principal) uint16 {
	if v := p.MKVNO(); v != 0 {
		return v
	}
	return m.Lowest().KVNO
}
