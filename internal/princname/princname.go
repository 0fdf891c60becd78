// Package princname formats principal names the way MIT does, for every
// package that writes them (the database, keytabs).
package princname

import "strings"

// Unparse formats a principal name as krb5_unparse_name does: the
// components joined by "/", then "@" and the realm, with "/", "@" and "\"
// quoted by a backslash and tab, newline, backspace and NUL written as \t,
// \n, \b and \0, so that the result parses back to the same name.
func Unparse(components []string, realm string) string {
	var b strings.Builder
	for i, c := range components {
		if i > 0 {
			b.WriteByte('/')
		}
		quoteComponent(&b, c)
	}
	b.WriteByte('@')
	quoteComponent(&b, realm)
	return b.String()
}

func quoteComponent(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '@', '/', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\b':
			b.WriteString(`\b`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
}

// Len is len(Unparse(components, realm)), without building the string.
func Len(components []string, realm string) int {
	l := len(components) // the separators and the "@"
	if l == 0 {
		l = 1
	}
	for _, c := range components {
		l += quotedLen(c)
	}
	return l + quotedLen(realm)
}

func quotedLen(s string) int {
	l := len(s)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '@', '/', '\\', '\t', '\n', '\b', 0:
			l++
		}
	}
	return l
}

// IsTGS reports whether a name's components are a ticket-granting
// service's, krbtgt/REALM (krb5_is_tgs_principal).
func IsTGS(components []string) bool {
	return len(components) == 2 && components[0] == "krbtgt"
}
