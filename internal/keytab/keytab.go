// Package keytab reads and writes MIT keytab files (the FILE: and WRFILE:
// types of src/lib/krb5/keytab/kt_file.c), which is also the format of
// the KDC's master key stash file.
//
// Layout (all integers big-endian in version 0x0502): a 2-byte version,
// then records, each a signed 32-bit size followed by that many bytes. A
// negative size is a hole left by a deleted entry and is skipped; a zero
// size ends the table. An entry is: component count (16 bits; version
// 0x0501 counts the realm too), the realm and each component as 16-bit
// length plus bytes, the name type (32 bits, absent in 0x0501), the
// timestamp (32 bits), an 8-bit kvno, the enctype and key length (16 bits
// each), the key, and, when at least 4 bytes of the record remain, a 32-bit
// kvno that replaces the 8-bit one unless it is zero.
package keytab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/princname"
)

// Format versions. MIT reads both and writes only Version2.
const (
	// Version1 is the DCE-compatible format, written in the writer's host
	// byte order; it is read here as little-endian, the order of every
	// host MIT still builds for in practice.
	Version1 uint16 = 0x0501
	// Version2 is the standard format, big-endian.
	Version2 uint16 = 0x0502
)

// ErrBadVersion reports a file that does not start with a known keytab
// version, MIT's KRB5_KEYTAB_BADVNO. A stash file failing this way may be
// in the pre-1.7 raw format.
var ErrBadVersion = errors.New("unsupported key table format version number")

// maxField is the largest length a 16-bit signed count can hold: MIT reads
// every count and length as krb5_int16 and rejects negative values.
const maxField = math.MaxInt16

// Principal is a principal name as a keytab stores it.
type Principal struct {
	Components []string
	Realm      string
	// NameType is the RFC 4120 name type (1 = KRB5_NT_PRINCIPAL,
	// 3 = KRB5_NT_SRV_HST); version 0x0501 files do not store it and read
	// as 0 (KRB5_NT_UNKNOWN).
	NameType int32
}

// String formats the name as krb5_unparse_name does.
func (p Principal) String() string { return princname.Unparse(p.Components, p.Realm) }

// Equal reports whether p and q name the same principal; the name type is
// not part of the comparison, as in krb5_principal_compare.
func (p Principal) Equal(q Principal) bool {
	if p.Realm != q.Realm || len(p.Components) != len(q.Components) {
		return false
	}
	for i := range p.Components {
		if p.Components[i] != q.Components[i] {
			return false
		}
	}
	return true
}

// Entry is one key of one principal.
type Entry struct {
	Principal Principal
	// Timestamp is when the entry was written, in whole seconds; the
	// file holds it as 32 unsigned bits.
	Timestamp time.Time
	KVNO      uint32
	Key       types.EncryptionKey
}

// Parse decodes a keytab file's contents. Holes are skipped and a zero
// record size ends the table, as in MIT. Unlike MIT, which silently stops
// at the first malformed entry, a malformed or truncated entry is an error
// naming its byte offset.
func Parse(b []byte) ([]Entry, error) {
	t, err := parse(b)
	return t.entries, err
}

// table is a parsed file plus what an in-place append needs to know.
type table struct {
	entries []Entry
	version uint16
	// end is where the next record goes: the offset of the zero record
	// that ended the table, or the file length.
	end int
}

// byteOrder is how a version's integers are laid out.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func orderOf(version uint16) byteOrder {
	if version == Version1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

func parse(b []byte) (table, error) {
	if len(b) < 2 {
		return table{}, fmt.Errorf("%w: file is %d bytes long", ErrBadVersion, len(b))
	}
	t := table{version: binary.BigEndian.Uint16(b)}
	if t.version != Version1 && t.version != Version2 {
		return table{}, fmt.Errorf("%w: 0x%04x", ErrBadVersion, t.version)
	}
	order := orderOf(t.version)
	off := 2
	for off < len(b) {
		if len(b)-off < 4 {
			return table{}, fmt.Errorf("keytab entry at offset %d: truncated record size (need 4 bytes, have %d)", off, len(b)-off)
		}
		size := int32(order.Uint32(b[off:]))
		if size == 0 {
			t.end = off
			return t, nil
		}
		if size == math.MinInt32 {
			return table{}, fmt.Errorf("keytab entry at offset %d: invalid record size %d", off, size)
		}
		n := int(size)
		if n < 0 {
			n = -n
		}
		if have := len(b) - off - 4; n > have {
			return table{}, fmt.Errorf("keytab entry at offset %d: truncated record (need %d bytes, have %d)", off, n, have)
		}
		if size > 0 {
			e, err := parseEntry(b[off+4:off+4+n], t.version, order)
			if err != nil {
				return table{}, fmt.Errorf("keytab entry at offset %d: %w", off, err)
			}
			t.entries = append(t.entries, e)
		}
		off += 4 + n
	}
	t.end = off
	return t, nil
}

// cursor reads one record's fields, checking each length against what is
// left before slicing or allocating.
type cursor struct {
	b     []byte
	order binary.ByteOrder
}

