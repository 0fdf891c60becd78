package kadm5

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// ChangePassword sets new password keys as kadm5_chpass_principal_3 does:
// policy quality checks, password history for principals with a policy,
// REQUIRES_PWCHANGE cleared, password expiry from the policy, lockout
// counter reset.
func (s *Server) ChangePassword(ctx context.Context, name kdb.Name, password string, keepold bool, keysalts []krb5x.KeySalt) error {
	if name.Equal(s.histName()) {
		return ErrProtectPrinc
	}
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		p, ad, err := getAdmin(ctx, tx, name)
		if err != nil {
			return err
		}
		var pol *kdb.Policy
		if ad.AuxAttributes&kdb.AuxPolicy != 0 {
			if pol, err = getPolicyOpt(ctx, tx, ad.Policy); err != nil {
				return err
			}
		}
		ks, err := s.applyKeysaltPolicy(pol, keysalts)
		if err != nil {
			return err
		}
		var hist *history
		if pol != nil {
			if hist, err = s.historyKey(ctx, tx); err != nil {
				return err
			}
		}
		var histEntry []kdb.KeyData
		if hist != nil {
			if histEntry, err = s.historyEntry(p, hist); err != nil {
				return err
			}
		}
		if err := passwdCheck(password, pol, name); err != nil {
			return err
		}
		mk, err := s.MKeys.Active(s.nowTime())
		if err != nil {
			return err
		}
		keep := keepNone
		if keepold {
			keep = keepAll
		}
		if err := s.rekey(p, mk, func(kvno uint16) ([]kdb.KeyData, error) {
			return passwordKeys(mk, p.Name, password, ks, kvno)
		}, keep); err != nil {
			return err
		}
		p.SetMKVNO(mk.KVNO)
		p.Attributes &^= kdb.AttrRequiresPwChange
		now := s.now()
		p.PwExpiration = 0
		if pol != nil {
			if err := s.checkReuse(p, mk, hist, [][]kdb.KeyData{histEntry}); err != nil {
				return err
			}
			if pol.PwHistoryNum > 1 {
				if ad.AdminHistoryKVNO == uint32(hist.kvno) {
					if err := s.checkReuse(p, mk, hist, ad.OldKeys); err != nil {
						return err
					}
				}
				if len(histEntry) > 0 {
					addToHistory(&ad, pol, hist.kvno, histEntry)
				}
			}
			if pol.PwMaxLife != 0 {
				p.PwExpiration = now + pol.PwMaxLife
			}
		}
		p.SetLastPwdChange(now)
		p.FailAuthCount = 0
		return s.putAdmin(ctx, tx, p, ad)
	})
}

// RandomizeKeys sets new random keys as kadm5_randkey_principal_3 does and
// returns the new keys in the clear (for ktadd).
func (s *Server) RandomizeKeys(ctx context.Context, name kdb.Name, keepold bool, keysalts []krb5x.KeySalt) ([]Key, error) {
	var keys []Key
	err := s.Store.Update(ctx, func(tx *kdb.Tx) error {
		var err error
		keys, err = s.randomize(ctx, tx, name, keepold, keysalts)
		return err
	})
	return keys, err
}

func (s *Server) randomize(ctx context.Context, tx *kdb.Tx, name kdb.Name, keepold bool, keysalts []krb5x.KeySalt) ([]Key, error) {
	p, ad, err := getAdmin(ctx, tx, name)
	if err != nil {
		return nil, err
	}
	var pol *kdb.Policy
	if ad.AuxAttributes&kdb.AuxPolicy != 0 {
		if pol, err = getPolicyOpt(ctx, tx, ad.Policy); err != nil {
			return nil, err
		}
	}
	ks, err := s.applyKeysaltPolicy(pol, keysalts)
	if err != nil {
		return nil, err
	}
	if name.Equal(s.histName()) {
		// The history key must stay a single key (kadm5_randkey_principal_3).
		if keepold {
			return nil, ErrProtectPrinc
		}
		if len(ks) > 1 {
			ks = ks[:1]
		}
	}
	mk, err := s.MKeys.Active(s.nowTime())
	if err != nil {
		return nil, err
	}
	keep := keepNone
	if keepold {
		keep = keepAll
	}
	if err := s.rekey(p, mk, func(kvno uint16) ([]kdb.KeyData, error) { return randomKeys(mk, ks, kvno) }, keep); err != nil {
		return nil, err
	}
	p.SetMKVNO(mk.KVNO)
	p.Attributes &^= kdb.AttrRequiresPwChange
	now := s.now()
	p.PwExpiration = 0
	if pol != nil && pol.PwMaxLife != 0 {
		p.PwExpiration = now + pol.PwMaxLife
	}
	p.SetLastPwdChange(now)
	p.FailAuthCount = 0
	if err := s.putAdmin(ctx, tx, p, ad); err != nil {
		return nil, err
	}
	return s.newestKeys(p)
}

