package krb5x

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"fmt"
	"hash"
	"io"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// keyUsageKRBPriv is the key usage of EncKrbPrivPart (RFC 4120 §7.5.1).
const keyUsageKRBPriv = 13

// enctypeUnknown is MIT's ENCTYPE_UNKNOWN (0x1ff): krb5_k_decrypt accepts
// an EncryptedData with this etype under a key of any enctype.
const enctypeUnknown int32 = 0x1ff

// PrivMessage is the content of a KRB-PRIV as kprop uses it (spec §3.3):
// user data, a sequence number, the sender's address and an optional
// recipient address; no timestamp.
type PrivMessage struct {
	UserData []byte
	Seq      uint32
	SAddr    Address
	RAddr    *Address
}

// PrivStream seals and opens the KRB-PRIV messages of one auth context
// with a persistent cipher state, as MIT's krb5_mk_priv and krb5_rd_priv
// do after krb5_auth_con_initivector (spec §3.4): the state starts at
// zero and every message, in either direction, continues from the state
// the previous one left. A dump block sealed or opened with a fresh state
// therefore fails from the second block on. A PrivStream is not safe for
// concurrent use, and its state only makes sense for messages handled in
// the order they are sent.
type PrivStream struct {
	c     *Cipher
	mac   hash.Hash   // HMAC keyed with Ki, reused for every message
	state []byte      // CBC/CTS cipher state (block-cipher enctypes)
	ks    *rc4.Cipher // RC4 keystream once the first message started it
	// random supplies confounders; tests replay MIT's.
	random io.Reader
	tail   []byte // scratch for the fields after user-data
	etype  int32
}

// NewPrivStream returns a stream for session key key, with the zero
// initial cipher state of krb5_auth_con_initivector, usage 13.
func NewPrivStream(key types.EncryptionKey) (*PrivStream, error) {
	c, err := NewCipher(key, keyUsageKRBPriv)
	if err != nil {
		return nil, fmt.Errorf("krb-priv: %w", err)
	}
	s := &PrivStream{c: c, random: rand.Reader, etype: key.KeyType}
	if c.profile != profileRC4 {
		s.mac = hmac.New(c.hash, c.ki)
		s.state = make([]byte, c.block.BlockSize())
	}
	return s, nil
}

// Seal encodes and encrypts one KRB-PRIV (MIT's krb5_mk_priv): the
// EncKrbPrivPart holds user-data, seq-number (omitted when 0, as MIT
// does), s-address and r-address when given; the EncryptedData carries the
// etype and no kvno. The cipher state advances.
func (s *PrivStream) Seal(m PrivMessage) ([]byte, error) {
	return s.AppendSeal(nil, m)
}

