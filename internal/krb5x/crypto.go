package krb5x

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/jcmturner/gokrb5/v8/crypto/rfc8009"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/memo"
)

// ErrIntegrity reports a ciphertext whose checksum does not match, MIT's
// KRB5KRB_AP_ERR_BAD_INTEGRITY ("Decrypt integrity check failed").
var ErrIntegrity = errors.New("integrity check failed")

// ErrMessageSize reports a ciphertext too short or of a length the enctype
// cannot produce, MIT's KRB5_BAD_MSIZE.
var ErrMessageSize = errors.New("message size is incompatible with encryption type")

// ErrUnsupportedEnctype reports an enctype this package cannot use for the
// requested operation, MIT's KRB5_BAD_ENCTYPE.
var ErrUnsupportedEnctype = errors.New("unsupported encryption type")

// profile is the RFC 3961 encryption profile an enctype follows.
type profile int

const (
	// profileDK is the simplified profile of RFC 3961 §5.3 (MIT
	// krb5int_dk_encrypt): E(confounder|plaintext|pad) | HMAC(plaintext).
	profileDK profile = iota
	// profileETM is RFC 8009 (MIT krb5int_etm_encrypt):
	// E(confounder|plaintext) | HMAC(iv|ciphertext).
	profileETM
	// profileRC4 is RFC 4757 (MIT krb5int_arcfour_encrypt).
	profileRC4
)

// Cipher encrypts and decrypts with one key and one key usage. The derived
// keys are computed once, so a stream of messages under the same key (a
// kprop session's KRB-PRIV blocks) pays for key derivation only once. A
// Cipher is immutable and safe for concurrent use.
type Cipher struct {
	etype   int32
	profile profile
	block   cipher.Block     // keyed with Ke (DK, ETM)
	hash    func() hash.Hash // HMAC hash for Ki
	ki      []byte           // integrity key; for RC4 the usage key K1
	ki8     []byte           // RC4 only: K1 for usage 8, the fallback for usage 9
	macLen  int              // bytes of HMAC output kept
	// macs holds HMACs keyed with ki for reuse: a Cipher kept for a
	// KDC's hot keys would otherwise build one per message.
	macs sync.Pool
}

// getMAC returns an HMAC keyed with ki; putMAC gives it back.
func (c *Cipher) getMAC() hash.Hash {
	if m, ok := c.macs.Get().(hash.Hash); ok {
		return m
	}
	return hmac.New(c.hash, c.ki)
}

func (c *Cipher) putMAC(m hash.Hash) { c.macs.Put(m) }

// NewCipher derives the encryption and integrity keys of key for usage.
// Any usage is accepted, including 0, which MIT uses for keys at rest
// (src/lib/kdb/encrypt_key.c).
func NewCipher(key types.EncryptionKey, usage uint32) (*Cipher, error) {
	etype := key.KeyType
	want := KeySize(etype)
	if want == 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedEnctype, EnctypeName(etype))
	}
	if len(key.KeyValue) != want {
		return nil, fmt.Errorf("%s key is %d bytes, want %d", EnctypeName(etype), len(key.KeyValue), want)
	}
	c := &Cipher{etype: etype}
	base := key.KeyValue
	var err error
	switch etype {
	case EnctypeDES3CBCSHA1:
		c.profile, c.hash, c.macLen = profileDK, sha1.New, sha1.Size
		c.block, c.ki, err = deriveDK(des.NewTripleDESCipher, base, usage, des3RandomToKey)
	case EnctypeAES128CTSHMACSHA196, EnctypeAES256CTSHMACSHA196:
		c.profile, c.hash, c.macLen = profileDK, sha1.New, 12
		c.block, c.ki, err = deriveDK(aes.NewCipher, base, usage, nil)
	case EnctypeAES128CTSHMACSHA256:
		c.profile, c.hash, c.macLen = profileETM, sha256.New, 16
		c.block, c.ki, err = deriveETM(etype, base, usage, 128, 128)
	case EnctypeAES256CTSHMACSHA384:
		c.profile, c.hash, c.macLen = profileETM, sha512.New384, 24
		c.block, c.ki, err = deriveETM(etype, base, usage, 256, 192)
	case EnctypeARCFOURHMAC:
		c.profile, c.hash, c.macLen = profileRC4, md5.New, md5.Size
		c.ki = rc4UsageKey(base, usage)
		if usage == 9 {
			c.ki8 = rc4UsageKey(base, 8)
		}
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedEnctype, EnctypeName(etype))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: derive keys for usage %d: %w", EnctypeName(etype), usage, err)
	}
	return c, nil
}

