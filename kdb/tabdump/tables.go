package tabdump

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// table is one report: its name, its column names and what it writes for
// one principal.
type table struct {
	name   string
	fields []string
	rows   func(rc *rowContext, name string, p *kdb.Principal) error
}

// lookup finds a table by MIT's name for it (tabdump.c tdtypes).
func lookup(name string) (table, bool) {
	switch name {
	case "keydata":
		return table{name, []string{"name", "keyindex", "kvno", "enctype", "key", "salttype", "salt"}, keydataRows}, true
	case "keyinfo":
		return table{name, []string{"name", "keyindex", "kvno", "enctype", "salttype", "salt"}, keyinfoRows}, true
	case "princ_flags":
		return table{name, []string{"name", "flag", "value"}, flagRows}, true
	case "princ_lockout":
		return table{name, []string{"name", "last_success", "last_failed", "fail_count"}, lockoutRow}, true
	case "princ_meta":
		return table{name, []string{"name", "modby", "modtime", "lastpwd", "policy", "mkvno", "hist_kvno"}, metaRow}, true
	case "princ_stringattrs":
		return table{name, []string{"name", "key", "value"}, stringAttrRows}, true
	case "princ_tktpolicy":
		return table{name, []string{"name", "expiration", "pw_expiration", "max_life", "max_renew_life"}, tktPolicyRow}, true
	}
	return table{}, false
}

// rowContext carries what every table's rows need.
type rowContext struct {
	rw   *recordWriter
	opts *Options
}

// num writes a number as MIT's "%d" does. Callers convert to the C type
// MIT prints, so that unsigned 32-bit fields above 2^31-1 come out
// negative as they do in MIT's output.
func (rc *rowContext) num(v int64) { rc.rw.field(strconv.FormatInt(v, 10)) }

// date writes a krb5_timestamp. MIT reads the 32 bits as unsigned for the
// ISO form (ts2tt, so times past 2038 print as such) and as signed for
// -n ("%d").
func (rc *rowContext) date(ts uint32) {
	if rc.opts.Numeric {
		rc.num(int64(int32(ts)))
		return
	}
	rc.rw.field(time.Unix(int64(ts), 0).UTC().Format("2006-01-02T15:04:05Z"))
}

// hexField writes binary data as lowercase hex, or "-1" when empty unless
// -e asked for an empty field.
func (rc *rowContext) hexField(b []byte) {
	if len(b) == 0 && !rc.opts.EmptyHex {
		rc.rw.field("-1")
		return
	}
	rc.rw.field(hex.EncodeToString(b))
}

func keydataRows(rc *rowContext, name string, p *kdb.Principal) error {
	return keyRows(rc, name, p, true)
}

func keyinfoRows(rc *rowContext, name string, p *kdb.Principal) error {
	return keyRows(rc, name, p, false)
}

// keyRows writes one row per key. krb5_db_iterate hands tabdump each entry
// with its keys sorted by kvno, highest first, keeping the stored order of
// equal kvnos (krb5_dbe_sort_key_data), and keyindex counts in that order.
// The sort is done on a copy: the caller's principal may be shared.
func keyRows(rc *rowContext, name string, p *kdb.Principal, withKey bool) error {
	keys := slices.Clone(p.KeyData)
	slices.SortStableFunc(keys, func(a, b kdb.KeyData) int { return cmp.Compare(b.KVNO, a.KVNO) })
	for i, k := range keys {
		rc.rw.field(name)
		rc.num(int64(i))
		rc.num(int64(k.KVNO))
		if rc.opts.Numeric {
			rc.num(int64(k.Enctype))
		} else {
			// Unknown enctypes print as their (signed 16-bit) number;
			// the single-DES types MIT 1.20 no longer supports still
			// print by name (krb5_enctype_to_name).
			rc.rw.field(krb5x.EnctypeName(int32(k.Enctype)))
		}
		if withKey {
			rc.hexField(k.Contents)
		}
		// A version-1 key has no salt element: MIT shows it as a normal
		// salt with no salt data. Any other version shows element 1 as
		// stored.
		saltType, salt := k.SaltType, k.Salt
		if k.Version == 1 {
			saltType, salt = krb5x.SaltNormal, nil
		}
		if rc.opts.Numeric {
			rc.num(int64(saltType))
		} else {
			rc.rw.field(krb5x.SaltTypeName(saltType))
		}
		rc.hexField(salt)
		rc.rw.end()
	}
	return nil
}

// flagRows writes one row per attribute bit. With -n every one of the 32
// bits gets a row, named by its mask; otherwise the bits MIT has a name
// for always get one, and the others only when set, named by their mask
// as krb5_flagnum_to_string names them.
func flagRows(rc *rowContext, name string, p *kdb.Principal) error {
	for bit := 0; bit < 32; bit++ {
		mask := uint32(1) << uint(bit)
		set := p.Attributes&mask != 0
		flag := fmt.Sprintf("0x%08x", mask)
		if !rc.opts.Numeric {
			if n := kdb.AttrName(bit); n != flag {
				flag = n
			} else if !set {
				continue
			}
		}
		rc.rw.field(name)
		rc.rw.field(flag)
		if set {
			rc.rw.field("1")
		} else {
			rc.rw.field("0")
		}
		rc.rw.end()
	}
	return nil
}

// lockoutRow writes the lockout fields; fail_auth_count is unsigned in
// MIT but printed with "%d".
func lockoutRow(rc *rowContext, name string, p *kdb.Principal) error {
	rc.rw.field(name)
	rc.date(p.LastSuccess)
	rc.date(p.LastFailed)
	rc.num(int64(int32(p.FailAuthCount)))
	rc.rw.end()
	return nil
}

func tktPolicyRow(rc *rowContext, name string, p *kdb.Principal) error {
	rc.rw.field(name)
	rc.date(p.Expiration)
	rc.date(p.PwExpiration)
	rc.num(int64(p.MaxLife))
	rc.num(int64(p.MaxRenewableLife))
	rc.rw.end()
	return nil
}

// metaRow writes the kadmin metadata. The name goes out before anything is
// looked up, and MIT's lookups fail in this order (mkvno, then the
// modifier), so a failing principal leaves its name, with no line end,
// as the last thing written, as in MIT's output.
func metaRow(rc *rowContext, name string, p *kdb.Principal) error {
	rc.rw.field(name)
	lastPwd := lastPwdChange(p)
	mkvno, err := effectiveMKVNO(p, rc.opts.LowestMKVNO)
	if err != nil {
		return err
	}
	modTime, modBy, err := modPrinc(p, rc.opts.DefaultRealm)
	if err != nil {
		return err
	}
	rc.rw.field(modBy)
	rc.date(modTime)
	rc.date(lastPwd)
	policy, histKVNO := kadmFields(p)
	rc.rw.field(policy)
	rc.num(int64(mkvno))
	rc.num(int64(int32(histKVNO)))
	rc.rw.end()
	return nil
}

func stringAttrRows(rc *rowContext, name string, p *kdb.Principal) error {
	b, _ := p.TL(kdb.TLStringAttrs)
	for {
		key, value, rest, ok := nextStringAttr(b)
		if !ok {
			return nil
		}
		rc.rw.field(name)
		rc.rw.field(key)
		rc.rw.field(value)
		rc.rw.end()
		b = rest
	}
}
