// Package files holds the template secondary-replica plugin,
// krb5prop-files-plugin.sh, and its test.
package files

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/internal/plugintest"
)

const (
	exitSuccess       = 0
	exitCantProcess   = 75
	exitRequestReinit = 76
	// keyMark starts every key in the include_keys delivery.
	keyMark = "5ec12e7"
	// pluginTimeout only keeps a hung plugin from stalling the test run.
	pluginTimeout = 2 * time.Minute
)

// plugin runs the script as kpropd would, with FILES_DIR set.
type plugin struct {
	*plugintest.Plugin
	filesDir string // FILES_DIR
}

func newPlugin(t *testing.T) *plugin {
	t.Helper()
	mittest.Require(t, "jq")
	path, err := filepath.Abs("krb5prop-files-plugin.sh")
	if err != nil {
		t.Fatal(err)
	}
	filesDir := filepath.Join(t.TempDir(), "files")
	p := &plugin{filesDir: filesDir, Plugin: plugintest.New(t, path,
		"PATH="+os.Getenv("PATH"),
		"FILES_DIR="+filesDir,
		"KRB5PROP_REPLICA=files",
		"KRB5PROP_REPLICA_UUID=9f7d8c1e-2b1a-4c3d-8e5f-6a7b8c9d0e1f",
		"KRB5PROP_REALM=EXAMPLE.COM",
	)}
	p.Deliveries = "testdata"
	return p
}

// tree reads every file under dir: relative path to the JSON it holds.
// Each file must hold exactly one JSON value.
func tree(t *testing.T, dir string) map[string]any {
	t.Helper()
	files := map[string]any{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		files[filepath.ToSlash(rel)] = v
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

// wantTree compares FILES_DIR with testdata/want: the same file names,
// each holding the same JSON.
func (p *plugin) wantTree(t *testing.T, want string) {
	t.Helper()
	got, exp := tree(t, p.filesDir), tree(t, filepath.Join("testdata", want))
	for name, v := range exp {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: missing %s", want, name)
		case !reflect.DeepEqual(g, v):
			t.Errorf("%s: %s holds\n%v\nwant\n%v", want, name, g, v)
		}
	}
	for name := range got {
		if _, ok := exp[name]; !ok {
			t.Errorf("%s: unexpected file %s", want, name)
		}
	}
}

// TestLifecycle drives the template plugin through a replica's life with
// hand-written deliveries.
func TestLifecycle(t *testing.T) {
	p := newPlugin(t)
	p.Expect(t, exitSuccess, "auth-init", "")

	// A full delivery with keys: the files hold the records without them.
	p.Expect(t, exitSuccess, "apply", "01-full.jsonl")
	p.wantTree(t, "01-full.want")
	if got := p.Seq(t); got != "1" {
		t.Errorf("seq = %q, want 1", got)
	}
	filepath.WalkDir(p.filesDir, func(path string, d fs.DirEntry, err error) error {
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(keyMark)) {
			t.Errorf("%s holds key material", path)
		}
		return nil
	})

	// Replace, add_key_version, delete, add, a delete of something absent,
	// policy replace and add.
	p.Expect(t, exitSuccess, "apply", "02.jsonl")
	p.wantTree(t, "02.want")

	// Refused deliveries change nothing.
	p.Expect(t, exitRequestReinit, "apply", "02-gap.jsonl")
	p.Expect(t, exitCantProcess, "apply", "02-noend.jsonl")
	p.Expect(t, exitCantProcess, "apply", "02-cut.jsonl")
	p.Expect(t, exitCantProcess, "apply", "02-badcount.jsonl")
	p.wantTree(t, "02.want")
	if got := p.Seq(t); got != "2" {
		t.Errorf("seq after refused deliveries = %q, want 2", got)
	}

	// A redelivery of the last delivery is applied again.
	p.Expect(t, exitSuccess, "apply", "02.jsonl")
	p.wantTree(t, "02.want")

	// init-reinit empties and forgets; only a full delivery is taken then.
	p.Expect(t, exitSuccess, "init-reinit", "")
	if got := tree(t, p.filesDir); len(got) != 0 {
		t.Errorf("files after init-reinit: %v", got)
	}
	if got := p.Seq(t); got != "" {
		t.Errorf("seq after init-reinit = %q, want none", got)
	}
	p.Expect(t, exitRequestReinit, "apply", "02.jsonl")

	// A full delivery over objects init-reinit did not remove leaves
	// exactly its own.
	p.Expect(t, exitSuccess, "apply", "01-full.jsonl")
	p.Expect(t, exitSuccess, "apply", "03-full.jsonl")
	p.wantTree(t, "03-full.want")
	if got := p.Seq(t); got != "3" {
		t.Errorf("seq = %q, want 3", got)
	}

	p.Expect(t, exitSuccess, "stop", "")
	p.Expect(t, exitSuccess, "destroy", "")
	if got := tree(t, p.filesDir); len(got) != 0 {
		t.Errorf("files after destroy: %v", got)
	}
	if leftovers, _ := os.ReadDir(p.Dir); len(leftovers) != 0 {
		t.Errorf("plugin directory after destroy holds %v", leftovers)
	}
}

func TestErrors(t *testing.T) {
	p := newPlugin(t)
	p.Expect(t, 0, "frobnicate", "") // a callout a later krb5prop adds

	p.Env = []string{"PATH=" + os.Getenv("PATH")}
	exit, stderr := p.Run(t, "auth-init", "")
	if exit != exitCantProcess || !strings.Contains(stderr, "FILES_DIR") {
		t.Errorf("auth-init without FILES_DIR: exit %d, stderr %q; want 75 naming FILES_DIR", exit, stderr)
	}
}
