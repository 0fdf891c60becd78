// Package getdate parses dates and intervals as MIT's command-line tools
// do: MIT's getdate.y (the public-domain Bellovin/Salz/Berets parser that
// kadmin and kdb5_util link in) for kadmin's -expire and -pwexpire and
// kdb5_util's use_mkey, and kadmin's parse_interval for -maxlife and the
// policy durations. The grammar, its word tables, and its arithmetic
// (including the quirks: a Gregorian rule that tests the target year
// instead of each year, and daylight-saving handling relative to the
// current offset) are reproduced so the same string yields the same
// timestamp as under MIT.
package getdate

import (
	"strings"
	"time"

	"github.com/krb5prop/krb5prop/profile"
)

// dateTokKind is a getdate.y token.
type dateTokKind int

const (
	tEOF  dateTokKind = iota
	tChar             // any other single character (':', '/', ',', ...)
	tAGO
	tID
	tDST
	tNEVER
	tDAY
	tDAYZONE
	tMINUTEUNIT
	tMONTH
	tMONTHUNIT
	tSECUNIT
	tSNUMBER
	tUNUMBER
	tZONE
	tMERIDIAN
)

type meridian int

const (
	merAM meridian = iota
	merPM
	mer24
)

type dstMode int

const (
	dstOn dstMode = iota
	dstOff
	dstMaybe
)

type dateTok struct {
	kind dateTokKind
	val  int64
	ch   byte
	mer  meridian
}

type wordEntry struct {
	name string
	kind dateTokKind
	val  int64
}

// hour gives a zone offset in minutes west of Greenwich, as getdate.y's
// HOUR macro.
func hour(h int64) int64 { return h * 60 }

var monthDayTable = []wordEntry{
	{"january", tMONTH, 1}, {"february", tMONTH, 2}, {"march", tMONTH, 3},
	{"april", tMONTH, 4}, {"may", tMONTH, 5}, {"june", tMONTH, 6},
	{"july", tMONTH, 7}, {"august", tMONTH, 8}, {"september", tMONTH, 9},
	{"sept", tMONTH, 9}, {"october", tMONTH, 10}, {"november", tMONTH, 11},
	{"december", tMONTH, 12},
	{"sunday", tDAY, 0}, {"monday", tDAY, 1}, {"tuesday", tDAY, 2},
	{"tues", tDAY, 2}, {"wednesday", tDAY, 3}, {"wednes", tDAY, 3},
	{"thursday", tDAY, 4}, {"thur", tDAY, 4}, {"thurs", tDAY, 4},
	{"friday", tDAY, 5}, {"saturday", tDAY, 6},
}

var unitsTable = []wordEntry{
	{"year", tMONTHUNIT, 12}, {"month", tMONTHUNIT, 1},
	{"fortnight", tMINUTEUNIT, 14 * 24 * 60}, {"week", tMINUTEUNIT, 7 * 24 * 60},
	{"day", tMINUTEUNIT, 24 * 60}, {"hour", tMINUTEUNIT, 60},
	{"minute", tMINUTEUNIT, 1}, {"min", tMINUTEUNIT, 1},
	{"second", tSECUNIT, 1}, {"sec", tSECUNIT, 1},
}

var otherTable = []wordEntry{
	{"tomorrow", tMINUTEUNIT, 24 * 60}, {"yesterday", tMINUTEUNIT, -24 * 60},
	{"today", tMINUTEUNIT, 0}, {"now", tMINUTEUNIT, 0},
	{"last", tUNUMBER, -1}, {"this", tMINUTEUNIT, 0}, {"next", tUNUMBER, 2},
	{"first", tUNUMBER, 1}, {"third", tUNUMBER, 3}, {"fourth", tUNUMBER, 4},
	{"fifth", tUNUMBER, 5}, {"sixth", tUNUMBER, 6}, {"seventh", tUNUMBER, 7},
	{"eighth", tUNUMBER, 8}, {"ninth", tUNUMBER, 9}, {"tenth", tUNUMBER, 10},
	{"eleventh", tUNUMBER, 11}, {"twelfth", tUNUMBER, 12},
	{"ago", tAGO, 1}, {"never", tNEVER, 0},
}

