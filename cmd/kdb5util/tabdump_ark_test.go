package main

import (
	"os"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

// TestTabdumpCommand loads MIT's fixture realm and checks every tabdump
// table our kdb5util prints against MIT's output for the same realm,
// through the command line (-o, -n, -c included).
func TestTabdumpCommand(t *testing.T) {
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	r := mittest.NewRealm(t, fixtureRealm)
	r.ExtraEnv = []string{"TZ=UTC"}
	os.WriteFile(r.Stash, mittest.ReadFile(t, "testdata/mit-basic.stash"), 0o600)
	r.MustRun(t, bin, "load", mustAbs(t, "testdata/mit-basic.dump.r111"))
	for _, table := range []string{"keydata", "keyinfo", "princ_flags", "princ_lockout", "princ_meta", "princ_stringattrs", "princ_tktpolicy"} {
		out := r.Path(table + ".tsv")
		r.MustRun(t, bin, "tabdump", "-o", out, table)
		if got, want := mittest.ReadFile(t, out), mittest.ReadFile(t, "testdata/mit-basic.tabdump."+table+".tsv"); string(got) != string(want) {
			t.Errorf("tabdump %s differs from MIT's:\n%s\nMIT:\n%s", table, got, want)
		}
	}
	if got := r.MustRun(t, bin, "tabdump", "-n", "-c", "princ_flags"); got != string(mittest.ReadFile(t, "testdata/mit-basic.tabdump.princ_flags.numeric.csv")) {
		t.Errorf("tabdump -n -c princ_flags differs from MIT's")
	}
	if _, stderr, code := r.Run(t, bin, "tabdump", "nosuchtable"); code != 1 || !strings.HasPrefix(stderr, "Usage:") {
		t.Errorf("unknown table: exit %d, %q", code, stderr)
	}
}

// TestArkMatchesMIT runs kdb5_util ark on the same principal in an MIT
// realm and in ours: new random keys at the next kvno, the previous kvno's
// keys kept, the rest dropped, as MIT does.
func TestArkMatchesMIT(t *testing.T) {
	mittest.Require(t, "kdb5_util", "kadmin.local")
	bin := mittest.GoBinary(t, "./cmd/kdb5util")
	kadmin := mittest.GoBinary(t, "./cmd/kadmin")
	type tool struct{ util, kadmin string }
	var shapes []string
	for _, side := range []tool{{"kdb5_util", "kadmin.local"}, {bin, kadmin}} {
		r := mittest.NewRealm(t, fixtureRealm)
		r.MustRun(t, side.util, "-P", "master-pw", "create", "-s")
		r.MustRun(t, side.kadmin, "-q", "addprinc -pw pw-one alice")
		r.MustRun(t, side.kadmin, "-q", "cpw -keepold -pw pw-two alice")
		r.MustRun(t, side.kadmin, "-q", "modprinc +needchange alice")
		if out := r.MustRun(t, side.util, "ark", "-e", "aes128-cts-hmac-sha1-96", "alice"); out != "alice changed\n" {
			t.Errorf("%s ark printed %q", side.util, out)
		}
		p := readDump(t, []byte(r.MustRun(t, side.util, "dump")))["alice@"+fixtureRealm]
		shapes = append(shapes, shape(p))
	}
	if shapes[0] != shapes[1] {
		t.Errorf("after ark:\nMIT:  %s\nours: %s", shapes[0], shapes[1])
	}
}
