package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxIncludeDepth bounds include nesting. MIT has no limit of its own and
// recurses until fopen runs out of file descriptors; a file that includes
// itself must fail cleanly here instead.
const maxIncludeDepth = 32

// maxFileSize bounds how much of one profile file is read, so that an
// include of /dev/zero or a runaway file cannot exhaust memory. Real
// krb5.conf and kdc.conf files are a few kilobytes.
const maxFileSize = 16 << 20

// ParseError reports why a profile file cannot be used, at the line where
// reading stopped. Syntax errors are those MIT's profile library reports,
// at the line where it stops.
type ParseError struct {
	File string
	Line int
	Msg  string
	Err  error // cause of a failed include, or nil
}

// Error formats the error as FILE:LINE: MSG, followed by the cause if any.
// Line is 0 for a directory named in the file list.
func (e *ParseError) Error() string {
	s := fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	if e.Line == 0 {
		s = fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause of a failed include.
func (e *ParseError) Unwrap() error { return e.Err }

// files is what the parser needs from the file system. Load reads the real
// one; the fuzz target substitutes one that fails every call, so include
// directives in generated input stay harmless.
type files interface {
	stat(name string) (fs.FileInfo, error)
	readFile(name string) ([]byte, error)
	readDir(name string) ([]fs.DirEntry, error)
}

type osFiles struct{}

func (osFiles) stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osFiles) readDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

func (osFiles) readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxFileSize)
	}
	return data, nil
}

// Load reads and merges profile files in order, as profile_init does for
// MIT's KRB5_CONFIG and KRB5_KDC_PROFILE lists: values from earlier files
// come first, and a section marked final stops later files from adding to
// it. A file that does not exist is skipped; if none exists the profile is
// empty, as krb5_init_context makes it. A path naming a directory is read
// like an includedir directive.
//
// Unlike MIT, which also skips files it has no permission to read, any file
// that exists but cannot be read is an error: a KDC tool that silently falls
// back to built-in defaults would open the wrong database.
func Load(paths ...string) (*Profile, error) {
	return load(osFiles{}, paths)
}

// Parse parses the contents of one profile file; name is used in error
// messages. Include directives read from the file system.
func Parse(name string, data []byte) (*Profile, error) {
	root := &section{}
	p := &parser{fsys: osFiles{}, root: root, file: name, allowModule: true}
	if err := p.parse(data); err != nil {
		return nil, err
	}
	return &Profile{files: []*section{root}}, nil
}

func load(fsys files, paths []string) (*Profile, error) {
	prof := &Profile{}
	for _, path := range paths {
		fi, err := fsys.stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read profile: %w", err)
		}
		root := &section{}
		p := &parser{fsys: fsys, root: root, file: path, allowModule: len(prof.files) == 0}
		if fi.IsDir() {
			err = p.includeDir(path)
		} else {
			var data []byte
			if data, err = fsys.readFile(path); err != nil {
				return nil, fmt.Errorf("read profile: %w", err)
			}
			err = p.parse(data)
		}
		if err != nil {
			return nil, err
		}
		prof.files = append(prof.files, root)
	}
	return prof, nil
}

// Parser states, as in prof_parse.c: before the first section header
// everything but directives is ignored; after "tag =" with nothing on the
// right, the next line must open the subsection with '{'.
const (
	stateInit = iota
	stateStd
	stateOBrace
)

// parser holds the state of one file. Included files get a parser of their
// own sharing the root, as MIT's parse_include_file does, so every fragment
// must start with its own section header.
type parser struct {
	fsys        files
	root        *section
	file        string
	depth       int
	allowModule bool // MIT accepts "module" only in the first file of a list

	state int
	line  int
	stack []*section // the current section, then each open subsection
}

