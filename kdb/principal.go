// Package kdb is the Kerberos principal database: principal and policy
// records with every field MIT's KDB keeps, the SQLite store they live in,
// the master key and its stash file, and key encryption at rest exactly as
// MIT does it, so that dumps and stash files move between MIT and krb5prop
// hosts unchanged. It knows nothing of the network.
package kdb

import (
	"sort"
)

// Principal is one database entry (MIT krb5_db_entry). Integer widths and
// signedness follow MIT so values survive a dump and load unchanged.
type Principal struct {
	Name             Name
	Attributes       uint32
	MaxLife          int32 // seconds
	MaxRenewableLife int32 // seconds
	Expiration       uint32
	PwExpiration     uint32
	// LastSuccess, LastFailed and FailAuthCount are the lockout fields.
	// The KDC's live updates to them live in a separate store; see
	// Store.Lockout.
	LastSuccess   uint32
	LastFailed    uint32
	FailAuthCount uint32
	// TLData is kept in stored order: MIT prepends new types and replaces
	// existing ones in place, and dumps preserve that order.
	TLData  []TLData
	KeyData []KeyData
}

// TLData is one tagged-data item (MIT krb5_tl_data).
type TLData struct {
	Type     int16
	Contents []byte
}

// KeyData is one key (MIT krb5_key_data). Element 0 holds the enctype and
// the key encrypted in a master key; element 1, present only when Version
// is 2, holds the salt type and explicit salt.
type KeyData struct {
	Version  int16
	KVNO     uint16
	Enctype  int16
	Contents []byte
	SaltType int16
	Salt     []byte
}

// Salted reports the key's salt type, treating version-1 keys as normal
// salt as MIT does.
func (k KeyData) Salted() int16 {
	if k.Version < 2 {
		return 0
	}
	return k.SaltType
}

// Clone returns a deep copy, so callers can change it without touching
// data shared with a cache.
func (p *Principal) Clone() *Principal {
	c := *p
	c.Name.Components = append([]string(nil), p.Name.Components...)
	c.TLData = make([]TLData, len(p.TLData))
	for i, t := range p.TLData {
		c.TLData[i] = TLData{t.Type, append([]byte(nil), t.Contents...)}
	}
	c.KeyData = make([]KeyData, len(p.KeyData))
	for i, k := range p.KeyData {
		k.Contents = append([]byte(nil), k.Contents...)
		k.Salt = append([]byte(nil), k.Salt...)
		c.KeyData[i] = k
	}
	return &c
}

// SortKeys orders the keys by kvno, highest first, keeping the stored order
// of keys with equal kvno: the order MIT's dumper writes them in.
func (p *Principal) SortKeys() {
	sort.SliceStable(p.KeyData, func(i, j int) bool { return p.KeyData[i].KVNO > p.KeyData[j].KVNO })
}

// MaxKVNO returns the highest key version number, or 0 with no keys.
func (p *Principal) MaxKVNO() uint16 {
	var m uint16
	for _, k := range p.KeyData {
		if k.KVNO > m {
			m = k.KVNO
		}
	}
	return m
}

// Policy is a password policy (MIT osa_policy_ent_rec). AllowedKeysalts is
// empty when unset.
type Policy struct {
	Name              string
	PwMinLife         uint32
	PwMaxLife         uint32
	PwMinLength       uint32
	PwMinClasses      uint32
	PwHistoryNum      uint32
	PwMaxFail         uint32
	PwFailcntInterval uint32
	PwLockoutDuration uint32
	Attributes        uint32
	MaxLife           uint32
	MaxRenewableLife  uint32
	AllowedKeysalts   string
	TLData            []TLData
}
