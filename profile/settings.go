package profile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// Built-in defaults of Debian's MIT krb5 1.20 build.
const (
	DefaultDatabaseName  = "/var/lib/krb5kdc/principal"
	DefaultACLFile       = "/etc/krb5kdc/kadm5.acl"
	DefaultMasterKeyName = "K/M"

	defaultStashPrefix = "/etc/krb5kdc/.k5."
	defaultKDCPorts    = "88"
)

// ValueError reports a relation whose value a setting cannot use. MIT
// mostly falls back to the default in silence (a bad max_life gives one
// day, an unknown enctype is dropped); here it is an error that names the
// file and line.
type ValueError struct {
	Path     []string // section, subsections and tag
	Relation Relation
	Err      error
}

// Error formats the error as FILE:LINE: [section] sub… tag: cause.
func (e *ValueError) Error() string {
	path := ""
	if len(e.Path) > 0 {
		path = "[" + e.Path[0] + "]"
		if len(e.Path) > 1 {
			path += " " + strings.Join(e.Path[1:], " ")
		}
	}
	return fmt.Sprintf("%s:%d: %s: %v", e.Relation.File, e.Relation.Line, path, e.Err)
}

// Unwrap returns the parse error of the value.
func (e *ValueError) Unwrap() error { return e.Err }

// DefaultRealm returns [libdefaults] default_realm.
func (p *Profile) DefaultRealm() (string, bool) {
	return p.Value("libdefaults", "default_realm")
}

// ClockSkew returns [libdefaults] clockskew: how far, in whole seconds as
// MIT reads it, an authenticator's time may be from ours. It returns 0
// when the relation is unset, for the caller's default (MIT's is 300 s).
func (p *Profile) ClockSkew() (time.Duration, error) {
	r := settingsReader{p: p}
	n := r.integer(r.firstOf([]string{"libdefaults", "clockskew"}), 0)
	return time.Duration(n) * time.Second, errors.Join(r.errs...)
}

// KDCDefaults holds the [kdcdefaults] settings krb5kdc reads at startup.
// The listen addresses, RestrictAnonymousToTGT and the referral lists are
// also the defaults of the realm settings of the same names.
type KDCDefaults struct {
	// KDCListen and KDCTCPListen are the UDP and TCP addresses to listen
	// on: entries of kdc_listen, or of the older kdc_ports when kdc_listen
	// is unset, each a port, an address, or address:port ([v6]:port).
	// Empty means that transport is off, as kdc_tcp_listen = "" turns TCP
	// off in MIT.
	KDCListen    []string
	KDCTCPListen []string
	// MaxDgramReplySize is kdc_max_dgram_reply_size. MIT documents 4096
	// as its default but the code (kdc/main.c) uses MAX_DGRAM_SIZE,
	// 65536, which is what a KDC without the setting does.
	MaxDgramReplySize      int
	TCPListenBacklog       int // kdc_tcp_listen_backlog, default 5
	RestrictAnonymousToTGT bool
	NoHostReferral         []string // service names, "*" for all
	HostBasedServices      []string // service names, "*" for all
}

// KDCDefaults reads the [kdcdefaults] section. As MIT's krb5kdc does,
// single-valued relations take the last value found.
func (p *Profile) KDCDefaults() (KDCDefaults, error) {
	r := settingsReader{p: p}
	d := r.kdcDefaults()
	if err := errors.Join(r.errs...); err != nil {
		return KDCDefaults{}, err
	}
	return d, nil
}

func (r *settingsReader) kdcDefaults() KDCDefaults {
	def := func(tag string) []string { return []string{"kdcdefaults", tag} }
	return KDCDefaults{
		KDCListen:              listenList(r.str(r.lastOf(def("kdc_listen"), def("kdc_ports")), defaultKDCPorts)),
		KDCTCPListen:           listenList(r.str(r.lastOf(def("kdc_tcp_listen"), def("kdc_tcp_ports")), defaultKDCPorts)),
		MaxDgramReplySize:      r.integer(r.lastOf(def("kdc_max_dgram_reply_size")), 65536),
		TCPListenBacklog:       r.integer(r.lastOf(def("kdc_tcp_listen_backlog")), 5),
		RestrictAnonymousToTGT: r.boolean(r.lastOf(def("restrict_anonymous_to_tgt")), false, true),
		NoHostReferral:         serviceList(r.p.Values(def("no_host_referral")...)),
		HostBasedServices:      serviceList(r.p.Values(def("host_based_services")...)),
	}
}

