package main

import (
	"reflect"
	"testing"

	"github.com/krb5prop/krb5prop/internal/getopt"
)

func TestGetoptArgs(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
		err  string
	}{
		{nil, []string{"--"}, ""},
		{[]string{"-q", "getprinc x"}, []string{"-q", "getprinc x", "--"}, ""},
		{[]string{"-qgetprivs"}, []string{"-q", "getprivs", "--"}, ""},
		{[]string{"-kt", "/tmp/kt", "-q", "x"}, []string{"-k", "-t", "/tmp/kt", "-q", "x", "--"}, ""},
		{[]string{"-mr", "R"}, []string{"-m", "-r", "R", "--"}, ""},
		{[]string{"-x", "a", "-xb"}, []string{"-x", "a", "-x", "b", "--"}, ""},
		{[]string{"-q", "-r"}, []string{"-q", "-r", "--"}, ""}, // a value may start with "-"
		{[]string{"getprinc", "-terse", "x"}, []string{"--", "getprinc", "-terse", "x"}, ""},
		{[]string{"-r", "R", "--", "-q"}, []string{"-r", "R", "--", "-q"}, ""},
		{[]string{"-", "x"}, []string{"--", "-", "x"}, ""},
		{[]string{"-Z"}, nil, "kadmin.local: invalid option -- 'Z'"},
		{[]string{"-P", "pw"}, nil, "kadmin.local: invalid option -- 'P'"},
		{[]string{"--help"}, nil, "kadmin.local: invalid option -- '-'"},
		{[]string{"-k:"}, nil, "kadmin.local: invalid option -- ':'"},
		{[]string{"-q"}, nil, "kadmin.local: option requires an argument -- 'q'"},
		{[]string{"-kq"}, nil, "kadmin.local: option requires an argument -- 'q'"},
	}
	for _, tt := range tests {
		got, err := getopt.Normalize("kadmin.local", optString, nil, tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestAtoi(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "12": 12, "  -7x": -7, "+3": 3, "abc": 0, "4294967297": 1} {
		if got := atoi(in); got != want {
			t.Errorf("atoi(%q) = %d, want %d", in, got, want)
		}
	}
}
