// Package krb5x fills the gaps gokrb5 v8 leaves for a KDC-side toolchain:
// the enctype and salt-type name tables MIT uses, encryption with any key
// usage (including MIT's usage 0 for keys at rest) and with an explicit
// cipher state, random keys of the right length, and the application
// messages of kprop and kpropd as MIT encodes and checks them (AP-REQ,
// AP-REP, KRB-SAFE, KRB-PRIV with a chained cipher state, KRB-ERROR),
// with decoders that are bounded and report MIT's error codes.
package krb5x

import (
	"fmt"
	"strconv"
	"strings"
)

// Enctype numbers (RFC 3961 registry) that MIT 1.20 knows by name.
const (
	EnctypeDES3CBCRaw          int32 = 6
	EnctypeDES3CBCSHA1         int32 = 16
	EnctypeAES128CTSHMACSHA196 int32 = 17
	EnctypeAES256CTSHMACSHA196 int32 = 18
	EnctypeAES128CTSHMACSHA256 int32 = 19
	EnctypeAES256CTSHMACSHA384 int32 = 20
	EnctypeARCFOURHMAC         int32 = 23
	EnctypeARCFOURHMACExp      int32 = 24
	EnctypeCamellia128CTSCMAC  int32 = 25
	EnctypeCamellia256CTSCMAC  int32 = 26
)

// Salt types as stored in key data element 1 (MIT kdb.h KRB5_KDB_SALTTYPE_*).
const (
	SaltNormal    int16 = 0
	SaltV4        int16 = 1
	SaltNoRealm   int16 = 2
	SaltOnlyRealm int16 = 3
	SaltSpecial   int16 = 4
	SaltAFS3      int16 = 5
	SaltCertHash  int16 = 6
)

type enctypeInfo struct {
	etype   int32
	name    string
	aliases []string
	keySize int // bytes of key material (krb5_keyblock length)
}

// enctypes mirrors the order and names of MIT's krb5int_enctypes_list
// (src/lib/crypto/krb/etypes.c), so canonical names print as MIT prints them.
var enctypes = []enctypeInfo{
	{EnctypeDES3CBCRaw, "des3-cbc-raw", nil, 24},
	{EnctypeDES3CBCSHA1, "des3-cbc-sha1", []string{"des3-hmac-sha1", "des3-cbc-sha1-kd"}, 24},
	{EnctypeARCFOURHMAC, "arcfour-hmac", []string{"rc4-hmac", "arcfour-hmac-md5"}, 16},
	{EnctypeARCFOURHMACExp, "arcfour-hmac-exp", []string{"rc4-hmac-exp", "arcfour-hmac-md5-exp"}, 16},
	{EnctypeAES128CTSHMACSHA196, "aes128-cts-hmac-sha1-96", []string{"aes128-cts", "aes128-sha1"}, 16},
	{EnctypeAES256CTSHMACSHA196, "aes256-cts-hmac-sha1-96", []string{"aes256-cts", "aes256-sha1"}, 32},
	{EnctypeCamellia128CTSCMAC, "camellia128-cts-cmac", []string{"camellia128-cts"}, 16},
	{EnctypeCamellia256CTSCMAC, "camellia256-cts-cmac", []string{"camellia256-cts"}, 32},
	{EnctypeAES128CTSHMACSHA256, "aes128-cts-hmac-sha256-128", []string{"aes128-sha2"}, 16},
	{EnctypeAES256CTSHMACSHA384, "aes256-cts-hmac-sha384-192", []string{"aes256-sha2"}, 32},
}

// removedEnctypes are names MIT 1.20 still recognises only to say they are
// no longer supported (single DES was removed in 1.18).
var removedEnctypes = map[string]int32{
	"des-cbc-crc": 1, "des-cbc-md4": 2, "des-cbc-md5": 3, "des-cbc-raw": 4, "des-hmac-sha1": 8,
}

func findEnctype(etype int32) *enctypeInfo {
	for i := range enctypes {
		if enctypes[i].etype == etype {
			return &enctypes[i]
		}
	}
	return nil
}

// EnctypeByName resolves an enctype name or alias, case-insensitively, as
// krb5_string_to_enctype does.
func EnctypeByName(name string) (int32, error) {
	for _, e := range enctypes {
		if strings.EqualFold(e.name, name) {
			return e.etype, nil
		}
		for _, a := range e.aliases {
			if strings.EqualFold(a, name) {
				return e.etype, nil
			}
		}
	}
	if _, ok := removedEnctypes[strings.ToLower(name)]; ok {
		return 0, fmt.Errorf("enctype %q is no longer supported", name)
	}
	return 0, fmt.Errorf("invalid enctype %q", name)
}

// EnctypeName returns MIT's canonical name for etype, or its decimal number
// when MIT has no name for it.
func EnctypeName(etype int32) string {
	if e := findEnctype(etype); e != nil {
		return e.name
	}
	for n, v := range removedEnctypes {
		if v == etype {
			return n
		}
	}
	return strconv.Itoa(int(etype))
}

// EnctypeKnown reports whether MIT 1.20 has etype in its enctype table.
func EnctypeKnown(etype int32) bool { return findEnctype(etype) != nil }

// KeySize returns the key length in bytes for etype, or 0 when unknown.
func KeySize(etype int32) int {
	if e := findEnctype(etype); e != nil {
		return e.keySize
	}
	return 0
}

var saltNames = []struct {
	st   int16
	name string
}{
	{SaltNormal, "normal"}, {SaltNoRealm, "norealm"}, {SaltOnlyRealm, "onlyrealm"}, {SaltSpecial, "special"},
}

// SaltTypeByName resolves a salt type name case-insensitively, as
// krb5_string_to_salttype does (only the four names MIT 1.20 accepts).
func SaltTypeByName(name string) (int16, error) {
	for _, s := range saltNames {
		if strings.EqualFold(s.name, name) {
			return s.st, nil
		}
	}
	return 0, fmt.Errorf("invalid salt type %q", name)
}

// SaltTypeName returns MIT's name for a salt type, or its decimal number.
func SaltTypeName(st int16) string {
	for _, s := range saltNames {
		if s.st == st {
			return s.name
		}
	}
	return strconv.Itoa(int(st))
}

// KeySalt is one enctype:salttype pair, as in supported_enctypes or
// kadmin's -e option.
type KeySalt struct {
	Enctype  int32
	SaltType int16
}

// String formats the pair as MIT does ("aes256-cts-hmac-sha1-96:normal").
func (k KeySalt) String() string {
	return EnctypeName(k.Enctype) + ":" + SaltTypeName(k.SaltType)
}

// ParseKeySalts parses a list of enctype[:salttype] tokens separated by
// commas, spaces or tabs, as krb5_string_to_keysalts does with its default
// separators. Unlike MIT, which silently drops tokens it cannot parse, an
// unknown enctype or salt type is an error: a typo in supported_enctypes
// should not quietly change which keys a realm gets. Duplicates are dropped.
func ParseKeySalts(s string) ([]KeySalt, error) {
	var out []KeySalt
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		ename, sname, hasSalt := strings.Cut(tok, ":")
		et, err := EnctypeByName(ename)
		if err != nil {
			return nil, err
		}
		st := SaltNormal
		if hasSalt {
			if st, err = SaltTypeByName(sname); err != nil {
				return nil, err
			}
		}
		ks := KeySalt{et, st}
		dup := false
		for _, o := range out {
			if o == ks {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, ks)
		}
	}
	return out, nil
}
