package kdc

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/crypto/md4"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// The enctypes this KDC can encrypt with: MIT 1.20's table less the
// camellia enctypes (and the raw and export variants), which krb5x does not
// implement. A key of another enctype is never chosen, as MIT never chooses
// a key it cannot use.
var usableEnctypes = []int32{
	krb5x.EnctypeAES256CTSHMACSHA196, krb5x.EnctypeAES128CTSHMACSHA196,
	krb5x.EnctypeAES256CTSHMACSHA384, krb5x.EnctypeAES128CTSHMACSHA256,
	krb5x.EnctypeDES3CBCSHA1, krb5x.EnctypeARCFOURHMAC,
}

// validEnctype is krb5_c_valid_enctype restricted to usableEnctypes.
func validEnctype(etype int32) bool { return slices.Contains(usableEnctypes, etype) }

// permitted is krb5_is_permitted_enctype: the enctype is usable and in
// the configured permitted list (all usable enctypes when unset, which is
// MIT 1.20's default permitted_enctypes).
func (h *Handler) permitted(etype int32) bool {
	if !validEnctype(etype) {
		return false
	}
	return h.PermittedEnctypes == nil || slices.Contains(h.PermittedEnctypes, etype)
}

// Key search failures of searchKey, with MIT's texts (kdb5_err.et
// KRB5_KDB_NO_MATCHING_KEY and KRB5_KDB_NO_PERMITTED_KEY).
var (
	errNoMatchingKey  = errors.New("No matching key in entry")
	errNoPermittedKey = errors.New("No matching key in entry having a permitted enctype")
)

// Special values of searchKey's arguments, as MIT's -1 and 0.
const (
	anyEnctype int32 = -1
	anyKVNO    int64 = -1
	newestKVNO int64 = 0
)

// sortedKeys returns p's keys in the order MIT's database keeps them:
// highest kvno first, stored order within a kvno.
func sortedKeys(p *kdb.Principal) []kdb.KeyData {
	keys := slices.Clone(p.KeyData)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].KVNO > keys[j].KVNO })
	return keys
}

// searchKey is MIT's krb5_dbe_def_search_enctype over keys sorted by
// sortedKeys: the first key at or after start of the enctype (anyEnctype
// for any) and kvno (anyKVNO for any, newestKVNO for the highest), skipping
// enctypes that are not permitted. It returns the key's index.
func (h *Handler) searchKey(keys []kdb.KeyData, start int, etype int32, kvno int64) (int, error) {
	if etype != anyEnctype && !h.permitted(etype) {
		return -1, errNoPermittedKey
	}
	if len(keys) == 0 {
		return -1, errNoMatchingKey
	}
	if kvno == newestKVNO {
		kvno = int64(keys[0].KVNO)
	}
	sawNonPermitted := false
	for i := start; i < len(keys); i++ {
		kd := keys[i]
		if etype != anyEnctype && int32(kd.Enctype) != etype {
			continue
		}
		if kvno >= 0 && int64(kd.KVNO) < kvno {
			break
		}
		if kvno >= 0 && int64(kd.KVNO) != kvno {
			continue
		}
		if !h.permitted(int32(kd.Enctype)) {
			sawNonPermitted = true
			continue
		}
		return i, nil
	}
	if start == 0 && sawNonPermitted {
		return -1, errNoPermittedKey
	}
	return -1, errNoMatchingKey
}

// currentKey is MIT's get_first_current_key: the first permitted key of
// the highest kvno, decrypted, and its kvno.
func (h *Handler) currentKey(ctx context.Context, p *kdb.Principal) (types.EncryptionKey, uint32, error) {
	keys := sortedKeys(p)
	i, err := h.searchKey(keys, 0, anyEnctype, newestKVNO)
	if err != nil {
		return types.EncryptionKey{}, 0, err
	}
	k, err := h.DB.UnsealKey(ctx, p, keys[i])
	return k, uint32(keys[i].KVNO), err
}

