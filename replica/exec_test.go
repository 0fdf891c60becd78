package replica

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/profile"
)

// script writes an executable plugin made of body, a POSIX shell script.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func execReplica(t *testing.T, r *testRealmDB, body string, mod func(*Config)) *Replica {
	t.Helper()
	path := script(t, body)
	return newTestReplica(t, r, nil, func(c *Config) {
		c.Plugin = path
		if mod != nil {
			mod(c)
		}
	})
}

func TestExecPluginGetsTheDelivery(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	out := filepath.Join(t.TempDir(), "out")
	rep := execReplica(t, r, `
echo "$1 $KRB5PROP_OPERATION $KRB5PROP_REPLICA $KRB5PROP_REPLICA_UUID $KRB5PROP_REALM $LDAP_URI $(pwd)" >> `+out+`.calls
[ "$1" = apply ] && cat > `+out+`
exit 0
`, func(c *Config) { c.Env = []string{"LDAP_URI=ldap://127.0.0.1:1"} })
	got := deliver(t, rep)
	if !got.Delivered {
		t.Fatalf("report %+v", got)
	}
	info, _ := rep.Info()
	calls, _ := os.ReadFile(out + ".calls")
	pluginDir := filepath.Join(rep.cfg.StateDir, "plugin")
	want := "auth-init auth-init test " + info.UUID + " " + testRealm + " ldap://127.0.0.1:1 " + pluginDir + "\n" +
		"apply apply test " + info.UUID + " " + testRealm + " ldap://127.0.0.1:1 " + pluginDir + "\n"
	if string(calls) != want {
		t.Errorf("calls\n%s\nwant\n%s", calls, want)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) < 3 || lines[0]["type"] != "header" || lines[len(lines)-1]["type"] != "end" {
		t.Fatalf("lines %v", lines)
	}
	h := lines[0]
	if h["version"] != 1.0 || h["seq"] != 1.0 || h["prev_seq"] != 0.0 || h["reinit"] != true || h["uuid"] != info.UUID {
		t.Errorf("header %v", h)
	}
	if n := lines[len(lines)-1]["changes"]; n != float64(len(lines)-2) {
		t.Errorf("end line counts %v, %d change lines", n, len(lines)-2)
	}
	for _, l := range lines[1 : len(lines)-1] {
		if l["type"] != "change" || l["op"] != "principal_add" {
			t.Errorf("change %v", l)
		}
		p := l["principal"].(map[string]any)
		if p["name"] == "alice@EXAMPLE.TEST" {
			if p["policy"] != nil || p["expiration"] != nil || p["kvno"] != 1.0 {
				t.Errorf("alice %v", p)
			}
		}
	}
}

