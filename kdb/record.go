package kdb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The store keeps each principal as its unparsed name (the key) and a
// binary record modelled on MIT's DB2 entry encoding (kdb_xdr.c): all
// integers little-endian, tl-data and key data as counted (type, length,
// bytes) triples. recordVersion leads the value so the layout can change.
const recordVersion = 1

func appendCounted(b []byte, typ int16, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(typ))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// checkLimits rejects what the record encoding (and MIT's) cannot hold, so a
// store never accepts a principal it would later read back differently.
func (p *Principal) checkLimits() error {
	if len(p.TLData) > 32767 { // MIT DB2's limit; dumps reject more too
		return fmt.Errorf("%s: too many tl-data items (%d)", p.Name, len(p.TLData))
	}
	if len(p.KeyData) > 32767 {
		return fmt.Errorf("%s: too many keys (%d)", p.Name, len(p.KeyData))
	}
	for _, t := range p.TLData {
		if len(t.Contents) > 65535 {
			return fmt.Errorf("%s: tl-data type %d longer than 65535 bytes", p.Name, t.Type)
		}
	}
	for _, k := range p.KeyData {
		if k.Version < 0 || k.Version > 2 {
			return fmt.Errorf("%s: unsupported key data version %d", p.Name, k.Version)
		}
		if len(k.Contents) > 65535 || len(k.Salt) > 65535 {
			return fmt.Errorf("%s: key data longer than 65535 bytes", p.Name)
		}
	}
	return nil
}

func encodePrincipal(p *Principal) []byte {
	b := make([]byte, 0, 64+len(p.TLData)*32+len(p.KeyData)*80)
	b = append(b, recordVersion)
	for _, v := range []uint32{p.Attributes, uint32(p.MaxLife), uint32(p.MaxRenewableLife), p.Expiration,
		p.PwExpiration, p.LastSuccess, p.LastFailed, p.FailAuthCount} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(p.TLData)))
	for _, t := range p.TLData {
		b = appendCounted(b, t.Type, t.Contents)
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(p.KeyData)))
	for _, k := range p.KeyData {
		b = binary.LittleEndian.AppendUint16(b, uint16(k.Version))
		b = binary.LittleEndian.AppendUint16(b, k.KVNO)
		if k.Version >= 1 {
			b = appendCounted(b, k.Enctype, k.Contents)
		}
		if k.Version >= 2 {
			b = appendCounted(b, k.SaltType, k.Salt)
		}
	}
	return b
}

var errTruncated = errors.New("truncated record")

type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = errTruncated
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (r *recordReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *recordReader) counted() (int16, []byte) {
	t := int16(r.u16())
	n := int(r.u16())
	v := r.take(n)
	if v == nil {
		return t, nil
	}
	return t, append([]byte(nil), v...)
}

func decodePrincipal(name string, data []byte) (*Principal, error) {
	n, err := ParseName(name, "")
	if err != nil {
		return nil, err
	}
	p := &Principal{Name: n}
	r := &recordReader{b: data}
	if v := r.take(1); v != nil && v[0] != recordVersion {
		return nil, fmt.Errorf("record for %s: unknown record version %d", name, v[0])
	}
	p.Attributes = r.u32()
	p.MaxLife = int32(r.u32())
	p.MaxRenewableLife = int32(r.u32())
	p.Expiration = r.u32()
	p.PwExpiration = r.u32()
	p.LastSuccess = r.u32()
	p.LastFailed = r.u32()
	p.FailAuthCount = r.u32()
	ntl := int(r.u16())
	for i := 0; i < ntl && r.err == nil; i++ {
		t, v := r.counted()
		p.TLData = append(p.TLData, TLData{t, v})
	}
	nkey := int(r.u16())
	for i := 0; i < nkey && r.err == nil; i++ {
		k := KeyData{Version: int16(r.u16()), KVNO: r.u16()}
		if k.Version >= 1 {
			k.Enctype, k.Contents = r.counted()
		}
		if k.Version >= 2 {
			k.SaltType, k.Salt = r.counted()
		}
		p.KeyData = append(p.KeyData, k)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return nil, fmt.Errorf("record for %s: %w", name, r.err)
	}
	return p, nil
}

func encodePolicy(p *Policy) []byte {
	b := []byte{recordVersion}
	for _, v := range []uint32{p.PwMinLife, p.PwMaxLife, p.PwMinLength, p.PwMinClasses, p.PwHistoryNum,
		p.PwMaxFail, p.PwFailcntInterval, p.PwLockoutDuration, p.Attributes, p.MaxLife, p.MaxRenewableLife} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(p.AllowedKeysalts)))
	b = append(b, p.AllowedKeysalts...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(p.TLData)))
	for _, t := range p.TLData {
		b = appendCounted(b, t.Type, t.Contents)
	}
	return b
}

func decodePolicy(name string, data []byte) (*Policy, error) {
	p := &Policy{Name: name}
	r := &recordReader{b: data}
	if v := r.take(1); v != nil && v[0] != recordVersion {
		return nil, fmt.Errorf("policy %s: unknown record version %d", name, v[0])
	}
	for _, f := range []*uint32{&p.PwMinLife, &p.PwMaxLife, &p.PwMinLength, &p.PwMinClasses, &p.PwHistoryNum,
		&p.PwMaxFail, &p.PwFailcntInterval, &p.PwLockoutDuration, &p.Attributes, &p.MaxLife, &p.MaxRenewableLife} {
		*f = r.u32()
	}
	p.AllowedKeysalts = string(r.take(int(r.u16())))
	ntl := int(r.u16())
	for i := 0; i < ntl && r.err == nil; i++ {
		t, v := r.counted()
		p.TLData = append(p.TLData, TLData{t, v})
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, r.err)
	}
	return p, nil
}