// currentKVNO is MIT's current_kvno: the kvno of the first stored key.
func currentKVNO(p *kdb.Principal) uint32 {
	keys := sortedKeys(p)
	if len(keys) == 0 {
		return 0
	}
	return uint32(keys[0].KVNO)
}

// sessionEnctype is MIT's select_session_keytype: the first requested
// enctype that is valid, permitted and supported by the server, where the
// server supports what its session_enctypes string attribute lists or,
// without one, any enctype it has a current key of.
func (h *Handler) sessionEnctype(server *kdb.Principal, requested []int32) int32 {
	var listed []int32
	for _, a := range server.StringAttrs() {
		if a.Key == "session_enctypes" {
			listed = parseEnctypeList(a.Value)
		}
	}
	keys := sortedKeys(server)
	for _, et := range requested {
		if !h.permitted(et) {
			continue
		}
		if len(listed) > 0 {
			if slices.Contains(listed, et) {
				return et
			}
			continue
		}
		if _, err := h.searchKey(keys, 0, et, newestKVNO); err == nil {
			return et
		}
	}
	return 0
}

// defaultEnctypes is MIT 1.20's default enctype list (DEFAULT in an
// enctype list).
var defaultEnctypes = []int32{
	krb5x.EnctypeAES256CTSHMACSHA196, krb5x.EnctypeAES128CTSHMACSHA196,
	krb5x.EnctypeAES256CTSHMACSHA384, krb5x.EnctypeAES128CTSHMACSHA256,
	krb5x.EnctypeDES3CBCSHA1, krb5x.EnctypeARCFOURHMAC,
	krb5x.EnctypeCamellia128CTSCMAC, krb5x.EnctypeCamellia256CTSCMAC,
}

// enctypeFamilies are the family names MIT's krb5int_parse_enctype_list
// accepts.
var enctypeFamilies = map[string][]int32{
	"aes":      {krb5x.EnctypeAES256CTSHMACSHA196, krb5x.EnctypeAES128CTSHMACSHA196, krb5x.EnctypeAES256CTSHMACSHA384, krb5x.EnctypeAES128CTSHMACSHA256},
	"aes-sha1": {krb5x.EnctypeAES256CTSHMACSHA196, krb5x.EnctypeAES128CTSHMACSHA196},
	"aes-sha2": {krb5x.EnctypeAES256CTSHMACSHA384, krb5x.EnctypeAES128CTSHMACSHA256},
	"des3":     {krb5x.EnctypeDES3CBCSHA1},
	"rc4":      {krb5x.EnctypeARCFOURHMAC},
	"camellia": {krb5x.EnctypeCamellia256CTSCMAC, krb5x.EnctypeCamellia128CTSCMAC},
}

// parseEnctypeList reads an enctype list as MIT's
// krb5int_parse_enctype_list: names, aliases, family names and DEFAULT,
// separated by spaces or commas; a "-" prefix removes, "+" or nothing adds;
// unknown names are ignored.
func parseEnctypeList(s string) []int32 {
	var out []int32
	for _, tok := range splitList(s) {
		sel := true
		if tok[0] == '+' || tok[0] == '-' {
			sel = tok[0] == '+'
			tok = tok[1:]
		}
		var list []int32
		if strings.EqualFold(tok, "DEFAULT") {
			list = defaultEnctypes
		} else if fam, ok := enctypeFamilies[strings.ToLower(tok)]; ok {
			list = fam
		} else if et, err := krb5x.EnctypeByName(tok); err == nil {
			list = []int32{et}
		} else if n, err := strconv.Atoi(tok); err == nil && n == int(int32(n)) {
			list = []int32{int32(n)}
		}
		for _, et := range list {
			if sel && !slices.Contains(out, et) {
				out = append(out, et)
			} else if !sel {
				out = slices.DeleteFunc(out, func(e int32) bool { return e == et })
			}
		}
	}
	return out
}

