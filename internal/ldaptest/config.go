package ldaptest

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/krb5prop/krb5prop/internal/ldif"
)

// systemSchemas are the schemas every server gets, from the Debian slapd
// package: enough for dcObject, organization, organizationalUnit and people.
func systemSchemas() []string {
	return []string{
		"/etc/ldap/schema/core.ldif",
		"/etc/ldap/schema/cosine.ldif",
		"/etc/ldap/schema/inetorgperson.ldif",
	}
}

// configLDIF is the cn=config tree slapadd -n0 loads: back_mdb, the schemas
// (pulled in with include: lines, as Debian's own slapd.init.ldif does), and
// one MDB database for suffix with a root DN.
//
// The database does not sync to disk on commit (a test's data need not
// survive a power cut) and may grow to 1 GiB: MDB's default map of 10 MiB
// is too small for a 10,000-principal delivery, and the file is sparse.
func configLDIF(dataDir, suffix, rootDN, password string, extraSchemas []string) string {
	var b strings.Builder
	b.WriteString(`dn: cn=config
objectClass: olcGlobal
cn: config

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

`)
	for _, p := range append(systemSchemas(), extraSchemas...) {
		u := url.URL{Scheme: "file", Path: p}
		fmt.Fprintf(&b, "include: %s\n\n", u.String())
	}
	b.WriteString(`dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbMaxSize: 1073741824
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
`)
	attr(&b, "olcDbDirectory", dataDir)
	attr(&b, "olcSuffix", suffix)
	attr(&b, "olcRootDN", rootDN)
	attr(&b, "olcRootPW", password)
	return b.String()
}

// suffixLDIF is the entry at the top of the database, whose object classes
// follow from its first RDN.
func suffixLDIF(suffix string) (string, error) {
	rdn, _, _ := strings.Cut(suffix, ",")
	typ, value, ok := strings.Cut(rdn, "=")
	if !ok || strings.ContainsAny(value, `\+"`) {
		return "", fmt.Errorf("suffix %q: want a first RDN of the form dc=NAME, o=NAME or ou=NAME", suffix)
	}
	var b strings.Builder
	attr(&b, "dn", suffix)
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "dc":
		b.WriteString("objectClass: dcObject\nobjectClass: organization\n")
		attr(&b, "dc", value)
		attr(&b, "o", value)
	case "o":
		b.WriteString("objectClass: organization\n")
		attr(&b, "o", value)
	case "ou":
		b.WriteString("objectClass: organizationalUnit\n")
		attr(&b, "ou", value)
	default:
		return "", fmt.Errorf("suffix %q: want a first RDN of dc=, o= or ou=", suffix)
	}
	return b.String(), nil
}

// attr writes one LDIF attribute line, base64-encoded when the value is not
// an RFC 2849 SAFE-STRING (a temporary directory's path may hold anything).
func attr(b *strings.Builder, name, value string) {
	b.WriteString(ldif.Line(name, value))
}
