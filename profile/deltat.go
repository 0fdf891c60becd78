package profile

import (
	"fmt"
	"math"
	"time"
)

// ParseDuration parses a relative time as krb5_string_to_deltat does (MIT's
// x-deltat.y grammar), for max_life and the other duration relations:
//
//	[-]N               seconds ("3600")
//	Nd [Nh] [Nm] [Ns]  any tail of days, hours, minutes, seconds, with or
//	                   without spaces between parts ("7d 0h 0m 0s", "7d0h")
//	Nh [Nm] [Ns], Nm [Ns], Ns
//	H:MM[:SS]          hours, minutes and optional seconds ("1:00")
//	D-HH:MM:SS         days, then hours, minutes and seconds
//
// Every number may be negative, and the total must fit MIT's 32-bit
// krb5_deltat. MIT's lexer treats any other character as the end of the
// string, so it reads "10x" as ten seconds and "1D" as one second; such
// strings are an error here, since they are always a typo.
func ParseDuration(s string) (time.Duration, error) {
	p := deltatParser{lex: deltatLexer{s: s}}
	p.advance()
	secs, ok := p.deltat()
	if !ok || p.tok != tokEOF || p.lex.garbage {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return time.Duration(secs) * time.Second, nil
}

// Limits from x-deltat.y: every part and every partial sum must fit int32.
const (
	maxDelta = math.MaxInt32
	minDelta = math.MinInt32
	maxDay   = maxDelta / 86400
	minDay   = minDelta / 86400
	maxHour  = maxDelta / 3600
	minHour  = minDelta / 3600
	maxMin   = maxDelta / 60
	minMin   = minDelta / 60
)

type deltatTok int

const (
	tokEOF      deltatTok = iota
	tokNum                // one or two digits
	tokLongNum            // three or more digits
	tokOverflow           // a number above 2^31-1
	tokWS
	tokDash
	tokColon
	tokD
	tokH
	tokM
	tokS
)

// deltatLexer is x-deltat.y's mylex. Where MIT returns end-of-input for
// an unknown character, garbage records it so the parse can be refused.
type deltatLexer struct {
	s       string
	pos     int
	garbage bool
}

func (l *deltatLexer) next() (deltatTok, int64) {
	if l.pos >= len(l.s) {
		return tokEOF, 0
	}
	c := l.s[l.pos]
	l.pos++
	switch c {
	case '-':
		return tokDash, 0
	case ':':
		return tokColon, 0
	case 'd':
		return tokD, 0
	case 'h':
		return tokH, 0
	case 'm':
		return tokM, 0
	case 's':
		return tokS, 0
	case ' ', '\t', '\n':
		for l.pos < len(l.s) && isSpace(l.s[l.pos]) {
			l.pos++
		}
		return tokWS, 0
	}
	if c < '0' || c > '9' {
		l.garbage = true
		return tokEOF, 0
	}
	start := l.pos - 1
	n := int64(c - '0')
	for l.pos < len(l.s) && '0' <= l.s[l.pos] && l.s[l.pos] <= '9' {
		n = n*10 + int64(l.s[l.pos]-'0')
		if n > maxDelta {
			return tokOverflow, 0
		}
		l.pos++
	}
	if l.pos-start > 2 {
		return tokLongNum, n
	}
	return tokNum, n
}

type deltatParser struct {
	lex deltatLexer
	tok deltatTok
	val int64
}

func (p *deltatParser) advance() { p.tok, p.val = p.lex.next() }

func (p *deltatParser) accept(t deltatTok) bool {
	if p.tok != t {
		return false
	}
	p.advance()
	return true
}

// deltat is the grammar's start symbol.
func (p *deltatParser) deltat() (int64, bool) {
	n, ok := p.wsnum()
	if !ok {
		return 0, false
	}
	switch {
	case p.accept(tokD):
		rest, ok := p.optHMS()
		return addParts(ok, n, 0, 0, rest)
	case p.accept(tokH):
		rest, ok := p.optMS()
		return addParts(ok, 0, n, 0, rest)
	case p.accept(tokM):
		rest, ok := p.optS()
		return addParts(ok, 0, 0, n, rest)
	case p.accept(tokS):
		return addParts(true, 0, 0, 0, n)
	case p.accept(tokDash):
		h, ok1 := p.shortNum()
		ok2 := p.accept(tokColon)
		m, ok3 := p.shortNum()
		ok4 := p.accept(tokColon)
		s, ok5 := p.shortNum()
		return addParts(ok1 && ok2 && ok3 && ok4 && ok5, n, h, m, s)
	case p.accept(tokColon):
		m, ok := p.shortNum()
		if !p.accept(tokColon) {
			return addParts(ok, 0, n, m, 0)
		}
		s, ok2 := p.shortNum()
		return addParts(ok && ok2, 0, n, m, s)
	}
	return addParts(true, 0, 0, 0, n)
}

// startsNum reports whether the current token can begin a number.
func (p *deltatParser) startsNum() bool {
	return p.tok == tokNum || p.tok == tokLongNum || p.tok == tokOverflow || p.tok == tokDash
}

// wsnum is optional whitespace then an optionally negative number.
func (p *deltatParser) wsnum() (int64, bool) {
	p.accept(tokWS)
	neg := p.accept(tokDash)
	if p.tok != tokNum && p.tok != tokLongNum {
		return 0, false
	}
	n := p.val
	p.advance()
	if neg {
		n = -n
	}
	return n, true
}

// shortNum is a bare number of one or two digits, as after ':' or '-'.
func (p *deltatParser) shortNum() (int64, bool) {
	if p.tok != tokNum {
		return 0, false
	}
	n := p.val
	p.advance()
	return n, true
}

// optHMS is what may follow "Nd": nothing, or hours, minutes or seconds
// with their own tails.
func (p *deltatParser) optHMS() (int64, bool) {
	p.accept(tokWS)
	if !p.startsNum() {
		return 0, true
	}
	n, ok := p.wsnum()
	switch {
	case !ok:
		return 0, false
	case p.accept(tokH):
		rest, ok := p.optMS()
		if !ok || n > maxHour || n < minHour {
			return 0, false
		}
		return sum(n*3600, rest)
	case p.accept(tokM):
		rest, ok := p.optS()
		if !ok || n > maxMin || n < minMin {
			return 0, false
		}
		return sum(n*60, rest)
	case p.accept(tokS):
		return n, true
	}
	return 0, false
}

// optMS is what may follow "Nh": nothing, minutes or seconds.
func (p *deltatParser) optMS() (int64, bool) {
	p.accept(tokWS)
	if !p.startsNum() {
		return 0, true
	}
	n, ok := p.wsnum()
	switch {
	case !ok:
		return 0, false
	case p.accept(tokM):
		rest, ok := p.optS()
		if !ok || n > maxMin || n < minMin {
			return 0, false
		}
		return sum(n*60, rest)
	case p.accept(tokS):
		return n, true
	}
	return 0, false
}

// optS is what may follow "Nm": nothing or seconds.
func (p *deltatParser) optS() (int64, bool) {
	p.accept(tokWS)
	if !p.startsNum() {
		return 0, true
	}
	n, ok := p.wsnum()
	if !ok || !p.accept(tokS) {
		return 0, false
	}
	return n, true
}

// addParts is x-deltat.y's DO macro: range-check days, hours and minutes,
// then add the parts without leaving the int32 range.
func addParts(ok bool, d, h, m, s int64) (int64, bool) {
	if !ok || d > maxDay || d < minDay || h > maxHour || h < minHour || m > maxMin || m < minMin {
		return 0, false
	}
	t, ok := sum(d*86400, h*3600)
	if ok {
		t, ok = sum(t, m*60)
	}
	if ok {
		t, ok = sum(t, s)
	}
	return t, ok
}

func sum(a, b int64) (int64, bool) {
	t := a + b
	return t, t >= minDelta && t <= maxDelta
}
