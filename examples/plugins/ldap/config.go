package main

import (
	"fmt"
	"strings"
)

// config is the plugin's settings, from the environment kpropd builds out
// of the replica's env = relations.
type config struct {
	uri    string // LDAP_URI: the server, as ldapsearch -H takes it
	base   string // LDAP_BASE: the entry holding ou=principals and ou=policies
	bindDN string // LDAP_BIND_DN: simple-bind DN
	pwFile string // LDAP_BIND_PW_FILE: its password, the whole file
}

// configFromEnv reads the four variables, all required.
func configFromEnv(getenv func(string) string) (config, error) {
	cfg := config{
		uri:    getenv("LDAP_URI"),
		base:   strings.TrimSpace(getenv("LDAP_BASE")),
		bindDN: getenv("LDAP_BIND_DN"),
		pwFile: getenv("LDAP_BIND_PW_FILE"),
	}
	var missing []string
	for _, v := range []struct{ name, value string }{
		{"LDAP_URI", cfg.uri},
		{"LDAP_BASE", cfg.base},
		{"LDAP_BIND_DN", cfg.bindDN},
		{"LDAP_BIND_PW_FILE", cfg.pwFile},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return config{}, fmt.Errorf("set %s with env = relations in the replica's kdc.conf stanza", strings.Join(missing, ", "))
	}
	return cfg, nil
}

// principalsDN and policiesDN are the containers the plugin owns.
func (c config) principalsDN() string { return "ou=principals," + c.base }
func (c config) policiesDN() string   { return "ou=policies," + c.base }