// usageConstant is the RFC 3961 §5.3 well-known constant: the usage as 4
// bytes big-endian followed by 0xAA (Ke), 0x55 (Ki) or 0x99 (Kc). MIT uses
// the same labels for RFC 8009.
func usageConstant(usage uint32, kind byte) []byte {
	var c [5]byte
	binary.BigEndian.PutUint32(c[:], usage)
	c[4] = kind
	return c[:]
}

// deriveDK derives Ke (as a ready block cipher) and Ki with RFC 3961 DK.
func deriveDK(newBlock func([]byte) (cipher.Block, error), base []byte, usage uint32, randomToKey func([]byte) []byte) (cipher.Block, []byte, error) {
	ke, err := dk(newBlock, base, usageConstant(usage, 0xAA), randomToKey)
	if err != nil {
		return nil, nil, err
	}
	ki, err := dk(newBlock, base, usageConstant(usage, 0x55), randomToKey)
	if err != nil {
		return nil, nil, err
	}
	b, err := newBlock(ke)
	return b, ki, err
}

// dk is RFC 3961 §5.1 DK(base, constant) = random-to-key(DR(base,
// constant)), where DR encrypts n-fold(constant) with a zero IV and feeds
// the output back until there are enough bytes. randomToKey nil means the
// identity (AES); DES3 needs 21 random bytes for its 24-byte key.
func dk(newBlock func([]byte) (cipher.Block, error), base, constant []byte, randomToKey func([]byte) []byte) ([]byte, error) {
	b, err := newBlock(base)
	if err != nil {
		return nil, err
	}
	n := len(base)
	if randomToKey != nil {
		n = des3SeedSize
	}
	bs := b.BlockSize()
	blk := append([]byte(nil), foldedConstant(constant, bs)...)
	out := make([]byte, 0, n+bs)
	for len(out) < n {
		b.Encrypt(blk, blk)
		out = append(out, blk...)
	}
	out = out[:n]
	if randomToKey != nil {
		out = randomToKey(out)
	}
	return out, nil
}

// foldedConstants memoizes n-folds of usage constants by constant and
// size: a KDC request derives a dozen keys, and the constants come from
// the code's fixed key usages, so the map stays small.
var foldedConstants sync.Map // foldKey → []byte, never modified

type foldKey struct {
	constant [5]byte
	size     int
}

func foldedConstant(constant []byte, size int) []byte {
	if len(constant) != 5 {
		return nfold(constant, size)
	}
	k := foldKey{constant: [5]byte(constant), size: size}
	if v, ok := foldedConstants.Load(k); ok {
		return v.([]byte)
	}
	v, _ := foldedConstants.LoadOrStore(k, nfold(constant, size))
	return v.([]byte)
}

// deriveETM derives Ke and Ki with RFC 8009's KDF-HMAC-SHA2; for
// aes256-sha2 Ke is 256 bits but Ki only 192 (half the SHA-384 output).
func deriveETM(etype int32, base []byte, usage uint32, keBits, kiBits int) (cipher.Block, []byte, error) {
	e, err := gokrbEtype(etype)
	if err != nil {
		return nil, nil, err
	}
	ke := rfc8009.KDF_HMAC_SHA2(base, usageConstant(usage, 0xAA), nil, keBits, e)
	ki := rfc8009.KDF_HMAC_SHA2(base, usageConstant(usage, 0x55), nil, kiBits, e)
	b, err := aes.NewCipher(ke)
	return b, ki, err
}

// rc4UsageKey is RFC 4757's K1 = HMAC-MD5(key, usage as 4 bytes
// little-endian), after MIT's krb5int_arcfour_translate_usage. MIT keeps
// usage 9 (as Microsoft does) where the RFC says 8.
func rc4UsageKey(key []byte, usage uint32) []byte {
	switch usage {
	case 3:
		usage = 8
	case 23:
		usage = 13
	}
	var salt [4]byte
	binary.LittleEndian.PutUint32(salt[:], usage)
	return hmacSum(md5.New, key, salt[:])
}

