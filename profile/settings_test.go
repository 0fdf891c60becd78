package profile

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

var defaultKeySalts = []krb5x.KeySalt{
	{Enctype: krb5x.EnctypeAES256CTSHMACSHA196, SaltType: krb5x.SaltNormal},
	{Enctype: krb5x.EnctypeAES128CTSHMACSHA196, SaltType: krb5x.SaltNormal},
}

// loadString loads the given file contents as kdc.conf, krb5.conf, …
// and returns the profile and the file paths.
func loadString(t *testing.T, contents ...string) (*Profile, []string) {
	t.Helper()
	names := []string{"kdc.conf", "krb5.conf", "third.conf"}[:len(contents)]
	m := map[string]string{}
	for i, c := range contents {
		m[names[i]] = c
	}
	dir := writeFiles(t, m)
	paths := make([]string, len(names))
	for i, name := range names {
		paths[i] = filepath.Join(dir, name)
	}
	p, err := Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return p, paths
}

func TestRealmFixture(t *testing.T) {
	p, err := Load("testdata/mit-1.20-basic/kdc.conf", "testdata/mit-1.20-basic/krb5.conf")
	if err != nil {
		t.Fatal(err)
	}
	realm, ok := p.DefaultRealm()
	if !ok || realm != "FIXTURE.TEST" {
		t.Fatalf("default realm = %q, %v", realm, ok)
	}
	got, err := p.Realm(realm)
	if err != nil {
		t.Fatal(err)
	}
	want := RealmSettings{
		Name:                  "FIXTURE.TEST",
		DatabaseModule:        "FIXTURE.TEST",
		DatabaseName:          "/tmp/mit-1.20-basic/principal",
		KeyStashFile:          "/tmp/mit-1.20-basic/stash",
		MasterKeyName:         "K/M",
		MasterKeyType:         18,
		SupportedEnctypes:     defaultKeySalts,
		MaxLife:               10 * time.Hour,
		MaxRenewableLife:      7 * 24 * time.Hour,
		KDCMaxRenewableLife:   7 * 24 * time.Hour,
		DefaultPrincipalFlags: 0x80,
		ACLFile:               "/tmp/mit-1.20-basic/kadm5.acl",
		KDCListen:             []string{"60088"},
		KDCTCPListen:          []string{"60088"},
		RejectBadTransit:      true,
		IpropLogfile:          "/tmp/mit-1.20-basic/principal.ulog",
		IpropULogSize:         1000,
		IpropReplicaPoll:      2 * time.Minute,
		IpropResyncTimeout:    5 * time.Minute,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Realm =\n%+v\nwant\n%+v", got, want)
	}
	l, err := p.Logging("kdc")
	if err != nil {
		t.Fatal(err)
	}
	if wantL := (Logging{Targets: []LogTarget{{Kind: LogFile, Path: "/tmp/mit-1.20-basic/krb5.log", Append: true}}}); !reflect.DeepEqual(l, wantL) {
		t.Errorf("Logging = %+v, want %+v", l, wantL)
	}
}

func TestRealmDebian(t *testing.T) {
	p, err := Load("testdata/debian/kdc.conf")
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Realm("EXAMPLE.ORG")
	if err != nil {
		t.Fatal(err)
	}
	if s.DatabaseName != "/var/lib/krb5kdc/principal" || s.KeyStashFile != "/etc/krb5kdc/stash" ||
		s.ACLFile != "/etc/krb5kdc/kadm5.acl" || s.MaxLife != 10*time.Hour ||
		s.MaxRenewableLife != 7*24*time.Hour || s.DefaultPrincipalFlags != 0x80 ||
		s.MasterKeyType != krb5x.EnctypeAES256CTSHMACSHA196 || !reflect.DeepEqual(s.SupportedEnctypes, defaultKeySalts) {
		t.Errorf("Realm = %+v", s)
	}
	if !reflect.DeepEqual(s.KDCListen, []string{"750", "88"}) || !reflect.DeepEqual(s.KDCTCPListen, []string{"88"}) {
		t.Errorf("listen = %q / %q, want 750,88 / 88", s.KDCListen, s.KDCTCPListen)
	}
	d, err := p.KDCDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.KDCListen, []string{"750", "88"}) || !reflect.DeepEqual(d.KDCTCPListen, []string{"88"}) {
		t.Errorf("kdcdefaults listen = %q / %q", d.KDCListen, d.KDCTCPListen)
	}
	// No [logging] at all: syslog, facility AUTH.
	l, err := p.Logging("admin_server")
	if err != nil || !reflect.DeepEqual(l.Targets, []LogTarget{{Kind: LogSyslog, Facility: "AUTH"}}) {
		t.Errorf("Logging = %+v, %v", l, err)
	}
}

