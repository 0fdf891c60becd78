package tabdump

import (
	"bytes"
	"encoding/binary"

	"github.com/krb5prop/krb5prop/kdb"
)

// The tl-data readers below follow MIT's lookups (src/lib/kdb/kdb5.c, and
// xdr_osa_princ_ent_rec for KRB5_TL_KADM_DATA) rather than the kdb
// package's, because tabdump shows exactly where MIT is stricter or looser
// on malformed items: which lengths count as absent, which fail the whole
// run, and what a half-decoded KRB5_TL_KADM_DATA still shows. In every case
// only the first item of a type counts, and a zero-length item is the same
// as none (krb5_dbe_lookup_tl_data).

// lastPwdChange is krb5_dbe_lookup_last_pwd_change: an item that is not
// exactly four bytes long reads as 0.
func lastPwdChange(p *kdb.Principal) uint32 {
	b, _ := p.TL(kdb.TLLastPwdChange)
	if len(b) != 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// effectiveMKVNO is krb5_dbe_get_mkvno as princ_meta prints it. Without a
// master key list it fails before looking at the entry. KRB5_TL_MKVNO is
// read as a signed 16-bit number and widened, so 0xffff prints as -1; an
// absent or zero value means the lowest master kvno; any length but two
// fails.
func effectiveMKVNO(p *kdb.Principal, lowest uint32) (int32, error) {
	if lowest == 0 {
		return 0, ErrDBNotInitialized
	}
	b, _ := p.TL(kdb.TLMKVNO)
	switch len(b) {
	case 0:
		return int32(lowest), nil
	case 2:
	default:
		return 0, ErrTruncatedRecord
	}
	if v := int16(binary.LittleEndian.Uint16(b)); v != 0 {
		return int32(v), nil
	}
	return int32(lowest), nil
}

// modPrinc is krb5_dbe_lookup_mod_princ_data followed by
// krb5_unparse_name, so the modifier is shown in canonical form: escapes
// normalised, the default realm added to a name without one. A missing
// item, one shorter than five bytes or one not ending in NUL fails the
// run; the name ends at its first NUL, as a C string does.
func modPrinc(p *kdb.Principal, defaultRealm string) (uint32, string, error) {
	b, _ := p.TL(kdb.TLModPrinc)
	if len(b) < 5 || b[len(b)-1] != 0 {
		return 0, "", ErrTruncatedRecord
	}
	raw := b[4:]
	raw = raw[:bytes.IndexByte(raw, 0)]
	if defaultRealm == "" {
		defaultRealm = p.Name.Realm
	}
	n, err := kdb.ParseName(string(raw), defaultRealm)
	if err != nil {
		return 0, "", err
	}
	return binary.LittleEndian.Uint32(b), n.String(), nil
}

// kadmFields returns the policy name and admin_history_kvno of
// KRB5_TL_KADM_DATA as princ_meta shows them. MIT decodes into a zeroed
// record and shows the policy only when the whole XDR decode succeeds, but
// admin_history_kvno whenever the decode got as far as that field, even if
// the password history after it is truncated. A policy name must be a C
// string: its counted bytes end in, and hold no other, NUL (xdr_nullstring).
// Trailing bytes after the history are ignored.
func kadmFields(p *kdb.Principal) (policy string, histKVNO uint32) {
	b, _ := p.TL(kdb.TLKadmData)
	d := xdrDecoder{b: b}
	if v, ok := d.u32(); !ok || v != 0x12345C01 { // OSA_ADB_PRINC_VERSION_1
		return "", 0
	}
	size, ok := d.u32()
	if !ok {
		return "", 0
	}
	if size > 0 {
		name, ok := d.opaque(size)
		if !ok || name[size-1] != 0 || bytes.IndexByte(name, 0) != int(size-1) {
			return "", 0
		}
		policy = string(name[:size-1])
	}
	for range 2 { // aux_attributes, old_key_next
		if _, ok := d.u32(); !ok {
			return "", 0
		}
	}
	histKVNO, ok = d.u32()
	if !ok {
		return "", 0
	}
	if !d.history() {
		return "", histKVNO
	}
	return policy, histKVNO
}

// xdrDecoder reads big-endian XDR from a byte slice.
type xdrDecoder struct{ b []byte }

func (d *xdrDecoder) u32() (uint32, bool) {
	if len(d.b) < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v, true
}

// opaque reads n bytes and the padding to a multiple of four.
func (d *xdrDecoder) opaque(n uint32) ([]byte, bool) {
	padded := (uint64(n) + 3) &^ 3
	if uint64(len(d.b)) < padded {
		return nil, false
	}
	v := d.b[:n]
	d.b = d.b[padded:]
	return v, true
}

// history walks the password history (old_keys) and reports whether all of
// it is there. MIT's decoder fails only when the data runs out: the counts
// are not checked against anything else, and an impossible count runs out
// of data at once (every key takes at least 32 bytes).
func (d *xdrDecoder) history() bool {
	nhist, ok := d.u32()
	if !ok {
		return false
	}
	for range nhist {
		nkeys, ok := d.u32()
		if !ok || uint64(nkeys)*32 > uint64(len(d.b)) {
			return false
		}
		for range nkeys {
			// ver, kvno, type[0], type[1], length[0], length[1]
			for range 6 {
				if _, ok := d.u32(); !ok {
					return false
				}
			}
			for range 2 { // contents[0], contents[1]
				n, ok := d.u32()
				if !ok {
					return false
				}
				if _, ok := d.opaque(n); !ok {
					return false
				}
			}
		}
	}
	return true
}

// nextStringAttr reads one KRB5_TL_STRING_ATTRS pair as MIT's next_attr
// does: a key and a value, each ended by a NUL. A key or value without its
// NUL ends the list quietly.
func nextStringAttr(b []byte) (key, value string, rest []byte, ok bool) {
	k := bytes.IndexByte(b, 0)
	if k < 0 {
		return "", "", nil, false
	}
	v := bytes.IndexByte(b[k+1:], 0)
	if v < 0 {
		return "", "", nil, false
	}
	return string(b[:k]), string(b[k+1 : k+1+v]), b[k+1+v+1:], true
}
