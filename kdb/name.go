package kdb

import (
	"errors"
	"strings"

	"github.com/krb5prop/krb5prop/internal/princname"
)

// Name types (RFC 4120 §6.2) that MIT infers when parsing a name.
const (
	NameTypePrincipal int32 = 1
	NameTypeSrvInst   int32 = 2
)

// ErrMalformedName is returned for names krb5_parse_name rejects; the text
// is MIT's (KRB5_PARSE_MALFORMED).
var ErrMalformedName = errors.New("Malformed representation of principal")

// Name is a parsed principal name.
type Name struct {
	Components []string
	Realm      string
}

// ParseName parses an unparsed principal name with MIT's rules
// (krb5_parse_name): "/" separates components, the first unquoted "@"
// starts the realm, and a backslash quotes the next character, with \n, \t,
// \b and \0 standing for newline, tab, backspace and NUL. A name without a
// realm gets defaultRealm. Any byte may appear in a component. The
// components are substrings of one string, which keeps a dump load of a
// million principals from allocating per component.
func ParseName(s, defaultRealm string) (Name, error) {
	buf := make([]byte, 0, len(s))
	var ends [8]int
	cuts := ends[:0]
	realmStart := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '/', '@':
			if realmStart >= 0 {
				return Name{}, nameError(s)
			}
			cuts = append(cuts, len(buf))
			if c == '@' {
				realmStart = len(buf)
			}
		default:
			if c == '\\' {
				i++
				if i == len(s) {
					return Name{}, nameError(s)
				}
				c = unquote(s[i])
			}
			buf = append(buf, c)
		}
	}
	if realmStart < 0 {
		cuts = append(cuts, len(buf))
	}
	str := string(buf)
	n := Name{Components: make([]string, len(cuts)), Realm: defaultRealm}
	start := 0
	for i, end := range cuts {
		n.Components[i] = str[start:end]
		start = end
	}
	if realmStart >= 0 {
		n.Realm = str[realmStart:]
	}
	return n, nil
}

func nameError(s string) error {
	return &NameError{Name: s}
}

// NameError says which name could not be parsed.
type NameError struct{ Name string }

func (e *NameError) Error() string {
	return ErrMalformedName.Error() + " \"" + e.Name + "\""
}

// Unwrap lets errors.Is match ErrMalformedName.
func (e *NameError) Unwrap() error { return ErrMalformedName }

func unquote(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case '0':
		return 0
	}
	return c
}

// String unparses the name as krb5_unparse_name does: the form stored as
// the database key and written to dumps.
func (n Name) String() string { return princname.Unparse(n.Components, n.Realm) }

// NameType is the name type MIT infers for a parsed name
// (k5_infer_principal_type): krbtgt/X is a service instance, all else a
// plain principal.
func (n Name) NameType() int32 {
	if n.IsTGS() {
		return NameTypeSrvInst
	}
	return NameTypePrincipal
}

// IsTGS reports whether the name is a ticket-granting service's,
// krbtgt/REALM.
func (n Name) IsTGS() bool { return princname.IsTGS(n.Components) }

// Salt is the default ("normal") salt: the realm followed by every
// component, with no separators.
func (n Name) Salt() string {
	return n.Realm + strings.Join(n.Components, "")
}

// Equal reports whether two names are the same principal.
func (n Name) Equal(o Name) bool {
	if n.Realm != o.Realm || len(n.Components) != len(o.Components) {
		return false
	}
	for i := range n.Components {
		if n.Components[i] != o.Components[i] {
			return false
		}
	}
	return true
}
