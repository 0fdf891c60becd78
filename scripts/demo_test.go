// Package scripts holds the set-up and demo scripts the README's two
// commands run; its test runs the demo.
package scripts

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
)

func TestMain(m *testing.M) { os.Exit(mittest.Main(m)) }

// TestDemo runs scripts/demo.sh, what `make demo` runs after installing
// what it needs, and checks that every step did what it says.
func TestDemo(t *testing.T) {
	mittest.Require(t, "jq", "kinit", "klist")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "demo.sh")
	// The demo makes its own configuration; nothing of the caller's.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GOCACHE=" + goEnv(t, "GOCACHE"), "GOPATH=" + goEnv(t, "GOPATH")}
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, text)
	}
	for _, want := range []string{
		"ok    keytab ",
		"waiting for the database of realm DEMO.KRB5PROP.TEST",
		": SUCCEEDED\n",
		"current",
		"replica 1: its dump is byte-identical to the primary's",
		"replica 2: its dump is byte-identical to the primary's",
		"krbtgt/DEMO.KRB5PROP.TEST@DEMO.KRB5PROP.TEST",
		"State: in service",
		"Update sequence: 2 (",
		`{"name":"alice@DEMO.KRB5PROP.TEST","kvno":2,`,
		"Demo finished",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if strings.Contains(text, "FAILED") || strings.Contains(text, "FAIL ") {
		t.Errorf("a step failed:\n%s", text)
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}

func goEnv(t *testing.T, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
