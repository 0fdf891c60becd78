package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/krb5prop/krb5prop/internal/daemon"
	"github.com/krb5prop/krb5prop/internal/prompt"
	"github.com/krb5prop/krb5prop/internal/realm"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdc"
	"github.com/krb5prop/krb5prop/profile"
)

// run is krb5kdc after its command line was read; it returns the exit
// status.
func run(ctx context.Context, o options) int {
	act, err := daemon.Detect()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
		return 1
	}
	if act.Conn != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot serve a single connection (inetd); use systemd Accept=no or run standalone\n", o.prog)
		return 1
	}
	// Detach before reading the configuration and binding the ports, so
	// the child does both and a failure still reaches the terminal before
	// the parent exits (see daemon.Detach). -m reads the master password
	// from the terminal, so it is read first, in the foreground.
	ready := func() {}
	if act.Standalone() && !o.noFork && !o.fromKeyboard {
		if ready, err = daemon.Detach(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
			return 1
		}
	}
	if o.waitForDB != nil {
		if err := waitForDatabases(ctx, o); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
			return 1
		}
	}
	k, err := newKDC(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
		return 1
	}
	defer k.close()
	log := k.log

	// SIGHUP reopens the log files, for logrotate (MIT's krb5_klog_reopen).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := k.sinks.Reopen(); err != nil {
				log.Error("reopening log files: " + err.Error())
			}
		}
	}()

	srv := &kdc.Server{Handler: k.realms, Log: log, UDPWorkers: o.workers}
	started := func() {
		if o.pidFile != "" {
			if err := daemon.WritePIDFile(o.pidFile); err != nil {
				log.Error(fmt.Sprintf("Could not write pid file %s: %v", o.pidFile, err))
			}
		}
		log.Info("commencing operation")
		if o.noFork {
			// MIT prints this for tests and service scripts.
			fmt.Fprintf(os.Stderr, "%s: starting...\n", o.prog)
		}
		ready()
		daemon.NotifyReady()
	}
	if act.Standalone() {
		err = srv.ListenAndServe(ctx, k.udp, k.tcp, started)
	} else {
		// systemd socket activation (Accept=no): the sockets of the
		// unit's ListenDatagram= and ListenStream= lines.
		err = srv.Serve(ctx, act.PacketConns, act.Listeners, started)
	}
	if o.pidFile != "" {
		os.Remove(o.pidFile)
	}
	if err != nil && ctx.Err() == nil {
		log.Error(err.Error())
		fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
		return 1
	}
	daemon.NotifyStopping()
	log.Info("shutting down")
	return 0
}

// databasePoll is how often a KDC waiting for its database looks for it.
const databasePoll = time.Second

// waitForDatabases waits until every realm's database exists: a new
// replica's KDC, started at boot before the first propagation, then
// serves from the moment kpropd has loaded it instead of exiting (which
// MIT's does, leaving a restart loop to its service manager).
func waitForDatabases(ctx context.Context, o options) error {
	prof, err := profile.LoadKDC(profile.Env(os.Getenv))
	if err != nil {
		return err
	}
	var deadline <-chan time.Time
	if *o.waitForDB > 0 {
		deadline = time.After(*o.waitForDB)
	}
	for _, ra := range o.realms {
		cfg, err := realm.Resolve(prof, realm.Options{Realm: ra.name, DBName: ra.dbName, DBArgs: ra.dbArgs})
		if err != nil {
			return err
		}
		told := false
		for {
			if _, err := os.Stat(cfg.DBName); !errors.Is(err, os.ErrNotExist) {
				break
			}
			if !told {
				fmt.Fprintf(os.Stderr, "%s: waiting for the database of realm %s at %s (the first propagation creates it)\n", o.prog, cfg.Realm, cfg.DBName)
				told = true
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-deadline:
				return fmt.Errorf("no database for realm %s at %s after %s", cfg.Realm, cfg.DBName, *o.waitForDB)
			case <-time.After(databasePoll):
			}
		}
	}
	return nil
}

// kdcProcess is a configured KDC: its engine, databases, logs and
// addresses.
type kdcProcess struct {
	realms   *kdc.Realms
	log      *slog.Logger
	sinks    *logSinks
	dbs      []*kdc.StoreDatabase
	stores   []*kdb.Store
	udp, tcp []string // every realm's, as the Server binds each once
}

