package propagation

import (
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// KeytabKeys is kpropd's key lookup over keytab entries: MIT's krb5_rd_req
// with an explicit server principal (kpropd's host/<hostname>) fetches
// the acceptor's own entry with the ticket's key version and enctype
// (try_one_princ and keytab_fetch_error in rd_req_dec.c). No entry of the
// acceptor with that enctype is ErrNoKey (45); the acceptor with that
// enctype but another key version is ErrKeyVersion (44), or ErrNotUs (35)
// when the ticket names another server; a ticket for another server is
// ErrNotUs. Key version 0 selects the highest.
func KeytabKeys(entries []keytab.Entry, acceptor keytab.Principal) KeyLookup {
	return func(sname []string, realm string, kvno uint32, etype int32) (types.EncryptionKey, error) {
		ticketServer := keytab.Principal{Components: sname, Realm: realm}
		var best *keytab.Entry
		found := false
		for i := range entries {
			e := &entries[i]
			if !e.Principal.Equal(acceptor) || e.Key.KeyType != etype {
				continue
			}
			found = true
			if kvno == 0 {
				if best == nil || e.KVNO > best.KVNO {
					best = e
				}
			} else if e.KVNO == kvno {
				best = e
			}
		}
		switch {
		case !found:
			return types.EncryptionKey{}, krb5x.ErrNoKey
		case best == nil && ticketServer.Equal(acceptor):
			return types.EncryptionKey{}, krb5x.ErrKeyVersion
		case best == nil, !ticketServer.Equal(acceptor):
			return types.EncryptionKey{}, krb5x.ErrNotUs
		}
		return best.Key, nil
	}
}