var timezoneTable = []wordEntry{
	{"gmt", tZONE, hour(0)}, {"ut", tZONE, hour(0)}, {"utc", tZONE, hour(0)},
	{"wet", tZONE, hour(0)}, {"bst", tDAYZONE, hour(0)}, {"wat", tZONE, hour(1)},
	{"at", tZONE, hour(2)}, {"ast", tZONE, hour(4)}, {"adt", tDAYZONE, hour(4)},
	{"est", tZONE, hour(5)}, {"edt", tDAYZONE, hour(5)}, {"cst", tZONE, hour(6)},
	{"cdt", tDAYZONE, hour(6)}, {"mst", tZONE, hour(7)}, {"mdt", tDAYZONE, hour(7)},
	{"pst", tZONE, hour(8)}, {"pdt", tDAYZONE, hour(8)}, {"yst", tZONE, hour(9)},
	{"ydt", tDAYZONE, hour(9)}, {"hst", tZONE, hour(10)}, {"hdt", tDAYZONE, hour(10)},
	{"cat", tZONE, hour(10)}, {"ahst", tZONE, hour(10)}, {"nt", tZONE, hour(11)},
	{"idlw", tZONE, hour(12)}, {"cet", tZONE, -hour(1)}, {"met", tZONE, -hour(1)},
	{"mewt", tZONE, -hour(1)}, {"mest", tDAYZONE, -hour(1)}, {"swt", tZONE, -hour(1)},
	{"sst", tDAYZONE, -hour(1)}, {"fwt", tZONE, -hour(1)}, {"fst", tDAYZONE, -hour(1)},
	{"eet", tZONE, -hour(2)}, {"bt", tZONE, -hour(3)}, {"zp4", tZONE, -hour(4)},
	{"zp5", tZONE, -hour(5)}, {"zp6", tZONE, -hour(6)}, {"wast", tZONE, -hour(7)},
	{"wadt", tDAYZONE, -hour(7)}, {"cct", tZONE, -hour(8)}, {"jst", tZONE, -hour(9)},
	{"kst", tZONE, -hour(9)}, {"east", tZONE, -hour(10)}, {"eadt", tDAYZONE, -hour(10)},
	{"gst", tZONE, -hour(10)}, {"kdt", tZONE, -hour(10)}, {"nzt", tZONE, -hour(12)},
	{"nzst", tZONE, -hour(12)}, {"nzdt", tDAYZONE, -hour(12)}, {"idle", tZONE, -hour(12)},
}

func lookupIn(table []wordEntry, word string) (dateTok, bool) {
	for _, e := range table {
		if e.name == word {
			return dateTok{kind: e.kind, val: e.val}, true
		}
	}
	return dateTok{}, false
}

// lookupWord classifies a word as getdate.y's LookupWord does, trying the
// tables in MIT's order: meridians, months and days (three-letter
// abbreviations allowed), zones, "dst", units (then without a plural
// "s"), the other words, and finally zones with periods removed.
func lookupWord(word string) dateTok {
	buf := []byte(strings.ToLower(word))
	s := string(buf)
	switch s {
	case "am", "a.m.":
		return dateTok{kind: tMERIDIAN, mer: merAM}
	case "pm", "p.m.":
		return dateTok{kind: tMERIDIAN, mer: merPM}
	}
	abbrev := false
	if len(buf) == 3 {
		abbrev = true
	} else if len(buf) == 4 && buf[3] == '.' {
		abbrev = true
		buf = buf[:3]
		s = string(buf)
	}
	for _, e := range monthDayTable {
		if (abbrev && strings.HasPrefix(e.name, s)) || (!abbrev && e.name == s) {
			return dateTok{kind: e.kind, val: e.val}
		}
	}
	if t, ok := lookupIn(timezoneTable, s); ok {
		return t
	}
	if s == "dst" {
		return dateTok{kind: tDST}
	}
	if t, ok := lookupIn(unitsTable, s); ok {
		return t
	}
	if strings.HasSuffix(s, "s") {
		if t, ok := lookupIn(unitsTable, s[:len(s)-1]); ok {
			return t
		}
	}
	if t, ok := lookupIn(otherTable, s); ok {
		return t
	}
	if strings.Contains(s, ".") {
		if t, ok := lookupIn(timezoneTable, strings.ReplaceAll(s, ".", "")); ok {
			return t
		}
	}
	return dateTok{kind: tID}
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// lexDate splits s into getdate.y tokens. As MIT's yylex does, a sign not
// followed by a digit is skipped, words may contain periods and keep only
// their first 19 characters, and parenthesised text is a comment.
func lexDate(s string) []dateTok {
	var out []dateTok
	i := 0
	for {
		for i < len(s) && isCSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return append(out, dateTok{kind: tEOF})
		}
		c := s[i]
		switch {
		case isDigit(c) || c == '-' || c == '+':
			sign := 0
			if c == '-' || c == '+' {
				sign = 1
				if c == '-' {
					sign = -1
				}
				i++
				if i >= len(s) || !isDigit(s[i]) {
					continue
				}
			}
			var n int64
			for i < len(s) && isDigit(s[i]) {
				n = 10*n + int64(s[i]-'0')
				i++
			}
			if sign < 0 {
				n = -n
			}
			kind := tUNUMBER
			if sign != 0 {
				kind = tSNUMBER
			}
			out = append(out, dateTok{kind: kind, val: n})
		case isAlpha(c):
			start := i
			for i < len(s) && (isAlpha(s[i]) || s[i] == '.') {
				i++
			}
			word := s[start:i]
			if len(word) > 19 {
				word = word[:19]
			}
			out = append(out, lookupWord(word))
		case c == '(':
			depth := 0
			for {
				if i >= len(s) {
					return append(out, dateTok{kind: tEOF})
				}
				switch s[i] {
				case '(':
					depth++
				case ')':
					depth--
				}
				i++
				if depth <= 0 {
					break
				}
			}
		default:
			out = append(out, dateTok{kind: tChar, ch: c})
			i++
		}
	}
}

