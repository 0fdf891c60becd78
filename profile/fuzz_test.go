package profile

import (
	"bytes"
	"errors"
	"io/fs"
	"testing"
	"time"
)

// noFiles is a file system with nothing in it, so that include directives
// in generated input are parsed but never touch the disk.
type noFiles struct{}

func (noFiles) stat(string) (fs.FileInfo, error)      { return nil, fs.ErrNotExist }
func (noFiles) readFile(string) ([]byte, error)       { return nil, fs.ErrNotExist }
func (noFiles) readDir(string) ([]fs.DirEntry, error) { return nil, fs.ErrNotExist }

// FuzzParse parses arbitrary input, feeds every value to every value parser
// and reads every typed setting from the result: nothing may panic, and a
// parse error must point into the input.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		root := &section{}
		p := &parser{fsys: noFiles{}, root: root, file: "fuzz.conf", allowModule: true}
		if err := p.parse(data); err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.File != "fuzz.conf" || pe.Line < 1 || pe.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("error %v points outside the input", err)
			}
			return
		}
		parseValues(root)
		prof := &Profile{files: []*section{root}}
		for _, sec := range prof.Subsections() {
			for _, sub := range prof.Subsections(sec) {
				prof.Values(sec, sub)
				prof.Subsections(sec, sub)
			}
		}
		for _, realm := range prof.Subsections("realms") {
			prof.Realm(realm)
		}
		prof.Realm("")
		prof.KDCDefaults()
		prof.DefaultRealm()
		for _, name := range []string{"kdc", "admin_server", "default"} {
			prof.Logging(name)
		}
	})
}

func parseValues(s *section) {
	for _, rels := range s.rels {
		for _, r := range rels {
			ParseDuration(r.Value)
			ParseTimestamp(r.Value, time.Date(2024, 6, 15, 10, 20, 30, 0, time.UTC))
			ParseFlagSpec(r.Value)
			ParseBool(r.Value)
			ParseInt(r.Value)
			parseLogTarget(r.Value)
			listenList(r.Value)
		}
	}
	for _, sub := range s.subs {
		parseValues(sub)
	}
}
