// Package ldif writes LDIF attribute lines (RFC 2849), for the example
// LDAP plugin and the slapd the tests run.
package ldif

import "encoding/base64"

// Line returns "name: value\n", or "name:: base64\n" when value is not an
// RFC 2849 SAFE-STRING. Lines are not folded; ldapmodify and slapadd read
// any length.
func Line(name, value string) string {
	if safeString(value) {
		return name + ": " + value + "\n"
	}
	return name + ":: " + base64.StdEncoding.EncodeToString([]byte(value)) + "\n"
}

// safeString reports whether value may follow "name: ": ASCII without NUL,
// CR or LF, not starting with space, colon or '<', and, as ldapsearch also
// requires, not ending in a space.
func safeString(value string) bool {
	if value == "" {
		return true
	}
	switch value[0] {
	case ' ', ':', '<':
		return false
	}
	if value[len(value)-1] == ' ' {
		return false
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}