func (c *cursor) take(n int, what string) ([]byte, error) {
	if n > len(c.b) {
		return nil, fmt.Errorf("truncated %s (need %d bytes, have %d)", what, n, len(c.b))
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v, nil
}

func (c *cursor) u8(what string) (uint8, error) {
	v, err := c.take(1, what)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

func (c *cursor) u16(what string) (uint16, error) {
	v, err := c.take(2, what)
	if err != nil {
		return 0, err
	}
	return c.order.Uint16(v), nil
}

func (c *cursor) u32(what string) (uint32, error) {
	v, err := c.take(4, what)
	if err != nil {
		return 0, err
	}
	return c.order.Uint32(v), nil
}

// counted reads a 16-bit length and that many bytes; MIT rejects a zero or
// negative (as int16) length.
func (c *cursor) counted(what string) ([]byte, error) {
	n, err := c.u16(what + " length")
	if err != nil {
		return nil, err
	}
	if n == 0 || n > maxField {
		return nil, fmt.Errorf("invalid %s length %d", what, int16(n))
	}
	return c.take(int(n), what)
}

func parseEntry(b []byte, version uint16, order binary.ByteOrder) (Entry, error) {
	c := &cursor{b: b, order: order}
	var e Entry
	count, err := c.u16("component count")
	if err != nil {
		return e, err
	}
	n := int(int16(count))
	if version == Version1 {
		n-- // the count includes the realm
	}
	if n <= 0 {
		return e, fmt.Errorf("invalid component count %d", n)
	}
	// Each component takes at least 3 bytes; refuse counts the record
	// cannot hold before allocating for them.
	if n > len(c.b)/3 {
		return e, fmt.Errorf("truncated components (count %d in %d bytes)", n, len(c.b))
	}
	realm, err := c.counted("realm")
	if err != nil {
		return e, err
	}
	e.Principal.Realm = string(realm)
	e.Principal.Components = make([]string, n)
	for i := range e.Principal.Components {
		comp, err := c.counted(fmt.Sprintf("component %d", i))
		if err != nil {
			return e, err
		}
		e.Principal.Components[i] = string(comp)
	}
	if version != Version1 {
		nt, err := c.u32("name type")
		if err != nil {
			return e, err
		}
		e.Principal.NameType = int32(nt)
	}
	ts, err := c.u32("timestamp")
	if err != nil {
		return e, err
	}
	e.Timestamp = time.Unix(int64(ts), 0)
	vno8, err := c.u8("kvno")
	if err != nil {
		return e, err
	}
	e.KVNO = uint32(vno8)
	etype, err := c.u16("enctype")
	if err != nil {
		return e, err
	}
	// MIT reads the enctype as a signed 16-bit value and widens it.
	e.Key.KeyType = int32(int16(etype))
	key, err := c.counted("key")
	if err != nil {
		return e, err
	}
	e.Key.KeyValue = append([]byte(nil), key...)
	if len(c.b) >= 4 {
		// A zero here is fill, not a kvno (kt_file.c).
		if vno32, _ := c.u32("kvno"); vno32 != 0 {
			e.KVNO = vno32
		}
	}
	return e, nil
}

// Marshal encodes entries as a version 0x0502 keytab, in MIT's layout
// with the 32-bit kvno always present. It fails on an entry MIT could not
// read back: no components, an empty or over-long (32767 bytes) field,
// an enctype outside 16 bits, or a timestamp outside 32 unsigned bits.
func Marshal(entries []Entry) ([]byte, error) {
	out := binary.BigEndian.AppendUint16(nil, Version2)
	for i, e := range entries {
		var err error
		if out, err = appendRecord(out, e, Version2); err != nil {
			return nil, fmt.Errorf("keytab entry %d (%s): %w", i, e.Principal, err)
		}
	}
	return out, nil
}

// appendRecord appends e's size and body in the given version's layout.
func appendRecord(out []byte, e Entry, version uint16) ([]byte, error) {
	p := e.Principal
	if len(p.Components) == 0 || len(p.Components) >= maxField {
		return nil, fmt.Errorf("invalid component count %d", len(p.Components))
	}
	fields := append([]string{p.Realm}, p.Components...)
	for _, f := range fields {
		if len(f) == 0 || len(f) > maxField {
			return nil, fmt.Errorf("invalid name field length %d", len(f))
		}
	}
	if n := len(e.Key.KeyValue); n == 0 || n > maxField {
		return nil, fmt.Errorf("invalid key length %d", n)
	}
	if e.Key.KeyType < math.MinInt16 || e.Key.KeyType > math.MaxInt16 {
		return nil, fmt.Errorf("enctype %d does not fit in 16 bits", e.Key.KeyType)
	}
	var ts uint32
	if !e.Timestamp.IsZero() {
		s := e.Timestamp.Unix()
		if s < 0 || s > math.MaxUint32 {
			return nil, fmt.Errorf("timestamp %v does not fit in 32 bits", e.Timestamp)
		}
		ts = uint32(s)
	}

	order := orderOf(version)
	sizeAt := len(out)
	out = order.AppendUint32(out, 0)
	count := uint16(len(p.Components))
	if version == Version1 {
		count++
	}
	out = order.AppendUint16(out, count)
	for _, f := range fields {
		out = order.AppendUint16(out, uint16(len(f)))
		out = append(out, f...)
	}
	if version != Version1 {
		out = order.AppendUint32(out, uint32(p.NameType))
	}
	out = order.AppendUint32(out, ts)
	out = append(out, byte(e.KVNO))
	out = order.AppendUint16(out, uint16(e.Key.KeyType))
	out = order.AppendUint16(out, uint16(len(e.Key.KeyValue)))
	out = append(out, e.Key.KeyValue...)
	out = order.AppendUint32(out, e.KVNO)
	order.PutUint32(out[sizeAt:], uint32(len(out)-sizeAt-4))
	return out, nil
}
