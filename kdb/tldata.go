package kdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// tl-data types MIT defines (kdb.h KRB5_TL_*).
const (
	TLLastPwdChange   int16 = 1
	TLModPrinc        int16 = 2
	TLKadmData        int16 = 3
	TLMKVNO           int16 = 8
	TLActKVNO         int16 = 9
	TLMKeyAux         int16 = 10
	TLStringAttrs     int16 = 11
	TLLastAdminUnlock int16 = 0x0700
)

// TL returns the contents of the first tl-data item of type t.
func (p *Principal) TL(t int16) ([]byte, bool) {
	for _, d := range p.TLData {
		if d.Type == t {
			return d.Contents, true
		}
	}
	return nil, false
}

// SetTL stores contents under type t the way MIT's krb5_dbe_update_tl_data
// does: an existing item is replaced in place, a new one goes to the head
// of the list. Dumps show the resulting order, so it matters.
func (p *Principal) SetTL(t int16, contents []byte) {
	for i := range p.TLData {
		if p.TLData[i].Type == t {
			p.TLData[i].Contents = contents
			return
		}
	}
	p.TLData = append([]TLData{{t, contents}}, p.TLData...)
}

// DeleteTL removes every tl-data item of type t.
func (p *Principal) DeleteTL(t int16) {
	out := p.TLData[:0]
	for _, d := range p.TLData {
		if d.Type != t {
			out = append(out, d)
		}
	}
	p.TLData = out
}

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// LastPwdChange returns KRB5_TL_LAST_PWD_CHANGE, 0 when absent.
func (p *Principal) LastPwdChange() uint32 {
	if b, ok := p.TL(TLLastPwdChange); ok && len(b) >= 4 {
		return le32(b)
	}
	return 0
}

// SetLastPwdChange stores KRB5_TL_LAST_PWD_CHANGE.
func (p *Principal) SetLastPwdChange(t uint32) {
	p.SetTL(TLLastPwdChange, binary.LittleEndian.AppendUint32(nil, t))
}

