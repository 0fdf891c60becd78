package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/krb5prop/krb5prop/internal/ldif"
)

// escapeRDNValue escapes a string for the value of an RDN (RFC 4514
// section 2.4). It hex-escapes, as slapd does when it stores a DN, so the
// DNs the plugin writes are the ones ldapsearch prints back: the special
// characters anywhere, '=' too, a leading space or '#', a trailing space,
// and NUL. Other bytes, UTF-8 included, stay as they are.
func escapeRDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(`,+"\<>;=`, c) >= 0, c == 0,
			i == 0 && (c == ' ' || c == '#'),
			i == len(v)-1 && c == ' ':
			fmt.Fprintf(&b, `\%02X`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// attribute is one attribute of an entry the plugin writes; no values means
// the attribute is absent.
type attribute struct {
	name   string
	values []string
}

// ldifWriter writes LDIF change records (RFC 2849) for ldapmodify.
type ldifWriter struct {
	w       *bufio.Writer
	err     error // the first write error; later writes do nothing
	records int   // change records written
}

func newLDIFWriter(w io.Writer) *ldifWriter {
	return &ldifWriter{w: bufio.NewWriter(w)}
}

// add writes a changetype: add record with the attributes that have values.
func (l *ldifWriter) add(dn string, attrs []attribute) {
	l.line("dn", dn)
	l.line("changetype", "add")
	for _, a := range attrs {
		for _, v := range a.values {
			l.line(a.name, v)
		}
	}
	l.raw("\n")
	l.records++
}

// replace writes a changetype: modify record replacing each attribute with
// its values. A replace with no values removes the attribute and is not an
// error when it is already absent (RFC 4511 section 4.6), so the record
// brings an entry to the given state whatever it held before.
func (l *ldifWriter) replace(dn string, attrs []attribute) {
	l.line("dn", dn)
	l.line("changetype", "modify")
	for _, a := range attrs {
		l.line("replace", a.name)
		for _, v := range a.values {
			l.line(a.name, v)
		}
		l.raw("-\n")
	}
	l.raw("\n")
	l.records++
}

// remove writes a changetype: delete record.
func (l *ldifWriter) remove(dn string) {
	l.line("dn", dn)
	l.line("changetype", "delete")
	l.raw("\n")
	l.records++
}

// flush writes out what is buffered and returns the first error.
func (l *ldifWriter) flush() error {
	if l.err == nil {
		l.err = l.w.Flush()
	}
	return l.err
}

// line writes "name: value", or "name:: base64" when the value is not an
// RFC 2849 SAFE-STRING. Lines are not folded; ldapmodify reads any length.
func (l *ldifWriter) line(name, value string) {
	l.raw(ldif.Line(name, value))
}

func (l *ldifWriter) raw(s string) {
	if l.err == nil {
		_, l.err = l.w.WriteString(s)
	}
}

// ldifRecord is one entry of ldapsearch's output.
type ldifRecord struct {
	dn    string
	attrs map[string][]string // attribute names in lower case
}

// readLDIF reads ldapsearch -LLL output record by record, calling fn for
// each: lines unfolded, base64 decoded, comments (such as the paged-results
// cookie) skipped.
func readLDIF(r io.Reader, fn func(ldifRecord) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	var (
		rec     *ldifRecord
		logical string // the line being unfolded
		comment bool   // whether logical is a comment
	)
	// take handles one complete logical line.
	take := func(text string) error {
		name, value, err := splitAttr(text)
		if err != nil {
			return err
		}
		name = strings.ToLower(name)
		if rec == nil {
			if name != "dn" {
				return fmt.Errorf("ldapsearch output: record starts with %q", name)
			}
			rec = &ldifRecord{dn: value, attrs: map[string][]string{}}
			return nil
		}
		rec.attrs[name] = append(rec.attrs[name], value)
		return nil
	}
	// endLine finishes the logical line in progress.
	endLine := func() error {
		text, wasComment := logical, comment
		logical, comment = "", false
		if text == "" || wasComment {
			return nil
		}
		return take(text)
	}
	for sc.Scan() {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(text, " ") {
			logical += text[1:]
			continue
		}
		if err := endLine(); err != nil {
			return err
		}
		switch {
		case text == "":
			if rec != nil {
				if err := fn(*rec); err != nil {
					return err
				}
				rec = nil
			}
		case strings.HasPrefix(text, "#"):
			logical, comment = text, true
		default:
			logical = text
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := endLine(); err != nil {
		return err
	}
	if rec != nil {
		return fn(*rec)
	}
	return nil
}

// splitAttr splits "name: value" or "name:: base64".
func splitAttr(text string) (name, value string, err error) {
	name, rest, ok := strings.Cut(text, ":")
	if !ok {
		return "", "", fmt.Errorf("ldapsearch output: %q is not an attribute line", text)
	}
	if b64, ok := strings.CutPrefix(rest, ":"); ok {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(b64, " "))
		if err != nil {
			return "", "", fmt.Errorf("ldapsearch output: %s: %w", name, err)
		}
		return name, string(raw), nil
	}
	return name, strings.TrimLeft(rest, " "), nil
}
