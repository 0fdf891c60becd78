package profile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/krb5prop/krb5prop/kdb"
)

// ParseBool parses a boolean as profile_parse_boolean does: y, yes, true,
// t, 1, on and n, no, false, nil, 0, off, in any ASCII case.
func ParseBool(s string) (bool, error) {
	return parseBool(s, false)
}

// parseBool also accepts "f" for false when kadm5 is true: MIT's
// kdc.conf [realms] booleans (iprop_enable, reject_bad_transit, ...) are
// read by alt_prof.c's own parser, which has it; the profile library's
// has not.
func parseBool(s string, kadm5 bool) (bool, error) {
	for _, y := range []string{"y", "yes", "true", "t", "1", "on"} {
		if equalFoldASCII(s, y) {
			return true, nil
		}
	}
	for _, n := range []string{"n", "no", "false", "nil", "0", "off"} {
		if equalFoldASCII(s, n) {
			return false, nil
		}
	}
	if kadm5 && equalFoldASCII(s, "f") {
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q", s)
}

// equalFoldASCII is strcasecmp in the C locale: unlike strings.EqualFold it
// does not fold non-ASCII letters.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ParseInt parses a decimal integer in C int range as the profile library's
// parse_int does: leading whitespace and a sign allowed, nothing after the
// digits.
func ParseInt(s string) (int, error) {
	n, err := strconv.ParseInt(trimLeftSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid integer %q", s)
	}
	return int(n), nil
}

// ParseFlagSpec parses a default_principal_flags list and applies its
// specifiers in order to an empty mask. It splits the list as
// kadm5_get_config_params does: at the first comma if there is one, else
// at the first space, else at the first tab, then again in the rest. So
// "+preauth -allow_tix" and "+preauth, -allow_tix" are lists of two, but in
// "+preauth -allow_tix,+ok_as_delegate" the first specifier is
// "+preauth -allow_tix", which is invalid; an empty specifier (a trailing
// comma, "a,,b") is invalid too, and MIT refuses all three.
func ParseFlagSpec(list string) (uint32, error) {
	var flags uint32
	for sp := list; ; {
		i := strings.IndexByte(sp, ',')
		if i < 0 {
			i = strings.IndexByte(sp, ' ')
		}
		if i < 0 {
			i = strings.IndexByte(sp, '\t')
		}
		spec, rest := sp, ""
		if i >= 0 {
			// MIT trims blanks before the separator but never the
			// specifier's first character.
			spec = sp[:i]
			for len(spec) > 1 && isSpace(spec[len(spec)-1]) {
				spec = spec[:len(spec)-1]
			}
			rest = trimLeftSpace(sp[i+1:])
		}
		var err error
		if flags, err = kdb.ApplyFlagSpec(flags, spec); err != nil {
			return 0, err
		}
		if i < 0 {
			return flags, nil
		}
		sp = rest
	}
}

// timestampFormats are krb5_string_to_timestamp's strptime formats, tried
// in order, with %T, %R, %x and %X spelled out as glibc's C locale has them.
var timestampFormats = []string{
	"%Y%m%d%H%M%S",
	"%Y.%m.%d.%H.%M.%S",
	"%y%m%d%H%M%S",
	"%y.%m.%d.%H.%M.%S",
	"%y%m%d%H%M",
	"%H%M%S",
	"%H%M",
	"%H:%M:%S",
	"%H:%M",
	"%m/%d/%y:%H:%M:%S",
	"%d-%b-%Y:%H:%M:%S",
	"%d-%b-%Y:%H:%M",
}

// ParseTimestamp parses an absolute time as krb5_string_to_timestamp does,
// for default_principal_expiration and kadmin's date options: forms such as
// "20250101000000", "2025.01.01.00.00.00", "250101000000", "2501010000",
// "12:30", "01-Jan-2025:00:00". Fields the form lacks are taken from now,
// and the result is in now's location, as MIT fills a struct tm from
// localtime and calls mktime, keeping the current time's DST flag. Numbers
// are read as glibc's strptime reads
// them, so "123456" is 2012-03-04 05:06, not 12:34:56.
func ParseTimestamp(s string, now time.Time) (time.Time, error) {
	for _, format := range timestampFormats {
		t := tmFields{now.Year(), int(now.Month()), now.Day(), now.Hour(), now.Minute(), now.Second()}
		rest, ok := strptime(s, format, &t)
		// MIT refuses a parse that consumed nothing, left anything but
		// whitespace, gave a year before 1901, or made mktime return -1.
		if !ok || len(rest) == len(s) || trimLeftSpace(rest) != "" || t.year <= 1900 {
			continue
		}
		tt := time.Date(t.year, time.Month(t.mon), t.mday, t.hour, t.min, t.sec, 0, now.Location())
		tt = withDSTHint(tt, now.IsDST())
		if tt.Unix() == -1 {
			continue
		}
		return tt, nil
	}
	return time.Time{}, fmt.Errorf("invalid timestamp %q", s)
}

// withDSTHint adjusts t as glibc's mktime does when the tm_isdst it is given
// (MIT leaves the current time's) disagrees with t's own: the wall time is
// read with the UTC offset of the nearest moment whose DST state matches.
// So in summer, a winter date parses an hour early.
func withDSTHint(t time.Time, isDST bool) time.Time {
	if t.IsDST() == isDST {
		return t
	}
	_, off := t.Zone()
	// glibc probes a week apart, alternately back and forward, up to 536 days.
	const stride, bound = 601200 * time.Second, 536 * 24 * time.Hour
	for d := stride; d < bound; d += stride {
		for _, probe := range []time.Time{t.Add(-d), t.Add(d)} {
			if probe.IsDST() == isDST {
				_, poff := probe.Zone()
				return t.Add(time.Duration(off-poff) * time.Second)
			}
		}
	}
	// Nothing found: glibc assumes DST is one hour ahead.
	if isDST {
		return t.Add(-time.Hour)
	}
	return t.Add(time.Hour)
}

type tmFields struct{ year, mon, mday, hour, min, sec int }

// strptime interprets the conversions timestampFormats use, with glibc's
// rules, and returns the unconsumed rest of s.
func strptime(s, format string, t *tmFields) (string, bool) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			if s == "" || s[0] != format[i] {
				return s, false
			}
			s = s[1:]
			continue
		}
		i++
		if i == len(format) {
			return s, false
		}
		ok := true
		switch format[i] {
		case 'Y':
			t.year, s, ok = getNumber(s, 0, 9999, 4)
		case 'y':
			var y int
			y, s, ok = getNumber(s, 0, 99, 2)
			t.year = 2000 + y
			if y >= 69 {
				t.year = 1900 + y
			}
		case 'm':
			t.mon, s, ok = getNumber(s, 1, 12, 2)
		case 'd':
			t.mday, s, ok = getNumber(s, 1, 31, 2)
		case 'H':
			t.hour, s, ok = getNumber(s, 0, 23, 2)
		case 'M':
			t.min, s, ok = getNumber(s, 0, 59, 2)
		case 'S':
			t.sec, s, ok = getNumber(s, 0, 61, 2)
		case 'b':
			t.mon, s, ok = monthName(s)
		default:
			ok = false
		}
		if !ok {
			return s, false
		}
	}
	return s, true
}

// getNumber is glibc strptime's get_number: skip whitespace, then read up
// to n digits, stopping early once another digit would exceed to.
func getNumber(s string, from, to, n int) (int, string, bool) {
	s = trimLeftSpace(s)
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, s, false
	}
	val := 0
	for {
		val = val*10 + int(s[0]-'0')
		s = s[1:]
		n--
		if n == 0 || val*10 > to || s == "" || s[0] < '0' || s[0] > '9' {
			break
		}
	}
	return val, s, from <= val && val <= to
}

// monthName matches an English month name or its three-letter
// abbreviation in any case, as %b does in the C locale.
func monthName(s string) (int, string, bool) {
	for i, name := range []string{"January", "February", "March", "April", "May", "June",
		"July", "August", "September", "October", "November", "December"} {
		for _, n := range []string{name, name[:3]} {
			if len(s) >= len(n) && equalFoldASCII(s[:len(n)], n) {
				return i + 1, s[len(n):], true
			}
		}
	}
	return 0, s, false
}