// AppendSeal is Seal appending the message to dst, so that a caller
// sending many blocks can reuse one buffer; m.UserData must not lie in
// dst's spare capacity.
func (s *PrivStream) AppendSeal(dst []byte, m PrivMessage) ([]byte, error) {
	c := s.c
	tail := s.tail[:0]
	if m.Seq != 0 {
		tail = asn1der.AppendCtxInt(tail, 3, int64(m.Seq))
	}
	tail = asn1der.AppendHeader(tail, asn1der.CtxTag(4), addressSize(m.SAddr))
	tail = appendAddress(tail, m.SAddr)
	if m.RAddr != nil {
		tail = asn1der.AppendHeader(tail, asn1der.CtxTag(5), addressSize(*m.RAddr))
		tail = appendAddress(tail, *m.RAddr)
	}
	s.tail = tail

	// Sizes, innermost first: EncKrbPrivPart, its ciphertext, then the
	// KRB-PRIV around it, so that everything is written once, in place.
	seqLen := asn1der.TLVSize(asn1der.TLVSize(len(m.UserData))) + len(tail)
	ptLen := asn1der.TLVSize(asn1der.TLVSize(seqLen))
	ctLen := c.ciphertextLen(ptLen)
	var etypeField [16]byte
	ef := asn1der.AppendCtxInt(etypeField[:0], 0, int64(s.etype))
	encLen := len(ef) + asn1der.TLVSize(asn1der.TLVSize(ctLen))
	var hdr [10]byte
	h := asn1der.AppendCtxInt(asn1der.AppendCtxInt(hdr[:0], 0, PVNO), 1, AppKRBPriv)
	privLen := len(h) + asn1der.TLVSize(asn1der.TLVSize(encLen))
	total := asn1der.TLVSize(asn1der.TLVSize(privLen))

	start := len(dst)
	out := dst
	if cap(out)-len(out) < total {
		out = make([]byte, len(dst), len(dst)+total)
		copy(out, dst)
	}
	out = asn1der.AppendHeader(out, asn1der.AppTag(AppKRBPriv), asn1der.TLVSize(privLen))
	out = asn1der.AppendHeader(out, asn1der.TagSequence, privLen)
	out = append(out, h...)
	out = asn1der.AppendHeader(out, asn1der.CtxTag(3), asn1der.TLVSize(encLen))
	out = asn1der.AppendHeader(out, asn1der.TagSequence, encLen)
	out = append(out, ef...)
	out = asn1der.AppendHeader(out, asn1der.CtxTag(2), asn1der.TLVSize(ctLen))
	out = asn1der.AppendHeader(out, asn1der.TagOctetString, ctLen)
	ct := out[len(out) : len(out)+ctLen]
	out = out[:len(out)+ctLen]

	conf := c.confounderSize()
	if c.profile == profileRC4 {
		conf += c.macLen // checksum, then confounder
	}
	if _, err := io.ReadFull(s.random, ct[conf-c.confounderSize():conf]); err != nil {
		return dst, fmt.Errorf("krb-priv: confounder: %w", err)
	}
	pt := asn1der.AppendHeader(ct[conf:conf], asn1der.AppTag(AppEncKrbPriv), asn1der.TLVSize(seqLen))
	pt = asn1der.AppendHeader(pt, asn1der.TagSequence, seqLen)
	pt = asn1der.AppendCtxString(pt, 0, asn1der.TagOctetString, m.UserData)
	pt = append(pt, tail...)
	if len(pt) != ptLen || &pt[0] != &ct[conf] {
		return dst, fmt.Errorf("krb-priv: encoded %d bytes, expected %d", len(pt), ptLen)
	}
	if c.profile == profileRC4 {
		if err := s.sealRC4(ct); err != nil {
			return dst, err
		}
	} else {
		n := c.paddedLen(ptLen)
		clear(ct[conf+ptLen : n])
		s.state = c.encryptInPlace(s.state, ct, n, s.mac)
	}
	if len(out)-start != total {
		return dst, fmt.Errorf("krb-priv: encoded %d bytes, expected %d", len(out)-start, total)
	}
	return out, nil
}

// sealRC4 encrypts ct = checksum | confounder | plaintext (RFC 4757) with
// MIT's cipher state for RC4: the first message starts a keystream with
// its own derived key and later ones continue it (spec §3.4).
func (s *PrivStream) sealRC4(ct []byte) error {
	k1 := s.c.ki
	sum := hmacSum(md5.New, k1, ct[s.c.macLen:])
	copy(ct, sum)
	if s.ks == nil {
		ks, err := rc4.NewCipher(hmacSum(md5.New, k1, sum))
		if err != nil {
			return fmt.Errorf("krb-priv: %w", err)
		}
		s.ks = ks
	}
	s.ks.XORKeyStream(ct[s.c.macLen:], ct[s.c.macLen:])
	return nil
}

// Open decodes and decrypts one KRB-PRIV (MIT's krb5_rd_priv) and
// returns its content; UserData is a fresh buffer the caller may keep.
// The cipher state advances once the ciphertext has decrypted. Failures
// are *Error values with MIT's codes: 40 not a KRB-PRIV, 3 wrong pvno, 60
// undecodable (ASN.1 text), an etype other than the key's ("Bad
// encryption type") or a ciphertext too short for the enctype, 31 a
// ciphertext that fails its integrity check (also what a broken cipher
// state chain gives). As with ReadSafe, the caller checks Seq (42) and
// any RAddr (38).
func (s *PrivStream) Open(der []byte) (PrivMessage, error) {
	m, _, err := s.OpenInto(der, nil)
	return m, err
}