// RealmSettings holds what the tools read for one realm from [realms] and
// [dbmodules], with Debian's defaults. Relations under [realms] take the
// last value found, as kadm5_get_config_params and krb5kdc do; the
// [dbmodules] ones, database_module and the database_name that locates the
// database take the first, as MIT's KDB library and DB2 module do.
type RealmSettings struct {
	Name string

	// DatabaseModule names the [dbmodules] subsection: the realm's
	// database_module, else the realm name.
	DatabaseModule string
	// DatabaseName is where the database lives: [dbmodules] MODULE
	// database_name, else the realm's database_name, else
	// /var/lib/krb5kdc/principal.
	DatabaseName       string
	DisableLastSuccess bool // [dbmodules] MODULE disable_last_success
	DisableLockout     bool // [dbmodules] MODULE disable_lockout

	KeyStashFile      string // default /etc/krb5kdc/.k5.REALM
	MasterKeyName     string // default K/M
	MasterKeyType     int32  // default aes256-cts-hmac-sha1-96
	SupportedEnctypes []krb5x.KeySalt

	// MaxLife is max_life: kadmin's default for new principals and the
	// KDC's cap on ticket life; one day unless set.
	MaxLife time.Duration
	// MaxRenewableLife is max_renewable_life as kadmin's default for new
	// principals (0 unless set); KDCMaxRenewableLife is the same relation
	// as the KDC's cap on renewable life, which is a week unless set.
	MaxRenewableLife    time.Duration
	KDCMaxRenewableLife time.Duration
	// DefaultPrincipalFlags is the attribute mask kadmin gives new
	// principals (default_principal_flags, default 0).
	DefaultPrincipalFlags uint32
	// DefaultPrincipalExpiration is default_principal_expiration as
	// written, already checked, or "" for never. Its time-of-day forms
	// depend on when it is read, so resolve it with ParseTimestamp and
	// the current time.
	DefaultPrincipalExpiration string

	ACLFile  string // default /etc/krb5kdc/kadm5.acl
	DictFile string // default none

	// KDCListen and KDCTCPListen are the realm's kdc_listen (or kdc_ports,
	// kdc_tcp_listen, kdc_tcp_ports), else the [kdcdefaults] ones; see
	// KDCDefaults.
	KDCListen              []string
	KDCTCPListen           []string
	RestrictAnonymousToTGT bool
	RejectBadTransit       bool // default true
	DisablePAC             bool
	// NoHostReferral and HostBasedServices are the [kdcdefaults] lists
	// followed by the realm's.
	NoHostReferral    []string
	HostBasedServices []string

	IpropEnable bool
	// IpropLogfile is iprop_logfile, else the realm's own database_name
	// (never the [dbmodules] one, as in MIT) or the default, plus ".ulog".
	IpropLogfile string
	// IpropULogSize is iprop_ulogsize, else iprop_master_ulogsize, else
	// 1000; values below 1 count as unset, as in MIT.
	IpropULogSize      int
	IpropPort          int // 0 when unset
	IpropListen        string
	IpropReplicaPoll   time.Duration // iprop_replica_poll or iprop_slave_poll, default 2m
	IpropResyncTimeout time.Duration // default 5m
}

