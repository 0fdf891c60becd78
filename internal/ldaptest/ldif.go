package ldaptest

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ParseEntries reads LDIF content records (RFC 2849), as ldapsearch -LLL
// prints them or as a test writes its expected directory in testdata: DN
// to entry, each attribute's values sorted. It undoes line folding and
// base64 ("attr:: …", "dn:: …"), skips comments and a leading "version:"
// line, and also accepts raw UTF-8 values, which are easier to write by
// hand than base64. Change records and URL values ("attr:< …") are errors,
// as is a DN given twice.
func ParseEntries(r io.Reader) (map[string]Entry, error) {
	lines, err := unfold(r)
	if err != nil {
		return nil, err
	}
	entries := map[string]Entry{}
	var (
		dn    string
		entry Entry
	)
	finish := func() error {
		if entry == nil {
			return nil
		}
		if _, dup := entries[dn]; dup {
			return fmt.Errorf("entry %q appears twice", dn)
		}
		for _, vals := range entry {
			slices.Sort(vals)
		}
		entries[dn] = entry
		entry = nil
		return nil
	}
	for i, line := range lines {
		if line.text == "" {
			if err := finish(); err != nil {
				return nil, err
			}
			continue
		}
		name, value, err := attrValue(line.text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line.number, err)
		}
		switch {
		case entry == nil && i == 0 && strings.EqualFold(name, "version"):
			// The optional "version: 1" before the first record.
		case entry == nil:
			if !strings.EqualFold(name, "dn") {
				return nil, fmt.Errorf("line %d: record starts with %q, want dn", line.number, name)
			}
			dn, entry = value, Entry{}
		case strings.EqualFold(name, "changetype"):
			return nil, fmt.Errorf("line %d: change record for %q; want content records", line.number, dn)
		default:
			entry[name] = append(entry[name], value)
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return entries, nil
}

// logicalLine is an LDIF line with its continuations joined, numbered by
// its first physical line; "" separates records.
type logicalLine struct {
	number int
	text   string
}

// unfold joins folded lines (a line starting with one space continues the
// one before, without that space) and drops comments, including their
// continuations.
func unfold(r io.Reader) ([]logicalLine, error) {
	var (
		lines     []logicalLine
		inComment bool
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(text, " "):
			if inComment {
				continue
			}
			if len(lines) == 0 || lines[len(lines)-1].text == "" {
				return nil, fmt.Errorf("line %d: continuation with no line to continue", n)
			}
			lines[len(lines)-1].text += text[1:]
		case strings.HasPrefix(text, "#"):
			inComment = true
		default:
			inComment = false
			if text == "" && (len(lines) == 0 || lines[len(lines)-1].text == "") {
				continue // collapse runs of blank lines
			}
			lines = append(lines, logicalLine{number: n, text: text})
		}
	}
	return lines, sc.Err()
}

// attrValue splits "name: value" or "name:: base64".
func attrValue(line string) (name, value string, err error) {
	name, rest, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return "", "", fmt.Errorf("%q is not an attribute line", line)
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(rest[1:], " "))
		if err != nil {
			return "", "", fmt.Errorf("%s: bad base64: %w", name, err)
		}
		return name, string(raw), nil
	case strings.HasPrefix(rest, "<"):
		return "", "", fmt.Errorf("%s: URL values are not supported", name)
	}
	return name, strings.TrimLeft(rest, " "), nil
}
