package ldaptest

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseEntries(t *testing.T) {
	tests := []struct {
		name string
		ldif string
		want map[string]Entry
	}{
		{
			name: "empty",
			ldif: "",
			want: map[string]Entry{},
		},
		{
			name: "values sorted, blank lines collapsed",
			ldif: "version: 1\n\n\ndn: cn=a,dc=x\nobjectClass: top\ncn: b\ncn: a\n\n\n\ndn: cn=b,dc=x\ncn: b\n",
			want: map[string]Entry{
				"cn=a,dc=x": {"objectClass": {"top"}, "cn": {"a", "b"}},
				"cn=b,dc=x": {"cn": {"b"}},
			},
		},
		{
			name: "folded lines, as ldapsearch wraps at 76 columns",
			ldif: "dn: cn=a very long na\n me,dc=x\ndescription: one\n  two\n",
			want: map[string]Entry{"cn=a very long name,dc=x": {"description": {"one two"}}},
		},
		{
			name: "base64 DN and value, folded",
			// "cn=jürgen,dc=x" and " lead"
			ldif: "dn:: Y249asO8cmdl\n bixkYz14\ncn:: IGxlYWQ=\n",
			want: map[string]Entry{"cn=jürgen,dc=x": {"cn": {" lead"}}},
		},
		{
			name: "comments, also folded, and the pagedresults trailer",
			ldif: "# a comment\n  continued\ndn: cn=a,dc=x\n# inside\ncn: a\n\n# pagedresults: cookie=\n",
			want: map[string]Entry{"cn=a,dc=x": {"cn": {"a"}}},
		},
		{
			name: "raw UTF-8 and CRLF",
			ldif: "dn: cn=jürgen,dc=x\r\ncn: jürgen\r\n",
			want: map[string]Entry{"cn=jürgen,dc=x": {"cn": {"jürgen"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEntries(strings.NewReader(tt.ldif))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseEntriesErrors(t *testing.T) {
	for name, ldif := range map[string]string{
		"no dn":        "cn: a\n",
		"duplicate":    "dn: cn=a\ncn: a\n\ndn: cn=a\ncn: a\n",
		"change":       "dn: cn=a\nchangetype: delete\n",
		"url":          "dn: cn=a\njpegPhoto:< file:///etc/passwd\n",
		"bad base64":   "dn: cn=a\ncn:: !!!\n",
		"not an attr":  "dn: cn=a\nnonsense\n",
		"orphan space": " cn: a\n",
	} {
		if got, err := ParseEntries(strings.NewReader(ldif)); err == nil {
			t.Errorf("%s: no error; got %v", name, got)
		}
	}
}

// TestServer starts a server, changes it, and checks that its data survives
// a restart on the same port.
func TestServer(t *testing.T) {
	s := Start(t)
	if s.Base() != DefaultSuffix || s.BindDN() != "cn=admin,"+DefaultSuffix {
		t.Errorf("Base %q, BindDN %q", s.Base(), s.BindDN())
	}
	if !strings.HasPrefix(s.URI(), "ldap://127.0.0.1:") {
		t.Errorf("URI %q, want ldap://127.0.0.1:PORT/", s.URI())
	}
	fi, err := os.Stat(s.PasswordFile())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if pw, _ := os.ReadFile(s.PasswordFile()); string(pw) != s.Password() || s.Password() == "" {
		t.Errorf("password file holds %q, Password() is %q", pw, s.Password())
	}

	s.Modify(t, `dn: ou=people,dc=example,dc=com
changetype: add
objectClass: organizationalUnit
ou: people

dn: uid=j\C3\BCrgen,ou=people,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
uid: jürgen
cn: Jürgen
cn: J
sn: Müller
description:: IGxlYWRpbmcgc3BhY2U=
`)
	want := map[string]Entry{
		"dc=example,dc=com": {
			"objectClass": {"dcObject", "organization"},
			"dc":          {"example"},
			"o":           {"example"},
		},
		"ou=people,dc=example,dc=com": {
			"objectClass": {"organizationalUnit"},
			"ou":          {"people"},
		},
		"uid=jürgen,ou=people,dc=example,dc=com": {
			"objectClass": {"inetOrgPerson"},
			"uid":         {"jürgen"},
			"cn":          {"J", "Jürgen"},
			"sn":          {"Müller"},
			"description": {" leading space"},
		},
	}
	if got := s.Entries(t, s.Base()); !reflect.DeepEqual(got, want) {
		t.Fatalf("Entries:\ngot  %v\nwant %v", got, want)
	}
	if got := s.Entries(t, "ou=nobody,dc=example,dc=com"); len(got) != 0 {
		t.Errorf("Entries of a missing base = %v, want none", got)
	}

	uri := s.URI()
	s.Stop()
	if _, _, err := s.tool(t.Context(), nil, "ldapwhoami"); err == nil {
		t.Error("ldapwhoami succeeded with slapd stopped")
	}
	s.Stop() // again: nothing to do
	s.Start(t)
	if s.URI() != uri {
		t.Errorf("after restart URI %q, was %q", s.URI(), uri)
	}
	if got := s.Entries(t, s.Base()); !reflect.DeepEqual(got, want) {
		t.Errorf("Entries after restart:\ngot  %v\nwant %v", got, want)
	}
}

func TestWithSchema(t *testing.T) {
	s := Start(t, WithSuffix("o=zoo"), WithSchema("testdata/pet.ldif"))
	if s.BindDN() != "cn=admin,o=zoo" {
		t.Errorf("BindDN %q", s.BindDN())
	}
	s.Modify(t, "dn: petName=rex,o=zoo\nchangetype: add\nobjectClass: pet\npetName: rex\n")
	want := map[string]Entry{
		"o=zoo":             {"objectClass": {"organization"}, "o": {"zoo"}},
		"petName=rex,o=zoo": {"objectClass": {"pet"}, "petName": {"rex"}},
	}
	if got := s.Entries(t, "o=zoo"); !reflect.DeepEqual(got, want) {
		t.Errorf("Entries:\ngot  %v\nwant %v", got, want)
	}
}

func TestSuffixLDIF(t *testing.T) {
	for _, bad := range []string{"cn=x,dc=y", "dc", `dc=a\,b,dc=c`} {
		if _, err := suffixLDIF(bad); err == nil {
			t.Errorf("suffixLDIF(%q): no error", bad)
		}
	}
}