// OpenInto is Open decrypting into buf's storage when it is large enough,
// so a stream of 32 KiB blocks does not allocate one per block. The
// message's fields alias the returned buffer, which the caller passes to
// the next call; they are valid until then.
func (s *PrivStream) OpenInto(der, buf []byte) (PrivMessage, []byte, error) {
	if !IsApp(der, AppKRBPriv) {
		return PrivMessage{}, buf, newError(CodeMsgType, nil)
	}
	m, buf, err := s.open(der, buf)
	if err != nil {
		return PrivMessage{}, buf, wireError(err)
	}
	return m, buf, nil
}

func (s *PrivStream) open(der, buf []byte) (PrivMessage, []byte, error) {
	m, err := s.openBuf(der, &buf)
	return m, buf, err
}

func (s *PrivStream) openBuf(der []byte, buf *[]byte) (PrivMessage, error) {
	top, err := asn1der.TopLevel(der, AppKRBPriv)
	if err != nil {
		return PrivMessage{}, err
	}
	f, err := asn1der.Sequence(top.Content, asn1der.Tags(0, 1, 3), asn1der.Tags(0, 1, 3))
	if err != nil {
		return PrivMessage{}, err
	}
	if err := checkHeader(f[0], f[1], AppKRBPriv); err != nil {
		return PrivMessage{}, err
	}
	ed, err := ParseEncryptedData(f[3])
	if err != nil {
		return PrivMessage{}, err
	}
	etype, ct := ed.EType, ed.Cipher
	if etype != s.etype && etype != enctypeUnknown {
		return PrivMessage{}, genericError(TextBadEnctype, nil)
	}
	c := s.c
	if len(ct) < c.Overhead() {
		return PrivMessage{}, fmt.Errorf("%w: %d bytes", ErrMessageSize, len(ct))
	}
	var pt []byte
	if c.profile == profileRC4 {
		if pt, err = s.openRC4(ct); err != nil {
			return PrivMessage{}, err
		}
	} else {
		plain := *buf
		if n := len(ct) - c.macLen; cap(plain) >= n {
			plain = plain[:n]
		} else {
			plain = make([]byte, n)
		}
		*buf = plain
		next, err := c.decryptTo(s.state, plain, ct, s.mac)
		if err != nil {
			return PrivMessage{}, err
		}
		s.state = next
		pt = plain[c.confounderSize():]
	}
	return parseEncKrbPrivPart(pt)
}

// parseEncKrbPrivPart decodes EncKrbPrivPart ::= [APPLICATION 28]
// SEQUENCE { user-data [0], timestamp [1], usec [2], seq-number [3],
// s-address [4], r-address [5] } (the slices alias pt).
func parseEncKrbPrivPart(pt []byte) (PrivMessage, error) {
	enc, err := asn1der.TopLevel(pt, AppEncKrbPriv)
	if err != nil {
		return PrivMessage{}, err
	}
	ef, err := asn1der.Sequence(enc.Content, asn1der.Tags(0, 1, 2, 3, 4, 5), asn1der.Tags(0, 4))
	if err != nil {
		return PrivMessage{}, err
	}
	sm, err := parseSafeOrPrivFields(ef)
	if err != nil {
		return PrivMessage{}, err
	}
	return PrivMessage(sm), nil
}

// openRC4 is sealRC4's inverse; the keystream advances even when the
// checksum then fails, as MIT's state does.
func (s *PrivStream) openRC4(ct []byte) ([]byte, error) {
	k1 := s.c.ki
	sum := ct[:s.c.macLen]
	if s.ks == nil {
		ks, err := rc4.NewCipher(hmacSum(md5.New, k1, sum))
		if err != nil {
			return nil, err
		}
		s.ks = ks
	}
	plain := make([]byte, len(ct)-s.c.macLen)
	s.ks.XORKeyStream(plain, ct[s.c.macLen:])
	if !hmac.Equal(hmacSum(md5.New, k1, plain), sum) {
		return nil, ErrIntegrity
	}
	return plain[rc4ConfounderSize:], nil
}