// Realm reads the settings of the named realm. Every value that cannot be
// parsed is reported, each as a *ValueError naming file and line.
func (p *Profile) Realm(name string) (RealmSettings, error) {
	r := settingsReader{p: p}
	kd := r.kdcDefaults()
	realm := func(tag string) []string { return []string{"realms", name, tag} }

	s := RealmSettings{Name: name}
	s.DatabaseModule = r.str(r.firstOf(realm("database_module")), name)
	dbmod := func(tag string) []string { return []string{"dbmodules", s.DatabaseModule, tag} }
	s.DatabaseName = r.str(r.firstOf(dbmod("database_name"), realm("database_name")), DefaultDatabaseName)
	s.DisableLastSuccess = r.boolean(r.firstOf(dbmod("disable_last_success")), false, false)
	s.DisableLockout = r.boolean(r.firstOf(dbmod("disable_lockout")), false, false)

	s.KeyStashFile = r.str(r.lastOf(realm("key_stash_file")), defaultStashPrefix+name)
	s.MasterKeyName = r.str(r.lastOf(realm("master_key_name")), DefaultMasterKeyName)
	s.MasterKeyType = krb5x.EnctypeAES256CTSHMACSHA196
	if v := r.lastOf(realm("master_key_type")); v.ok {
		if et, err := krb5x.EnctypeByName(v.rel.Value); err != nil {
			r.fail(v, err)
		} else {
			s.MasterKeyType = et
		}
	}
	s.SupportedEnctypes = []krb5x.KeySalt{
		{Enctype: krb5x.EnctypeAES256CTSHMACSHA196, SaltType: krb5x.SaltNormal},
		{Enctype: krb5x.EnctypeAES128CTSHMACSHA196, SaltType: krb5x.SaltNormal},
	}
	if v := r.lastOf(realm("supported_enctypes")); v.ok {
		ks, err := krb5x.ParseKeySalts(v.rel.Value)
		if err == nil && len(ks) == 0 {
			err = errors.New("no enctypes")
		}
		if err != nil {
			r.fail(v, err)
		} else {
			s.SupportedEnctypes = ks
		}
	}

	s.MaxLife = r.duration(r.lastOf(realm("max_life")), 24*time.Hour)
	s.MaxRenewableLife = r.duration(r.lastOf(realm("max_renewable_life")), 0)
	s.KDCMaxRenewableLife = 7 * 24 * time.Hour
	if r.lastOf(realm("max_renewable_life")).ok {
		s.KDCMaxRenewableLife = s.MaxRenewableLife
	}
	if v := r.lastOf(realm("default_principal_flags")); v.ok {
		flags, err := ParseFlagSpec(v.rel.Value)
		if err != nil {
			r.fail(v, err)
		}
		s.DefaultPrincipalFlags = flags
	}
	if v := r.lastOf(realm("default_principal_expiration")); v.ok {
		// Validity does not depend on the clock; any date will do.
		if _, err := ParseTimestamp(v.rel.Value, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			r.fail(v, err)
		}
		s.DefaultPrincipalExpiration = v.rel.Value
	}

	s.ACLFile = r.str(r.lastOf(realm("acl_file")), DefaultACLFile)
	s.DictFile = r.str(r.lastOf(realm("dict_file")), "")

	s.KDCListen = kd.KDCListen
	if v := r.lastOf(realm("kdc_listen"), realm("kdc_ports")); v.ok {
		s.KDCListen = listenList(v.rel.Value)
	}
	s.KDCTCPListen = kd.KDCTCPListen
	if v := r.lastOf(realm("kdc_tcp_listen"), realm("kdc_tcp_ports")); v.ok {
		s.KDCTCPListen = listenList(v.rel.Value)
	}
	s.RestrictAnonymousToTGT = r.boolean(r.lastOf(realm("restrict_anonymous_to_tgt")), kd.RestrictAnonymousToTGT, true)
	s.RejectBadTransit = r.boolean(r.lastOf(realm("reject_bad_transit")), true, true)
	s.DisablePAC = r.boolean(r.lastOf(realm("disable_pac")), false, true)
	s.NoHostReferral = slices.Concat(kd.NoHostReferral, serviceList(p.Values(realm("no_host_referral")...)))
	s.HostBasedServices = slices.Concat(kd.HostBasedServices, serviceList(p.Values(realm("host_based_services")...)))

	s.IpropEnable = r.boolean(r.lastOf(realm("iprop_enable")), false, true)
	s.IpropLogfile = r.str(r.lastOf(realm("iprop_logfile")), r.str(r.lastOf(realm("database_name")), DefaultDatabaseName)+".ulog")
	s.IpropULogSize = r.integer(r.lastOf(realm("iprop_ulogsize")), 0)
	if s.IpropULogSize < 1 {
		s.IpropULogSize = r.integer(r.lastOf(realm("iprop_master_ulogsize")), 0)
	}
	if s.IpropULogSize < 1 {
		s.IpropULogSize = 1000
	}
	s.IpropPort = r.integer(r.lastOf(realm("iprop_port")), 0)
	s.IpropListen = r.str(r.lastOf(realm("iprop_listen")), "")
	s.IpropReplicaPoll = r.duration(r.lastOf(realm("iprop_replica_poll"), realm("iprop_slave_poll")), 2*time.Minute)
	s.IpropResyncTimeout = r.duration(r.lastOf(realm("iprop_resync_timeout")), 5*time.Minute)

	if err := errors.Join(r.errs...); err != nil {
		return RealmSettings{}, err
	}
	return s, nil
}

