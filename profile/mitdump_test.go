package profile

import (
	"slices"
	"strings"
)

// dumpMIT renders one file's tree the way MIT's profile_write_tree_to_buffer
// does (prof_parse.c dump_profile), so parses can be compared with MIT's.
func dumpMIT(root *section) string {
	var b strings.Builder
	dumpSection(&b, root, 0)
	return b.String()
}

func dumpSection(b *strings.Builder, s *section, level int) {
	for _, name := range sortedKeys(s.rels) {
		for _, r := range s.rels[name] {
			b.WriteString(strings.Repeat("\t", level))
			b.WriteString(name + " = ")
			if needQuotes(r.Value) {
				b.WriteString(quote(r.Value))
			} else {
				b.WriteString(r.Value)
			}
			b.WriteString("\n")
		}
	}
	for _, name := range sortedKeys(s.subs) {
		sub := s.subs[name]
		mark := ""
		if sub.final {
			mark = "*"
		}
		if level == 0 {
			b.WriteString("[" + name + "]" + mark + "\n")
			dumpSection(b, sub, level+1)
			b.WriteString("\n")
			continue
		}
		b.WriteString(strings.Repeat("\t", level) + name + " = {\n")
		dumpSection(b, sub, level+1)
		b.WriteString(strings.Repeat("\t", level) + "}" + mark + "\n")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func needQuotes(s string) bool {
	return s == "" || isSpace(s[0]) || isSpace(s[len(s)-1]) || strings.ContainsAny(s, "\n\t\b")
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\b", `\b`)
	return `"` + r.Replace(s) + `"`
}