func (p *parser) errorf(format string, args ...any) error {
	return &ParseError{File: p.file, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// parse feeds data to parseLine one line at a time as MIT's parse_file
// does on Unix: fgets lines, each keeping its newline and cut at its first
// NUL byte. A carriage return is an ordinary character except at the end
// of a line, where strip_line removes it. Unlike MIT, lines longer than
// 2047 bytes are not broken in two.
func (p *parser) parse(data []byte) error {
	for p.line = 1; len(data) > 0; p.line++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if i := bytes.IndexByte(line, 0); i >= 0 {
			line = line[:i]
		}
		if err := p.parseLine(string(line)); err != nil {
			return err
		}
	}
	return nil
}

// directive reports whether line is the directive word followed by
// whitespace, and returns its argument. Directives must start in column
// one and are recognised in every state, even inside braces. As in MIT,
// "include" alone on a line names the empty file, and trailing blanks are
// part of the name.
func directive(line, word string) (string, bool) {
	if len(line) <= len(word) || !strings.HasPrefix(line, word) || !isSpace(line[len(word)]) {
		return "", false
	}
	return stripLine(trimLeftSpace(line[len(word):])), true
}

func (p *parser) parseLine(line string) error {
	if arg, ok := directive(line, "include"); ok {
		return p.include(arg)
	}
	if arg, ok := directive(line, "includedir"); ok {
		return p.includeDir(arg)
	}
	switch p.state {
	case stateInit:
		if _, ok := directive(line, "module"); ok {
			// MIT would load a profile module in place of this file;
			// there is no such thing here, so the line is skipped.
			if !p.allowModule {
				return p.errorf("unexpected module directive (allowed only in the first profile file)")
			}
			return nil
		}
		if !strings.HasPrefix(line, "[") {
			return nil
		}
		p.state = stateStd
		return p.parseStdLine(line)
	case stateStd:
		return p.parseStdLine(line)
	default: // stateOBrace
		if !strings.HasPrefix(trimLeftSpace(line), "{") {
			return p.errorf("missing '{' to open the subsection begun on the line before")
		}
		// As in MIT, anything after the '{' is ignored.
		p.state = stateStd
		return nil
	}
}

func (p *parser) parseStdLine(line string) error {
	cp := stripLine(trimLeftSpace(line))
	if cp == "" || cp[0] == ';' || cp[0] == '#' {
		return nil
	}
	switch cp[0] {
	case '[':
		if len(p.stack) > 1 {
			return p.errorf("section header inside a subsection (missing '}')")
		}
		name, rest, ok := strings.Cut(cp[1:], "]")
		if !ok {
			return p.errorf("missing ']' in section header")
		}
		sec := p.root.subsection(name)
		if strings.HasPrefix(rest, "*") {
			sec.final = true
			rest = rest[1:]
		}
		if trimLeftSpace(rest) != "" {
			return p.errorf("unexpected text after section header")
		}
		p.stack = append(p.stack[:0], sec)
		return nil
	case '}':
		if len(p.stack) <= 1 {
			return p.errorf("'}' without a matching '{'")
		}
		// MIT ignores anything after "}" or "}*".
		if strings.HasPrefix(cp[1:], "*") {
			p.stack[len(p.stack)-1].final = true
		}
		p.stack = p.stack[:len(p.stack)-1]
		return nil
	}
	if len(p.stack) == 0 {
		return p.errorf("relation outside a section") // unreachable: state init needs '['
	}

	tag, value, ok := strings.Cut(cp, "=")
	if !ok {
		return p.errorf("missing '=' in relation")
	}
	if tag == "" {
		return p.errorf("missing tag before '=' in relation")
	}
	if i := indexSpace(tag); i >= 0 {
		if trimLeftSpace(tag[i:]) != "" {
			return p.errorf("relation tag %q contains whitespace", trimRightSpace(tag))
		}
		tag = tag[:i]
	}
	value = trimLeftSpace(value)
	sub := false
	switch {
	case strings.HasPrefix(value, `"`):
		value = unquote(value[1:])
	case value == "":
		sub = true
		p.state = stateOBrace
	case value[0] == '{' && trimLeftSpace(value[1:]) == "":
		sub = true
	default:
		value = trimRightSpace(value)
	}
	// A '*' anywhere in the tag ends it and marks the node final. Only
	// final sections change lookups; MIT ignores it on relations.
	final := false
	if i := strings.IndexByte(tag, '*'); i >= 0 {
		tag, final = tag[:i], true
	}
	cur := p.stack[len(p.stack)-1]
	if sub {
		s := cur.subsection(tag)
		if final {
			s.final = true
		}
		p.stack = append(p.stack, s)
		return nil
	}
	cur.addRelation(tag, Relation{Value: value, File: p.file, Line: p.line})
	return nil
}

// unquote decodes a value that began with '"', as parse_quoted_string does:
// it ends at the next unescaped '"' (or the end of the line, with anything
// after the quote ignored); \n, \t and \b are control characters and a
// backslash before any other character stands for that character.
func unquote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && s[i] != '"'; i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch c = s[i]; c {
			case 'n':
				c = '\n'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// include parses another file into the same root, as MIT's include
// directive does. Relative names are relative to the working directory,
// not to the including file, because MIT passes them to fopen unchanged.
func (p *parser) include(name string) error {
	if p.depth >= maxIncludeDepth {
		return p.errorf("include %q: includes nested more than %d deep", name, maxIncludeDepth)
	}
	data, err := p.fsys.readFile(name)
	if err != nil {
		return &ParseError{File: p.file, Line: p.line, Msg: fmt.Sprintf("include %q", name), Err: err}
	}
	sub := &parser{fsys: p.fsys, root: p.root, file: name, depth: p.depth + 1}
	return sub.parse(data)
}

// includeDir parses the files of a directory in byte order of their names,
// skipping those MIT's valid_name rejects (editor backups, .rpmsave and
// the like) and subdirectories, which MIT's fopen-and-read sees as empty.
func (p *parser) includeDir(dir string) error {
	entries, err := p.fsys.readDir(dir)
	if err != nil {
		return &ParseError{File: p.file, Line: p.line, Msg: fmt.Sprintf("includedir %q", dir), Err: err}
	}
	for _, e := range entries {
		if !validIncludeName(e.Name()) {
			continue
		}
		name := dir + "/" + e.Name()
		if fi, err := p.fsys.stat(name); err == nil && fi.IsDir() {
			continue
		}
		if err := p.include(name); err != nil {
			return err
		}
	}
	return nil
}

// validIncludeName mirrors prof_parse.c's valid_name: no dotfiles; names
// ending in ".conf", or made only of ASCII letters, digits, '-' and '_'.
func validIncludeName(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	if strings.HasSuffix(name, ".conf") {
		return true
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isSpace is C's isspace in the C locale, which MIT's parser uses.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// stripLine is MIT's strip_line: drop trailing newlines and carriage
// returns, nothing else.
func stripLine(s string) string {
	return strings.TrimRight(s, "\r\n")
}

func indexSpace(s string) int {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return i
		}
	}
	return -1
}

func trimLeftSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

func trimRightSpace(s string) string {
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