// LogKind says where a [logging] target writes.
type LogKind int

// The [logging] target kinds of MIT's krb5_klog_init.
const (
	LogFile    LogKind = iota + 1 // FILE:path (append) or FILE=path (truncate)
	LogStderr                     // STDERR
	LogConsole                    // CONSOLE
	LogDevice                     // DEVICE=path
	LogSyslog                     // SYSLOG[:severity[:facility]]
)

// LogTarget is one [logging] value.
type LogTarget struct {
	Kind     LogKind
	Path     string // file or device
	Append   bool   // FILE: appends, FILE= truncates at startup
	Severity string // as written; MIT ignores it
	Facility string // upper case; AUTH unless given
}

// Logging is the logging setup of one program.
type Logging struct {
	Targets []LogTarget
	Debug   bool // [logging] debug: also log debug messages to non-syslog targets
}

// Logging reads the [logging] targets of a program, "kdc" for krb5kdc or
// "admin_server" for kadmin.local and kdb5_util create, as krb5_klog_init
// does: the program's own relation, else default, else syslog with
// facility AUTH. MIT warns about a target it cannot parse and skips it, and
// picks AUTH for an unknown facility; here both are errors.
func (p *Profile) Logging(program string) (Logging, error) {
	r := settingsReader{p: p}
	l := Logging{Debug: r.boolean(r.firstOf([]string{"logging", "debug"}), false, false)}
	path := []string{"logging", program}
	rels := p.Relations(path...)
	if len(rels) == 0 {
		path = []string{"logging", "default"}
		rels = p.Relations(path...)
	}
	for _, rel := range rels {
		t, err := parseLogTarget(rel.Value)
		if err != nil {
			r.fail(setting{path, rel, true}, err)
			continue
		}
		l.Targets = append(l.Targets, t)
	}
	if len(rels) == 0 {
		l.Targets = []LogTarget{{Kind: LogSyslog, Facility: "AUTH"}}
	}
	if err := errors.Join(r.errs...); err != nil {
		return Logging{}, err
	}
	return l, nil
}

// syslogFacilities are the facility names krb5_klog_init knows.
var syslogFacilities = []string{
	"AUTH", "AUTHPRIV", "KERN", "USER", "MAIL", "DAEMON", "FTP", "LPR", "NEWS", "UUCP", "CRON",
	"LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4", "LOCAL5", "LOCAL6", "LOCAL7",
}

