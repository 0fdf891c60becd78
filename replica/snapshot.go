package replica

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"time"

	"github.com/krb5prop/krb5prop/kdb"
)

// A snapshot is what a plugin acknowledged: per principal the fields a
// change names and fingerprints of its keys and tagged data, per policy a
// fingerprint, and the sequence numbers. It holds no key: a fingerprint
// is a 128-bit FNV-1a hash of keys still encrypted in the master key.
//
// The file is binary, in name order, so that the difference with the
// database is one merge of two sorted streams: memory does not grow with
// the realm. Layout: the magic line; the sequence numbers and times as
// varints; the policy count and policies; principals, each after a 1
// byte, until a 0 byte; the principal count; a CRC-32 of everything
// before it, so a torn or damaged file is refused rather than read as a
// realm with fewer principals.
const snapshotMagic = "krb5prop replica snapshot 1\n"

// fingerprint is a 128-bit hash of a record's part.
type fingerprint [16]byte

// principalPrint is a principal as a snapshot keeps it.
type principalPrint struct {
	name              string
	attributes        uint32
	maxLife, maxRenew int32
	expiration        uint32
	pwExpiration      uint32
	policy            string
	kvno              uint16
	keys              fingerprint
	tl                fingerprint
}

// policyPrint is a policy as a snapshot keeps it.
type policyPrint struct {
	name  string
	print fingerprint
}

// sequence is the acknowledged delivery: its number and time, and those
// of the one before.
type sequence struct {
	Seq      uint64
	Time     time.Time
	Prev     uint64
	PrevTime time.Time
}

func sumOf(h hash.Hash) (f fingerprint) {
	h.Sum(f[:0])
	return f
}

// hashField feeds a length-prefixed field, so fields cannot run together.
func hashField(h hash.Hash, b []byte) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
	h.Write(b)
}

func hashUint(h hash.Hash, v uint64) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], v)])
}

func printPrincipal(p *kdb.Principal) principalPrint {
	pp := principalPrint{
		name: p.Name.String(), attributes: p.Attributes, maxLife: p.MaxLife, maxRenew: p.MaxRenewableLife,
		expiration: p.Expiration, pwExpiration: p.PwExpiration, kvno: p.MaxKVNO(),
	}
	h := fnv.New128a()
	for _, k := range p.KeyData {
		hashUint(h, uint64(uint16(k.Version)))
		hashUint(h, uint64(k.KVNO))
		hashUint(h, uint64(uint16(k.Enctype)))
		hashField(h, k.Contents)
		hashUint(h, uint64(uint16(k.SaltType)))
		hashField(h, k.Salt)
	}
	pp.keys = sumOf(h)
	h.Reset()
	for _, t := range p.TLData {
		if t.Type == kdb.TLKadmData {
			// The policy is its own part; the rest is password history,
			// old keys a plugin never sees.
			if kd, ok, err := p.KadmData(); err == nil && ok {
				pp.policy = kd.Policy
			}
			continue
		}
		hashUint(h, uint64(uint16(t.Type)))
		hashField(h, t.Contents)
	}
	pp.tl = sumOf(h)
	return pp
}

func printPolicy(p *kdb.Policy) policyPrint {
	h := fnv.New128a()
	for _, v := range []uint32{p.PwMinLife, p.PwMaxLife, p.PwMinLength, p.PwMinClasses, p.PwHistoryNum,
		p.PwMaxFail, p.PwFailcntInterval, p.PwLockoutDuration, p.Attributes, p.MaxLife, p.MaxRenewableLife} {
		hashUint(h, uint64(v))
	}
	hashField(h, []byte(p.AllowedKeysalts))
	for _, t := range p.TLData {
		hashUint(h, uint64(uint16(t.Type)))
		hashField(h, t.Contents)
	}
	return policyPrint{name: p.Name, print: sumOf(h)}
}

