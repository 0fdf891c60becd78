package mittest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerdict(t *testing.T) {
	tests := []struct {
		name    string
		missing []string
		env     string
		present bool
		want    action
	}{
		{"all present, unset", nil, "", false, proceed},
		{"all present, required", nil, "1", true, proceed},
		{"missing, unset", []string{"kpropd"}, "", false, skip},
		{"missing, empty", []string{"kpropd"}, "", true, skip},
		{"missing, 0", []string{"kpropd"}, "0", true, skip},
		{"missing, false", []string{"kpropd"}, "false", true, skip},
		{"missing, 1", []string{"kpropd"}, "1", true, fail},
		{"missing, true", []string{"kpropd"}, "true", true, fail},
		{"missing, unreadable counts as set", []string{"kpropd"}, "yes", true, fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := verdict(tt.missing, tt.env, tt.present)
			if got != tt.want {
				t.Fatalf("verdict = %v (%q), want %v", got, msg, tt.want)
			}
			if got == proceed {
				return
			}
			for _, s := range []string{"kpropd", "apt-get install -y krb5-kpropd", RequireEnv} {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q lacks %q", msg, s)
				}
			}
		})
	}
}

func TestInstallCommand(t *testing.T) {
	got := installCommand([]string{"kinit", "kdb5_util", "/usr/sbin/krb5kdc", "kadmin.local"})
	want := "sudo apt-get install -y krb5-admin-server krb5-kdc krb5-user"
	if !strings.HasPrefix(got, want+" ") {
		t.Errorf("installCommand = %q, want prefix %q", got, want)
	}
	got = installCommand([]string{"no-such-tool"})
	if !strings.Contains(got, "krb5-kdc krb5-kpropd krb5-user") {
		t.Errorf("installCommand for an unknown tool = %q, want every package", got)
	}
}

func TestLookPath(t *testing.T) {
	// An empty PATH: the fallback directories must still find sh, as they
	// find /usr/sbin/kdb5_util for a root shell whose PATH lacks /usr/sbin.
	t.Setenv("PATH", t.TempDir())
	p, err := LookPath("sh")
	if err != nil {
		t.Fatalf("LookPath(sh) with empty PATH: %v", err)
	}
	if !filepath.IsAbs(p) {
		t.Errorf("LookPath(sh) = %q, want an absolute path", p)
	}
	if _, err := LookPath("krb5prop-no-such-tool"); err == nil {
		t.Error("LookPath found a tool that does not exist")
	}

	dir := t.TempDir()
	notExec := filepath.Join(dir, "tool")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LookPath(notExec); err == nil {
		t.Error("LookPath accepted a file without execute permission")
	}
	if err := os.Chmod(notExec, 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := LookPath(notExec); err != nil || p != notExec {
		t.Errorf("LookPath(%q) = %q, %v", notExec, p, err)
	}
}

func TestRequireProceeds(t *testing.T) {
	// sh exists everywhere, so Require neither skips nor fails; the skip
	// and fail branches are covered through verdict.
	Require(t, "sh")
}
