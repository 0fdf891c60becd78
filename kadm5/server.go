// Package kadm5 administers principals and policies in a kdb.Store with the
// semantics of MIT's kadm5 server library (src/lib/kadm5/srv): the defaults
// a new principal gets, how keys are made and kept, the tl-data MIT records
// and in which order, password policies and history. kadmin and kdb5util
// create both build on it, so what they write matches MIT's byte for byte.
package kadm5

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// RealmParams are the kdc.conf settings kadm5 applies to new principals.
type RealmParams struct {
	Realm            string
	MaxLife          int32 // seconds
	MaxRenewableLife int32
	Expiration       uint32
	Flags            uint32 // default_principal_flags
	KeySalts         []krb5x.KeySalt
	MasterKeyEnctype int32 // enctype of new kadmin/history keys
}

// Server performs administrative operations on one realm's database.
type Server struct {
	Store  *kdb.Store
	MKeys  *kdb.MasterKeys
	Params RealmParams
	// Caller is the unparsed name recorded as modifier in MOD_PRINC.
	Caller string
	// Now returns the current time; tests pin it.
	Now func() time.Time
}

func (s *Server) now() uint32 {
	if s.Now == nil {
		return kdb.Unix(time.Now())
	}
	return kdb.Unix(s.Now())
}

func (s *Server) nowTime() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// histName is kadmin/history@REALM, the principal whose key encrypts
// password history.
func (s *Server) histName() kdb.Name {
	return kdb.Name{Components: []string{"kadmin", "history"}, Realm: s.Params.Realm}
}

// Mask says which fields of a PrincipalSpec or PolicySpec are set.
type Mask uint32

// Field bits of Mask (a subset of MIT's KADM5_* masks).
const (
	MaskAttributes Mask = 1 << iota
	MaskMaxLife
	MaskMaxRenewableLife
	MaskExpiration
	MaskPwExpiration
	MaskPolicy
	MaskPolicyClear
	MaskKVNO
	MaskFailAuthCount
)

// PrincipalSpec carries what an addprinc or modprinc sets.
type PrincipalSpec struct {
	Name             kdb.Name
	Mask             Mask
	Attributes       uint32
	MaxLife          int32
	MaxRenewableLife int32
	Expiration       uint32
	PwExpiration     uint32
	Policy           string
	KVNO             uint16
}

// KeyMode says how CreatePrincipal makes keys.
type KeyMode int

// Key modes of CreatePrincipal.
const (
	KeysFromPassword KeyMode = iota
	KeysRandom
	KeysNone
)

// getAdmin returns the principal and its kadm5 data, defaulted as
// kdb_get_entry does when the entry has none.
func getAdmin(ctx context.Context, tx *kdb.Tx, name kdb.Name) (*kdb.Principal, kdb.KadmData, error) {
	p, err := tx.Get(ctx, name.String())
	if errors.Is(err, kdb.ErrNotFound) {
		return nil, kdb.KadmData{}, fmt.Errorf("%s: %w", name, ErrUnknownPrinc)
	}
	if err != nil {
		return nil, kdb.KadmData{}, err
	}
	ad, ok, err := p.KadmData()
	if err != nil {
		return nil, ad, fmt.Errorf("%s: %w", name, err)
	}
	if !ok {
		ad = kdb.KadmData{AdminHistoryKVNO: initialHistKVNO}
	}
	return p, ad, nil
}

// initialHistKVNO is INITIAL_HIST_KVNO: new entries name kvno 2 of the
// history key, matching the kvno create_hist gives it.
const initialHistKVNO = 2

// putAdmin stores p as kdb_put_entry does: MOD_PRINC (now, caller), then
// KADM_DATA, each via update-in-place-or-prepend, which yields MIT's
// tl-data order.
func (s *Server) putAdmin(ctx context.Context, tx *kdb.Tx, p *kdb.Principal, ad kdb.KadmData) error {
	p.SetModPrinc(s.now(), s.Caller)
	p.SetKadmData(ad)
	return tx.Put(ctx, p)
}

func getPolicyOpt(ctx context.Context, tx *kdb.Tx, name string) (*kdb.Policy, error) {
	if name == "" {
		return nil, nil
	}
	pol, err := tx.GetPolicy(ctx, name)
	if errors.Is(err, kdb.ErrPolicyMissing) {
		return nil, nil
	}
	return pol, err
}