// changedParts lists what differs between two prints of one principal.
func changedParts(old, cur *principalPrint) []Part {
	var parts []Part
	if old.attributes != cur.attributes {
		parts = append(parts, PartAttributes)
	}
	if old.maxLife != cur.maxLife || old.maxRenew != cur.maxRenew {
		parts = append(parts, PartLifetimes)
	}
	if old.expiration != cur.expiration {
		parts = append(parts, PartExpiration)
	}
	if old.pwExpiration != cur.pwExpiration {
		parts = append(parts, PartPwExpiration)
	}
	if old.policy != cur.policy {
		parts = append(parts, PartPolicy)
	}
	if old.keys != cur.keys || old.kvno != cur.kvno {
		parts = append(parts, PartKeys)
	}
	if old.tl != cur.tl {
		parts = append(parts, PartTLData)
	}
	return parts
}

// snapshotWriter writes a snapshot file: the sequence, the policies, then
// principals in name order, then Close.
type snapshotWriter struct {
	f     *os.File
	w     *bufio.Writer
	crc   hash.Hash32
	count uint64
	last  string
	err   error
}

func createSnapshot(path string, seq sequence, policies []policyPrint) (*snapshotWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	sw := &snapshotWriter{f: f, crc: crc32.NewIEEE()}
	sw.w = bufio.NewWriterSize(io.MultiWriter(f, sw.crc), 1<<16)
	sw.w.WriteString(snapshotMagic)
	sw.uvarint(seq.Seq)
	sw.varint(unixOrZero(seq.Time))
	sw.uvarint(seq.Prev)
	sw.varint(unixOrZero(seq.PrevTime))
	sw.uvarint(uint64(len(policies)))
	for _, p := range policies {
		sw.str(p.name)
		sw.w.Write(p.print[:])
	}
	return sw, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(u int64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(u, 0).UTC()
}

func (sw *snapshotWriter) uvarint(v uint64) {
	var b [binary.MaxVarintLen64]byte
	sw.w.Write(b[:binary.PutUvarint(b[:], v)])
}

func (sw *snapshotWriter) varint(v int64) {
	var b [binary.MaxVarintLen64]byte
	sw.w.Write(b[:binary.PutVarint(b[:], v)])
}

func (sw *snapshotWriter) str(s string) {
	sw.uvarint(uint64(len(s)))
	sw.w.WriteString(s)
}

// add appends a principal; names must come in strictly increasing byte
// order, which the merge with the database relies on.
func (sw *snapshotWriter) add(p *principalPrint) error {
	if sw.err != nil {
		return sw.err
	}
	if sw.count > 0 && p.name <= sw.last {
		sw.err = fmt.Errorf("principal %q after %q: not in name order", p.name, sw.last)
		return sw.err
	}
	sw.last = p.name
	sw.count++
	sw.w.WriteByte(1)
	sw.str(p.name)
	sw.uvarint(uint64(p.attributes))
	sw.varint(int64(p.maxLife))
	sw.varint(int64(p.maxRenew))
	sw.uvarint(uint64(p.expiration))
	sw.uvarint(uint64(p.pwExpiration))
	sw.str(p.policy)
	sw.uvarint(uint64(p.kvno))
	sw.w.Write(p.keys[:])
	sw.w.Write(p.tl[:])
	return nil
}

// finish ends the file, syncs it and closes it.
func (sw *snapshotWriter) finish() error {
	defer sw.f.Close()
	if sw.err != nil {
		return sw.err
	}
	sw.w.WriteByte(0)
	sw.uvarint(sw.count)
	if err := sw.w.Flush(); err != nil {
		return err
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], sw.crc.Sum32())
	if _, err := sw.f.Write(sum[:]); err != nil {
		return err
	}
	if err := sw.f.Sync(); err != nil {
		return err
	}
	return sw.f.Close()
}

// abandon closes and removes an unfinished snapshot.
func (sw *snapshotWriter) abandon() {
	sw.f.Close()
	os.Remove(sw.f.Name())
}

// snapshotReader reads a snapshot file written by snapshotWriter.
type snapshotReader struct {
	path     string
	f        *os.File
	r        crcReader
	seq      sequence
	policies []policyPrint
	count    uint64
	last     string
	done     bool
	err      error // the first read error; later reads return zero values
}

// crcReader sums the bytes as they are consumed (a checksum on the file
// side of the buffer would cover bytes read ahead).
type crcReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.crc.Write([]byte{b})
	}
	return b, err
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc.Write(p[:n])
	return n, err
}

