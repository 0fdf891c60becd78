package profile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// parseOne parses src as a single file and returns MIT's dump of it.
func parseOne(t *testing.T, src string) (string, error) {
	t.Helper()
	p, err := Parse("test.conf", []byte(src))
	if err != nil {
		return "", err
	}
	return dumpMIT(p.files[0]), nil
}

// TestParseMatchesMIT compares our parse with MIT's own (testdata/mit/*.dump,
// written by MIT's profile library; see gen.sh there).
func TestParseMatchesMIT(t *testing.T) {
	confs, err := filepath.Glob("testdata/mit/*.conf")
	if err != nil || len(confs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, conf := range confs {
		t.Run(filepath.Base(conf), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(conf, ".conf") + ".dump")
			if err != nil {
				t.Fatal(err)
			}
			p, err := Load(conf)
			if err != nil {
				t.Fatal(err)
			}
			if got := dumpMIT(p.files[0]); got != string(want) {
				t.Errorf("parse differs from MIT's\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", ""},
		{"only comments", "# a\n; b\n", ""},
		{"relation", "[s]\nx = 1\n", "[s]\n\tx = 1\n\n"},
		{"no spaces", "[s]\nx=1\n", "[s]\n\tx = 1\n\n"},
		{"trailing blanks trimmed", "[s]\nx = a b \t\n", "[s]\n\tx = a b\n\n"},
		{"hash inside value", "[s]\nx = a # b\n", "[s]\n\tx = a # b\n\n"},
		{"indented comments", "[s]\n   # c\n\t; c\nx = 1\n", "[s]\n\tx = 1\n\n"},
		{"repeated values in order", "[s]\nx = 2\nx = 1\ny = 0\nx = 3\n", "[s]\n\tx = 2\n\tx = 1\n\tx = 3\n\ty = 0\n\n"},
		{"sections merge", "[s]\nx = 1\n[t]\n[s]\nx = 2\n", "[s]\n\tx = 1\n\tx = 2\n\n[t]\n\n"},
		{"space after header", "[s]  \nx = 1\n", "[s]\n\tx = 1\n\n"},
		{"final section", "[s]*\nx = 1\n", "[s]*\n\tx = 1\n\n"},
		{"subsection", "[s]\na = {\nx = 1\n}\n", "[s]\n\ta = {\n\t\tx = 1\n\t}\n\n"},
		{"nested subsections", "[s]\na = {\nb = {\nc = {\nx = 1\n}\n}\n}\n",
			"[s]\n\ta = {\n\t\tb = {\n\t\t\tc = {\n\t\t\t\tx = 1\n\t\t\t}\n\t\t}\n\t}\n\n"},
		{"final subsection", "[s]\na = {\nx = 1\n}*\n", "[s]\n\ta = {\n\t\tx = 1\n\t}*\n\n"},
		{"final tag", "[s]\na* = {\n}\n", "[s]\n\ta = {\n\t}*\n\n"},
		{"star ends tag", "[s]\nab*cd = 1\n", "[s]\n\tab = 1\n\n"},
		{"subsections merge", "[s]\na = {\nx = 1\n}\na = {\nx = 2\n}\n", "[s]\n\ta = {\n\t\tx = 1\n\t\tx = 2\n\t}\n\n"},
		{"brace on next line", "[s]\na =\n  { ignored\nx = 1\n}\n", "[s]\n\ta = {\n\t\tx = 1\n\t}\n\n"},
		{"text after close brace", "[s]\na = {\n} junk\n", "[s]\n\ta = {\n\t}\n\n"},
		{"brace not alone is a value", "[s]\na = {x\n", "[s]\n\ta = {x\n\n"},
		{"quoted", "[s]\nx = \"a\\tb\\nc\\bd\\\\e\\\"f\\zg\" tail\n", "[s]\n\tx = \"a\\tb\\nc\\bd\\\\e\"fzg\"\n\n"},
		{"quoted keeps blanks", "[s]\nx = \"  a  \"\n", "[s]\n\tx = \"  a  \"\n\n"},
		{"unterminated quote", "[s]\nx = \"ab  \n", "[s]\n\tx = \"ab  \"\n\n"},
		{"backslash at end", "[s]\nx = \"ab\\\n", "[s]\n\tx = ab\\\n\n"},
		{"empty quoted", "[s]\nx = \"\"\n", "[s]\n\tx = \"\"\n\n"},
		{"before first section ignored", "junk\nx = 1\n [s]\n}\n[t]\ny = 2\n", "[t]\n\ty = 2\n\n"},
		{"indented header after first", "[s]\n  [t]\nx = 1\n", "[s]\n\n[t]\n\tx = 1\n\n"},
		{"crlf", "[s]\r\nx = 1\r\n", "[s]\n\tx = 1\n\n"},
		{"carriage return mid-line", "[s]\nx = a\rb\n", "[s]\n\tx = a\rb\n\n"},
		{"nul ends the line", "[s]\nx = a\x00b\ny = 2\n", "[s]\n\tx = a\n\ty = 2\n\n"},
		{"no final newline", "[s]\nx = 1", "[s]\n\tx = 1\n\n"},
		{"module skipped", "module foo:bar\n[s]\nx = 1\n", "[s]\n\tx = 1\n\n"},
		{"unclosed brace accepted", "[s]\na = {\nx = 1\n", "[s]\n\ta = {\n\t\tx = 1\n\t}\n\n"},
		{"tag with trailing blank", "[s]\nx \t= 1\n", "[s]\n\tx = 1\n\n"},
		{"empty tag after star", "[s]\n* = 1\n", "[s]\n\t = 1\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOne(t, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"missing equals", "[s]\nx = 1\njunk\n", 3, "missing '=' in relation"},
		{"missing tag", "[s]\n= 1\n", 2, "missing tag before '='"},
		{"space in tag", "[s]\na b = 1\n", 2, `relation tag "a b" contains whitespace`},
		{"missing close bracket", "[s\n", 1, "missing ']'"},
		{"text after header", "[s] x\n", 1, "unexpected text after section header"},
		{"text after final header", "[s]*x\n", 1, "unexpected text after section header"},
		{"header in subsection", "[s]\na = {\n[t]\n", 3, "section header inside a subsection"},
		{"extra close brace", "[s]\nx = 1\n}\n", 3, "'}' without a matching '{'"},
		{"no open brace", "[s]\na =\nx = 1\n", 3, "missing '{'"},
		{"blank line before open brace", "[s]\na =\n\n{\n", 3, "missing '{'"},
		{"comment before open brace", "[s]\na =\n# c\n{\n", 3, "missing '{'"},
		{"crlf before open brace", "[s]\r\na =\r\n\r\n{\r\n", 3, "missing '{'"},
		{"module after first section", "[s]\nmodule foo:bar\n", 2, "missing '='"},
		{"include alone", "[s]\ninclude\n", 2, `include ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOne(t, tt.src)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want *ParseError", err)
			}
			if pe.File != "test.conf" || pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("error = %q, want test.conf:%d: …%s…", err, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "test.conf:") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

// writeFiles creates files under a temporary directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInclude(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"inc.conf":     "[libdefaults]\n\tb = 2\n[realms]\n\tR = {\n\t\tkdc = inc\n\t}\n",
		"nohdr.conf":   "x = 1\n[other]\n\ty = 1\n",
		"d/10.conf":    "[d]\n\tv = 10\n",
		"d/2-b_c":      "[d]\n\tv = 2\n",
		"d/a.bak":      "[d]\n\tv = bak\n",
		"d/.hidden":    "[d]\n\tv = hidden\n",
		"d/.x.conf":    "[d]\n\tv = dotconf\n",
		"d/x~":         "[d]\n\tv = backup\n",
		"d/Z":          "[d]\n\tv = Z\n",
		"d/sub/a.conf": "[d]\n\tv = nested\n",
	})
	main := "[libdefaults]\n\ta = 1\n\tr = {\ninclude " + dir + "/inc.conf\n\t\tx = still in r\n\t}\n" +
		"include " + dir + "/nohdr.conf\nincludedir " + dir + "/d\n"
	p, err := Parse("main.conf", []byte(main))
	if err != nil {
		t.Fatal(err)
	}
	want := "[d]\n\tv = 10\n\tv = 2\n\tv = Z\n\n" +
		"[libdefaults]\n\ta = 1\n\tb = 2\n\tr = {\n\t\tx = still in r\n\t}\n\n" +
		"[other]\n\ty = 1\n\n" +
		"[realms]\n\tR = {\n\t\tkdc = inc\n\t}\n\n"
	if got := dumpMIT(p.files[0]); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// Included relations keep their own file and line.
	rels := p.Relations("realms", "R", "kdc")
	if len(rels) != 1 || rels[0].File != dir+"/inc.conf" || rels[0].Line != 5 {
		t.Errorf("relation = %+v, want %s/inc.conf line 5", rels, dir)
	}
}

func TestIncludeErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.conf":  "[s]\n\tx = 1\n\toops\n",
		"self.conf": "[s]\ninclude SELF\n",
	})
	self := filepath.Join(dir, "self.conf")
	if err := os.WriteFile(self, []byte("[s]\ninclude "+self+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		file      string
		line      int
		msg       string
	}{
		{"missing file", "[s]\ninclude " + dir + "/nope.conf\n", "main.conf", 2, "include"},
		{"trailing blank is part of the name", "include " + dir + "/bad.conf \n", "main.conf", 1, "include"},
		{"directory", "include " + dir + "\n", "main.conf", 1, "include"},
		{"syntax error inside", "[s]\n\ninclude " + dir + "/bad.conf\n", dir + "/bad.conf", 3, "missing '='"},
		{"missing dir", "includedir " + dir + "/nodir\n", "main.conf", 1, "includedir"},
		{"include loop", "include " + self + "\n", self, 2, "nested more than"},
		{"module in included file", "include " + dir + "/mod.conf\n", dir + "/mod.conf", 1, "unexpected module"},
	}
	if err := os.WriteFile(filepath.Join(dir, "mod.conf"), []byte("module x:y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("main.conf", []byte(tt.src))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want *ParseError", err)
			}
			if pe.File != tt.file || pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("error = %q, want %s:%d: …%s…", err, tt.file, tt.line, tt.msg)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kdc.conf":     "[realms]\n\tR = {\n\t\tmax_life = 1h\n\t}\n[logging]*\n\tkdc = FILE:/a\n",
		"krb5.conf":    "[libdefaults]\n\tdefault_realm = R\n[realms]\n\tR = {\n\t\tmax_life = 2h\n\t\tkdc = k\n\t}\n[logging]\n\tkdc = FILE:/b\n\tdefault = FILE:/c\n",
		"dir/a.conf":   "[libdefaults]\n\tdefault_realm = FROMDIR\n",
		"bad.conf":     "[s]\nx\n",
		"module.conf":  "module /lib/x.so:arg\n[m]\n\tx = 1\n",
		"module2.conf": "module /lib/x.so:arg\n",
	})
	path := func(name string) string { return filepath.Join(dir, name) }

	p, err := Load(path("missing.conf"), path("kdc.conf"), "", path("krb5.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Values("realms", "R", "max_life"); !slices.Equal(got, []string{"1h", "2h"}) {
		t.Errorf("max_life = %q, want kdc.conf's then krb5.conf's", got)
	}
	if got, _ := p.DefaultRealm(); got != "R" {
		t.Errorf("default realm = %q", got)
	}
	// [logging] is final in kdc.conf: krb5.conf adds nothing to it, even
	// relations kdc.conf lacks.
	if got := p.Values("logging", "kdc"); !slices.Equal(got, []string{"FILE:/a"}) {
		t.Errorf("logging kdc = %q", got)
	}
	if got := p.Values("logging", "default"); got != nil {
		t.Errorf("logging default = %q, want nothing past the final section", got)
	}

	if p, err := Load(path("nothing"), path("nothing2")); err != nil || len(p.files) != 0 {
		t.Errorf("all files missing: %v, %v; want an empty profile", p, err)
	}
	if p, err := Load(path("dir")); err != nil || p.Values("libdefaults", "default_realm")[0] != "FROMDIR" {
		t.Errorf("directory in the list: %v", err)
	}
	if _, err := Load(path("kdc.conf"), path("bad.conf")); err == nil || !strings.Contains(err.Error(), "bad.conf:2:") {
		t.Errorf("bad second file: error = %v", err)
	}
	if _, err := Load(path("kdc.conf/x")); err == nil {
		t.Error("a path through a regular file must be an error, not a missing file")
	}
	// A module directive is skipped in the first file and refused later,
	// where MIT refuses it too.
	if p, err := Load(path("missing.conf"), path("module.conf")); err != nil || p.Values("m", "x") == nil {
		t.Errorf("module in first file: %v", err)
	}
	if _, err := Load(path("kdc.conf"), path("module2.conf")); err == nil {
		t.Error("module in second file accepted")
	}
}

// failingFiles is a file system where every file exists and none can be read.
type failingFiles struct{ osFiles }

func (failingFiles) readFile(string) ([]byte, error) { return nil, fs.ErrPermission }

func TestLoadUnreadable(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.conf": "[s]\n"})
	_, err := load(failingFiles{}, []string{filepath.Join(dir, "a.conf")})
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("error = %v, want permission error", err)
	}
}

func TestValidIncludeName(t *testing.T) {
	for name, want := range map[string]bool{
		"krb5":       true,
		"a-b_C9":     true,
		"x.conf":     true,
		"x.y.conf":   true,
		".conf":      false,
		".x.conf":    false,
		"x.conf~":    false,
		"x.rpmsave":  false,
		"x.dpkg-old": false,
		"a b":        false,
		"":           false,
		"é":          false,
	} {
		if got := validIncludeName(name); got != want {
			t.Errorf("validIncludeName(%q) = %v, want %v", name, got, want)
		}
	}
}