func TestRealmDefaults(t *testing.T) {
	s, err := (&Profile{}).Realm("EMPTY.TEST")
	if err != nil {
		t.Fatal(err)
	}
	want := RealmSettings{
		Name:                "EMPTY.TEST",
		DatabaseModule:      "EMPTY.TEST",
		DatabaseName:        "/var/lib/krb5kdc/principal",
		KeyStashFile:        "/etc/krb5kdc/.k5.EMPTY.TEST",
		MasterKeyName:       "K/M",
		MasterKeyType:       18,
		SupportedEnctypes:   defaultKeySalts,
		MaxLife:             24 * time.Hour,
		KDCMaxRenewableLife: 7 * 24 * time.Hour,
		ACLFile:             "/etc/krb5kdc/kadm5.acl",
		KDCListen:           []string{"88"},
		KDCTCPListen:        []string{"88"},
		RejectBadTransit:    true,
		IpropLogfile:        "/var/lib/krb5kdc/principal.ulog",
		IpropULogSize:       1000,
		IpropReplicaPoll:    2 * time.Minute,
		IpropResyncTimeout:  5 * time.Minute,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Realm =\n%+v\nwant\n%+v", s, want)
	}
	d, err := (&Profile{}).KDCDefaults()
	wantD := KDCDefaults{KDCListen: []string{"88"}, KDCTCPListen: []string{"88"}, MaxDgramReplySize: 65536, TCPListenBacklog: 5}
	if err != nil || !reflect.DeepEqual(d, wantD) {
		t.Errorf("KDCDefaults = %+v, %v; want %+v", d, err, wantD)
	}
	if _, ok := (&Profile{}).DefaultRealm(); ok {
		t.Error("empty profile has a default realm")
	}
}

