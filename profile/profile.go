// Package profile reads MIT Kerberos profile files (krb5.conf, kdc.conf)
// with the syntax and merge rules of MIT krb5 1.20's profile library, and
// turns them into the typed settings the krb5prop tools use, with the
// defaults of Debian's MIT build.
//
// A profile is a list of files, each a tree of sections, subsections and
// relations. Lookups walk the files in order and collect matches from each,
// stopping after a file whose section on the way is marked final, exactly as
// MIT's profile_get_values does.
package profile

import (
	"iter"
	"maps"
	"slices"
	"strings"
)

// Default file locations of Debian's MIT krb5 build.
const (
	DefaultConfigPath     = "/etc/krb5.conf"
	DefaultKDCProfilePath = "/etc/krb5kdc/kdc.conf"
)

// Env looks up an environment variable; os.Getenv fits.
type Env func(key string) string

// FilesFromEnv splits a KRB5_CONFIG or KRB5_KDC_PROFILE value into its
// colon-separated file names, or returns defaultPath when envValue is empty.
// MIT treats a variable that is set but empty as a list of one missing file,
// giving an empty profile; os.Getenv cannot tell the two apart, and an empty
// profile is never what such a setting means, so both give the default.
func FilesFromEnv(envValue, defaultPath string) []string {
	if envValue == "" {
		return []string{defaultPath}
	}
	return strings.Split(envValue, ":")
}

// ConfigFiles returns the krb5.conf list that krb5_init_context reads:
// KRB5_CONFIG, else /etc/krb5.conf, with a leading "~/" taken from HOME.
func ConfigFiles(env Env) []string {
	return expandHome(FilesFromEnv(env("KRB5_CONFIG"), DefaultConfigPath), env("HOME"))
}

// KDCFiles returns the list KDC-side programs (krb5kdc, kdb5_util,
// kadmin.local, kpropd) read: KRB5_KDC_PROFILE (else /etc/krb5kdc/kdc.conf)
// followed by the krb5.conf list, so kdc.conf values come first.
// KRB5_KDC_PROFILE is split at colons as kadm5's krb5_aprof_init splits it;
// krb5kdc's own library context would take it as one file name.
func KDCFiles(env Env) []string {
	kdc := FilesFromEnv(env("KRB5_KDC_PROFILE"), DefaultKDCProfilePath)
	return append(expandHome(kdc, env("HOME")), ConfigFiles(env)...)
}

// LoadConfig loads the krb5.conf list, as client programs such as kprop do.
func LoadConfig(env Env) (*Profile, error) { return Load(ConfigFiles(env)...) }

// LoadKDC loads kdc.conf and krb5.conf merged, as KDC-side programs do.
func LoadKDC(env Env) (*Profile, error) { return Load(KDCFiles(env)...) }

// expandHome replaces a leading "~/" with $HOME, as MIT's profile_open_file
// does for every file in a list (but not for included files).
func expandHome(paths []string, home string) []string {
	if home == "" {
		return paths
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		if strings.HasPrefix(p, "~/") {
			p = home + p[1:]
		}
		out[i] = p
	}
	return out
}

// Relation is one value of a "tag = value" line and where it was read.
type Relation struct {
	Value string
	File  string
	Line  int
}

// Profile is the merged content of a list of profile files. The zero value
// and nil are empty profiles.
type Profile struct {
	files []*section // one tree per file that was read, in list order
}

// section is a section or subsection. MIT keeps children in one list
// sorted by name, merging subsections of the same name and keeping
// relations of the same name in file order; lookups only ever ask for
// relations or subsections of one name, so two maps give the same answers.
type section struct {
	final bool
	rels  map[string][]Relation
	subs  map[string]*section
}

// subsection returns the child section called name, creating it if needed.
func (s *section) subsection(name string) *section {
	if c, ok := s.subs[name]; ok {
		return c
	}
	if s.subs == nil {
		s.subs = make(map[string]*section)
	}
	c := &section{}
	s.subs[name] = c
	return c
}

func (s *section) addRelation(tag string, r Relation) {
	if s.rels == nil {
		s.rels = make(map[string][]Relation)
	}
	s.rels[tag] = append(s.rels[tag], r)
}

// Relations returns every relation at path (sections, then the tag) across
// the files, in order, as profile_get_values does: each file contributes
// the values it has, and a final section on the way stops the search after
// that file even when the file lacks the rest of the path.
func (p *Profile) Relations(path ...string) []Relation {
	if p == nil || len(path) == 0 {
		return nil
	}
	var out []Relation
	for _, root := range p.files {
		sec, final := root.walk(path[:len(path)-1])
		if sec != nil {
			out = append(out, sec.rels[path[len(path)-1]]...)
		}
		if final {
			break
		}
	}
	return out
}

// Values returns the values of every relation at path; see Relations.
func (p *Profile) Values(path ...string) []string {
	rels := p.Relations(path...)
	if rels == nil {
		return nil
	}
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = r.Value
	}
	return out
}

// Value returns the first value at path, as profile_get_string does.
func (p *Profile) Value(path ...string) (string, bool) {
	rels := p.Relations(path...)
	if len(rels) == 0 {
		return "", false
	}
	return rels[0].Value, true
}

// Subsections returns the names of the subsections at path, or of the
// top-level sections when path is empty, sorted within each file as MIT
// keeps them. Unlike profile_get_subsection_names, a name found in several
// files is listed once.
func (p *Profile) Subsections(path ...string) []string {
	return p.names(path, func(s *section) iter.Seq[string] { return maps.Keys(s.subs) })
}

// Tags returns the names of the relations at path, sorted within each
// file and listed once, for a reader that rejects names it does not know.
func (p *Profile) Tags(path ...string) []string {
	return p.names(path, func(s *section) iter.Seq[string] { return maps.Keys(s.rels) })
}

// names lists the children keys picks from the section at path in each
// file, sorted within the file, each name once.
func (p *Profile) names(path []string, keys func(*section) iter.Seq[string]) []string {
	if p == nil {
		return nil
	}
	var out []string
	seen := make(map[string]bool)
	for _, root := range p.files {
		sec, final := root.walk(path)
		if sec != nil {
			var names []string
			for name := range keys(sec) {
				if !seen[name] {
					seen[name] = true
					names = append(names, name)
				}
			}
			slices.Sort(names)
			out = append(out, names...)
		}
		if final {
			break
		}
	}
	return out
}

// walk descends through the named subsections. It returns nil when one is
// missing, and reports whether any section it passed is final.
func (s *section) walk(path []string) (sec *section, final bool) {
	sec = s
	for _, name := range path {
		if sec = sec.subs[name]; sec == nil {
			return nil, final
		}
		final = final || sec.final
	}
	return sec, final
}
