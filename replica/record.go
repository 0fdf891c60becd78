package replica

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// ProtocolVersion is the version of the delivery format (PROTOCOL.md).
const ProtocolVersion = 1

// Header describes one delivery: the first line of an apply's input.
type Header struct {
	Version     int       `json:"version"`
	Replica     string    `json:"replica"`
	UUID        string    `json:"uuid"`
	Realm       string    `json:"realm"`
	Seq         uint64    `json:"seq"`
	PrevSeq     uint64    `json:"prev_seq"`
	Reinit      bool      `json:"reinit"`
	IncludeKeys bool      `json:"include_keys"`
	Time        time.Time `json:"time"`
}

// Op is what happened to a principal or policy.
type Op string

// The changes a delivery carries (PROTOCOL.md, "Changes").
const (
	PolicyAdd              Op = "policy_add"
	PolicyReplace          Op = "policy_replace"
	PolicyDelete           Op = "policy_delete"
	PrincipalAdd           Op = "principal_add"
	PrincipalReplace       Op = "principal_replace"
	PrincipalAddKeyVersion Op = "principal_add_key_version"
	PrincipalDelete        Op = "principal_delete"
)

// Part names a group of a principal's fields that a replace changed.
type Part string

// The parts, in the order a Change lists them.
const (
	PartAttributes   Part = "attributes"
	PartLifetimes    Part = "lifetimes"
	PartExpiration   Part = "expiration"
	PartPwExpiration Part = "pw_expiration"
	PartPolicy       Part = "policy"
	PartKeys         Part = "keys"
	PartTLData       Part = "tl_data"
)

// Change is one line of a delivery.
type Change struct {
	Op   Op     `json:"op"`
	Name string `json:"name"`
	// Parts lists what a replace or key version add changed.
	Parts []Part `json:"parts,omitempty"`
	// OldKVNO is the highest key version before a key version add.
	OldKVNO   int        `json:"old_kvno,omitempty"`
	Principal *Principal `json:"principal,omitempty"`
	Policy    *Policy    `json:"policy,omitempty"`
}

// Principal is a principal as a plugin sees it.
type Principal struct {
	Name             string     `json:"name"`
	Flags            []string   `json:"flags"`
	Attributes       uint32     `json:"attributes"`
	MaxLife          int32      `json:"max_life"`
	MaxRenewableLife int32      `json:"max_renewable_life"`
	Expiration       *time.Time `json:"expiration"`
	PwExpiration     *time.Time `json:"pw_expiration"`
	Policy           *string    `json:"policy"`
	LastPwdChange    *time.Time `json:"last_pwd_change"`
	ModTime          *time.Time `json:"mod_time"`
	ModPrinc         *string    `json:"mod_princ"`
	KVNO             int        `json:"kvno"`
	Keys             []Key      `json:"keys"`
}

// Key is one of a principal's keys. Key and SaltValue are set only for a
// replica configured with include_keys.
type Key struct {
	KVNO    int    `json:"kvno"`
	Enctype string `json:"enctype"`
	Salt    string `json:"salt"`
	// Key is the key, decrypted, in hex.
	Key string `json:"key,omitempty"`
	// SaltValue is an explicit salt, in hex.
	SaltValue string `json:"salt_value,omitempty"`
}

// Policy is a password policy as a plugin sees it.
type Policy struct {
	Name              string  `json:"name"`
	PwMinLife         uint32  `json:"pw_min_life"`
	PwMaxLife         uint32  `json:"pw_max_life"`
	PwMinLength       uint32  `json:"pw_min_length"`
	PwMinClasses      uint32  `json:"pw_min_classes"`
	PwHistoryNum      uint32  `json:"pw_history_num"`
	PwMaxFail         uint32  `json:"pw_max_fail"`
	PwFailcntInterval uint32  `json:"pw_failcnt_interval"`
	PwLockoutDuration uint32  `json:"pw_lockout_duration"`
	Attributes        uint32  `json:"attributes"`
	MaxLife           uint32  `json:"max_life"`
	MaxRenewableLife  uint32  `json:"max_renewable_life"`
	AllowedKeysalts   *string `json:"allowed_keysalts"`
}

// timeOrNil is a KDB timestamp as a plugin sees it: 0 is "never".
func timeOrNil(t uint32) *time.Time {
	if t == 0 {
		return nil
	}
	v := time.Unix(int64(t), 0).UTC()
	return &v
}

func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// principalRecord turns a database entry into what a plugin sees. With
// mkeys it decrypts the keys into the record; the caller must then keep
// the record off disk and out of logs.
func principalRecord(p *kdb.Principal, mkeys *kdb.MasterKeys) (*Principal, error) {
	r := &Principal{
		Name: p.Name.String(), Flags: kdb.AttrStrings(p.Attributes), Attributes: p.Attributes,
		MaxLife: p.MaxLife, MaxRenewableLife: p.MaxRenewableLife,
		Expiration: timeOrNil(p.Expiration), PwExpiration: timeOrNil(p.PwExpiration),
		LastPwdChange: timeOrNil(p.LastPwdChange()), KVNO: int(p.MaxKVNO()),
		Keys: make([]Key, 0, len(p.KeyData)),
	}
	if r.Flags == nil {
		r.Flags = []string{}
	}
	if kd, ok, err := p.KadmData(); err == nil && ok {
		r.Policy = stringOrNil(kd.Policy)
	}
	if t, who, ok := p.ModPrinc(); ok {
		r.ModTime, r.ModPrinc = timeOrNil(t), stringOrNil(who)
	}
	sorted := p.Clone()
	sorted.SortKeys()
	for _, kd := range sorted.KeyData {
		k := Key{KVNO: int(kd.KVNO), Enctype: krb5x.EnctypeName(int32(kd.Enctype)), Salt: krb5x.SaltTypeName(kd.Salted())}
		if mkeys != nil {
			key, err := mkeys.UnsealKey(p, kd)
			if err != nil {
				return nil, fmt.Errorf("decrypt key %d (kvno %d) of %s: %w", kd.Enctype, kd.KVNO, r.Name, err)
			}
			k.Key = hex.EncodeToString(key.KeyValue)
			if kd.Version >= 2 && len(kd.Salt) > 0 {
				k.SaltValue = hex.EncodeToString(kd.Salt)
			}
		}
		r.Keys = append(r.Keys, k)
	}
	return r, nil
}

// policyRecord turns a stored policy into what a plugin sees.
func policyRecord(p *kdb.Policy) *Policy {
	return &Policy{
		Name: p.Name, PwMinLife: p.PwMinLife, PwMaxLife: p.PwMaxLife, PwMinLength: p.PwMinLength,
		PwMinClasses: p.PwMinClasses, PwHistoryNum: p.PwHistoryNum, PwMaxFail: p.PwMaxFail,
		PwFailcntInterval: p.PwFailcntInterval, PwLockoutDuration: p.PwLockoutDuration,
		Attributes: p.Attributes, MaxLife: p.MaxLife, MaxRenewableLife: p.MaxRenewableLife,
		AllowedKeysalts: stringOrNil(p.AllowedKeysalts),
	}
}