// close writes the lockout counters still pending, then closes the
// databases and logs.
func (k *kdcProcess) close() {
	for _, d := range k.dbs {
		d.Close()
	}
	for _, s := range k.stores {
		s.Close()
	}
	k.sinks.Close()
}

// newKDC reads the profile, opens the logs, and opens each realm as MIT's
// init_realm does.
func newKDC(ctx context.Context, o options) (*kdcProcess, error) {
	prof, err := profile.LoadKDC(profile.Env(os.Getenv))
	if err != nil {
		return nil, err
	}
	cfgs := make([]*realm.Config, len(o.realms))
	for i, ra := range o.realms {
		cfgs[i], err = realm.Resolve(prof, realm.Options{Realm: ra.name, DBName: ra.dbName, DBArgs: ra.dbArgs,
			MKeyName: o.mkeyName, MKeyType: o.mkeyType, FromKeyboard: o.fromKeyboard})
		if err != nil {
			return nil, err
		}
	}
	logging, err := prof.Logging("kdc")
	if err != nil {
		return nil, err
	}
	log, sinks, err := newLogger("krb5kdc", logging)
	if err != nil {
		return nil, err
	}
	k := &kdcProcess{log: log, sinks: sinks}
	var in *prompt.Reader
	if o.fromKeyboard {
		in = prompt.New(os.Stdin, os.Stderr)
	}
	hs := make([]*kdc.Handler, len(cfgs))
	for i, cfg := range cfgs {
		if hs[i], err = k.openRealm(ctx, o, cfg, in); err != nil {
			log.Error(fmt.Sprintf("%v while initializing database for realm %s", err, cfg.Realm))
			k.close()
			return nil, fmt.Errorf("cannot initialize realm %s - see log file for details", cfg.Realm)
		}
	}
	if k.realms, err = kdc.NewRealms(log, hs...); err != nil {
		k.close()
		return nil, err
	}
	return k, nil
}

// openRealm opens the realm's database and master key and returns the
// handler configured from its settings; the realm's addresses join k's.
func (k *kdcProcess) openRealm(ctx context.Context, o options, cfg *realm.Config, in *prompt.Reader) (*kdc.Handler, error) {
	rs, err := cfg.Profile.Realm(cfg.Realm)
	if err != nil {
		return nil, err
	}
	kd, err := cfg.Profile.KDCDefaults()
	if err != nil {
		return nil, err
	}
	skew, err := cfg.Profile.ClockSkew()
	if err != nil {
		return nil, err
	}
	udp, tcp := rs.KDCListen, rs.KDCTCPListen
	if o.port != "" {
		// -p replaces the [kdcdefaults] ports; a realm's own kdc_listen
		// (or kdc_ports) still wins, as in MIT's init_realm.
		if !hasRealmSetting(cfg, "kdc_listen", "kdc_ports") {
			udp = []string{o.port}
		}
		if !hasRealmSetting(cfg, "kdc_tcp_listen", "kdc_tcp_ports") {
			tcp = []string{o.port}
		}
	}
	if len(udp) == 0 && len(tcp) == 0 {
		return nil, errors.New("no ports to listen on")
	}
	store, err := kdb.Open(cfg.DBName, kdb.ReadOnly)
	if err != nil {
		return nil, err
	}
	mkeys, err := cfg.FetchMasterKeys(ctx, store, in)
	if err != nil {
		store.Close()
		return nil, err
	}
	k.stores = append(k.stores, store)
	k.udp, k.tcp = append(k.udp, udp...), append(k.tcp, tcp...)
	db := kdc.NewStoreDatabase(store, mkeys)
	db.Log = k.log
	k.dbs = append(k.dbs, db)
	h := &kdc.Handler{DB: db, Log: k.log}
	h.Configure(rs, kd)
	if skew > 0 {
		h.ClockSkew = skew
	}
	if o.timeOffset != 0 {
		// -T: act as if the clock were off by this much (MIT's test aid).
		h.Now = func() time.Time { return time.Now().Add(o.timeOffset) }
	}
	return h, nil
}

// hasRealmSetting reports whether the realm's [realms] entry sets one of
// names.
func hasRealmSetting(cfg *realm.Config, names ...string) bool {
	for _, n := range names {
		if _, ok := cfg.Profile.Value("realms", cfg.Realm, n); ok {
			return true
		}
	}
	return false
}