func TestRealmSettings(t *testing.T) {
	p, _ := loadString(t, `
[kdcdefaults]
	kdc_listen = 127.0.0.1:88 [::1]:88
	kdc_ports = 99
	kdc_tcp_listen = ""
	kdc_max_dgram_reply_size = 4096
	kdc_tcp_listen_backlog = 20
	restrict_anonymous_to_tgt = true
	no_host_referral = host,ftp
	host_based_services = *
[realms]
	R = {
		database_name = /first/principal
		database_name = /second/principal
		database_module = mod
		max_life = 1h
		max_renewable_life = 0
		master_key_type = aes128-cts
		supported_enctypes = aes128-sha2:normal,aes256-cts:special
		default_principal_flags = -allow_tix, +preauth
		default_principal_expiration = 20300101000000
		kdc_ports = 7000
		kdc_tcp_ports = 7000,7001
		restrict_anonymous_to_tgt = f
		reject_bad_transit = off
		disable_pac = yes
		no_host_referral = http
		iprop_enable = Y
		iprop_ulogsize = 0
		iprop_master_ulogsize = 5000
		iprop_port = 2121
		iprop_listen = 10.0.0.1
		iprop_slave_poll = 30s
		iprop_resync_timeout = 1:00:00
		dict_file = /usr/share/dict/words
		master_key_name = K/M2
	}
	S = {
		kdc_listen = ,
		kdc_ports = 5
		kdc_tcp_listen = 1.2.3.4
		iprop_logfile = /var/log/ulog
		iprop_replica_poll = 10m
		iprop_slave_poll = 20m
		iprop_ulogsize = 7
	}
[dbmodules]
	mod = {
		database_name = /modules/principal
		disable_last_success = true
		disable_lockout = 1
	}
`, `
[realms]
	R = {
		max_life = 2h
		database_name = /krb5conf/principal
	}
`)
	s, err := p.Realm("R")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"DatabaseModule", s.DatabaseModule, "mod"},
		{"DatabaseName", s.DatabaseName, "/modules/principal"},
		{"DisableLastSuccess", s.DisableLastSuccess, true},
		{"DisableLockout", s.DisableLockout, true},
		{"MaxLife (last value wins)", s.MaxLife, 2 * time.Hour},
		{"MaxRenewableLife", s.MaxRenewableLife, time.Duration(0)},
		{"KDCMaxRenewableLife", s.KDCMaxRenewableLife, time.Duration(0)},
		{"MasterKeyType", s.MasterKeyType, krb5x.EnctypeAES128CTSHMACSHA196},
		{"MasterKeyName", s.MasterKeyName, "K/M2"},
		{"SupportedEnctypes", s.SupportedEnctypes, []krb5x.KeySalt{{Enctype: 19, SaltType: 0}, {Enctype: 18, SaltType: 4}}},
		{"DefaultPrincipalFlags", s.DefaultPrincipalFlags, uint32(0xc0)},
		{"DefaultPrincipalExpiration", s.DefaultPrincipalExpiration, "20300101000000"},
		{"KDCListen", s.KDCListen, []string{"7000"}},
		{"KDCTCPListen", s.KDCTCPListen, []string{"7000", "7001"}},
		{"RestrictAnonymousToTGT", s.RestrictAnonymousToTGT, false},
		{"RejectBadTransit", s.RejectBadTransit, false},
		{"DisablePAC", s.DisablePAC, true},
		{"NoHostReferral", s.NoHostReferral, []string{"host", "ftp", "http"}},
		{"HostBasedServices", s.HostBasedServices, []string{"*"}},
		{"IpropEnable", s.IpropEnable, true},
		// The realm's last database_name, never [dbmodules], as in MIT.
		{"IpropLogfile", s.IpropLogfile, "/krb5conf/principal.ulog"},
		{"IpropULogSize", s.IpropULogSize, 5000},
		{"IpropPort", s.IpropPort, 2121},
		{"IpropListen", s.IpropListen, "10.0.0.1"},
		{"IpropReplicaPoll", s.IpropReplicaPoll, 30 * time.Second},
		{"IpropResyncTimeout", s.IpropResyncTimeout, time.Hour},
		{"DictFile", s.DictFile, "/usr/share/dict/words"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}

	s, err = p.Realm("S")
	if err != nil {
		t.Fatal(err)
	}
	checks = []struct {
		name      string
		got, want any
	}{
		{"DatabaseName", s.DatabaseName, "/var/lib/krb5kdc/principal"},
		{"KDCListen", s.KDCListen, []string{"88"}}, // separators only: wildcard, port 88
		{"KDCTCPListen", s.KDCTCPListen, []string{"1.2.3.4"}},
		{"RestrictAnonymousToTGT", s.RestrictAnonymousToTGT, true},
		{"IpropLogfile", s.IpropLogfile, "/var/log/ulog"},
		{"IpropReplicaPoll", s.IpropReplicaPoll, 10 * time.Minute},
		{"IpropULogSize", s.IpropULogSize, 7},
		{"NoHostReferral", s.NoHostReferral, []string{"host", "ftp"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("S: %s = %#v, want %#v", c.name, c.got, c.want)
		}
	}

	d, err := p.KDCDefaults()
	if err != nil {
		t.Fatal(err)
	}
	wantD := KDCDefaults{
		KDCListen:              []string{"127.0.0.1:88", "[::1]:88"},
		MaxDgramReplySize:      4096,
		TCPListenBacklog:       20,
		RestrictAnonymousToTGT: true,
		NoHostReferral:         []string{"host", "ftp"},
		HostBasedServices:      []string{"*"},
	}
	if !reflect.DeepEqual(d, wantD) {
		t.Errorf("KDCDefaults = %+v, want %+v", d, wantD)
	}
}