// dateState is getdate.y's set of yy* variables.
type dateState struct {
	dst                                  dstMode
	dayOrdinal, dayNumber                int64
	haveDate, haveDay, haveRel, haveTime int
	haveZone                             int
	timezone                             int64 // minutes west of Greenwich
	day, hour, minutes, month, seconds   int64
	year                                 int64
	meridian                             meridian
	relMonth, relSeconds                 int64
}

// dateParser is a recursive-descent rendering of getdate.y's LALR grammar;
// where the grammar has shift/reduce conflicts it shifts, as yacc does.
type dateParser struct {
	toks []dateTok
	pos  int
	st   *dateState
}

func (p *dateParser) peek() dateTok { return p.toks[p.pos] }

func (p *dateParser) peekChar(c byte) bool {
	t := p.toks[p.pos]
	return t.kind == tChar && t.ch == c
}

func (p *dateParser) next() dateTok {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *dateParser) accept(k dateTokKind) (dateTok, bool) {
	if p.peek().kind == k {
		return p.next(), true
	}
	return dateTok{}, false
}

// spec parses the whole input: "never" may only come first.
func (p *dateParser) spec() bool {
	if _, ok := p.accept(tNEVER); ok {
		st := p.st
		st.year, st.month, st.day = 1970, 1, 1
		st.hour, st.minutes, st.seconds = 0, 0, 0
		st.dst = dstOff
		st.timezone = 0
		st.haveDate++
	}
	for p.peek().kind != tEOF {
		if !p.item() {
			return false
		}
	}
	return true
}

func (p *dateParser) item() bool {
	st := p.st
	t := p.next()
	switch t.kind {
	case tUNUMBER:
		return p.afterNumber(t.val)
	case tSNUMBER:
		return p.relUnit(t.val, true)
	case tMINUTEUNIT:
		st.relSeconds += t.val * 60
		p.ago()
	case tSECUNIT:
		st.relSeconds++
		p.ago()
	case tMONTHUNIT:
		st.relMonth += t.val
		p.ago()
	case tMONTH:
		d, ok := p.accept(tUNUMBER)
		if !ok {
			return false
		}
		st.month, st.day = t.val, d.val
		if p.peekChar(',') {
			p.next()
			y, ok := p.accept(tUNUMBER)
			if !ok {
				return false
			}
			st.year = y.val
		}
		st.haveDate++
	case tDAY:
		if p.peekChar(',') {
			p.next()
		}
		st.dayOrdinal, st.dayNumber = 1, t.val
		st.haveDay++
	case tZONE:
		st.timezone = t.val
		st.dst = dstOff
		if _, ok := p.accept(tDST); ok {
			st.dst = dstOn
		}
		st.haveZone++
	case tDAYZONE:
		st.timezone = t.val
		st.dst = dstOn
		st.haveZone++
	default:
		return false
	}
	return true
}

// relUnit parses the unit after a number n: "3 days", "+1 month".
func (p *dateParser) relUnit(n int64, required bool) bool {
	st := p.st
	switch t := p.peek(); t.kind {
	case tMINUTEUNIT:
		p.next()
		st.relSeconds += n * t.val * 60
	case tSECUNIT:
		p.next()
		st.relSeconds += n
	case tMONTHUNIT:
		p.next()
		st.relMonth += n * t.val
	default:
		return !required
	}
	p.ago()
	return true
}

// ago handles "rel: relunit tAGO", which negates everything relative seen
// so far, and counts the rel item.
func (p *dateParser) ago() {
	st := p.st
	if _, ok := p.accept(tAGO); ok {
		st.relSeconds = -st.relSeconds
		st.relMonth = -st.relMonth
	}
	st.haveRel++
}

