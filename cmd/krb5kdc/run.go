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
)

// run is krb5kdc after its command line was read; it returns the exit
// status.
func run(ctx context.Context, o options) int {
	if len(o.realms) > 1 {
		// MIT serves several realms from one process; our Handler serves
		// one. Refuse rather than silently drop a realm.
		fmt.Fprintf(os.Stderr, "%s: serving more than one realm (-r %s) is not supported\n", o.prog, o.realms[1])
		return 1
	}
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

	srv := &kdc.Server{Handler: k.h, Log: log, UDPWorkers: o.workers}
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
		// systemd socket activation (Accept=no): TCP listeners only.
		err = srv.Serve(ctx, nil, act.Listeners, started)
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

// kdcProcess is a configured KDC: its engine, database, logs and
// addresses.
type kdcProcess struct {
	h        *kdc.Handler
	log      *slog.Logger
	sinks    *logSinks
	store    *kdb.Store
	udp, tcp []string
}

func (k *kdcProcess) close() {
	k.store.Close()
	k.sinks.Close()
}

// newKDC reads the profile, opens the logs, the database and its master
// key, and configures the handler, as MIT's init_realm does.
func newKDC(ctx context.Context, o options) (*kdcProcess, error) {
	ro := realm.Options{DBName: o.dbName, DBArgs: o.dbArgs, MKeyName: o.mkeyName,
		MKeyType: o.mkeyType, FromKeyboard: o.fromKeyboard, Env: os.Getenv}
	if len(o.realms) == 1 {
		ro.Realm = o.realms[0]
	}
	cfg, err := realm.Load(ro)
	if err != nil {
		return nil, err
	}
	logging, err := cfg.Profile.Logging("kdc")
	if err != nil {
		return nil, err
	}
	log, sinks, err := newLogger("krb5kdc", logging)
	if err != nil {
		return nil, err
	}
	k := &kdcProcess{log: log, sinks: sinks}
	fail := func(err error) (*kdcProcess, error) {
		log.Error(fmt.Sprintf("%v while initializing database for realm %s", err, cfg.Realm))
		if k.store != nil {
			k.store.Close()
		}
		sinks.Close()
		return nil, fmt.Errorf("cannot initialize realm %s - see log file for details", cfg.Realm)
	}
	rs, err := cfg.Profile.Realm(cfg.Realm)
	if err != nil {
		return fail(err)
	}
	kd, err := cfg.Profile.KDCDefaults()
	if err != nil {
		return fail(err)
	}
	skew, err := cfg.Profile.ClockSkew()
	if err != nil {
		return fail(err)
	}
	if k.store, err = kdb.Open(cfg.DBName, kdb.ReadOnly); err != nil {
		return fail(err)
	}
	var in *prompt.Reader
	if o.fromKeyboard {
		in = prompt.New(os.Stdin, os.Stderr)
	}
	mkeys, err := cfg.FetchMasterKeys(ctx, k.store, in)
	if err != nil {
		return fail(err)
	}
	k.h = &kdc.Handler{DB: kdc.NewStoreDatabase(k.store, mkeys), Log: log}
	k.h.Configure(rs, kd)
	if skew > 0 {
		k.h.ClockSkew = skew
	}
	if o.timeOffset != 0 {
		// -T: act as if the clock were off by this much (MIT's test aid).
		k.h.Now = func() time.Time { return time.Now().Add(o.timeOffset) }
	}
	k.udp, k.tcp = rs.KDCListen, rs.KDCTCPListen
	if o.port != "" {
		// -p replaces the [kdcdefaults] ports; a realm's own kdc_listen
		// (or kdc_ports) still wins, as in MIT's init_realm.
		if !hasRealmSetting(cfg, "kdc_listen", "kdc_ports") {
			k.udp = []string{o.port}
		}
		if !hasRealmSetting(cfg, "kdc_tcp_listen", "kdc_tcp_ports") {
			k.tcp = []string{o.port}
		}
	}
	if len(k.udp) == 0 && len(k.tcp) == 0 {
		return fail(errors.New("no ports to listen on"))
	}
	return k, nil
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