func TestExecPluginOutcomes(t *testing.T) {
	cases := []struct {
		name, body string
		timeout    time.Duration
		cancel     time.Duration // the delivering process shuts down this long after the start
		want       error
		lastError  string
	}{
		{name: "cant process", body: `cat >/dev/null; echo "directory down" >&2; exit 75`, want: ErrCantProcess, lastError: "directory down"},
		{name: "other exit", body: `cat >/dev/null; exit 3`, want: ErrCantProcess, lastError: "exit status 3"},
		{name: "crash", body: `kill -SEGV $$`, want: ErrCantProcess, lastError: "killed"},
		{name: "hang", body: `sleep 60 & sleep 60; exit 0`, timeout: time.Second, want: ErrCantProcess, lastError: "ran past its timeout (1s)"},
		{name: "shutdown", body: `sleep 60 & sleep 60; exit 0`, cancel: 200 * time.Millisecond, want: ErrCantProcess, lastError: "was killed: shutting down"},
		{name: "garbage", body: `head -c 100000 /dev/urandom; head -c 100000 /dev/urandom >&2; printf 'line1\nforged: log line\033[2J' >&2; exit 9`, want: ErrCantProcess, lastError: "exit status 9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRealm(t)
			rep := execReplica(t, r, `[ "$1" = apply ] || exit 0
`+tc.body, func(c *Config) {
				if tc.timeout > 0 {
					c.Timeout = tc.timeout
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			_, err := rep.Deliver(ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Deliver: %v, want %v", err, tc.want)
			}
			info, err := rep.Info()
			if err != nil {
				t.Fatal(err)
			}
			if info.State != CantProcess || info.Seq != 0 || !strings.Contains(info.LastError, tc.lastError) {
				t.Errorf("state %q seq %d error %q", info.State, info.Seq, info.LastError)
			}
			if strings.ContainsAny(info.LastError, "\n\x1b") || len(info.LastError) > stderrLimit+500 {
				t.Errorf("last error not one clean line: %q", info.LastError)
			}
		})
	}
}

func TestExecPluginRequestsReinit(t *testing.T) {
	r := newTestRealm(t)
	r.addprinc(t, "alice", "pw-alice")
	dir := t.TempDir()
	// The plugin refuses anything but a full delivery, as one that lost
	// its state would.
	rep := execReplica(t, r, `
echo "$1" >> `+dir+`/calls
[ "$1" = apply ] || exit 0
head -1 | grep -q '"reinit":true' && exit 0
exit 76
`, nil)
	deliver(t, rep)
	r.addprinc(t, "bob", "pw-bob")
	got := deliver(t, rep)
	if !got.Reinit || got.Seq != 2 {
		t.Errorf("report %+v", got)
	}
	calls, _ := os.ReadFile(dir + "/calls")
	if want := "auth-init\napply\napply\ninit-reinit\napply\n"; string(calls) != want {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

func TestExecPluginNotReading(t *testing.T) {
	r := newTestRealm(t)
	for i := range 300 {
		r.addprinc(t, "user"+string(rune('a'+i%26))+strings.Repeat("x", i), "pw")
	}
	rep := execReplica(t, r, `exit 0`, nil)
	if got := deliver(t, rep); !got.Delivered {
		t.Errorf("report %+v", got)
	}
}

func TestConfigs(t *testing.T) {
	plugin := script(t, "exit 0")
	notExec := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(notExec, []byte("x"), 0o644)
	cases := []struct {
		name, conf, err string
	}{
		{name: "ok", conf: "ldap = {\n plugin = " + plugin + "\n retry_interval = 1m\n max_retry_interval = 1h 30m\n timeout = 90\n include_keys = true\n env = A=b\n env = C=d=e\n}\n"},
		{name: "unknown option", conf: "ldap = {\n plugin = " + plugin + "\n retry = 1m\n}\n", err: `kdc.conf:6: [secondary_replicas] ldap: unknown option "retry"`},
		{name: "no plugin", conf: "ldap = {\n realm = EXAMPLE.TEST\n}\n", err: "ldap: no plugin relation"},
		{name: "missing plugin", conf: "ldap = {\n plugin = /nonexistent/plugin\n}\n", err: "no such file or directory"},
		{name: "not executable", conf: "ldap = {\n plugin = " + notExec + "\n}\n", err: "is not an executable file"},
		{name: "relative", conf: "ldap = {\n plugin = bin/plugin\n}\n", err: "is not an absolute path"},
		{name: "unknown compiled-in", conf: "ldap = {\n plugin = nosuch\n}\n", err: `no compiled-in plugin "nosuch"`},
		{name: "bad duration", conf: "ldap = {\n plugin = " + plugin + "\n timeout = soon\n}\n", err: "ldap timeout: invalid duration"},
		{name: "bad bool", conf: "ldap = {\n plugin = " + plugin + "\n include_keys = maybe\n}\n", err: "include_keys"},
		{name: "bad env", conf: "ldap = {\n plugin = " + plugin + "\n env = KRB5PROP_REPLICA=x\n}\n", err: "want NAME=VALUE"},
		{name: "bad name", conf: "a/b = {\n plugin = " + plugin + "\n}\n", err: "a replica name is"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kdc.conf")
			text := "[libdefaults]\n default_realm = EXAMPLE.TEST\n[secondary_replicas]\n" + tc.conf
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			prof, err := profile.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := Configs(prof, "EXAMPLE.TEST", "/var/lib/krb5kdc/principal")
			if tc.err != "" {
				if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), path, "kdc.conf"), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || len(cs) != 1 {
				t.Fatalf("Configs: %v, %v", cs, err)
			}
			c := cs[0]
			if c.RetryInterval != time.Minute || c.MaxRetryInterval != 90*time.Minute || c.Timeout != 90*time.Second ||
				!c.IncludeKeys || c.StateDir != "/var/lib/krb5kdc/replicas/ldap" || strings.Join(c.Env, " ") != "A=b C=d=e" {
				t.Errorf("config %+v", c)
			}
			if other, _ := Configs(prof, "OTHER.TEST", "/x"); len(other) != 0 {
				t.Errorf("another realm got %v", other)
			}
		})
	}
}