// zoneNumber turns a numeric zone such as -0500 into minutes west.
func zoneNumber(n int64) int64 { return -(n%100 + (n/100)*60) }

// afterNumber parses the items that start with an unsigned number: times,
// "2 monday", numeric and month-name dates, and relative units.
func (p *dateParser) afterNumber(n int64) bool {
	st := p.st
	switch t := p.peek(); {
	case t.kind == tMERIDIAN:
		p.next()
		st.hour, st.minutes, st.seconds, st.meridian = n, 0, 0, t.mer
		st.haveTime++
	case p.peekChar(':'):
		p.next()
		m, ok := p.accept(tUNUMBER)
		if !ok {
			return false
		}
		st.hour, st.minutes, st.seconds, st.meridian = n, m.val, 0, mer24
		if p.peekChar(':') {
			p.next()
			s, ok := p.accept(tUNUMBER)
			if !ok {
				return false
			}
			st.seconds = s.val
		}
		if mt, ok := p.accept(tMERIDIAN); ok {
			st.meridian = mt.mer
		} else if z, ok := p.accept(tSNUMBER); ok {
			st.meridian = mer24
			st.dst = dstOff
			st.timezone = zoneNumber(z.val)
		}
		st.haveTime++
	case t.kind == tDAY:
		p.next()
		st.dayOrdinal, st.dayNumber = n, t.val
		st.haveDay++
	case p.peekChar('/'):
		p.next()
		d, ok := p.accept(tUNUMBER)
		if !ok {
			return false
		}
		st.month, st.day = n, d.val
		if p.peekChar('/') {
			p.next()
			y, ok := p.accept(tUNUMBER)
			if !ok {
				return false
			}
			st.year = y.val
		}
		st.haveDate++
	case t.kind == tSNUMBER:
		// ISO 8601: yyyy-mm-dd.
		p.next()
		d, ok := p.accept(tSNUMBER)
		if !ok {
			return false
		}
		st.year, st.month, st.day = n, -t.val, -d.val
		st.haveDate++
	case t.kind == tMONTH:
		p.next()
		st.month, st.day = t.val, n
		if y, ok := p.accept(tSNUMBER); ok {
			// 17-JUN-1992
			st.year = -y.val
		} else if y, ok := p.accept(tUNUMBER); ok {
			st.year = y.val
		}
		st.haveDate++
	default:
		return p.relUnit(n, true)
	}
	return true
}

const (
	epochYear    = 1970
	epochEndYear = 2106
	secsPerDay   = 24 * 60 * 60
)

func toSeconds(h, m, s int64, mer meridian) int64 {
	if m < 0 || m > 59 || s < 0 || s > 59 {
		return -1
	}
	switch mer {
	case mer24:
		if h < 0 || h > 23 {
			return -1
		}
		return (h*60+m)*60 + s
	case merAM:
		if h < 1 || h > 12 {
			return -1
		}
		return (h*60+m)*60 + s
	default:
		if h < 1 || h > 12 {
			return -1
		}
		return ((h+12)*60+m)*60 + s
	}
}

// convert is getdate.y's Convert: a calendar date and time of day in the
// zone st.timezone to seconds since the epoch, or -1.
func (st *dateState) convert(month, day, year, h, m, s int64, mer meridian, dst dstMode, loc *time.Location) int64 {
	daysInMonth := [12]int64{31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if year < 0 {
		year = -year
	}
	if year < 1900 {
		year += 1900
	}
	daysInMonth[1] = 28
	if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		daysInMonth[1] = 29
	}
	if year < epochYear || year > epochEndYear || month < 1 || month > 12 || day < 1 || day > daysInMonth[month-1] {
		return -1
	}
	month--
	julian := day - 1
	for i := int64(0); i < month; i++ {
		julian += daysInMonth[i]
	}
	for i := int64(epochYear); i < year; i++ {
		// MIT tests the target year, not i, for the century rule.
		julian += 365
		if i%4 == 0 && (year%100 != 0 || year%400 == 0) {
			julian++
		}
	}
	julian *= secsPerDay
	julian += st.timezone * 60
	tod := toSeconds(h, m, s, mer)
	if tod < 0 {
		return -1
	}
	julian += tod
	switch dst {
	case dstOn:
		julian -= 60 * 60
	case dstMaybe:
		if time.Unix(julian, 0).In(loc).IsDST() {
			julian -= 60 * 60
		}
	}
	return julian
}

