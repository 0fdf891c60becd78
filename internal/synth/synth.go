// Package synth makes synthetic realms of any size, written as MIT dumps,
// for tests and benchmarks that need many principals: the master key comes
// from a password so MIT's tools and ours can open the realm, and every key
// is a real random key encrypted in it, as kdb5_util create and kadmin
// would store it.
package synth

import (
	"fmt"
	"io"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdb/dump"
)

// Realm describes a synthetic realm.
type Realm struct {
	Name           string
	MasterPassword string
	// Users is the number of user principals, user00000000 upwards.
	Users int
	// Generation is stamped into every user principal (as its
	// max_renewable_life), so a reader can tell which dump a record came
	// from.
	Generation int32
}

// UserName is the unparsed name of user i.
func (r Realm) UserName(i int) string { return fmt.Sprintf("user%08d@%s", i, r.Name) }

// WriteDump writes the realm as a version 7 dump, principals in the
// bytewise name order MIT's dumps use.
func WriteDump(w io.Writer, r Realm) error {
	dw, err := dump.NewWriter(w, dump.Version7, nil)
	if err != nil {
		return err
	}
	mkName := kdb.Name{Components: []string{"K", "M"}, Realm: r.Name}
	mkey, err := kdb.DeriveMasterKey(r.MasterPassword, mkName, krb5x.EnctypeAES256CTSHMACSHA196)
	if err != nil {
		return err
	}
	mk := kdb.MasterKey{KVNO: 1, Key: mkey}
	const when = 1700000000
	creator := "db_creation@" + r.Name
	km := &kdb.Principal{Name: mkName, Attributes: kdb.AttrDisallowAllTix | kdb.AttrLockdownKeys | kdb.AttrRequiresPreAuth, MaxLife: 36000}
	km.SetModPrinc(when, creator)
	if km.KeyData, err = sealAll(mk, 1, mkey); err != nil {
		return err
	}
	km.SetActKVNOs([]kdb.ActKVNO{{KVNO: 1}})
	km.SetMKVNO(1)
	fixed := []*kdb.Principal{km}
	for _, svc := range []struct {
		comps []string
		attrs uint32
		life  int32
	}{
		{[]string{"kadmin", "admin"}, 0x800004, 10800},
		{[]string{"kadmin", "changepw"}, 0x802004, 300},
		{[]string{"krbtgt", r.Name}, 0x800080, 36000},
	} {
		p := &kdb.Principal{Name: kdb.Name{Components: svc.comps, Realm: r.Name}, Attributes: svc.attrs,
			MaxLife: svc.life, MaxRenewableLife: 604800}
		stampAdmin(p, when, creator)
		if p.KeyData, err = randomKeys(mk); err != nil {
			return err
		}
		fixed = append(fixed, p)
	}
	for _, p := range fixed {
		if err := dw.WritePrincipal(p); err != nil {
			return err
		}
	}
	// Users share one set of sealed keys: sealing is not what is being
	// measured, and a million AES encryptions would dominate set-up.
	keys, err := randomKeys(mk)
	if err != nil {
		return err
	}
	for i := 0; i < r.Users; i++ {
		n, err := kdb.ParseName(r.UserName(i), "")
		if err != nil {
			return err
		}
		p := &kdb.Principal{Name: n, Attributes: kdb.AttrRequiresPreAuth, MaxLife: 36000, MaxRenewableLife: r.Generation,
			KeyData: keys}
		stampAdmin(p, when+uint32(i), "root/admin@"+r.Name)
		if err := dw.WritePrincipal(p); err != nil {
			return err
		}
	}
	if err := dw.WritePolicy(&kdb.Policy{Name: "default", PwMinLength: 8, PwMinClasses: 2, PwHistoryNum: 1}); err != nil {
		return err
	}
	return dw.Flush()
}

// stampAdmin adds the tl-data kadmin gives a new principal, in MIT's order.
func stampAdmin(p *kdb.Principal, when uint32, modifier string) {
	p.SetLastPwdChange(when)
	p.SetMKVNO(1)
	p.SetModPrinc(when, modifier)
	p.SetKadmData(kdb.KadmData{AdminHistoryKVNO: 2})
}

func randomKeys(mk kdb.MasterKey) ([]kdb.KeyData, error) {
	var keys []types.EncryptionKey
	for _, et := range []int32{krb5x.EnctypeAES256CTSHMACSHA196, krb5x.EnctypeAES128CTSHMACSHA196} {
		k, err := krb5x.RandomKey(et)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return sealAll(mk, 1, keys...)
}

func sealAll(mk kdb.MasterKey, kvno uint16, keys ...types.EncryptionKey) ([]kdb.KeyData, error) {
	var out []kdb.KeyData
	for _, k := range keys {
		kd, err := kdb.SealKey(mk, k, kvno, krb5x.SaltNormal, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, kd)
	}
	return out, nil
}