func parseLogTarget(spec string) (LogTarget, error) {
	s := trimRightSpace(trimLeftSpace(spec))
	hasPrefix := func(p string) bool { return len(s) >= len(p) && equalFoldASCII(s[:len(p)], p) }
	switch {
	case hasPrefix("FILE") && len(s) > 4 && (s[4] == ':' || s[4] == '='):
		if len(s) == 5 {
			return LogTarget{}, fmt.Errorf("missing file name in %q", spec)
		}
		return LogTarget{Kind: LogFile, Path: s[5:], Append: s[4] == ':'}, nil
	case hasPrefix("DEVICE="):
		if len(s) == 7 {
			return LogTarget{}, fmt.Errorf("missing device name in %q", spec)
		}
		return LogTarget{Kind: LogDevice, Path: s[7:]}, nil
	case equalFoldASCII(s, "STDERR"):
		return LogTarget{Kind: LogStderr}, nil
	case equalFoldASCII(s, "CONSOLE"):
		return LogTarget{Kind: LogConsole}, nil
	case equalFoldASCII(s, "SYSLOG"):
		return LogTarget{Kind: LogSyslog, Facility: "AUTH"}, nil
	case hasPrefix("SYSLOG:"):
		t := LogTarget{Kind: LogSyslog, Facility: "AUTH"}
		sev, fac, ok := strings.Cut(s[7:], ":")
		t.Severity = sev
		if ok {
			t.Facility = ""
			for _, f := range syslogFacilities {
				if equalFoldASCII(fac, f) {
					t.Facility = f
				}
			}
			if t.Facility == "" {
				return LogTarget{}, fmt.Errorf("unknown syslog facility %q", fac)
			}
		}
		return t, nil
	}
	return LogTarget{}, fmt.Errorf("invalid logging target %q", spec)
}

// listenList splits a kdc_listen style value at commas, semicolons and
// spaces (net-server.c's ADDRESSES_DELIM). An empty value turns the
// transport off; one with only separators means MIT's wildcard address on
// port 88.
func listenList(s string) []string {
	if s == "" {
		return nil
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
	if len(f) == 0 {
		return []string{defaultKDCPorts}
	}
	return f
}

// serviceList splits no_host_referral and host_based_services values at
// whitespace and commas, as the KDC's in_list matches them.
func serviceList(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r < 0x80 && isSpace(byte(r)) })...)
	}
	return out
}

// setting is one looked-up relation: the path it was found at and, when
// ok, the relation itself.
type setting struct {
	path []string
	rel  Relation
	ok   bool
}

// settingsReader looks settings up and collects every bad value, so one
// run reports all of them.
type settingsReader struct {
	p    *Profile
	errs []error
}

func (r *settingsReader) fail(s setting, err error) {
	r.errs = append(r.errs, &ValueError{Path: s.path, Relation: s.rel, Err: err})
}

// firstOf returns the first relation of the first path that has one.
func (r *settingsReader) firstOf(paths ...[]string) setting {
	for _, path := range paths {
		if rels := r.p.Relations(path...); len(rels) > 0 {
			return setting{path, rels[0], true}
		}
	}
	return setting{}
}

// lastOf returns the last relation of the first path that has one.
func (r *settingsReader) lastOf(paths ...[]string) setting {
	for _, path := range paths {
		if rels := r.p.Relations(path...); len(rels) > 0 {
			return setting{path, rels[len(rels)-1], true}
		}
	}
	return setting{}
}

func (r *settingsReader) str(s setting, def string) string {
	if !s.ok {
		return def
	}
	return s.rel.Value
}

func (r *settingsReader) duration(s setting, def time.Duration) time.Duration {
	if !s.ok {
		return def
	}
	d, err := ParseDuration(s.rel.Value)
	if err != nil {
		r.fail(s, err)
		return def
	}
	return d
}

func (r *settingsReader) integer(s setting, def int) int {
	if !s.ok {
		return def
	}
	n, err := ParseInt(s.rel.Value)
	if err != nil {
		r.fail(s, err)
		return def
	}
	return n
}

// boolean parses with the kadm5 parser (which also takes "f") when kadm5
// is set, as MIT reads [realms] and [kdcdefaults] booleans through
// alt_prof.c and the rest through the profile library.
func (r *settingsReader) boolean(s setting, def, kadm5 bool) bool {
	if !s.ok {
		return def
	}
	b, err := parseBool(s.rel.Value, kadm5)
	if err != nil {
		r.fail(s, err)
		return def
	}
	return b
}
