package mittest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestGoBinary(t *testing.T) {
	const pkg = "./internal/mittest/testdata/printenv"
	path := GoBinary(t, pkg)
	if filepath.Base(path) != "printenv" {
		t.Errorf("built %s, want it named printenv", path)
	}
	if again := GoBinary(t, pkg); again != path {
		t.Errorf("second GoBinary = %s, want the cached %s", again, path)
	}

	// Our commands run through the same helpers as MIT's.
	r := NewRealm(t, "GO.TEST")
	stdout, stderr, exit := r.Run(t, path, "-exit", "4", "a b")
	if exit != 4 {
		t.Errorf("exit = %d, want 4", exit)
	}
	for _, want := range []string{
		"name=printenv\n",
		`args=["a b"]` + "\n",
		"wd=" + r.Dir + "\n",
		"KRB5_CONFIG=" + r.KRB5Config + "\n",
		"KRB5_KDC_PROFILE=" + r.KDCProfile + "\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if stderr != "printenv: done\n" {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "mittest", "gobin.go")); err != nil {
		t.Errorf("ModuleRoot = %s, which does not hold this package: %v", root, err)
	}
}
