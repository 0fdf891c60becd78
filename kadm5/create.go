package kadm5

import (
	"context"
	"fmt"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// Lifetimes kadm5_create gives the kadmin service principals.
const (
	adminLifetime    = 3 * 60 * 60
	changepwLifetime = 5 * 60
)

// CreateRealm fills a new, empty database with exactly the principals MIT
// 1.20's kdb5_util create makes (spec §4): K/M holding the master key in
// itself, krbtgt/REALM with random keys, both recorded as made by
// db_creation@REALM, then kadmin/admin and kadmin/changepw made through the
// kadm5 rules as kdb5_util@REALM.
func CreateRealm(ctx context.Context, store *kdb.Store, params RealmParams, mkeyName kdb.Name, mk kdb.MasterKey, now func() time.Time) error {
	realm := params.Realm
	creator := kdb.Name{Components: []string{"db_creation"}, Realm: realm}.String()
	t := kdb.Unix(now())

	km := &kdb.Principal{Name: mkeyName, Attributes: params.Flags | kdb.AttrDisallowAllTix | kdb.AttrLockdownKeys,
		MaxLife: params.MaxLife, MaxRenewableLife: params.MaxRenewableLife, Expiration: params.Expiration}
	km.SetModPrinc(t, creator)
	kd, err := kdb.SealKey(mk, mk.Key, mk.KVNO, krb5x.SaltNormal, nil)
	if err != nil {
		return err
	}
	km.KeyData = []kdb.KeyData{kd}
	// Activation time 0: "earliest possible time in case system clock is
	// set back", as MIT says.
	km.SetActKVNOs([]kdb.ActKVNO{{KVNO: mk.KVNO, ActivTime: 0}})
	km.SetMKVNO(mk.KVNO)

	tgt := &kdb.Principal{Name: kdb.Name{Components: []string{"krbtgt", realm}, Realm: realm},
		Attributes: params.Flags | kdb.AttrLockdownKeys, MaxLife: params.MaxLife,
		MaxRenewableLife: params.MaxRenewableLife, Expiration: params.Expiration}
	tgt.SetModPrinc(t, creator)
	if tgt.KeyData, err = randomKeys(mk, params.KeySalts, 1); err != nil {
		return err
	}
	err = store.Update(ctx, func(tx *kdb.Tx) error {
		if err := tx.Insert(ctx, km); err != nil {
			return err
		}
		return tx.Insert(ctx, tgt)
	})
	if err != nil {
		return fmt.Errorf("while adding entries to the database: %w", err)
	}

	mkeys, err := kdb.LoadMasterKeys(km, mk)
	if err != nil {
		return err
	}
	srv := &Server{Store: store, MKeys: mkeys, Params: params,
		Caller: kdb.Name{Components: []string{"kdb5_util"}, Realm: realm}.String(), Now: now}
	for _, a := range []struct {
		name  string
		attrs uint32
		life  int32
	}{
		{"admin", kdb.AttrDisallowTGTBased | kdb.AttrLockdownKeys, adminLifetime},
		{"changepw", kdb.AttrDisallowTGTBased | kdb.AttrPwChangeService | kdb.AttrLockdownKeys, changepwLifetime},
	} {
		spec := PrincipalSpec{Name: kdb.Name{Components: []string{"kadmin", a.name}, Realm: realm},
			Mask: MaskAttributes | MaskMaxLife, Attributes: a.attrs, MaxLife: a.life}
		if err := srv.CreatePrincipal(ctx, spec, KeysRandom, "", nil); err != nil {
			return fmt.Errorf("while creating principal %s: %w", spec.Name, err)
		}
	}
	return nil
}
