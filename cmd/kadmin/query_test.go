package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSSParse(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"   \t ", nil, false},
		{"getprinc alice", []string{"getprinc", "alice"}, false},
		{"  getprinc\t\talice  ", []string{"getprinc", "alice"}, false},
		{`addprinc -expire "2030-01-01 00:00:00 UTC" bob`, []string{"addprinc", "-expire", "2030-01-01 00:00:00 UTC", "bob"}, false},
		{`a"b c"d`, []string{"ab cd"}, false},
		{`"say ""hi""" x`, []string{`say "hi"`, "x"}, false},
		{`"" x`, []string{"", "x"}, false},
		{`x ""`, []string{"x", ""}, false},
		{`back\slash 'single'`, []string{`back\slash`, `'single'`}, false},
		{`"open`, nil, true},
		{`a"`, nil, true},
		{`"a""`, nil, true},
	}
	for _, tt := range tests {
		got, err := ssParse(tt.in)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ssParse(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFindRequest(t *testing.T) {
	for _, name := range []string{"add_principal", "addprinc", "ank", "delprinc", "cpw", "getprincs",
		"listpols", "xst", "ktrem", "getstrs", "setstr", "delstr", "purgekeys", "getprivs",
		"lock", "unlock", "?", "lr", "q", "exit"} {
		if findRequest(name) == nil {
			t.Errorf("%q not found", name)
		}
	}
	// libss has no "help" in kadmin's table and no abbreviations.
	for _, name := range []string{"help", ".", "getp", "ADDPRINC", ""} {
		if findRequest(name) != nil {
			t.Errorf("%q found", name)
		}
	}
}

// testSession is a session without a database, for requests that fail
// before reaching it.
func testSession(script bool) (*session, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	s := &session{ctx: context.Background(), whoami: "kadmin.local", realm: "EXAMPLE.TEST",
		stdout: &out, stderr: &errb, now: func() time.Time { return time.Unix(1800000000, 0) },
		loc: time.UTC, script: script, in: newPipeInput(strings.NewReader(""), &out, true)}
	return s, &out, &errb
}

func TestListRequestsLayout(t *testing.T) {
	s, out, _ := testSession(false)
	s.listRequests([]string{"?"})
	lines := strings.Split(out.String(), "\n")
	want := []string{
		"Available kadmin.local requests:",
		"",
		"add_principal, addprinc, ank",
		"                         Add principal",
	}
	if !reflect.DeepEqual(lines[:4], want) {
		t.Errorf("head:\n%q\nwant\n%q", lines[:4], want)
	}
	for _, l := range []string{
		"change_password, cpw     Change password",
		"get_principal, getprinc  Get principal",
		"list_requests, lr, ?     List available requests.",
		"quit, exit, q            Exit program.",
	} {
		if !strings.Contains(out.String(), "\n"+l+"\n") {
			t.Errorf("missing line %q", l)
		}
	}
}

func TestExecuteLineUnknownAndParseErrors(t *testing.T) {
	s, _, errb := testSession(false)
	name, err := s.executeLine(`  "foo bar" baz`)
	if err != errNotFound || name != "foo bar" {
		t.Errorf("got %q, %v", name, err)
	}
	if _, err := s.executeLine(`getprinc "x`); err != nil {
		t.Errorf("unbalanced quotes: %v", err)
	}
	if got := errb.String(); got != "kadmin.local: Unbalanced quotes in command line\n" {
		t.Errorf("stderr %q", got)
	}
}

func TestUsageErrorsSetScriptExitStatus(t *testing.T) {
	for _, script := range []bool{false, true} {
		s, _, errb := testSession(script)
		s.executeCommand([]string{"getprinc"})
		if errb.String() != "usage: get_principal [-terse] principal\n" {
			t.Errorf("stderr %q", errb.String())
		}
		if want := map[bool]int{false: 0, true: 1}[script]; s.exitStatus != want {
			t.Errorf("script=%v: exit status %d, want %d", script, s.exitStatus, want)
		}
	}
}

func TestListenEchoAndQuit(t *testing.T) {
	var out, errb bytes.Buffer
	s := &session{ctx: context.Background(), whoami: "kadmin.local", stdout: &out, stderr: &errb,
		in: newPipeInput(strings.NewReader("\nfoo  bar\nquit\ngetprivs\n"), &out, true)}
	s.listen()
	if want := "kadmin.local:  \nkadmin.local:  foo  bar\nkadmin.local:  quit\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if want := "kadmin.local: Unknown request \"foo\".  Type \"?\" for a request list.\n"; errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
}

func TestPipeInputPasswords(t *testing.T) {
	var out bytes.Buffer
	in := newPipeInput(strings.NewReader("secret\nyes\nyes"), &out, false)
	pw, err := in.password("Enter: ")
	if err != nil || pw != "secret" {
		t.Fatalf("password: %q, %v", pw, err)
	}
	if !in.confirm("Sure? ") {
		t.Error("yes not confirmed")
	}
	// "yes" without its newline does not fit MIT's comparison with "yes\n".
	if in.confirm("Sure? ") {
		t.Error("unterminated yes confirmed")
	}
	if _, err := in.password("Again: "); err != errCantReadPassword {
		t.Errorf("at end of input: %v", err)
	}
	if want := "Enter: \nSure? Sure? Again: \n"; out.String() != want {
		t.Errorf("prompts %q, want %q", out.String(), want)
	}
}

func FuzzSSParse(f *testing.F) {
	for _, s := range []string{`addprinc -pw "a b" x`, `"say ""hi"""`, `"open`, "\t a\tb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv, err := ssParse(s)
		if err == nil {
			for _, a := range argv {
				if strings.ContainsAny(a, "\t") && !strings.Contains(s, "\"") {
					t.Errorf("%q: tab inside an unquoted word %q", s, a)
				}
			}
		}
	})
}

// TestReadlineCRLF checks that, like readline, the piped listen loop ends
// a request at a carriage return, and that without readline the CR stays.
func TestReadlineCRLF(t *testing.T) {
	for _, echo := range []bool{true, false} {
		var out bytes.Buffer
		in := newPipeInput(strings.NewReader("lr\r\nq\n"), &out, echo)
		got, _ := in.query("")
		if want := map[bool]string{true: "lr", false: "lr\r"}[echo]; got != want {
			t.Errorf("echo %v: %q, want %q", echo, got, want)
		}
	}
}
