package dump

import (
	"errors"
	"io"
	"math"
)

// MIT's loader reads dumps with fscanf (spec §1.8). input reproduces the
// glibc scanf primitives it relies on, byte for byte, so that we accept and
// reject the same files and read the same values from odd ones: white space
// (C isspace) before every conversion, integers parsed by strtol/strtoul and
// then truncated to the destination width, "%02x" taking a sign and a "0x"
// prefix into its two-character width, and "%Ns" reading at most N bytes of
// a longer token.

// bufSize is the read buffer; a whole typical record fits, so the hex fast
// path rarely straddles a refill.
const bufSize = 64 << 10

type input struct {
	r   io.Reader
	buf []byte
	pos int
	end int
	err error // first error from r; io.EOF once it is exhausted
}

func newInput(r io.Reader) *input {
	return &input{r: r, buf: make([]byte, bufSize)}
}

// fill makes at least one unread byte available, reporting false at the end
// of the input or on a read error (kept in in.err).
func (in *input) fill() bool {
	if in.pos < in.end {
		return true
	}
	if in.err != nil {
		return false
	}
	in.pos, in.end = 0, 0
	for range 100 {
		n, err := in.r.Read(in.buf)
		in.end = n
		if err != nil {
			in.err = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	in.err = io.ErrNoProgress
	return false
}

// ioErr is the read error that ended the input, or nil at a clean end.
func (in *input) ioErr() error {
	if in.err == nil || errors.Is(in.err, io.EOF) {
		return nil
	}
	return in.err
}

func (in *input) peek() (byte, bool) {
	if !in.fill() {
		return 0, false
	}
	return in.buf[in.pos], true
}

func (in *input) next() (byte, bool) {
	if !in.fill() {
		return 0, false
	}
	c := in.buf[in.pos]
	in.pos++
	return c, true
}

// isSpace is C isspace in the "C" locale, which MIT's tools run in for
// dumps: the bytes a scanf white-space directive or %s stops at.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// skipSpace is a scanf white-space directive: any run of white space,
// newlines included, or none.
func (in *input) skipSpace() {
	for in.fill() {
		for in.pos < in.end {
			if !isSpace(in.buf[in.pos]) {
				return
			}
			in.pos++
		}
	}
}

// conv is the outcome of one scanf conversion.
type conv int

const (
	convOK   conv = iota
	convEOF       // input failure: end of input before the conversion started
	convFail      // matching failure
)

func digitValue(c byte, base uint64) (uint64, bool) {
	var d uint64
	switch {
	case c >= '0' && c <= '9':
		d = uint64(c - '0')
	case c >= 'a' && c <= 'f':
		d = uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = uint64(c-'A') + 10
	default:
		return 0, false
	}
	return d, d < base
}

// scanInt is glibc's integer conversion with the given base and maximum
// field width (0 for none). The result is what strtol (signed) or strtoul
// (unsigned) returns for the characters taken, as a 64-bit pattern: signed
// overflow saturates at the int64 limits, unsigned overflow at MaxUint64,
// and a minus sign negates an unsigned value modulo 2^64. Callers truncate
// it to the destination type as the C assignment does.
func (in *input) scanInt(base uint64, width int, signed bool) (uint64, conv) {
	in.skipSpace()
	if base == 10 && width == 0 {
		// Fast path for the usual case: at most 19 digits (no overflow
		// possible) ending inside the buffer.
		b := in.buf[in.pos:in.end]
		i, neg := 0, false
		if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
			neg, i = b[0] == '-', 1
		}
		start := i
		var mag uint64
		for i < len(b) && i-start < 19 && b[i]-'0' < 10 {
			mag = mag*10 + uint64(b[i]-'0')
			i++
		}
		if i > start && i < len(b) && b[i]-'0' >= 10 {
			in.pos += i
			return intResult(neg, mag, false, signed), convOK
		}
	}
	c, ok := in.peek()
	if !ok {
		return 0, convEOF
	}
	w := width
	if w == 0 {
		w = -1
	}
	neg := false
	if c == '-' || c == '+' {
		neg = c == '-'
		in.pos++
		w--
		c, ok = in.peek()
	}
	digits := 0
	if ok && w != 0 && c == '0' {
		// glibc looks for a base prefix; for %x the "x" is consumed and
		// counts against the width even when no digit follows (so "0x"
		// reads as 0, as MIT's loader does).
		in.pos++
		w--
		digits++
		c, ok = in.peek()
		if ok && w != 0 && base == 16 && (c == 'x' || c == 'X') {
			in.pos++
			w--
			c, ok = in.peek()
		}
	}
	var mag uint64
	overflow := false
	for ok && w != 0 {
		d, isDigit := digitValue(c, base)
		if !isDigit {
			break
		}
		if mag > (math.MaxUint64-d)/base {
			overflow = true
		} else {
			mag = mag*base + d
		}
		in.pos++
		w--
		digits++
		c, ok = in.peek()
	}
	if digits == 0 {
		return 0, convFail
	}
	return intResult(neg, mag, overflow, signed), convOK
}

// intResult is what strtol (signed) or strtoul returns for a sign and
// magnitude, overflow meaning the magnitude did not fit in 64 bits.
func intResult(neg bool, mag uint64, overflow, signed bool) uint64 {
	if signed {
		switch {
		case !neg && (overflow || mag > math.MaxInt64):
			return math.MaxInt64
		case neg && (overflow || mag > 1<<63):
			return 1 << 63 // math.MinInt64
		case neg:
			return -mag
		}
		return mag
	}
	switch {
	case overflow:
		return math.MaxUint64
	case neg:
		return -mag
	}
	return mag
}

// scanD is "%d": the strtol result truncated to a C int.
func (in *input) scanD() (int32, conv) {
	v, c := in.scanInt(10, 0, true)
	return int32(v), c
}

// scanU is "%u": the strtoul result truncated to a C unsigned int.
func (in *input) scanU() (uint32, conv) {
	v, c := in.scanInt(10, 0, false)
	return uint32(v), c
}

// scanHD is "%hd": the strtol result truncated to a C short.
func (in *input) scanHD() (int16, conv) {
	v, c := in.scanInt(10, 0, true)
	return int16(v), c
}

// scanString is "%Ns": up to max bytes of one white-space delimited token,
// appended to dst. The rest of a longer token stays in the input, as with
// scanf.
func (in *input) scanString(dst []byte, max int) ([]byte, conv) {
	in.skipSpace()
	if !in.fill() {
		return dst, convEOF
	}
	n := 0
	for n < max && in.fill() {
		c := in.buf[in.pos]
		if isSpace(c) {
			break
		}
		dst = append(dst, c)
		in.pos++
		n++
	}
	return dst, convOK
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// readHex reads n bytes the way MIT's read_octet_string does, with n
// "%02x" conversions, appending them to dst. Runs of plain hex digit pairs
// are decoded straight from the buffer; anything else (white space between
// pairs, a sign, "0x", a buffer boundary) goes through scanInt, which gives
// the same result for those pairs.
func (in *input) readHex(dst []byte, n int) ([]byte, bool) {
	for n > 0 {
		for n > 0 && in.end-in.pos >= 2 {
			hi, ok1 := hexNibble(in.buf[in.pos])
			lo, ok2 := hexNibble(in.buf[in.pos+1])
			if !ok1 || !ok2 {
				break
			}
			dst = append(dst, hi<<4|lo)
			in.pos += 2
			n--
		}
		if n == 0 {
			break
		}
		v, c := in.scanInt(16, 2, false)
		if c != convOK {
			return dst, false
		}
		dst = append(dst, byte(v))
		n--
	}
	return dst, true
}
