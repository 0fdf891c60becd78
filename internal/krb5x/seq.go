package krb5x

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
)

// NewSeqNumber returns a random initial sequence number as MIT's
// krb5_generate_seq_number: 30 random bits, and 1 instead of 0, so that
// about 2^30 messages fit before the value reaches the range older
// implementations treated as negative.
func NewSeqNumber() (uint32, error) {
	return newSeqNumber(rand.Reader)
}

func newSeqNumber(random io.Reader) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return 0, fmt.Errorf("sequence number: %w", err)
	}
	n := binary.BigEndian.Uint32(b[:]) & 0x3fffffff
	if n == 0 {
		n = 1
	}
	return n, nil
}
