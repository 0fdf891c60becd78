package krb5x

// nfold is RFC 3961 §5.1 n-fold of in to size bytes: the input repeated
// up to the least common multiple of both lengths, each copy rotated 13
// bits further right than the one before, the copies cut into size-byte
// numbers and those added with end-around carry. It replaces gokrb5's
// bit-at-a-time version, which cost the KDC more CPU than all its other
// cryptography together: every encryption derives its keys from an n-fold.
func nfold(in []byte, size int) []byte {
	k := len(in)
	out := make([]byte, size)
	if k == 0 || size == 0 {
		return out
	}
	total := k / gcd(k, size) * size
	// Each output byte's column sum, carries not yet propagated: total is
	// small (80 bytes for a usage constant), so an int never overflows.
	sums := make([]int, size)
	for pos := 0; pos < total; pos++ {
		sums[pos%size] += int(rotatedByte(in, 13*(pos/k), pos%k))
	}
	carry := 0
	for i := size - 1; i >= 0; i-- {
		v := sums[i] + carry
		out[i] = byte(v)
		carry = v >> 8
	}
	// The carry out of the top byte goes back in at the bottom (ones'
	// complement addition), as often as it keeps coming out.
	for carry != 0 {
		for i := size - 1; i >= 0 && carry != 0; i-- {
			v := int(out[i]) + carry
			out[i] = byte(v)
			carry = v >> 8
		}
	}
	return out
}

// rotatedByte is byte i of in rotated right by r bits.
func rotatedByte(in []byte, r, i int) byte {
	k := len(in)
	r %= 8 * k
	q, s := r/8, uint(r%8)
	hi := in[((i-q)%k+k)%k]
	if s == 0 {
		return hi
	}
	lo := in[((i-q-1)%k+k)%k]
	return hi>>s | lo<<(8-s)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