// Key is a principal key in the clear, as ktadd writes it.
type Key struct {
	KVNO uint16
	Key  types.EncryptionKey
}

// newestKeys decrypts the keys of p's highest kvno.
func (s *Server) newestKeys(p *kdb.Principal) ([]Key, error) {
	top := p.MaxKVNO()
	var out []Key
	for _, kd := range p.KeyData {
		if kd.KVNO != top {
			continue
		}
		k, err := s.MKeys.UnsealKey(p, kd)
		if err != nil {
			return nil, err
		}
		out = append(out, Key{kd.KVNO, k})
	}
	return out, nil
}

// Keys returns all of a principal's keys in the clear (ktadd -norandkey),
// optionally only those of the given enctypes.
func (s *Server) Keys(ctx context.Context, name kdb.Name) ([]Key, error) {
	p, err := s.GetPrincipal(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []Key
	for _, kd := range p.KeyData {
		k, err := s.MKeys.UnsealKey(p, kd)
		if err != nil {
			return nil, err
		}
		out = append(out, Key{kd.KVNO, k})
	}
	return out, nil
}

// history is the kadmin/history key set.
type history struct {
	kvno uint16
	keys []types.EncryptionKey
}

// historyKey fetches kadmin/history's keys, creating the principal on first
// use as kdb_get_hist_key/create_hist do: no attributes, max_life 64 (MIT
// passes the DISALLOW_ALL_TIX constant as the lifetime), one random key of
// the master key's enctype, then re-randomised so its kvno is 2.
func (s *Server) historyKey(ctx context.Context, tx *kdb.Tx) (*history, error) {
	hn := s.histName()
	p, err := tx.Get(ctx, hn.String())
	if errors.Is(err, kdb.ErrNotFound) {
		ks := []krb5x.KeySalt{{Enctype: s.Params.MasterKeyEnctype}}
		spec := PrincipalSpec{Name: hn, Mask: MaskMaxLife | MaskAttributes, MaxLife: int32(kdb.AttrDisallowAllTix)}
		if err := s.createPrincipal(ctx, tx, spec, KeysRandom, "", ks); err != nil {
			return nil, fmt.Errorf("create %s: %w", hn, err)
		}
		if _, err := s.randomize(ctx, tx, hn, false, ks); err != nil {
			return nil, fmt.Errorf("create %s: %w", hn, err)
		}
		p, err = tx.Get(ctx, hn.String())
	}
	if err != nil {
		return nil, err
	}
	h := &history{kvno: p.MaxKVNO()}
	for _, kd := range p.KeyData {
		if kd.KVNO != h.kvno {
			continue
		}
		k, err := s.MKeys.UnsealKey(p, kd)
		if err != nil {
			return nil, err
		}
		h.keys = append(h.keys, k)
	}
	if len(h.keys) == 0 {
		return nil, fmt.Errorf("%s has no keys", hn)
	}
	return h, nil
}

// historyEntry re-encrypts p's current (highest-kvno) keys in the history
// key, as create_history_entry does.
func (s *Server) historyEntry(p *kdb.Principal, h *history) ([]kdb.KeyData, error) {
	if len(p.KeyData) == 0 {
		return nil, nil
	}
	sorted := p.Clone()
	sorted.SortKeys()
	top := sorted.KeyData[0].KVNO
	var out []kdb.KeyData
	for _, kd := range sorted.KeyData {
		if kd.KVNO < top {
			break
		}
		k, err := s.MKeys.UnsealKey(p, kd)
		if err != nil {
			return nil, err
		}
		hk := kdb.MasterKey{KVNO: h.kvno, Key: h.keys[0]}
		sealed, err := kdb.SealKey(hk, k, kd.KVNO, kd.Salted(), kd.Salt)
		if err != nil {
			return nil, err
		}
		out = append(out, sealed)
	}
	return out, nil
}

// checkReuse fails with ErrPassReuse when one of p's new keys equals a key
// in the history entries (check_pw_reuse).
func (s *Server) checkReuse(p *kdb.Principal, mk kdb.MasterKey, h *history, entries [][]kdb.KeyData) error {
	top := p.MaxKVNO()
	for _, kd := range p.KeyData {
		if kd.KVNO != top {
			continue
		}
		k, err := s.MKeys.UnsealKey(p, kd)
		if err != nil {
			return err
		}
		for _, entry := range entries {
			for _, old := range entry {
				for _, hk := range h.keys {
					ok, err := kdb.UnsealWith(kdb.MasterKey{KVNO: h.kvno, Key: hk}, old)
					if err != nil {
						continue
					}
					if ok.KeyType == k.KeyType && subtle.ConstantTimeCompare(ok.KeyValue, k.KeyValue) == 1 {
						return ErrPassReuse
					}
				}
			}
		}
	}
	return nil
}

// addToHistory stores entry in the principal's ring of pw_history_num - 1
// old key sets, as add_to_history does.
func addToHistory(ad *kdb.KadmData, pol *kdb.Policy, histKVNO uint16, entry []kdb.KeyData) {
	nhist := int(pol.PwHistoryNum)
	if ad.AdminHistoryKVNO != uint32(histKVNO) {
		ad.OldKeys, ad.OldKeyNext, ad.AdminHistoryKVNO = nil, 0, uint32(histKVNO)
	}
	nkeys := len(ad.OldKeys)
	knext := int(ad.OldKeyNext)
	switch {
	case nkeys+1 < nhist:
		ad.OldKeys = append(ad.OldKeys, nil)
		nkeys++
		for i := nkeys - 1; i > knext; i-- {
			ad.OldKeys[i] = ad.OldKeys[i-1]
		}
		ad.OldKeys[knext] = nil
	case nkeys+1 > nhist:
		tmp := make([][]kdb.KeyData, nhist-1)
		for i := range tmp {
			tmp[i] = ad.OldKeys[(i+nkeys+knext-(nhist-1))%nkeys]
		}
		ad.OldKeys = tmp
		nkeys, knext = nhist-1, 0
		ad.OldKeyNext = 0
	}
	if knext+1 > nkeys {
		knext = 0
		ad.OldKeyNext = 0
	}
	ad.OldKeys[knext] = entry
	ad.OldKeyNext++
	if int(ad.OldKeyNext) == nhist-1 {
		ad.OldKeyNext = 0
	}
}

// AddRandomKeys adds new random keys at the next kvno and keeps the
// previous kvno's keys, as kdb5_util ark (krb5_dbe_ark) does: the new keys
// are encrypted in the master key that already protects the principal,
// REQUIRES_PWCHANGE is cleared and the password change time set; nothing
// else of the entry changes.
func (s *Server) AddRandomKeys(ctx context.Context, name kdb.Name, keysalts []krb5x.KeySalt) error {
	if len(keysalts) == 0 {
		keysalts = s.Params.KeySalts
	}
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		p, err := tx.Get(ctx, name.String())
		if errors.Is(err, kdb.ErrNotFound) {
			return fmt.Errorf("%s: %w", name, ErrUnknownPrinc)
		}
		if err != nil {
			return err
		}
		mk, err := s.MKeys.For(p)
		if err != nil {
			return err
		}
		if err := s.rekey(p, mk, func(kvno uint16) ([]kdb.KeyData, error) { return randomKeys(mk, keysalts, kvno) }, keepLast); err != nil {
			return err
		}
		p.Attributes &^= kdb.AttrRequiresPwChange
		p.SetLastPwdChange(s.now())
		return tx.Put(ctx, p)
	})
}
