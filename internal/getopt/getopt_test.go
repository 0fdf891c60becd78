package getopt

import (
	"reflect"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		opt  string
		long []string
		in   []string
		want []string
		err  string
	}{
		{"r:f:dP:s:", nil, []string{"-dP", "754", "replica"}, []string{"-d", "-P", "754", "--", "replica"}, ""},
		{"r:f:dP:s:", nil, []string{"replica", "-fdump"}, []string{"-f", "dump", "--", "replica"}, ""},
		{"+x:q:k", nil, []string{"-qgetprivs", "extra", "-k"}, []string{"-q", "getprivs", "--", "extra", "-k"}, ""},
		{"r:", nil, []string{"--", "-r"}, []string{"--", "-r"}, ""},
		{"dS", []string{"pid-file"}, []string{"-S", "--pid-file=/run/k.pid", "-d"}, []string{"-S", "--pid-file", "/run/k.pid", "-d", "--"}, ""},
		{"dS", []string{"pid-file"}, []string{"--pid-file", "/p"}, []string{"--pid-file", "/p", "--"}, ""},
		{"r:", nil, []string{"-z"}, nil, "prog: invalid option -- 'z'"},
		{"r:", nil, []string{"-r"}, nil, "prog: option requires an argument -- 'r'"},
		{"r:", []string{"x"}, []string{"--bogus"}, nil, "prog: unrecognized option '--bogus'"},
		{"r:", nil, []string{"--help"}, nil, "prog: invalid option -- '-'"},
		{"r:", []string{"pid-file"}, []string{"--pid-file"}, nil, "prog: option '--pid-file' requires an argument"},
	}
	for _, c := range cases {
		got, err := Normalize("prog", c.opt, c.long, c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNormalizeFlags(t *testing.T) {
	got, err := NormalizeFlags("prog", "dP:", []string{"pid-file"}, []string{"check"}, []string{"--check", "-d", "--pid-file=/p", "x"})
	if want := []string{"--check", "-d", "--pid-file", "/p", "--", "x"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if _, err := NormalizeFlags("prog", "d", nil, []string{"check"}, []string{"--check=yes"}); err == nil || err.Error() != "prog: option '--check' doesn't allow an argument" {
		t.Errorf("--check=yes: %v", err)
	}
	if _, err := NormalizeFlags("prog", "d", nil, []string{"check"}, []string{"--bogus"}); err == nil || err.Error() != "prog: unrecognized option '--bogus'" {
		t.Errorf("--bogus: %v", err)
	}
}
