package kadm5

import (
	"context"
	"math"

	"github.com/krb5prop/krb5prop/kdb"
)

// PurgeAll is the keepKVNO of "purgekeys -all": every key is older.
const PurgeAll = math.MaxInt32

// PurgeKeys removes the keys with a kvno below keepKVNO, as
// kadm5_purgekeys does. A keepKVNO of zero or less keeps the kvno of the
// first stored key (krb5_db_get_key_data_kvno), which is the newest since
// new keys are stored first.
func (s *Server) PurgeKeys(ctx context.Context, name kdb.Name, keepKVNO int) error {
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		p, ad, err := getAdmin(ctx, tx, name)
		if err != nil {
			return err
		}
		if keepKVNO <= 0 {
			keepKVNO = 0
			if len(p.KeyData) > 0 {
				keepKVNO = int(p.KeyData[0].KVNO)
			}
		}
		kept := p.KeyData[:0:0]
		for _, kd := range p.KeyData {
			if int(kd.KVNO) >= keepKVNO {
				kept = append(kept, kd)
			}
		}
		p.KeyData = kept
		return s.putAdmin(ctx, tx, p, ad)
	})
}