func TestRealmErrors(t *testing.T) {
	p, paths := loadString(t, `[realms]
	R = {
		max_life = 10x
		supported_enctypes = aes256-cts:normal bogus:normal
		master_key_type = des-cbc-crc
		default_principal_flags = +preauth +bogus
		default_principal_expiration = tomorrow
		iprop_enable = maybe
		iprop_port = 2121x
		max_renewable_life = 1D
		kdc_listen = 88
		restrict_anonymous_to_tgt = sure
	}
	E = {
		supported_enctypes = ""
	}
[kdcdefaults]
	kdc_max_dgram_reply_size = big
[dbmodules]
	R = {
		disable_lockout = f
	}
`)
	kdc := paths[0]
	_, err := p.Realm("R")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		kdc + `:3: [realms] R max_life: invalid duration "10x"`,
		kdc + `:4: [realms] R supported_enctypes: invalid enctype "bogus"`,
		kdc + `:5: [realms] R master_key_type: enctype "des-cbc-crc" is no longer supported`,
		kdc + `:6: [realms] R default_principal_flags: invalid flag "+bogus"`,
		kdc + `:7: [realms] R default_principal_expiration: invalid timestamp "tomorrow"`,
		kdc + `:8: [realms] R iprop_enable: invalid boolean "maybe"`,
		kdc + `:9: [realms] R iprop_port: invalid integer "2121x"`,
		kdc + `:10: [realms] R max_renewable_life: invalid duration "1D"`,
		kdc + `:12: [realms] R restrict_anonymous_to_tgt: invalid boolean "sure"`,
		kdc + `:18: [kdcdefaults] kdc_max_dgram_reply_size: invalid integer "big"`,
		// The DB2 module reads [dbmodules] with the profile library's
		// boolean parser, which has no "f".
		kdc + `:21: [dbmodules] R disable_lockout: invalid boolean "f"`,
	} {
		if !strings.Contains(err.Error(), want+"\n") && !strings.HasSuffix(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Relation.File != kdc || ve.Relation.Line == 0 {
		t.Errorf("error is not a *ValueError with a position: %#v", ve)
	}
	if _, err := p.Realm("E"); err == nil || !strings.Contains(err.Error(), "supported_enctypes: no enctypes") {
		t.Errorf("empty supported_enctypes: %v", err)
	}
	if _, err := p.KDCDefaults(); err == nil {
		t.Error("KDCDefaults: no error")
	}
}

func TestLogging(t *testing.T) {
	tests := []struct {
		spec string
		want LogTarget
	}{
		{"FILE:/var/log/krb5kdc.log", LogTarget{Kind: LogFile, Path: "/var/log/krb5kdc.log", Append: true}},
		{"file=/tmp/x", LogTarget{Kind: LogFile, Path: "/tmp/x"}},
		{"STDERR", LogTarget{Kind: LogStderr}},
		{"stderr", LogTarget{Kind: LogStderr}},
		{"CONSOLE", LogTarget{Kind: LogConsole}},
		{"DEVICE=/dev/tty1", LogTarget{Kind: LogDevice, Path: "/dev/tty1"}},
		{"SYSLOG", LogTarget{Kind: LogSyslog, Facility: "AUTH"}},
		{"SYSLOG:INFO", LogTarget{Kind: LogSyslog, Severity: "INFO", Facility: "AUTH"}},
		{"syslog:info:local0", LogTarget{Kind: LogSyslog, Severity: "info", Facility: "LOCAL0"}},
		{"SYSLOG::DAEMON", LogTarget{Kind: LogSyslog, Facility: "DAEMON"}},
		{`"  STDERR  "`, LogTarget{Kind: LogStderr}},
	}
	for _, tt := range tests {
		p, _ := loadString(t, "[logging]\n\tkdc = "+tt.spec+"\n")
		l, err := p.Logging("kdc")
		if err != nil || len(l.Targets) != 1 || l.Targets[0] != tt.want {
			t.Errorf("%s: Logging = %+v, %v; want %+v", tt.spec, l, err, tt.want)
		}
	}
	for _, spec := range []string{"FILE", "FILE:", "FILEX/x", "DEVICE", "DEVICE=", "SYSLOGX", "SYSLOG:INFO:NOSUCH", "STDOUT", "CONSOLE2"} {
		p, paths := loadString(t, "[logging]\n\tkdc = "+spec+"\n")
		_, err := p.Logging("kdc")
		if err == nil || !strings.HasPrefix(err.Error(), paths[0]+":2: [logging] kdc: ") {
			t.Errorf("%s: error = %v", spec, err)
		}
	}

	p, _ := loadString(t, "[logging]\n\tdefault = FILE:/d\n\tkdc = STDERR\n\tkdc = CONSOLE\n\tdebug = true\n")
	l, err := p.Logging("kdc")
	if err != nil || !reflect.DeepEqual(l, Logging{Targets: []LogTarget{{Kind: LogStderr}, {Kind: LogConsole}}, Debug: true}) {
		t.Errorf("kdc: %+v, %v", l, err)
	}
	l, err = p.Logging("admin_server")
	if err != nil || !reflect.DeepEqual(l.Targets, []LogTarget{{Kind: LogFile, Path: "/d", Append: true}}) {
		t.Errorf("admin_server falls back to default: %+v, %v", l, err)
	}
}

func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		text string
		want time.Duration
		err  string
	}{
		{"", 0, ""},
		{"[libdefaults]\n clockskew = 120\n", 120 * time.Second, ""},
		{"[libdefaults]\n clockskew = 1\n clockskew = 9\n", time.Second, ""},
		{"[libdefaults]\n clockskew = 5m\n", 0, `krb5.conf:2: [libdefaults] clockskew: invalid integer "5m"`},
	} {
		p, err := Parse("krb5.conf", []byte(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.ClockSkew()
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: got %v, %v; want %v, error containing %q", tc.text, got, err, tc.want, tc.err)
		}
	}
}