// ModPrinc returns the modification time and modifier recorded in
// KRB5_TL_MOD_PRINC.
func (p *Principal) ModPrinc() (uint32, string, bool) {
	b, ok := p.TL(TLModPrinc)
	if !ok || len(b) < 5 {
		return 0, "", false
	}
	name := b[4:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return le32(b), string(name), true
}

// SetModPrinc stores KRB5_TL_MOD_PRINC: LE32 time, the unparsed modifier
// name and a NUL.
func (p *Principal) SetModPrinc(t uint32, modifier string) {
	b := binary.LittleEndian.AppendUint32(nil, t)
	b = append(b, modifier...)
	p.SetTL(TLModPrinc, append(b, 0))
}

// MKVNO returns the master key version recorded in KRB5_TL_MKVNO, or 0
// when absent (MIT then means the lowest master kvno; see MasterKeys).
func (p *Principal) MKVNO() uint16 {
	if b, ok := p.TL(TLMKVNO); ok && len(b) >= 2 {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

// SetMKVNO stores KRB5_TL_MKVNO.
func (p *Principal) SetMKVNO(v uint16) {
	p.SetTL(TLMKVNO, binary.LittleEndian.AppendUint16(nil, v))
}

// StringAttr is one KRB5_TL_STRING_ATTRS pair (kadmin setstr).
type StringAttr struct{ Key, Value string }

// StringAttrs decodes KRB5_TL_STRING_ATTRS: key NUL value NUL pairs. As
// MIT's k5_parse_string_attrs does, it stops quietly at the first pair
// without both of its NULs.
func (p *Principal) StringAttrs() []StringAttr {
	b, _ := p.TL(TLStringAttrs)
	var out []StringAttr
	for {
		k, rest, ok := bytes.Cut(b, []byte{0})
		if !ok {
			return out
		}
		v, rest, ok := bytes.Cut(rest, []byte{0})
		if !ok {
			return out
		}
		out = append(out, StringAttr{string(k), string(v)})
		b = rest
	}
}

// SetStringAttrs stores the pairs, or removes the item when there are none.
func (p *Principal) SetStringAttrs(attrs []StringAttr) {
	if len(attrs) == 0 {
		p.DeleteTL(TLStringAttrs)
		return
	}
	var b []byte
	for _, a := range attrs {
		b = append(append(b, a.Key...), 0)
		b = append(append(b, a.Value...), 0)
	}
	p.SetTL(TLStringAttrs, b)
}

// ActKVNO is one KRB5_TL_ACTKVNO tuple: master key kvno and the time from
// which new keys are encrypted in it.
type ActKVNO struct {
	KVNO      uint16
	ActivTime uint32
}

// ActKVNOs decodes KRB5_TL_ACTKVNO (version 1: LE16 version, then LE16
// kvno + LE32 time tuples).
func (p *Principal) ActKVNOs() ([]ActKVNO, error) {
	b, ok := p.TL(TLActKVNO)
	if !ok {
		return nil, nil
	}
	if len(b) < 2 || binary.LittleEndian.Uint16(b) != 1 || (len(b)-2)%6 != 0 {
		return nil, errors.New("malformed KRB5_TL_ACTKVNO")
	}
	var out []ActKVNO
	for b = b[2:]; len(b) > 0; b = b[6:] {
		out = append(out, ActKVNO{binary.LittleEndian.Uint16(b), le32(b[2:])})
	}
	return out, nil
}

// SetActKVNOs stores KRB5_TL_ACTKVNO.
func (p *Principal) SetActKVNOs(list []ActKVNO) {
	b := binary.LittleEndian.AppendUint16(nil, 1)
	for _, a := range list {
		b = binary.LittleEndian.AppendUint16(b, a.KVNO)
		b = binary.LittleEndian.AppendUint32(b, a.ActivTime)
	}
	p.SetTL(TLActKVNO, b)
}

// MKeyAux is one KRB5_TL_MKEY_AUX tuple: the latest master key encrypted
// in an older one, so a stash holding only the older key can still open
// the database.
type MKeyAux struct {
	MKVNO      uint16 // kvno of the older key that encrypts Contents
	LatestKVNO uint16
	Enctype    int16
	Contents   []byte // LE16 length + ciphertext, as key data element 0
}

// MKeyAuxes decodes KRB5_TL_MKEY_AUX.
func (p *Principal) MKeyAuxes() ([]MKeyAux, error) {
	b, ok := p.TL(TLMKeyAux)
	if !ok {
		return nil, nil
	}
	if len(b) < 2 || binary.LittleEndian.Uint16(b) != 1 {
		return nil, errors.New("malformed KRB5_TL_MKEY_AUX")
	}
	var out []MKeyAux
	for b = b[2:]; len(b) > 0; {
		if len(b) < 8 {
			return nil, errors.New("malformed KRB5_TL_MKEY_AUX")
		}
		n := int(binary.LittleEndian.Uint16(b[6:]))
		if len(b) < 8+n {
			return nil, errors.New("malformed KRB5_TL_MKEY_AUX")
		}
		out = append(out, MKeyAux{
			MKVNO:      binary.LittleEndian.Uint16(b),
			LatestKVNO: binary.LittleEndian.Uint16(b[2:]),
			Enctype:    int16(binary.LittleEndian.Uint16(b[4:])),
			Contents:   append([]byte(nil), b[8:8+n]...),
		})
		b = b[8+n:]
	}
	return out, nil
}

// SetMKeyAuxes stores KRB5_TL_MKEY_AUX, or removes it when list is empty
// (what purge_mkeys does once no older key is left).
func (p *Principal) SetMKeyAuxes(list []MKeyAux) {
	if len(list) == 0 {
		p.DeleteTL(TLMKeyAux)
		return
	}
	b := binary.LittleEndian.AppendUint16(nil, 1)
	for _, a := range list {
		b = binary.LittleEndian.AppendUint16(b, a.MKVNO)
		b = binary.LittleEndian.AppendUint16(b, a.LatestKVNO)
		b = binary.LittleEndian.AppendUint16(b, uint16(a.Enctype))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(a.Contents)))
		b = append(b, a.Contents...)
	}
	p.SetTL(TLMKeyAux, b)
}

// KadmData is the kadm5 part of a principal (KRB5_TL_KADM_DATA, MIT
// osa_princ_ent_rec): its policy and its password history.
type KadmData struct {
	Policy           string // empty: none
	AuxAttributes    uint32 // 0x800 (KADM5_POLICY) when a policy is set
	OldKeyNext       uint32
	AdminHistoryKVNO uint32
	OldKeys          [][]KeyData
}

// kadmDataVersion is OSA_ADB_PRINC_VERSION_1.
const kadmDataVersion = 0x12345C01

// AuxPolicy is KADM5_POLICY in KadmData.AuxAttributes.
const AuxPolicy = 0x800

// KadmData decodes KRB5_TL_KADM_DATA (XDR, big-endian); ok is false when
// the principal has none (as krbtgt made by create, or after a -b7 load).
func (p *Principal) KadmData() (k KadmData, ok bool, err error) {
	b, ok := p.TL(TLKadmData)
	if !ok {
		return KadmData{}, false, nil
	}
	k, err = decodeKadmData(b)
	return k, true, err
}

// SetKadmData stores KRB5_TL_KADM_DATA.
func (p *Principal) SetKadmData(k KadmData) {
	p.SetTL(TLKadmData, encodeKadmData(k))
}

type xdrReader struct {
	b   []byte
	err error
}

func (r *xdrReader) u32() uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 4 {
		r.err = errors.New("malformed KRB5_TL_KADM_DATA: truncated")
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *xdrReader) opaque(n uint32) []byte {
	padded := (uint64(n) + 3) &^ 3
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < padded {
		r.err = errors.New("malformed KRB5_TL_KADM_DATA: truncated")
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[padded:]
	return v
}

func decodeKadmData(b []byte) (KadmData, error) {
	r := &xdrReader{b: b}
	var k KadmData
	if v := r.u32(); r.err == nil && v != kadmDataVersion {
		return k, fmt.Errorf("malformed KRB5_TL_KADM_DATA: version %#x", v)
	}
	if n := r.u32(); n > 0 {
		name := r.opaque(n)
		k.Policy = string(bytes.TrimRight(name, "\x00"))
	}
	k.AuxAttributes = r.u32()
	k.OldKeyNext = r.u32()
	k.AdminHistoryKVNO = r.u32()
	nhist := r.u32()
	for i := uint32(0); i < nhist && r.err == nil; i++ {
		nkeys := r.u32()
		if uint64(nkeys)*24 > uint64(len(r.b)) {
			return k, errors.New("malformed KRB5_TL_KADM_DATA: key count too large")
		}
		var keys []KeyData
		for j := uint32(0); j < nkeys && r.err == nil; j++ {
			kd := KeyData{Version: int16(r.u32()), KVNO: uint16(r.u32())}
			kd.Enctype = int16(r.u32())
			kd.SaltType = int16(r.u32())
			r.u32() // lengths are repeated in the counted contents below
			r.u32()
			kd.Contents = r.opaque(r.u32())
			kd.Salt = r.opaque(r.u32())
			keys = append(keys, kd)
		}
		k.OldKeys = append(k.OldKeys, keys)
	}
	if r.err != nil {
		return k, r.err
	}
	return k, nil
}

func appendXDROpaque(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	b = append(b, v...)
	for len(v)%4 != 0 {
		b = append(b, 0)
		v = append(v, 0)
	}
	return b
}

func encodeKadmData(k KadmData) []byte {
	b := binary.BigEndian.AppendUint32(nil, kadmDataVersion)
	if k.Policy == "" {
		b = binary.BigEndian.AppendUint32(b, 0)
	} else {
		b = appendXDROpaque(b, append([]byte(k.Policy), 0))
	}
	b = binary.BigEndian.AppendUint32(b, k.AuxAttributes)
	b = binary.BigEndian.AppendUint32(b, k.OldKeyNext)
	b = binary.BigEndian.AppendUint32(b, k.AdminHistoryKVNO)
	b = binary.BigEndian.AppendUint32(b, uint32(len(k.OldKeys)))
	for _, keys := range k.OldKeys {
		b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
		for _, kd := range keys {
			for _, v := range []uint32{uint32(kd.Version), uint32(kd.KVNO), uint32(kd.Enctype),
				uint32(kd.SaltType), uint32(len(kd.Contents)), uint32(len(kd.Salt))} {
				b = binary.BigEndian.AppendUint32(b, v)
			}
			b = appendXDROpaque(b, kd.Contents)
			b = appendXDROpaque(b, kd.Salt)
		}
	}
	return b
}

// Unix converts a time to MIT's 32-bit timestamp.
func Unix(t time.Time) uint32 { return uint32(t.Unix()) }
