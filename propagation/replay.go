package propagation

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/krb5prop/krb5prop/internal/filelock"
)

// ErrReplay reports an authenticator seen before within the clock skew
// (KRB5KRB_AP_ERR_REPEAT on the wire).
var ErrReplay = errors.New("request is a replay")

// ReplayTagSize is the length of a replay-cache tag: the first bytes of
// the authenticator's checksum (MIT's TAG_LEN).
const ReplayTagSize = 12

// MIT file2 replay-cache layout (lib/krb5/rcache/rc_file2.c): a 16-byte
// SipHash seed, then hash tables of 16-byte records (12-byte tag, 4-byte
// big-endian timestamp; 0 = empty) of 1023, 2048, 4096… records, each
// probed at SipHash(tag) mod size and the record after it. Sharing the
// format matters: every MIT service of the same user (sshd's GSSAPI,
// kadmind…) stores into the same krb5_<euid>.rcache2 file, and our kpropd
// must neither corrupt nor ignore it.
const (
	rcSeedLen      = 16
	rcRecordLen    = ReplayTagSize + 4
	rcFirstRecords = 1023
	rcMaxFileSize  = 1<<31 - 1
	// rcMaxMemory bounds the in-memory cache; it only fills with valid
	// authenticators, each needing a ticket from the KDC.
	rcMaxMemory = 1 << 16
)

// ReplayCache remembers the authenticators kpropd accepted, so a captured
// AP-REQ cannot be replayed within the clock skew (spec §1.3). It keeps
// them in memory for a long-running standalone kpropd and, when it has a
// file, in MIT's file2 format under an exclusive lock, so that
// one-process-per-connection kpropds (inetd, systemd Accept=yes) and MIT's
// own tools see each other's entries. It is safe for concurrent use.
type ReplayCache struct {
	path string // file2 cache; "" keeps entries in memory only
	now  func() time.Time

	mu  sync.Mutex
	mem map[[ReplayTagSize]byte]uint32 // tag -> time stored (Unix seconds)
}

// NewReplayCache returns a replay cache backed by the file at path (created
// mode 0600 on first use), or kept in memory only when path is "". now is
// the clock; nil means time.Now.
func NewReplayCache(path string, now func() time.Time) *ReplayCache {
	if now == nil {
		now = time.Now
	}
	return &ReplayCache{path: path, now: now, mem: map[[ReplayTagSize]byte]uint32{}}
}

// Path is the backing file, or "" for a memory-only cache.
func (c *ReplayCache) Path() string { return c.path }

// DefaultReplayCachePath returns the replay cache MIT's k5_rc_default would
// pick for a process of user euid, given its environment lookup getenv and
// the [libdefaults] default_rcache_name setting profileName ("" if unset):
// KRB5RCACHENAME, else KRB5RCACHETYPE with an empty residual, else
// profileName, else "dfl:", the file $KRB5RCACHEDIR (else $TMPDIR, else
// /var/tmp) /krb5_<euid>.rcache2. The result is the file to use, or
// disabled true for the "none" type. Types other than dfl, file2 and none
// are errors.
func DefaultReplayCachePath(getenv func(string) string, profileName string, euid int) (path string, disabled bool, err error) {
	name := getenv("KRB5RCACHENAME")
	if name == "" {
		if t := getenv("KRB5RCACHETYPE"); t != "" {
			name = t + ":"
		}
	}
	if name == "" {
		name = profileName
	}
	if name == "" {
		name = "dfl:"
	}
	typ, residual, ok := strings.Cut(name, ":")
	if !ok {
		return "", false, fmt.Errorf("replay cache name %q has no type", name)
	}
	switch typ {
	case "none":
		return "", true, nil
	case "file2":
		if residual == "" {
			return "", false, fmt.Errorf("replay cache name %q has no file name", name)
		}
		return residual, false, nil
	case "dfl":
		dir := getenv("KRB5RCACHEDIR")
		if dir == "" {
			dir = getenv("TMPDIR")
		}
		if dir == "" {
			dir = "/var/tmp"
		}
		return dir + "/krb5_" + strconv.Itoa(euid) + ".rcache2", false, nil
	default:
		return "", false, fmt.Errorf("replay cache type %q is not supported", typ)
	}
}

// ReplayTag is the tag MIT stores for an authenticator: the first
// ReplayTagSize bytes of the checksum that ends its ciphertext
// (k5_rc_tag_from_ciphertext), zero-padded when the checksum is shorter.
// checksumLen is the enctype's checksum length.
func ReplayTag(ciphertext []byte, checksumLen int) ([ReplayTagSize]byte, error) {
	var tag [ReplayTagSize]byte
	if checksumLen < 0 || len(ciphertext) < checksumLen {
		return tag, fmt.Errorf("authenticator ciphertext of %d bytes is shorter than its %d-byte checksum", len(ciphertext), checksumLen)
	}
	copy(tag[:], ciphertext[len(ciphertext)-checksumLen:])
	return tag, nil
}

// Store records tag, or returns ErrReplay if it was stored within skew.
// Entries older than skew are expired and their slots reused, as MIT does.
func (c *ReplayCache) Store(tag [ReplayTagSize]byte, skew time.Duration) error {
	now := uint32(c.now().Unix())
	sk := uint32(skew / time.Second)

	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.mem[tag]; ok && !rcExpired(t, now, sk) {
		return ErrReplay
	}
	if c.path != "" {
		if err := c.storeFile(tag, now, sk); err != nil {
			return err
		}
	}
	if len(c.mem) >= rcMaxMemory {
		for k, t := range c.mem {
			if rcExpired(t, now, sk) {
				delete(c.mem, k)
			}
		}
		for k := range c.mem {
			if len(c.mem) < rcMaxMemory {
				break
			}
			delete(c.mem, k)
		}
	}
	c.mem[tag] = now
	return nil
}

