package propagation

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformedSize reports database-size user-data that is not one of the
// two canonical encodings (spec §3.1).
var ErrMalformedSize = errors.New("malformed database size")

// AppendSize appends the database size as kprop 1.20 encodes it in the
// user-data of the size and confirmation KRB-SAFEs (spec §3.1): 4 bytes
// big-endian for 1..2^32-1, otherwise 12 bytes, four zero bytes and the
// 8-byte big-endian size. A 0-byte dump therefore goes out as 12 zero
// bytes, which a pre-1.20 kpropd reads as size 0 and then fails to load,
// the "forced error" MIT intends.
func AppendSize(dst []byte, size uint64) []byte {
	if size >= 1 && size <= 0xffffffff {
		return binary.BigEndian.AppendUint32(dst, uint32(size))
	}
	dst = append(dst, 0, 0, 0, 0)
	return binary.BigEndian.AppendUint64(dst, size)
}

// DecodeSize decodes a database size, accepting only the encodings
// AppendSize produces: 4 bytes, or 12 bytes starting with four zero bytes
// whose value is outside 1..2^32-1, as MIT 1.20's decode_database_size.
func DecodeSize(b []byte) (uint64, error) {
	switch len(b) {
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	case 12:
		if binary.BigEndian.Uint32(b) != 0 {
			return 0, fmt.Errorf("%w: 12-byte form with non-zero high word", ErrMalformedSize)
		}
		v := binary.BigEndian.Uint64(b[4:])
		if v >= 1 && v <= 0xffffffff {
			return 0, fmt.Errorf("%w: 12-byte form of %d, which has a 4-byte form", ErrMalformedSize, v)
		}
		return v, nil
	default:
		return 0, fmt.Errorf("%w: %d bytes", ErrMalformedSize, len(b))
	}
}