func hmacSum(h func() hash.Hash, key []byte, data ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// StateSize is the length of a cipher state for this enctype: the cipher
// block size (16 for AES, 8 for DES3), or 0 for RC4, whose MIT cipher state
// is an RC4 keystream position rather than bytes and is not supported.
func (c *Cipher) StateSize() int {
	if c.profile == profileRC4 {
		return 0
	}
	return c.block.BlockSize()
}

// Overhead is how many bytes longer a ciphertext is than its plaintext
// (before DES3's padding to a whole block).
func (c *Cipher) Overhead() int {
	if c.profile == profileRC4 {
		return c.macLen + rc4ConfounderSize
	}
	return c.block.BlockSize() + c.macLen
}

const rc4ConfounderSize = 8

// iv returns the CBC IV for state: zeros for a nil state, as MIT treats a
// NULL ivec.
func (c *Cipher) iv(state []byte) ([]byte, error) {
	if c.profile == profileRC4 {
		if state != nil {
			return nil, fmt.Errorf("%s: cipher state is not supported", EnctypeName(c.etype))
		}
		return nil, nil
	}
	bs := c.block.BlockSize()
	if state == nil {
		return make([]byte, bs), nil
	}
	if len(state) != bs {
		return nil, fmt.Errorf("%s: cipher state is %d bytes, want %d", EnctypeName(c.etype), len(state), bs)
	}
	return state, nil
}

// Encrypt produces krb5_k_encrypt's output for plaintext, starting from
// the cipher state state (nil for none), and returns the next cipher state
// to chain into the following message, as MIT's krb5_mk_priv does with the
// auth context's cstate. The state passed in is not modified.
func (c *Cipher) Encrypt(state, plaintext []byte) (ciphertext, nextState []byte, err error) {
	return c.seal(rand.Reader, state, plaintext)
}

// seal is Encrypt with the source of the confounder made explicit, so that
// tests can reproduce published vectors.
func (c *Cipher) seal(random io.Reader, state, plaintext []byte) ([]byte, []byte, error) {
	iv, err := c.iv(state)
	if err != nil {
		return nil, nil, err
	}
	if c.profile == profileRC4 {
		return c.sealRC4(random, plaintext)
	}
	return c.sealBlock(random, iv, plaintext)
}

// sealBlock is Encrypt for the block-cipher profiles (DK and RFC 8009).
func (c *Cipher) sealBlock(random io.Reader, iv, plaintext []byte) ([]byte, []byte, error) {
	bs := c.block.BlockSize()
	n := c.paddedLen(len(plaintext))
	out := make([]byte, n+c.macLen)
	if _, err := io.ReadFull(random, out[:bs]); err != nil {
		return nil, nil, fmt.Errorf("confounder: %w", err)
	}
	copy(out[bs:], plaintext)
	mac := c.getMAC()
	defer c.putMAC(mac)
	return out, c.encryptInPlace(iv, out, n, mac), nil
}

// paddedLen is the length of confounder, plaintext and padding for a
// block-cipher profile: DES3 pads with zeros to whole blocks (RFC 3961
// §5.3); CTS needs no padding.
func (c *Cipher) paddedLen(plaintext int) int {
	bs := c.block.BlockSize()
	n := bs + plaintext
	if c.etype == EnctypeDES3CBCSHA1 {
		n = (n + bs - 1) / bs * bs
	}
	return n
}

// ciphertextLen is the length of Encrypt's output for a plaintext of n
// bytes (krb5_c_encrypt_length).
func (c *Cipher) ciphertextLen(n int) int {
	if c.profile == profileRC4 {
		return c.macLen + rc4ConfounderSize + n
	}
	return c.paddedLen(n) + c.macLen
}

// encryptInPlace encrypts buf[:n] (confounder, plaintext and any padding,
// already in place) with IV iv and writes the MAC into buf[n:n+macLen],
// reusing the HMAC mac (keyed with Ki). It returns the next cipher state.
func (c *Cipher) encryptInPlace(iv, buf []byte, n int, mac hash.Hash) []byte {
	body, sum := buf[:n], buf[n:n+c.macLen]
	if c.profile == profileETM {
		next := ctsEncrypt(c.block, iv, body)
		// RFC 8009 §5 and MIT enc_etm.c: the MAC covers the cipher state too.
		macInto(mac, sum, iv, body)
		return next
	}
	macInto(mac, sum, body)
	if c.etype == EnctypeDES3CBCSHA1 {
		bs := c.block.BlockSize()
		cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(body, body)
		return append([]byte(nil), body[n-bs:]...)
	}
	return ctsEncrypt(c.block, iv, body)
}

// decryptTo checks and decrypts ciphertext (at least Overhead bytes) into
// dst, which has len(ciphertext)-macLen bytes and does not overlap it,
// reusing the HMAC mac. It returns the next cipher state.
func (c *Cipher) decryptTo(iv, dst, ciphertext []byte, mac hash.Hash) ([]byte, error) {
	n := len(ciphertext) - c.macLen
	body, sum := ciphertext[:n], ciphertext[n:]
	if c.profile == profileETM {
		if !macEqual(mac, sum, iv, body) {
			return nil, ErrIntegrity
		}
		return ctsDecrypt(c.block, iv, dst, body), nil
	}
	var next []byte
	if c.etype == EnctypeDES3CBCSHA1 {
		bs := c.block.BlockSize()
		if n%bs != 0 {
			return nil, fmt.Errorf("%w: %d bytes of DES3 ciphertext is not a whole number of blocks", ErrMessageSize, n)
		}
		cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(dst, body)
		next = append([]byte(nil), body[n-bs:]...)
	} else {
		next = ctsDecrypt(c.block, iv, dst, body)
	}
	if !macEqual(mac, sum, dst) {
		return nil, ErrIntegrity
	}
	return next, nil
}

// macInto writes the MAC of the concatenated parts, truncated to len(dst).
func macInto(mac hash.Hash, dst []byte, parts ...[]byte) {
	var tmp [sha512.Size]byte
	copy(dst, macOf(mac, tmp[:0], parts...))
}

// macEqual reports, in constant time, whether sum is the truncated MAC of
// the concatenated parts.
func macEqual(mac hash.Hash, sum []byte, parts ...[]byte) bool {
	var tmp [sha512.Size]byte
	full := macOf(mac, tmp[:0], parts...)
	return len(sum) <= len(full) && hmac.Equal(full[:len(sum)], sum)
}

func macOf(mac hash.Hash, b []byte, parts ...[]byte) []byte {
	mac.Reset()
	for _, p := range parts {
		mac.Write(p)
	}
	return mac.Sum(b)
}

func (c *Cipher) sealRC4(random io.Reader, plaintext []byte) ([]byte, []byte, error) {
	out := make([]byte, c.macLen+rc4ConfounderSize+len(plaintext))
	body := out[c.macLen:]
	if _, err := io.ReadFull(random, body[:rc4ConfounderSize]); err != nil {
		return nil, nil, fmt.Errorf("confounder: %w", err)
	}
	copy(body[rc4ConfounderSize:], plaintext)
	sum := hmacSum(md5.New, c.ki, body)
	copy(out, sum)
	if err := rc4XOR(hmacSum(md5.New, c.ki, sum), body); err != nil {
		return nil, nil, err
	}
	return out, nil, nil
}

// Decrypt reverses Encrypt: it checks the ciphertext's integrity, returns
// the plaintext (for DES3 including the zero padding, as krb5_c_decrypt
// does; callers store the real length) and the next cipher state. Malformed
// input gives ErrMessageSize or ErrIntegrity, never a panic.
func (c *Cipher) Decrypt(state, ciphertext []byte) (plaintext, nextState []byte, err error) {
	buf, next, err := c.open(state, ciphertext)
	if err != nil {
		return nil, nil, err
	}
	return buf[c.confounderSize():], next, nil
}

func (c *Cipher) confounderSize() int {
	if c.profile == profileRC4 {
		return rc4ConfounderSize
	}
	return c.block.BlockSize()
}

// open is Decrypt without removing the confounder from the front of the
// result.
func (c *Cipher) open(state, ciphertext []byte) ([]byte, []byte, error) {
	iv, err := c.iv(state)
	if err != nil {
		return nil, nil, err
	}
	if len(ciphertext) < c.Overhead() {
		return nil, nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte %s overhead",
			ErrMessageSize, len(ciphertext), c.Overhead(), EnctypeName(c.etype))
	}
	if c.profile == profileRC4 {
		return c.openRC4(ciphertext)
	}
	return c.openBlock(iv, ciphertext)
}

