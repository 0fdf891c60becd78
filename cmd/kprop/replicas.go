package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// replica is one replica of list mode, as named on the command line or in
// the list file.
type replica struct {
	// name is the replica as given: the output line, the last_prop file
	// and the status file's key use it, as MIT's kprop uses the host.
	name string
	// host goes into the replica's principal, host/<host>, and is
	// connected to.
	host string
	// port, when given as host:port, overrides -P for this replica.
	port string
}

// parseReplica reads "host", "host:port" or "[address]:port". A name with
// more than one colon and no brackets is an IPv6 address without a port.
func parseReplica(s string) (replica, error) {
	r := replica{name: s, host: s}
	if s == "" || strings.ContainsFunc(s, func(c rune) bool { return c <= ' ' || c == '/' }) {
		return r, fmt.Errorf("%q is not a replica host name", s)
	}
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" || port == "" {
			return r, fmt.Errorf("%q is not a replica host name: want host, host:port or [address]:port", s)
		}
		r.host, r.port = host, port
	}
	return r, nil
}

// replicaNames is list mode's replicas: -l's file, or the arguments; each
// must parse, none may repeat (two sessions to one kpropd would only lock
// each other out, and the status is kept per name).
func replicaNames(o options) ([]string, error) {
	names := o.replicas
	if o.list != "" {
		f, err := os.Open(o.list)
		if err != nil {
			return nil, fmt.Errorf("replica list: %w", err)
		}
		defer f.Close()
		if names, err = readReplicaList(f); err != nil {
			return nil, fmt.Errorf("replica list %s: %w", o.list, err)
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		if _, err := parseReplica(n); err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, fmt.Errorf("replica %s is listed twice", n)
		}
		seen[n] = true
	}
	return names, nil
}

// readReplicaList reads a replica list file: one replica per line, as on
// the command line; "#" starts a comment, blank lines are skipped. It must
// name at least one replica.
func readReplicaList(r io.Reader) ([]string, error) {
	var names []string
	sc := bufio.NewScanner(r)
	n := 1
	for ; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		switch fields := strings.Fields(line); len(fields) {
		case 0:
		case 1:
			names = append(names, fields[0])
		default:
			return nil, fmt.Errorf("line %d: one replica per line, not %q", n, strings.TrimSpace(line))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no replicas in the list")
	}
	return names, nil
}