// splitList splits at spaces, tabs and commas, dropping empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\n' })
}

// saltOf is the salt of a client key as krb5_dbe_compute_salt makes it:
// normal, norealm and onlyrealm salts from the name, special salts as
// stored, and an empty salt for the old V4 salt type.
func saltOf(name kdb.Name, kd kdb.KeyData) (string, error) {
	if kd.Salted() == krb5x.SaltV4 {
		return "", nil
	}
	_, salt, err := kdb.KeySaltOf(name, kd)
	return salt, err
}

// deprecatedEnctypes are the enctypes MIT 1.20 flags ETYPE_DEPRECATED; its
// logs prefix their names with "DEPRECATED:".
var deprecatedEnctypes = []int32{krb5x.EnctypeDES3CBCRaw, krb5x.EnctypeDES3CBCSHA1, krb5x.EnctypeARCFOURHMAC, krb5x.EnctypeARCFOURHMACExp}

// cmsEnctypeNames are the PKINIT algorithm identifiers RFC 4556 clients
// list among their enctypes, named as MIT's enctype_name does.
var cmsEnctypeNames = map[int32]string{
	9: "id-dsa-with-sha1-CmsOID", 10: "md5WithRSAEncryption-CmsOID", 11: "sha-1WithRSAEncryption-CmsOID",
	12: "rc2-cbc-EnvOID", 13: "rsaEncryption-EnvOID", 14: "id-RSAES-OAEP-EnvOID", 15: "des-ede3-cbc-EnvOID",
}

// enctypeLogName is MIT's enctype_name (kdc_util.c): the canonical name,
// prefixed "UNSUPPORTED:" for enctypes MIT does not know and "DEPRECATED:"
// for deprecated ones; an unknown enctype has no name after the prefix.
func enctypeLogName(etype int32) string {
	prefix := ""
	if !krb5x.EnctypeKnown(etype) {
		prefix = "UNSUPPORTED:"
	} else if slices.Contains(deprecatedEnctypes, etype) {
		prefix = "DEPRECATED:"
	}
	if n, ok := cmsEnctypeNames[etype]; ok {
		return prefix + n
	}
	if !krb5x.EnctypeKnown(etype) {
		return prefix
	}
	return prefix + krb5x.EnctypeName(etype)
}

// Checksum types MIT 1.20 knows without a key (cksumtypes.c). MIT treats
// every checksum type as collision-proof, so an unkeyed checksum inside
// the encrypted authenticator is accepted for the TGS request body.
const (
	cksumRSAMD4  int32 = 2
	cksumRSAMD5  int32 = 7
	cksumNISTSHA int32 = 9
	cksumSHA1    int32 = 14
)

// knownCksumType is krb5_c_valid_cksumtype.
func knownCksumType(t int32) bool {
	switch t {
	case cksumRSAMD4, cksumRSAMD5, cksumNISTSHA, cksumSHA1, 12, 15, 16, 17, 18, 19, 20, -137, -138:
		return true
	}
	return false
}

// verifyChecksum is krb5_c_verify_checksum: an unkeyed type is the plain
// hash of data; a keyed one needs a key that suits it. A keyed checksum
// this package cannot compute (camellia) or a key of the wrong enctype
// does not verify.
func verifyChecksum(c *checksum, key types.EncryptionKey, usage uint32, data []byte) bool {
	var sum []byte
	switch c.Type {
	case cksumRSAMD4:
		h := md4.New()
		h.Write(data)
		sum = h.Sum(nil)
	case cksumRSAMD5:
		s := md5.Sum(data)
		sum = s[:]
	case cksumNISTSHA, cksumSHA1:
		s := sha1.Sum(data)
		sum = s[:]
	default:
		return krb5x.VerifyChecksum(c.Type, key, usage, c.Sum, data)
	}
	return subtle.ConstantTimeCompare(sum, c.Sum) == 1
}