// openBlock is open for the block-cipher profiles.
func (c *Cipher) openBlock(iv, ciphertext []byte) ([]byte, []byte, error) {
	out := make([]byte, len(ciphertext)-c.macLen)
	mac := c.getMAC()
	defer c.putMAC(mac)
	next, err := c.decryptTo(iv, out, ciphertext, mac)
	if err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

func (c *Cipher) openRC4(ciphertext []byte) ([]byte, []byte, error) {
	sum := ciphertext[:c.macLen]
	for _, k1 := range [][]byte{c.ki, c.ki8} {
		if k1 == nil {
			continue
		}
		body := append([]byte(nil), ciphertext[c.macLen:]...)
		if err := rc4XOR(hmacSum(md5.New, k1, sum), body); err != nil {
			return nil, nil, err
		}
		if hmac.Equal(hmacSum(md5.New, k1, body), sum) {
			return body, nil, nil
		}
	}
	return nil, nil, ErrIntegrity
}

func rc4XOR(key, buf []byte) error {
	s, err := rc4.NewCipher(key)
	if err != nil {
		return err
	}
	s.XORKeyStream(buf, buf)
	return nil
}

// ciphers keeps the Ciphers Encrypt and Decrypt made, so a KDC deriving
// the same keys on every request (the master key's for keys at rest,
// krbtgt's for tickets) derives them once.
var ciphers = memo.New[*Cipher](1024)

// derivationID names what a derived key depends on: enctype (or checksum
// type), usage and base key.
func derivationID(kind int32, usage uint32, key []byte) string {
	id := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint32(id, uint32(kind))
	binary.BigEndian.PutUint32(id[4:], usage)
	return string(append(id, key...))
}

func cachedCipher(key types.EncryptionKey, usage uint32) (*Cipher, error) {
	id := derivationID(key.KeyType, usage, key.KeyValue)
	if c, ok := ciphers.Get(id); ok {
		return c, nil
	}
	c, err := NewCipher(key, usage)
	if err != nil {
		return nil, err
	}
	ciphers.Put(id, c)
	return c, nil
}

// Encrypt is krb5_c_encrypt with no cipher state: the key usage may be any
// value, including 0 (keys at rest in the KDB).
func Encrypt(key types.EncryptionKey, usage uint32, plaintext []byte) ([]byte, error) {
	c, err := cachedCipher(key, usage)
	if err != nil {
		return nil, err
	}
	ct, _, err := c.Encrypt(nil, plaintext)
	return ct, err
}

// Decrypt is krb5_c_decrypt with no cipher state.
func Decrypt(key types.EncryptionKey, usage uint32, ciphertext []byte) ([]byte, error) {
	c, err := cachedCipher(key, usage)
	if err != nil {
		return nil, err
	}
	pt, _, err := c.Decrypt(nil, ciphertext)
	return pt, err
}

// EncryptWithState is krb5_c_encrypt with a cipher state: state is the
// initial CBC IV (nil for zeros) and nextState the value MIT leaves in the
// ivec, to pass to the next message of the same stream. Use NewCipher for
// a stream of messages under one key and usage.
func EncryptWithState(key types.EncryptionKey, usage uint32, state, plaintext []byte) (ciphertext, nextState []byte, err error) {
	c, err := NewCipher(key, usage)
	if err != nil {
		return nil, nil, err
	}
	return c.Encrypt(state, plaintext)
}

// DecryptWithState is krb5_c_decrypt with a cipher state; see
// EncryptWithState.
func DecryptWithState(key types.EncryptionKey, usage uint32, state, ciphertext []byte) (plaintext, nextState []byte, err error) {
	c, err := NewCipher(key, usage)
	if err != nil {
		return nil, nil, err
	}
	return c.Decrypt(state, ciphertext)
}
