package tabdump

import (
	"bufio"
	"strings"
)

// recordWriter writes the fields of one row after another, as MIT's
// tdumputil.c does: a separator before every field but the first, a
// newline after the last. Tab-separated output is written verbatim, so a
// value holding a tab or a newline breaks the table exactly as MIT's does;
// CSV output quotes a field only when it holds a comma, a newline or a
// double quote (not a carriage return), doubling the quotes inside.
type recordWriter struct {
	w   *bufio.Writer
	csv bool
	sep bool
	err error // first write error; bufio keeps failing after it anyway
}

func (r *recordWriter) field(s string) {
	if r.sep {
		if r.csv {
			r.put(",")
		} else {
			r.put("\t")
		}
	}
	r.sep = true
	if !r.csv || !strings.ContainsAny(s, ",\n\"") {
		r.put(s)
		return
	}
	r.put(`"`)
	r.put(strings.ReplaceAll(s, `"`, `""`))
	r.put(`"`)
}

func (r *recordWriter) end() {
	r.put("\n")
	r.sep = false
}

func (r *recordWriter) put(s string) {
	if r.err == nil {
		_, r.err = r.w.WriteString(s)
	}
}