// applyKeysaltPolicy picks the key/salt list for new keys as
// apply_keysalt_policy does: the request, else supported_enctypes; with a
// policy's allowed_keysalts, the request must lie within it and takes the
// policy's order.
func (s *Server) applyKeysaltPolicy(pol *kdb.Policy, req []krb5x.KeySalt) ([]krb5x.KeySalt, error) {
	if pol == nil || pol.AllowedKeysalts == "" {
		if len(req) == 0 {
			return s.Params.KeySalts, nil
		}
		return req, nil
	}
	allowed, err := krb5x.ParseKeySalts(pol.AllowedKeysalts)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", pol.Name, err)
	}
	if len(req) == 0 {
		return allowed, nil
	}
	for _, r := range req {
		if !containsKS(allowed, r) {
			return nil, ErrBadKeysalts
		}
	}
	var out []krb5x.KeySalt
	for _, a := range allowed {
		if containsKS(req, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func containsKS(list []krb5x.KeySalt, k krb5x.KeySalt) bool {
	for _, l := range list {
		if l == k {
			return true
		}
	}
	return false
}

// CreatePrincipal adds a principal as kadm5_create_principal_3 does.
func (s *Server) CreatePrincipal(ctx context.Context, spec PrincipalSpec, mode KeyMode, password string, keysalts []krb5x.KeySalt) error {
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		return s.createPrincipal(ctx, tx, spec, mode, password, keysalts)
	})
}

func (s *Server) createPrincipal(ctx context.Context, tx *kdb.Tx, spec PrincipalSpec, mode KeyMode, password string, keysalts []krb5x.KeySalt) error {
	if _, err := tx.Get(ctx, spec.Name.String()); err == nil {
		return fmt.Errorf("%s: %w", spec.Name, ErrDup)
	} else if !errors.Is(err, kdb.ErrNotFound) {
		return err
	}
	var pol *kdb.Policy
	if spec.Mask&MaskPolicy != 0 {
		var err error
		if pol, err = getPolicyOpt(ctx, tx, spec.Policy); err != nil {
			return err
		}
	}
	if mode == KeysFromPassword {
		if err := passwdCheck(password, pol, spec.Name); err != nil {
			return err
		}
	}
	now := s.now()
	p := &kdb.Principal{Name: spec.Name, Attributes: s.Params.Flags, MaxLife: s.Params.MaxLife,
		MaxRenewableLife: s.Params.MaxRenewableLife, Expiration: s.Params.Expiration}
	if spec.Mask&MaskAttributes != 0 {
		p.Attributes = spec.Attributes
	}
	if spec.Mask&MaskMaxLife != 0 {
		p.MaxLife = spec.MaxLife
	}
	if spec.Mask&MaskMaxRenewableLife != 0 {
		p.MaxRenewableLife = spec.MaxRenewableLife
	}
	if spec.Mask&MaskExpiration != 0 {
		p.Expiration = spec.Expiration
	}
	if spec.Mask&MaskPwExpiration != 0 {
		p.PwExpiration = spec.PwExpiration
	} else if pol != nil && pol.PwMaxLife != 0 {
		p.PwExpiration = now + pol.PwMaxLife
	}
	p.SetLastPwdChange(now)
	ks, err := s.applyKeysaltPolicy(pol, keysalts)
	if err != nil {
		return err
	}
	mk, err := s.MKeys.Active(s.nowTime())
	if err != nil {
		return err
	}
	kvno := uint16(1)
	if spec.Mask&MaskKVNO != 0 {
		kvno = spec.KVNO
	}
	switch mode {
	case KeysFromPassword:
		p.KeyData, err = passwordKeys(mk, p.Name, password, ks, kvno)
	case KeysRandom:
		p.KeyData, err = randomKeys(mk, ks, kvno)
	}
	if err != nil {
		return err
	}
	p.SetMKVNO(mk.KVNO)
	ad := kdb.KadmData{AdminHistoryKVNO: initialHistKVNO}
	if spec.Mask&MaskPolicy != 0 {
		ad.AuxAttributes = kdb.AuxPolicy
		ad.Policy = spec.Policy
	}
	return s.putAdmin(ctx, tx, p, ad)
}

