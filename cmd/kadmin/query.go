package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// This file is kadmin's request loop, as MIT builds it on the libss
// subsystem library (Debian links e2fsprogs' libss): the request table of
// kadmin_ct.ct, ss_parse's tokenizer, ss_execute_line and ss_listen.

// request is one entry of the request table.
type request struct {
	names []string
	info  string
	run   func(s *session, argv []string)
}

// requestTable is kadmin_ct.ct in its order, which "?" lists.
func requestTable() []request {
	return []request{
		{[]string{"add_principal", "addprinc", "ank"}, "Add principal", (*session).addprinc},
		{[]string{"delete_principal", "delprinc"}, "Delete principal", (*session).delprinc},
		{[]string{"modify_principal", "modprinc"}, "Modify principal", (*session).modprinc},
		{[]string{"rename_principal", "renprinc"}, "Rename principal", (*session).renprinc},
		{[]string{"change_password", "cpw"}, "Change password", (*session).cpw},
		{[]string{"get_principal", "getprinc"}, "Get principal", (*session).getprinc},
		{[]string{"list_principals", "listprincs", "get_principals", "getprincs"}, "List principals", (*session).listprincs},
		{[]string{"add_policy", "addpol"}, "Add policy", (*session).addpol},
		{[]string{"modify_policy", "modpol"}, "Modify policy", (*session).modpol},
		{[]string{"delete_policy", "delpol"}, "Delete policy", (*session).delpol},
		{[]string{"get_policy", "getpol"}, "Get policy", (*session).getpol},
		{[]string{"list_policies", "listpols", "get_policies", "getpols"}, "List policies", (*session).listpols},
		{[]string{"get_privs", "getprivs"}, "Get privileges", (*session).getprivs},
		{[]string{"ktadd", "xst"}, "Add entry(s) to a keytab", (*session).ktadd},
		{[]string{"ktremove", "ktrem"}, "Remove entry(s) from a keytab", (*session).ktremove},
		{[]string{"lock"}, "Lock database exclusively (use with extreme caution!)", (*session).lock},
		{[]string{"unlock"}, "Release exclusive database lock", (*session).unlock},
		{[]string{"purgekeys"}, "Purge previously retained old keys from a principal", (*session).purgekeys},
		{[]string{"get_strings", "getstrs"}, "Show string attributes on a principal", (*session).getstrs},
		{[]string{"set_string", "setstr"}, "Set a string attribute on a principal", (*session).setstr},
		{[]string{"del_string", "delstr"}, "Delete a string attribute on a principal", (*session).delstr},
		{[]string{"list_requests", "lr", "?"}, "List available requests.", (*session).listRequests},
		{[]string{"quit", "exit", "q"}, "Exit program.", (*session).quitRequest},
	}
}

// findRequest looks a request name up exactly, as libss does (no
// abbreviations).
func findRequest(name string) *request {
	table := requestTable()
	for i := range table {
		for _, n := range table[i].names {
			if n == name {
				return &table[i]
			}
		}
	}
	return nil
}

// errUnbalancedQuotes is ss_parse's complaint about an open quote.
var errUnbalancedQuotes = errors.New("Unbalanced quotes in command line")

// ssParse splits a request line into words as libss's ss_parse does:
// blanks and tabs separate words, double quotes group (and may start or
// stop in the middle of a word), and "" inside quotes is a literal quote.
// Nothing else is special: backslashes and single quotes are ordinary.
func ssParse(line string) ([]string, error) {
	var argv []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted:
			if c != '"' {
				cur.WriteByte(c)
			} else if i+1 < len(line) && line[i+1] == '"' {
				cur.WriteByte('"')
				i++
			} else {
				quoted = false
			}
		case c == ' ' || c == '\t':
			if inWord {
				argv = append(argv, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '"':
			inWord, quoted = true, true
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, errUnbalancedQuotes
	}
	if inWord {
		argv = append(argv, cur.String())
	}
	return argv, nil
}

// errNotFound is libss's SS_ET_COMMAND_NOT_FOUND.
var errNotFound = errors.New("Command not found")

// executeLine is ss_execute_line: a line starting with "!" (after blanks)
// goes to the shell, anything else is parsed and run. For an unknown
// request it returns errNotFound and the request name as libss has left
// it in the line buffer: the first word with its quotes removed. Parse
// problems are reported here.
func (s *session) executeLine(line string) (string, error) {
	line = strings.TrimLeft(line, " \t")
	if strings.HasPrefix(line, "!") {
		s.shellEscape(line[1:])
		return "", nil
	}
	argv, err := ssParse(line)
	if err != nil {
		s.errorf("%s: %s\n", s.whoami, err)
		return "", nil
	}
	if len(argv) == 0 {
		return "", nil
	}
	return argv[0], s.executeCommand(argv)
}

// executeCommand is ss_execute_command: run an already split request.
func (s *session) executeCommand(argv []string) error {
	r := findRequest(argv[0])
	if r == nil {
		return errNotFound
	}
	r.run(s, argv)
	return nil
}

// shellEscape runs "!command" through the shell, as libss's system() call
// does.
func (s *session) shellEscape(cmdline string) {
	cmd := exec.Command("/bin/sh", "-c", cmdline)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, s.stdout, s.stderr
	_ = cmd.Run() // system()'s status is ignored by libss
}

// listen is ss_listen: prompt, read, execute, until end of input or quit.
func (s *session) listen() {
	prompt := s.whoami + ":  "
	for !s.quit {
		line, err := s.in.query(prompt)
		if err != nil {
			return
		}
		if line == "" {
			continue
		}
		if name, err := s.executeLine(line); errors.Is(err, errNotFound) {
			if i := strings.IndexAny(name, " \t"); i >= 0 {
				name = name[:i]
			}
			s.errorf("%s: Unknown request \"%s\".  Type \"?\" for a request list.\n", s.whoami, name)
		}
	}
}

// listRequests is libss's list_requests: names joined by ", ", the
// description from column 25 (on the next line when the names are too
// long).
func (s *session) listRequests(argv []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Available %s requests:\n\n", s.whoami)
	for _, r := range requestTable() {
		names := strings.Join(r.names, ", ")
		b.WriteString(names)
		pad := len(names)
		if pad > 23 {
			b.WriteString("\n")
			pad = 0
		}
		b.WriteString(strings.Repeat(" ", 25-pad))
		b.WriteString(r.info + "\n")
	}
	io.WriteString(s.stdout, b.String())
}

// quitRequest is libss's quit: the listen loop ends after this request.
func (s *session) quitRequest(argv []string) { s.quit = true }

// getprivs is kadmin_getprivs: local access holds every privilege.
func (s *session) getprivs(argv []string) {
	if len(argv) != 1 {
		s.errorf("usage: get_privs\n")
		return
	}
	fmt.Fprintf(s.stdout, "current privileges: INQUIRE ADD MODIFY DELETE\n")
}

// lock and unlock keep kadmin's state only. MIT takes the DB2 database's
// exclusive lock here; our store makes every change atomic and lets the
// KDC keep reading meanwhile, so there is nothing to hold.
func (s *session) lock(argv []string) { s.locked = true }

// unlock is kadmin_unlock; see lock.
func (s *session) unlock(argv []string) { s.locked = false }