// errCorrupt wraps every way a snapshot file can be unreadable.
var errCorrupt = errors.New("damaged snapshot")

// maxSnapshotString bounds a name read from a snapshot before allocating.
const maxSnapshotString = 1 << 16

func openSnapshot(path string) (*snapshotReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sr := &snapshotReader{path: path, f: f, r: crcReader{r: bufio.NewReaderSize(f, 1<<16), crc: crc32.NewIEEE()}}
	if err := sr.header(); err != nil {
		f.Close()
		return nil, sr.corrupt(err)
	}
	return sr, nil
}

func (sr *snapshotReader) corrupt(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: %w: %w", sr.path, errCorrupt, err)
}

func (sr *snapshotReader) uvarint() uint64 {
	if sr.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(&sr.r)
	sr.err = err
	return v
}

func (sr *snapshotReader) varint() int64 {
	if sr.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(&sr.r)
	sr.err = err
	return v
}

func (sr *snapshotReader) bytes(b []byte) {
	if sr.err == nil {
		_, sr.err = io.ReadFull(&sr.r, b)
	}
}

func (sr *snapshotReader) str() string {
	n := sr.uvarint()
	if sr.err == nil && n > maxSnapshotString {
		sr.err = fmt.Errorf("a name of %d bytes", n)
	}
	if sr.err != nil {
		return ""
	}
	b := make([]byte, n)
	sr.bytes(b)
	return string(b)
}

func (sr *snapshotReader) header() error {
	magic := make([]byte, len(snapshotMagic))
	sr.bytes(magic)
	if sr.err == nil && string(magic) != snapshotMagic {
		return errors.New("not a krb5prop replica snapshot")
	}
	sr.seq = sequence{Seq: sr.uvarint(), Time: timeOrZero(sr.varint()), Prev: sr.uvarint(), PrevTime: timeOrZero(sr.varint())}
	n := sr.uvarint()
	if sr.err == nil && n > 1<<24 {
		return fmt.Errorf("%d policies", n)
	}
	for i := uint64(0); i < n && sr.err == nil; i++ {
		p := policyPrint{name: sr.str()}
		sr.bytes(p.print[:])
		sr.policies = append(sr.policies, p)
	}
	return sr.err
}

// next returns the next principal, or nil at the end once the count and
// checksum have been verified.
func (sr *snapshotReader) next() (*principalPrint, error) {
	if sr.done {
		return nil, nil
	}
	p, err := sr.read()
	if err != nil {
		return nil, sr.corrupt(err)
	}
	return p, nil
}

func (sr *snapshotReader) read() (*principalPrint, error) {
	tag, err := sr.r.ReadByte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case 0:
		sr.done = true
		return nil, sr.trailer()
	case 1:
	default:
		return nil, fmt.Errorf("record tag %d", tag)
	}
	p := principalPrint{name: sr.str()}
	p.attributes = uint32(sr.uvarint())
	p.maxLife = int32(sr.varint())
	p.maxRenew = int32(sr.varint())
	p.expiration = uint32(sr.uvarint())
	p.pwExpiration = uint32(sr.uvarint())
	p.policy = sr.str()
	p.kvno = uint16(sr.uvarint())
	sr.bytes(p.keys[:])
	sr.bytes(p.tl[:])
	if sr.err != nil {
		return nil, sr.err
	}
	if sr.count > 0 && p.name <= sr.last {
		return nil, fmt.Errorf("principal %q after %q: not in name order", p.name, sr.last)
	}
	sr.last = p.name
	sr.count++
	return &p, nil
}

func (sr *snapshotReader) trailer() error {
	n := sr.uvarint()
	if sr.err != nil {
		return sr.err
	}
	if n != sr.count {
		return fmt.Errorf("%d principals, the trailer says %d", sr.count, n)
	}
	want := sr.r.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(sr.r.r, sum[:]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(sum[:]) != want {
		return errors.New("checksum mismatch")
	}
	if _, err := sr.r.r.ReadByte(); err != io.EOF {
		return errors.New("data after the checksum")
	}
	return nil
}

func (sr *snapshotReader) close() { sr.f.Close() }
