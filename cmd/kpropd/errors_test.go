package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// silentClose is what MIT's kprop prints when kpropd closes the
// connection without a reply (spec §4.3): which of the three depends on
// whether kpropd had closed before kprop wrote its next block (a reset,
// as unread data was left behind) or after it read everything (the end of
// the stream), so any of them is MIT's answer.
var silentClose = regexp.MustCompile(`^kprop: (Software caused connection abort|Broken pipe|Connection reset by peer) ` +
	`while (reading response from server|sending database size|sending database block starting at \d+)\n$`)

// rejectedLines is what MIT's kprop prints for a KRB-ERROR answering its
// AP-REQ (spec §2.5).
func rejectedLines(text string) string {
	return "kprop: Server rejected authentication (during sendauth exchange) while authenticating to server\n" +
		"kprop: " + text + " signalled from server\n" +
		"Error text from server: " + text + "\n"
}

// TestFailuresMatchMIT gives MIT's kpropd and ours the same bad
// configuration and sends to each with MIT's kprop and ours: every kprop
// prints what MIT's kprop prints against MIT's kpropd, ours with one hint
// line more, and both kpropds log the same reason.
func TestFailuresMatchMIT(t *testing.T) {
	mit, ours := mitTools(t), ourTools(t)
	p := newPrimary(t, "aes256-cts-hmac-sha1-96")
	replicas := map[string]*replicaHost{"MIT": p.newReplica(t, mit), "ours": p.newReplica(t, ours)}
	client := "host/" + p.host + "@" + testRealm
	dump := p.dumpFile(t, len(p.dump))
	const aclHint = "usually its kpropd.acl does not list " + "host/"
	tests := []struct {
		name     string
		acl      string   // kpropd.acl
		extra    []string // more kpropd arguments
		rejected string   // the KRB-ERROR's text, when kpropd rejects the AP-REQ
		logged   string   // a line both kpropds write
		hint     string   // in our kprop's hint
	}{
		{name: "ACL lists another principal", acl: "host/other.test@" + testRealm + "\n",
			logged: "Rejected connection from unauthorized principal " + client, hint: aclHint},
		{name: "ACL line with another enctype", acl: client + " aes128-cts\n",
			logged: "Rejected connection from unauthorized principal " + client, hint: aclHint},
		{name: "ACL line with a trailing space", acl: client + " aes256-cts \n",
			logged: "Rejected connection from unauthorized principal " + client, hint: aclHint},
		{name: "no ACL file", acl: client + "\n", extra: []string{"-a", p.Path("missing.acl")},
			logged: "Rejected connection from unauthorized principal " + client, hint: aclHint},
		{name: "keytab without the host key", acl: client + "\n", extra: []string{"-s", p.otherKeytab},
			rejected: "Service key not available", hint: "the replica's keytab has no aes256-cts-hmac-sha1-96 key for " + client},
		{name: "keytab with an old key version", acl: client + "\n", extra: []string{"-s", p.oldKeytab},
			rejected: "Key version is not available", hint: "the replica's keytab has an old key version of " + client},
		{name: "load fails", acl: client + "\n", extra: []string{"-p", "/bin/false"},
			logged: "/bin/false returned a bad exit status (1)", hint: "the load on the replica failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, kprop := range []tools{mit, ours} {
				for _, kpropd := range []tools{mit, ours} {
					r := replicas[kpropd.name]
					r.setACL(t, tc.acl)
					proc, port := r.startKpropd(t, append([]string{"-t"}, tc.extra...)...)
					stdout, stderr, exit := p.kprop(t, kprop, dump, port)
					proc.Wait(t, runTimeout)
					_, log := proc.Output()
					log = kpropd.bareNames(log)
					where := fmt.Sprintf("%s kprop to %s kpropd", kprop.name, kpropd.name)
					if exit != 1 || stdout != "" {
						t.Errorf("%s: exit %d, stdout %q", where, exit, stdout)
					}
					mitPart := withoutHints(stderr)
					switch {
					case tc.rejected != "" && mitPart != rejectedLines(tc.rejected):
						t.Errorf("%s: kprop printed\n%s\nwant\n%s", where, mitPart, rejectedLines(tc.rejected))
					case tc.rejected == "" && !silentClose.MatchString(mitPart):
						t.Errorf("%s: kprop printed\n%s\nwant MIT's message for a silent close", where, mitPart)
					}
					hints := len(lines(stderr)) - len(lines(mitPart))
					if kprop.name == "ours" && (hints != 1 || !strings.Contains(stderr, tc.hint)) {
						t.Errorf("%s: want one hint saying %q:\n%s", where, tc.hint, stderr)
					}
					if kprop.name == "MIT" && hints != 0 {
						t.Errorf("%s: MIT's kprop printed a hint?\n%s", where, stderr)
					}
					// MIT's kpropd -d logs an AP-REQ rejection only to
					// syslog; ours writes it to standard error too.
					logged := tc.logged
					if tc.rejected != "" && kpropd.name == "ours" {
						logged = "Error in krb5_recvauth: " + tc.rejected
					}
					if logged != "" && !strings.Contains(log, logged) {
						t.Errorf("%s: kpropd did not log %q:\n%s", where, logged, log)
					}
				}
			}
		})
	}
}

// TestUsageMatchesMIT: a command line kpropd cannot read gets MIT's
// message and usage text, and exit status 1.
func TestUsageMatchesMIT(t *testing.T) {
	mit, ours := mitTools(t), ourTools(t)
	r := mittest.NewRealm(t, testRealm)
	for _, args := range [][]string{{"-Q"}, {"-d", "-x"}, {"stray"}, {"-d", "-P"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			mitOut, mitErr, mitExit := r.Run(t, mit.kpropd, args...)
			ourOut, ourErr, ourExit := r.Run(t, ours.kpropd, args...)
			mitErr, ourErr = mit.bareNames(mitErr), ours.bareNames(ourErr)
			if mitExit != 1 || !strings.Contains(mitErr, "Usage: kpropd [-r realm]") {
				t.Fatalf("MIT's kpropd: exit %d\n%s%s", mitExit, mitOut, mitErr)
			}
			if ourExit != mitExit || ourOut != mitOut || ourErr != mitErr {
				t.Errorf("ours: exit %d\n%s%s\nMIT's: exit %d\n%s%s", ourExit, ourOut, ourErr, mitExit, mitOut, mitErr)
			}
		})
	}
}
