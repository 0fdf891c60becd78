package kadm5

import (
	"crypto/rand"
	"fmt"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// passwordKeys derives one key per key/salt pair as add_key_pwd does,
// skipping a pair whose enctype and salt type were already used.
func passwordKeys(mk kdb.MasterKey, name kdb.Name, password string, ks []krb5x.KeySalt, kvno uint16) ([]kdb.KeyData, error) {
	var out []kdb.KeyData
	for i, k := range ks {
		if containsKS(ks[:i], k) {
			continue
		}
		var salt []byte
		if k.SaltType == krb5x.SaltSpecial {
			salt = randomSalt()
		} else {
			s, err := kdb.SaltFor(name, k.SaltType)
			if err != nil {
				return nil, err
			}
			salt = []byte(s)
		}
		key, err := krb5x.StringToKey(k.Enctype, password, string(salt))
		if err != nil {
			return nil, err
		}
		kd, err := kdb.SealKey(mk, key, kvno, k.SaltType, salt)
		if err != nil {
			return nil, err
		}
		out = append(out, kd)
	}
	return out, nil
}

// randomKeys makes one random key per distinct enctype as add_key_rnd
// does; random keys are never salted.
func randomKeys(mk kdb.MasterKey, ks []krb5x.KeySalt, kvno uint16) ([]kdb.KeyData, error) {
	var out []kdb.KeyData
	seen := map[int32]bool{}
	for _, k := range ks {
		if seen[k.Enctype] {
			continue
		}
		seen[k.Enctype] = true
		key, err := krb5x.RandomKey(k.Enctype)
		if err != nil {
			return nil, err
		}
		kd, err := kdb.SealKey(mk, key, kvno, krb5x.SaltNormal, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, kd)
	}
	return out, nil
}

// randomSalt makes a "special" salt as make_random_salt does: 8 random
// bytes spread over 16 printable characters, each nibble OR 0x40.
func randomSalt() []byte {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // crypto/rand never fails on Linux
	}
	out := make([]byte, 16)
	for i, b := range rnd {
		out[2*i] = 0x40 | b>>4
		out[2*i+1] = 0x40 | b&0xf
	}
	return out
}

// rekey replaces p's keys as MIT's rekey does: new keys at the next kvno
// (at least newKVNO, wrapping 65536 to 1) go first; keep chooses which old
// keys follow, re-encrypted in the active master key when needed.
func (s *Server) rekey(p *kdb.Principal, mk kdb.MasterKey, make func(kvno uint16) ([]kdb.KeyData, error), keep keepMode) error {
	old := p.KeyData
	oldKVNO := p.MaxKVNO()
	kvno := int(oldKVNO) + 1
	if kvno == 1<<16 {
		kvno = 1
	}
	fresh, err := make(uint16(kvno))
	if err != nil {
		return err
	}
	for _, kd := range old {
		if keep == keepNone || (keep == keepLast && kd.KVNO != oldKVNO) {
			continue
		}
		from, err := s.MKeys.For(p)
		if err != nil {
			return err
		}
		if from.KVNO != mk.KVNO {
			if kd, err = kdb.Reseal(from, mk, kd); err != nil {
				return fmt.Errorf("%s: %w", p.Name, err)
			}
		}
		fresh = append(fresh, kd)
	}
	p.KeyData = fresh
	return nil
}

type keepMode int

const (
	keepNone keepMode = iota
	keepLast          // ark: the previous kvno's keys
	keepAll           // -keepold
)

// passwdCheck applies the policy's quality rules and MIT's built-in
// password quality modules (empty, princ) as passwd_check does.
func passwdCheck(password string, pol *kdb.Policy, name kdb.Name) error {
	if password == "" {
		return ErrPassEmpty
	}
	if pol == nil {
		return nil
	}
	if uint32(len(password)) < pol.PwMinLength {
		return ErrPassTooShort
	}
	var lower, upper, digit, punct, other int
	for i := 0; i < len(password); i++ {
		c := password[i]
		switch {
		case c >= 'a' && c <= 'z':
			lower = 1
		case c >= 'A' && c <= 'Z':
			upper = 1
		case c >= '0' && c <= '9':
			digit = 1
		case c > ' ' && c < 0x7f:
			punct = 1
		default:
			other = 1
		}
	}
	if uint32(lower+upper+digit+punct+other) < pol.PwMinClasses {
		return ErrPassClass
	}
	if equalFold(name.Realm, password) {
		return ErrPassDict
	}
	for _, c := range name.Components {
		if equalFold(c, password) {
			return ErrPassDict
		}
	}
	return nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