// rcExpired is MIT's expired(): now is after stamp+skew, in wrapping
// 32-bit time.
func rcExpired(stamp, now, skew uint32) bool {
	return int32(now-(stamp+skew)) > 0
}

// storeFile opens the file as MIT's dfl and file2 types do (create 0600,
// no symlinks, owned by us) and stores under an exclusive lock held until
// the file is closed.
func (c *ReplayCache) storeFile(tag [ReplayTagSize]byte, now, skew uint32) error {
	f, err := openReplayFile(c.path)
	if err != nil {
		return fmt.Errorf("replay cache: %w", err)
	}
	defer f.Close()
	if err := filelock.Lock(f, true); err != nil {
		return fmt.Errorf("replay cache %s: lock: %w", c.path, err)
	}
	if err := rcStore(f, tag, now, skew); err != nil {
		if errors.Is(err, ErrReplay) {
			return err
		}
		return fmt.Errorf("replay cache %s: %w", c.path, err)
	}
	return nil
}

// rcFile is what rcStore needs of the cache file.
type rcFile interface {
	io.ReaderAt
	io.WriterAt
}

// rcStore is rc_file2.c's store(): look tag up in each table in turn,
// remember the first empty or expired slot, and write tag there once a
// table shows an empty slot or ends the file (tag would have been stored
// there before).
func rcStore(f rcFile, tag [ReplayTagSize]byte, now, skew uint32) error {
	var seed [rcSeedLen]byte
	n, err := f.ReadAt(seed[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read seed: %w", err)
	}
	if n < rcSeedLen {
		if _, err := rand.Read(seed[:]); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		// MIT writes the new seed where its short read stopped; a file
		// that short holds no records, so offset 0 is the same in every
		// case that matters and keeps a damaged file usable.
		if _, err := f.WriteAt(seed[:], 0); err != nil {
			return fmt.Errorf("write seed: %w", err)
		}
	}
	var tableOff, nrecords int64 = -1, 0
	availOff := int64(-1)
	for {
		if tableOff == -1 {
			tableOff, nrecords = rcSeedLen, rcFirstRecords
		} else if tableOff == rcSeedLen {
			tableOff += nrecords * rcRecordLen
			nrecords = (rcFirstRecords + 1) * 2
		} else {
			tableOff += nrecords * rcRecordLen
			nrecords *= 2
		}
		if nrecords > rcMaxFileSize/rcRecordLen || tableOff > rcMaxFileSize-nrecords*rcRecordLen {
			return fmt.Errorf("replay cache is full")
		}
		ind := int64(siphash24(tag[:], seed) % uint64(nrecords))
		recOff := tableOff + ind*rcRecordLen
		var buf [2 * rcRecordLen]byte
		got, err := f.ReadAt(buf[:], recOff)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read record: %w", err)
		}
		nread := got / rcRecordLen
		var stamp1, stamp2 uint32
		if nread >= 1 {
			stamp1 = binary.BigEndian.Uint32(buf[ReplayTagSize:rcRecordLen])
			if stamp1 != 0 && [ReplayTagSize]byte(buf[:ReplayTagSize]) == tag {
				return ErrReplay
			}
		}
		if nread == 2 {
			stamp2 = binary.BigEndian.Uint32(buf[rcRecordLen+ReplayTagSize:])
			if stamp2 != 0 && [ReplayTagSize]byte(buf[rcRecordLen:rcRecordLen+ReplayTagSize]) == tag {
				return ErrReplay
			}
		}
		if availOff == -1 {
			if nread == 0 || stamp1 == 0 || rcExpired(stamp1, now, skew) {
				availOff = recOff
			} else if nread == 1 || stamp2 == 0 || rcExpired(stamp2, now, skew) {
				availOff = recOff + rcRecordLen
			}
		}
		if nread < 2 || stamp1 == 0 || stamp2 == 0 {
			var rec [rcRecordLen]byte
			copy(rec[:], tag[:])
			binary.BigEndian.PutUint32(rec[ReplayTagSize:], now)
			if _, err := f.WriteAt(rec[:], availOff); err != nil {
				return fmt.Errorf("write record: %w", err)
			}
			return nil
		}
		// The next table is searched with a different seed.
		seed[0]++
	}
}

// siphash24 is SipHash-2-4 (Aumasson and Bernstein) with the key read as two
// little-endian words, as MIT's k5_siphash24.
func siphash24(data []byte, key [16]byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[:8])
	k1 := binary.LittleEndian.Uint64(key[8:])
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v2 += v3
		v1 = bits.RotateLeft64(v1, 13) ^ v0
		v3 = bits.RotateLeft64(v3, 16) ^ v2
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v1
		v0 += v3
		v1 = bits.RotateLeft64(v1, 17) ^ v2
		v3 = bits.RotateLeft64(v3, 21) ^ v0
		v2 = bits.RotateLeft64(v2, 32)
	}
	compress := func(m uint64) {
		v3 ^= m
		round()
		round()
		v0 ^= m
	}
	full := len(data) - len(data)%8
	for i := 0; i < full; i += 8 {
		compress(binary.LittleEndian.Uint64(data[i:]))
	}
	var last [8]byte
	copy(last[:], data[full:])
	last[7] = byte(len(data))
	compress(binary.LittleEndian.Uint64(last[:]))
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
