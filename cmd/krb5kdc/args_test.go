package main

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseRealms checks which realms a command line serves and which -d
// and -x each gets: those given before its -r, as MIT's krb5kdc reads
// them.
func TestParseRealms(t *testing.T) {
	for _, tc := range []struct {
		args string
		want []realmArgs
	}{
		{"-n", []realmArgs{{}}},
		{"-d /a -x lockiter", []realmArgs{{dbName: "/a", dbArgs: []string{"lockiter"}}}},
		{"-r A.TEST -r B.TEST", []realmArgs{{name: "A.TEST"}, {name: "B.TEST"}}},
		{"-d /a -r A.TEST -r B.TEST", []realmArgs{{name: "A.TEST", dbName: "/a"}, {name: "B.TEST"}}},
		{"-r A.TEST -d /b -xdbname=/x -r B.TEST", []realmArgs{{name: "A.TEST"}, {name: "B.TEST", dbName: "/b", dbArgs: []string{"dbname=/x"}}}},
		// After the last -r, -d names no realm's database.
		{"-r A.TEST -d /a", []realmArgs{{name: "A.TEST"}}},
		// A realm named again is served once; the -d before it waits
		// for the next -r.
		{"-r A.TEST -d /b -r A.TEST -r B.TEST", []realmArgs{{name: "A.TEST"}, {name: "B.TEST", dbName: "/b"}}},
		// Operands and the other options do not disturb the order.
		{"-rA.TEST -n -p 1088 -d /b extra -r B.TEST", []realmArgs{{name: "A.TEST"}, {name: "B.TEST", dbName: "/b"}}},
	} {
		o, err := parseArgs("krb5kdc", strings.Fields(tc.args))
		if err != nil {
			t.Errorf("%s: %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(o.realms, tc.want) {
			t.Errorf("%s: realms %+v, want %+v", tc.args, o.realms, tc.want)
		}
	}
}
