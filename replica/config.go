package replica

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/krb5prop/krb5prop/profile"
)

// Section is the kdc.conf section that configures secondary replicas.
// MIT's tools ignore sections they do not know.
const Section = "secondary_replicas"

// Defaults of the relations a replica's subsection may leave out.
const (
	DefaultRetryInterval    = 30 * time.Second
	DefaultMaxRetryInterval = 30 * time.Minute
	DefaultTimeout          = 5 * time.Minute
)

// Config is one secondary replica's subsection of [secondary_replicas].
type Config struct {
	Name string
	// Plugin is an absolute path to an executable, or the name of a
	// compiled-in plugin (Register).
	Plugin           string
	Realm            string
	IncludeKeys      bool
	RetryInterval    time.Duration
	MaxRetryInterval time.Duration
	Timeout          time.Duration
	StateDir         string
	// Env holds the env relations, NAME=VALUE each.
	Env []string
}

// relations are the names a replica's subsection may use.
var relations = []string{"plugin", "realm", "include_keys", "retry_interval", "max_retry_interval", "timeout", "state_dir", "env"}

// Configs reads every secondary replica of realm from prof; dbName is the
// realm's database, beside which state_dir defaults to replicas/NAME. A
// replica whose realm relation names another realm is left out. Every
// error names the file and line, or the replica, at fault.
func Configs(prof *profile.Profile, realm, dbName string) ([]Config, error) {
	defRealm, _ := prof.DefaultRealm()
	var out []Config
	for _, name := range prof.Subsections(Section) {
		c, err := readConfig(prof, name, defRealm, dbName)
		if err != nil {
			return nil, err
		}
		if c.Realm == realm {
			out = append(out, c)
		}
	}
	return out, nil
}

func readConfig(prof *profile.Profile, name, defRealm, dbName string) (Config, error) {
	c := Config{Name: name, Realm: defRealm, RetryInterval: DefaultRetryInterval,
		MaxRetryInterval: DefaultMaxRetryInterval, Timeout: DefaultTimeout}
	if !validName(name) {
		return c, fmt.Errorf("[%s] %q: a replica name is letters, digits, '.', '_' and '-'", Section, name)
	}
	for _, tag := range prof.Tags(Section, name) {
		if !slices.Contains(relations, tag) {
			r := prof.Relations(Section, name, tag)[0]
			return c, fmt.Errorf("%s:%d: [%s] %s: unknown option %q (known: %s)", r.File, r.Line, Section, name, tag, strings.Join(relations, ", "))
		}
	}
	one := func(tag string) (profile.Relation, bool) {
		rels := prof.Relations(Section, name, tag)
		if len(rels) == 0 {
			return profile.Relation{}, false
		}
		return rels[0], true
	}
	bad := func(r profile.Relation, tag string, err error) error {
		return fmt.Errorf("%s:%d: [%s] %s %s: %w", r.File, r.Line, Section, name, tag, err)
	}
	r, ok := one("plugin")
	if !ok || r.Value == "" {
		return c, fmt.Errorf("[%s] %s: no plugin relation (an executable's absolute path, or a compiled-in plugin's name)", Section, name)
	}
	c.Plugin = r.Value
	if err := checkPlugin(c.Plugin); err != nil {
		return c, bad(r, "plugin", err)
	}
	if r, ok := one("realm"); ok {
		c.Realm = r.Value
	}
	if c.Realm == "" {
		return c, fmt.Errorf("[%s] %s: no realm relation and no default_realm", Section, name)
	}
	if r, ok := one("include_keys"); ok {
		v, err := profile.ParseBool(r.Value)
		if err != nil {
			return c, bad(r, "include_keys", err)
		}
		c.IncludeKeys = v
	}
	for _, d := range []struct {
		tag string
		dst *time.Duration
	}{{"retry_interval", &c.RetryInterval}, {"max_retry_interval", &c.MaxRetryInterval}, {"timeout", &c.Timeout}} {
		r, ok := one(d.tag)
		if !ok {
			continue
		}
		v, err := profile.ParseDuration(r.Value)
		if err == nil && v <= 0 {
			err = fmt.Errorf("%q is not a positive duration", r.Value)
		}
		if err != nil {
			return c, bad(r, d.tag, err)
		}
		*d.dst = v
	}
	if c.MaxRetryInterval < c.RetryInterval {
		c.MaxRetryInterval = c.RetryInterval
	}
	c.StateDir = filepath.Join(filepath.Dir(dbName), "replicas", name)
	if r, ok := one("state_dir"); ok {
		if !filepath.IsAbs(r.Value) {
			return c, bad(r, "state_dir", fmt.Errorf("%q is not an absolute path", r.Value))
		}
		c.StateDir = r.Value
	}
	for _, r := range prof.Relations(Section, name, "env") {
		k, _, ok := strings.Cut(r.Value, "=")
		if !ok || k == "" || strings.HasPrefix(k, "KRB5PROP_") {
			return c, bad(r, "env", fmt.Errorf("%q: want NAME=VALUE, NAME not starting with KRB5PROP_", r.Value))
		}
		c.Env = append(c.Env, r.Value)
	}
	return c, nil
}

// validName keeps a replica name usable as a directory name and in the
// environment.
func validName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// checkPlugin finds the plugin now, so that a typo stops kpropd at start
// rather than failing every delivery.
func checkPlugin(plugin string) error {
	if !strings.Contains(plugin, "/") {
		if _, ok := registered(plugin); !ok {
			return fmt.Errorf("no compiled-in plugin %q (an executable needs an absolute path)", plugin)
		}
		return nil
	}
	if !filepath.IsAbs(plugin) {
		return fmt.Errorf("%q is not an absolute path", plugin)
	}
	fi, err := os.Stat(plugin)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", plugin)
	}
	return nil
}
