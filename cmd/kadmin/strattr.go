package main

import (
	"fmt"
	"io"
	"strings"
)

// This file holds the string-attribute requests: get_strings, set_string
// and del_string.

// getstrs is kadmin_getstrings.
func (s *session) getstrs(argv []string) {
	if len(argv) != 2 {
		s.errorf("usage: get_strings principal\n")
		return
	}
	name, err := s.parseName(argv[1])
	if err != nil {
		s.comErr("get_strings", err, "while parsing principal")
		return
	}
	canon := name.String()
	attrs, err := s.srv.GetStrings(s.ctx, name)
	if err != nil {
		s.comErr("get_strings", err, "while getting attributes for principal \"%s\"", canon)
		return
	}
	if len(attrs) == 0 {
		fmt.Fprintf(s.stdout, "(No string attributes.)\n")
	}
	var b strings.Builder
	for _, a := range attrs {
		fmt.Fprintf(&b, "%s: %s\n", a.Key, a.Value)
	}
	io.WriteString(s.stdout, b.String())
}

// setstr is kadmin_setstring.
func (s *session) setstr(argv []string) {
	if len(argv) != 4 {
		s.errorf("usage: set_string principal key value\n")
		return
	}
	name, err := s.parseName(argv[1])
	if err != nil {
		s.comErr("set_string", err, "while parsing principal")
		return
	}
	canon := name.String()
	if err := s.srv.SetString(s.ctx, name, argv[2], argv[3]); err != nil {
		s.comErr("set_string", err, "while setting attribute on principal \"%s\"", canon)
		return
	}
	s.info("Attribute set for principal \"%s\".\n", canon)
}

// delstr is kadmin_delstring (whose parse error, as in MIT, says
// "delstring").
func (s *session) delstr(argv []string) {
	if len(argv) != 3 {
		s.errorf("usage: del_string principal key\n")
		return
	}
	name, err := s.parseName(argv[1])
	if err != nil {
		s.comErr("delstring", err, "while parsing principal")
		return
	}
	canon := name.String()
	if err := s.srv.DeleteString(s.ctx, name, argv[2]); err != nil {
		s.comErr("del_string", err, "while deleting attribute from principal \"%s\"", canon)
		return
	}
	s.info("Attribute removed from principal \"%s\".\n", canon)
}
