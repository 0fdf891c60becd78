package krb5x

import (
	"crypto/aes"
	"crypto/cipher"
)

// ctsEncrypt encrypts buf in place with AES in CBC mode with ciphertext
// stealing as RFC 3962 §5 defines it (the last two blocks always swapped,
// i.e. CBC-CS3) and returns the next cipher state: the next-to-last block of
// the output, which is what MIT hands back in the ivec.
//
// A buffer of exactly one block is what MIT's builtin AES provider (the one
// Debian's libk5crypto uses) treats specially: it is encrypted with a zero
// IV whatever the cipher state, and the state is left unchanged. The caller
// guarantees len(buf) >= aes.BlockSize and len(iv) == aes.BlockSize.
func ctsEncrypt(b cipher.Block, iv, buf []byte) []byte {
	const bs = aes.BlockSize
	next := make([]byte, bs)
	if len(buf) == bs {
		cipher.NewCBCEncrypter(b, next).CryptBlocks(buf, buf)
		copy(next, iv)
		return next
	}
	head, last := ctsSplit(len(buf))
	prev := iv
	if head > 0 {
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(buf[:head], buf[:head])
		prev = buf[head-bs : head]
	}
	// CBC over the last two plaintext blocks, the final one zero-padded.
	var p1, p2, c1 [bs]byte
	copy(p1[:], buf[head:head+bs])
	copy(p2[:], buf[head+bs:])
	xorBlock(p1[:], prev)
	b.Encrypt(c1[:], p1[:])
	xorBlock(p2[:], c1[:])
	b.Encrypt(next, p2[:])
	// Swap them and drop the stolen bytes of what is now the final block.
	copy(buf[head:], next)
	copy(buf[head+bs:], c1[:last])
	return next
}

// ctsDecrypt is the inverse of ctsEncrypt: it decrypts src into dst (same
// length, either the same slice or not overlapping) and returns the next
// cipher state, the next-to-last ciphertext block. jcmturner/aescts gets
// the stolen block wrong for a non-zero IV; this follows RFC 3962 §5 and
// MIT's krb5int_aes_decrypt.
func ctsDecrypt(b cipher.Block, iv, dst, src []byte) []byte {
	const bs = aes.BlockSize
	next := make([]byte, bs)
	if len(src) == bs {
		cipher.NewCBCDecrypter(b, next).CryptBlocks(dst, src)
		copy(next, iv)
		return next
	}
	head, last := ctsSplit(len(src))
	var prev, c1, d [bs]byte
	copy(prev[:], iv)
	if head > 0 {
		// Keep the block chained into the final pair before dst may
		// overwrite it.
		copy(prev[:], src[head-bs:head])
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(dst[:head], src[:head])
	}
	copy(next, src[head:head+bs])
	copy(c1[:last], src[head+bs:])
	// The full block sent first decrypts to the final plaintext block XOR
	// the (stolen) last CBC block, whose missing tail it also supplies.
	b.Decrypt(d[:], next)
	copy(c1[last:], d[last:])
	for i := 0; i < last; i++ {
		dst[head+bs+i] = d[i] ^ c1[i]
	}
	b.Decrypt(d[:], c1[:])
	xorBlock(d[:], prev[:])
	copy(dst[head:head+bs], d[:])
	return next
}

// ctsSplit returns, for a CTS message of n > aes.BlockSize bytes, the length
// of the plain CBC prefix and the number of bytes in the final block
// (1..16): the last two blocks are the ones that get swapped.
func ctsSplit(n int) (head, last int) {
	const bs = aes.BlockSize
	blocks := (n + bs - 1) / bs
	head = (blocks - 2) * bs
	return head, n - head - bs
}

func xorBlock(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}