// dstCorrect is getdate.y's DSTcorrect: the distance from start to future
// adjusted by the change in local hour between them.
func dstCorrect(start, future int64, loc *time.Location) int64 {
	startHour := int64((time.Unix(start, 0).In(loc).Hour() + 1) % 24)
	futureHour := int64((time.Unix(future, 0).In(loc).Hour() + 1) % 24)
	return (future - start) + (startHour-futureHour)*60*60
}

func relativeDate(start, ordinal, number int64, loc *time.Location) int64 {
	wday := int64(time.Unix(start, 0).In(loc).Weekday())
	now := start
	now += secsPerDay * ((number - wday + 7) % 7)
	if ordinal <= 0 {
		now += 7 * secsPerDay * ordinal
	} else {
		now += 7 * secsPerDay * (ordinal - 1)
	}
	return dstCorrect(start, now, loc)
}

func (st *dateState) relativeMonth(start, relMonth int64, loc *time.Location) int64 {
	if relMonth == 0 {
		return 0
	}
	tm := time.Unix(start, 0).In(loc)
	month := 12*int64(tm.Year()-1900) + int64(tm.Month()-1) + relMonth
	year := month / 12
	month = month%12 + 1
	ret := st.convert(month, int64(tm.Day()), year, int64(tm.Hour()), int64(tm.Minute()), int64(tm.Second()), mer24, dstMaybe, loc)
	if ret == -1 {
		return -1
	}
	return dstCorrect(start, ret, loc)
}

// Get parses s relative to now in loc as MIT's get_date_rel does and
// returns seconds since the epoch; ok is false where MIT returns -1.
func Get(s string, now time.Time, loc *time.Location) (int64, bool) {
	tm := now.In(loc)
	_, offset := tm.Zone()
	st := &dateState{
		year: int64(tm.Year() - 1900), month: int64(tm.Month()), day: int64(tm.Day()),
		timezone: int64(-offset / 60), dst: dstMaybe, meridian: mer24,
	}
	p := &dateParser{toks: lexDate(s), st: st}
	if !p.spec() || st.haveTime > 1 || st.haveZone > 1 || st.haveDate > 1 || st.haveDay > 1 {
		return 0, false
	}
	var start int64
	if st.haveDate > 0 || st.haveTime > 0 || st.haveDay > 0 {
		start = st.convert(st.month, st.day, st.year, st.hour, st.minutes, st.seconds, st.meridian, st.dst, loc)
		if start < 0 {
			return 0, false
		}
	} else {
		start = now.Unix()
		if st.haveRel == 0 {
			start -= int64((tm.Hour()*60+tm.Minute())*60 + tm.Second())
		}
	}
	start += st.relSeconds
	delta := st.relativeMonth(start, st.relMonth, loc)
	if delta == -1 {
		return 0, false
	}
	start += delta
	if st.haveDay > 0 && st.haveDate == 0 {
		start += relativeDate(start, st.dayOrdinal, st.dayNumber, loc)
	}
	if start == -1 {
		return 0, true
	}
	return start, true
}

// deltatChars are the characters MIT's krb5_string_to_deltat lexer knows;
// it treats any other character as the end of the string.
const deltatChars = "0123456789-:dhms \t\n"

// ParseDeltat is krb5_string_to_deltat with MIT's leniency: the string is
// cut at the first character the duration lexer does not know, so "10x"
// reads as ten seconds, exactly as under MIT.
func ParseDeltat(s string) (int64, bool) {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(deltatChars, rune(s[i])) {
			s = s[:i]
			break
		}
	}
	d, err := profile.ParseDuration(s)
	if err != nil {
		return 0, false
	}
	return int64(d / time.Second), true
}

// DateError is what parse_date and parse_interval print before failing.
type DateError struct{ msg string }

func (e *DateError) Error() string { return e.msg }

// ParseDate is kadmin's parse_date: getdate, or an "Invalid date
// specification" error.
func ParseDate(s string, now time.Time, loc *time.Location) (int64, error) {
	d, ok := Get(s, now, loc)
	if !ok {
		return 0, &DateError{`Invalid date specification "` + s + `".`}
	}
	return d, nil
}

// ParseInterval is kadmin's parse_interval: a duration as
// krb5_string_to_deltat reads it, else a date (which must not be in the
// past) less now; "never" is an interval of 0.
func ParseInterval(s string, now time.Time, loc *time.Location) (int64, error) {
	if d, ok := ParseDeltat(s); ok {
		return d, nil
	}
	date, err := ParseDate(s, now, loc)
	if err != nil {
		return 0, err
	}
	if date == 0 {
		return 0, nil
	}
	if date < now.Unix() {
		return 0, &DateError{`Interval specification "` + s + `" is in the past.`}
	}
	return date - now.Unix(), nil
}