// ModifyPrincipal changes the fields spec.Mask names, as
// kadm5_modify_principal does.
func (s *Server) ModifyPrincipal(ctx context.Context, spec PrincipalSpec) error {
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		p, ad, err := getAdmin(ctx, tx, spec.Name)
		if err != nil {
			return err
		}
		var pol *kdb.Policy
		if spec.Mask&MaskPolicy != 0 {
			if pol, err = getPolicyOpt(ctx, tx, spec.Policy); err != nil {
				return err
			}
			ad.AuxAttributes |= kdb.AuxPolicy
			ad.Policy = spec.Policy
		}
		if spec.Mask&MaskPwExpiration != 0 {
			p.PwExpiration = spec.PwExpiration
		} else if pol != nil {
			p.PwExpiration = 0
			if pol.PwMaxLife != 0 {
				p.PwExpiration = p.LastPwdChange() + pol.PwMaxLife
			}
		}
		if spec.Mask&MaskPolicyClear != 0 && ad.AuxAttributes&kdb.AuxPolicy != 0 {
			ad.Policy = ""
			ad.AuxAttributes &^= kdb.AuxPolicy
			p.PwExpiration = 0
		}
		if spec.Mask&MaskAttributes != 0 {
			p.Attributes = spec.Attributes
		}
		if spec.Mask&MaskMaxLife != 0 {
			p.MaxLife = spec.MaxLife
		}
		if spec.Mask&MaskExpiration != 0 {
			p.Expiration = spec.Expiration
		}
		if spec.Mask&MaskMaxRenewableLife != 0 {
			p.MaxRenewableLife = spec.MaxRenewableLife
		}
		if spec.Mask&MaskKVNO != 0 {
			for i := range p.KeyData {
				p.KeyData[i].KVNO = spec.KVNO
			}
		}
		if spec.Mask&MaskFailAuthCount != 0 {
			// modprinc -unlock; no other value can be set (MIT returns
			// KADM5_BAD_SERVER_PARAMS). kadmin also records the time of
			// the unlock in KRB5_TL_LAST_ADMIN_UNLOCK, so KDCs holding
			// older failure counts ignore failures before it.
			p.FailAuthCount = 0
			p.SetTL(kdb.TLLastAdminUnlock, binary.LittleEndian.AppendUint32(nil, s.now()))
		}
		return s.putAdmin(ctx, tx, p, ad)
	})
}

// DeletePrincipal removes a principal.
func (s *Server) DeletePrincipal(ctx context.Context, name kdb.Name) error {
	// Deleting K/M is mostly unrecoverable, so MIT refuses it.
	if s.MKeys != nil && name.Equal(s.MKeys.Name) {
		return ErrProtectPrinc
	}
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		err := tx.Delete(ctx, name.String())
		if errors.Is(err, kdb.ErrNotFound) {
			return fmt.Errorf("%s: %w", name, ErrUnknownPrinc)
		}
		return err
	})
}

// RenamePrincipal renames a principal as krb5_db_def_rename_principal does:
// salts are first stored explicitly, so password keys stay valid under the
// new name.
func (s *Server) RenamePrincipal(ctx context.Context, from, to kdb.Name) error {
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		if _, err := tx.Get(ctx, to.String()); err == nil {
			return fmt.Errorf("%s: %w", to, ErrDup)
		}
		p, _, err := getAdmin(ctx, tx, from)
		if err != nil {
			return err
		}
		for i, kd := range p.KeyData {
			_, salt, err := kdb.KeySaltOf(p.Name, kd)
			if err != nil {
				return fmt.Errorf("%s: %w", from, err)
			}
			kd.Version, kd.SaltType, kd.Salt = 2, krb5x.SaltSpecial, []byte(salt)
			p.KeyData[i] = kd
		}
		if err := tx.Delete(ctx, from.String()); err != nil {
			return err
		}
		p.Name = to
		return tx.Put(ctx, p)
	})
}

// GetPrincipal returns a principal.
func (s *Server) GetPrincipal(ctx context.Context, name kdb.Name) (*kdb.Principal, error) {
	p, err := s.Store.Get(ctx, name.String())
	if errors.Is(err, kdb.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", name, ErrUnknownPrinc)
	}
	return p, err
}
