package main

import (
	"testing"
)

func TestParseArgs(t *testing.T) {
	o, err := parseArgs("kprop", []string{"-dP", "7540", "-fdump", "replica.test", "-r", "R.TEST"})
	if err != nil || !o.debug || o.port != "7540" || o.file != "dump" || len(o.replicas) != 1 || o.replicas[0] != "replica.test" || o.realm != "R.TEST" || o.listMode() {
		t.Errorf("%+v, %v", o, err)
	}
	if o, _ := parseArgs("kprop", []string{"h"}); o.file != defaultDumpFile {
		t.Errorf("default dump file %q", o.file)
	}
	for _, bad := range [][]string{nil, {"-x", "h"}, {"h", "-f"}} {
		if _, err := parseArgs("kprop", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
