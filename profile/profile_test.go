package profile

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestFilesFromEnv(t *testing.T) {
	tests := []struct {
		value, def string
		want       []string
	}{
		{"", "/etc/krb5.conf", []string{"/etc/krb5.conf"}},
		{"/a", "/etc/krb5.conf", []string{"/a"}},
		{"/a:/b", "/d", []string{"/a", "/b"}},
		{"/a::/b:", "/d", []string{"/a", "", "/b", ""}},
	}
	for _, tt := range tests {
		if got := FilesFromEnv(tt.value, tt.def); !slices.Equal(got, tt.want) {
			t.Errorf("FilesFromEnv(%q, %q) = %q, want %q", tt.value, tt.def, got, tt.want)
		}
	}
}

func envOf(m map[string]string) Env { return func(k string) string { return m[k] } }

func TestKDCFiles(t *testing.T) {
	tests := []struct {
		env       map[string]string
		kdc, conf []string
	}{
		{nil, []string{"/etc/krb5kdc/kdc.conf", "/etc/krb5.conf"}, []string{"/etc/krb5.conf"}},
		{map[string]string{"KRB5_KDC_PROFILE": "/k1:/k2", "KRB5_CONFIG": "/c"},
			[]string{"/k1", "/k2", "/c"}, []string{"/c"}},
		{map[string]string{"KRB5_CONFIG": "~/krb5.conf:/etc/krb5.conf", "HOME": "/home/u"},
			[]string{"/etc/krb5kdc/kdc.conf", "/home/u/krb5.conf", "/etc/krb5.conf"},
			[]string{"/home/u/krb5.conf", "/etc/krb5.conf"}},
		{map[string]string{"KRB5_CONFIG": "~/krb5.conf"},
			[]string{"/etc/krb5kdc/kdc.conf", "~/krb5.conf"}, []string{"~/krb5.conf"}},
	}
	for _, tt := range tests {
		if got := KDCFiles(envOf(tt.env)); !slices.Equal(got, tt.kdc) {
			t.Errorf("KDCFiles(%v) = %q, want %q", tt.env, got, tt.kdc)
		}
		if got := ConfigFiles(envOf(tt.env)); !slices.Equal(got, tt.conf) {
			t.Errorf("ConfigFiles(%v) = %q, want %q", tt.env, got, tt.conf)
		}
	}
}

func TestLoadKDCFixture(t *testing.T) {
	env := envOf(map[string]string{
		"KRB5_KDC_PROFILE": "testdata/mit-1.20-basic/kdc.conf",
		"KRB5_CONFIG":      "testdata/mit-1.20-basic/krb5.conf",
	})
	p, err := LoadKDC(env)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Subsections(); !slices.Equal(got, []string{"kdcdefaults", "logging", "realms", "libdefaults"}) {
		t.Errorf("sections = %q", got)
	}
	if got, ok := p.Value("realms", "FIXTURE.TEST", "kdc"); !ok || got != "127.0.0.1:60088" {
		t.Errorf("kdc = %q, %v (from krb5.conf)", got, ok)
	}
	c, err := LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Value("realms", "FIXTURE.TEST", "database_name"); ok {
		t.Error("LoadConfig read kdc.conf")
	}
}

// TestLookupAcrossFiles checks MIT's merge rules (prof_tree.c
// profile_node_iterator) over three files.
func TestLookupAcrossFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"1": "[a]\n\tx = 1a\n\ts = {\n\t\tx = s1\n\t}*\n[b]\n\tx = b1\n[c]*\n\tq = 1\n",
		"2": "[a]\n\tx = 2a\n\tx = 2b\n\ts = {\n\t\tx = s2\n\t}\n\tt = {\n\t}\n[b]*\n\tx = b2\n\tu = {\n\t}\n[c]\n\tx = c2\n\tz = {\n\t}\n",
		"3": "[a]*\n\tx = 3a\n\tu = {\n\t}\n[b]\n\tx = b3\n[d]\n",
	})
	p, err := Load(filepath.Join(dir, "1"), filepath.Join(dir, "2"), filepath.Join(dir, "3"))
	if err != nil {
		t.Fatal(err)
	}
	values := []struct {
		path []string
		want []string
	}{
		{[]string{"a", "x"}, []string{"1a", "2a", "2b", "3a"}},
		{[]string{"a", "s", "x"}, []string{"s1"}},  // final subsection in file 1
		{[]string{"b", "x"}, []string{"b1", "b2"}}, // final section in file 2
		{[]string{"c", "x"}, nil},                  // final in file 1, which lacks x
		{[]string{"c", "z", "x"}, nil},             // final on the way stops even when the path is missing
		{[]string{"a", "missing"}, nil},
		{[]string{"missing", "x"}, nil},
		{[]string{"a"}, nil},
		{nil, nil},
	}
	for _, tt := range values {
		if got := p.Values(tt.path...); !slices.Equal(got, tt.want) {
			t.Errorf("Values(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if got, ok := p.Value("a", "x"); !ok || got != "1a" {
		t.Errorf("Value(a, x) = %q, %v", got, ok)
	}
	if _, ok := p.Value("a", "nope"); ok {
		t.Error("Value of a missing relation reported found")
	}
	subs := []struct {
		path []string
		want []string
	}{
		{nil, []string{"a", "b", "c", "d"}},
		{[]string{"a"}, []string{"s", "t", "u"}},
		{[]string{"b"}, []string{"u"}},
		{[]string{"c"}, nil},
		{[]string{"a", "s"}, nil},
	}
	for _, tt := range subs {
		if got := p.Subsections(tt.path...); !slices.Equal(got, tt.want) {
			t.Errorf("Subsections(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	tags := []struct {
		path []string
		want []string
	}{
		{[]string{"a"}, []string{"x"}},
		{[]string{"a", "s"}, []string{"x"}},
		{[]string{"c"}, []string{"q"}}, // final in file 1
		{[]string{"d"}, nil},
		{[]string{"missing"}, nil},
	}
	for _, tt := range tags {
		if got := p.Tags(tt.path...); !slices.Equal(got, tt.want) {
			t.Errorf("Tags(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestNilProfile(t *testing.T) {
	var p *Profile
	if p.Values("a", "b") != nil || p.Subsections() != nil {
		t.Error("nil profile not empty")
	}
	if _, ok := p.Value("a", "b"); ok {
		t.Error("nil profile has a value")
	}
	if _, err := p.Realm("R"); err != nil {
		t.Errorf("Realm on nil profile: %v", err)
	}
}
