package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/daemon"
	"github.com/krb5prop/krb5prop/internal/initcreds"
	"github.com/krb5prop/krb5prop/internal/keytab"
	"github.com/krb5prop/krb5prop/internal/realm"
	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/kdb/dump"
	"github.com/krb5prop/krb5prop/propagation"
	"github.com/krb5prop/krb5prop/replica"
)

// dumpIpropFormat is the format kpropd loads with -i.
const dumpIpropFormat = dump.Iprop

const (
	kpropService = "krb5_prop"
	kpropPort    = 754
)

// run is kpropd after its command line was read; it returns the exit
// status.
func run(ctx context.Context, o options) int {
	// How we were started comes first: under inetd the connection is also
	// standard error, which nothing may write to before it is silenced.
	act, err := daemon.Detect()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
		return 1
	}
	if len(act.PacketConns) > 0 {
		// kprop connects over TCP; a datagram socket is a unit file
		// mistake, better said now than by a kpropd that never answers.
		fmt.Fprintf(os.Stderr, "%s: passed a datagram socket; kpropd listens on a stream socket (ListenStream=)\n", o.prog)
		return 1
	}
	if act.Conn != nil {
		daemon.SilenceStdio(act.Conn)
	}
	// A standalone daemon detaches before anything else, so only the
	// child reads the configuration and binds the port, and what fails
	// there still reaches the terminal before the parent exits.
	ready := func() {}
	if act.Standalone() && !o.noDaemon {
		if ready, err = daemon.Detach(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
			return 1
		}
	}
	log := daemon.NewLogger("kpropd", os.Stderr, o.debug)
	srv, err := newServer(ctx, o, log)
	if err != nil {
		log.Error(o.prog + ": " + err.Error())
		if !o.debug {
			fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
		}
		return 1
	}
	switch {
	case act.Conn != nil:
		// inetd "nowait" or systemd Accept=yes: one connection, then exit.
		return srv.serveOne(ctx, act.Conn)
	case len(act.Listeners) > 0:
		daemon.NotifyReady()
		return srv.serveLoop(ctx, act.Listeners[0], o.once)
	}
	l, err := listen(o.port)
	if err != nil {
		log.Error(o.prog + ": " + err.Error())
		if !o.debug {
			fmt.Fprintf(os.Stderr, "%s: %v\n", o.prog, err)
		}
		return 1
	}
	if o.pidFile != "" {
		if err := daemon.WritePIDFile(o.pidFile); err != nil {
			log.Error(fmt.Sprintf("Could not write pid file %s: %v", o.pidFile, err))
			return 1
		}
		defer os.Remove(o.pidFile)
	}
	if o.noDaemon {
		// MIT prints this sentinel for tests and service scripts.
		fmt.Println("ready")
	}
	ready()
	daemon.NotifyReady()
	return srv.serveLoop(ctx, l, o.once)
}

// server is a configured kpropd.
type server struct {
	prog string
	cfg  *propagation.ServerConfig
	log  *slog.Logger
	// replicas gets each committed load, after kprop has its answer;
	// nil when no secondary replica follows this realm.
	replicas *replica.Dispatcher
}

func newServer(ctx context.Context, o options, log *slog.Logger) (*server, error) {
	cfg, err := realm.Load(realm.Options{Realm: o.realm, DBName: o.dbName, DBArgs: o.dbArgs, Env: os.Getenv})
	if err != nil {
		return nil, err
	}
	rs, err := cfg.Profile.Realm(cfg.Realm)
	if err != nil {
		return nil, err
	}
	host, err := initcreds.LocalHost(ctx, cfg.Profile)
	if err != nil {
		return nil, fmt.Errorf("%w while trying to construct my service name", err)
	}
	acceptor := types.PrincipalName{NameType: nametype.KRB_NT_SRV_HST, NameString: []string{"host", host}}
	ktName := o.keytab
	if ktName == "" {
		ktName = defaultKeytabName(cfg)
	}
	entries, err := keytab.Read(ktName)
	if err != nil {
		return nil, fmt.Errorf("Error in krb5_kt_resolve: %w", err)
	}
	rcPath, disabled, err := propagation.DefaultReplayCachePath(os.Getenv, profileValue(cfg, "libdefaults", "default_rcache_name"), os.Geteuid())
	if err != nil {
		return nil, err
	}
	var rc *propagation.ReplayCache
	if !disabled {
		rc = propagation.NewReplayCache(rcPath, nil)
	}
	store := &fileStore{file: o.file, realm: cfg.Realm, dbName: o.dbName, program: o.program, log: log}
	if store.dbName == "" {
		store.dbName = cfg.DBName
	}
	skew, err := cfg.Profile.ClockSkew()
	if err != nil {
		return nil, err
	}
	replicas, err := secondaryReplicas(cfg, store.dbName, log)
	if err != nil {
		return nil, err
	}
	return &server{prog: o.prog, log: log, replicas: replicas, cfg: &propagation.ServerConfig{
		Realm: cfg.Realm, Acceptor: acceptor,
		Keys:    propagation.KeytabKeys(entries, keytab.Principal{Components: acceptor.NameString, Realm: cfg.Realm}),
		ACLPath: o.acl, Replay: rc, Overall: rs.IpropResyncTimeout, Skew: skew, Store: store, Log: log,
	}}, nil
}

// secondaryReplicas reads [secondary_replicas] for the realm, so that a
// mistake there stops kpropd at start rather than failing each load.
func secondaryReplicas(cfg *realm.Config, dbName string, log *slog.Logger) (*replica.Dispatcher, error) {
	configs, err := replica.Configs(cfg.Profile, cfg.Realm, dbName)
	if err != nil {
		return nil, err
	}
	if len(configs) == 0 {
		return nil, nil
	}
	src := replica.Source{DBPath: dbName, MasterKeys: func(ctx context.Context, store *kdb.Store) (*kdb.MasterKeys, error) {
		return cfg.FetchMasterKeys(ctx, store, nil)
	}}
	var rs []*replica.Replica
	for _, c := range configs {
		r, err := replica.New(c, src, log)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return replica.NewDispatcher(rs), nil
}

func profileValue(cfg *realm.Config, path ...string) string {
	v, _ := cfg.Profile.Value(path...)
	return v
}

// defaultKeytabName is MIT's default keytab: KRB5_KTNAME, else
// [libdefaults] default_keytab_name, else FILE:/etc/krb5.keytab.
func defaultKeytabName(cfg *realm.Config) string {
	if v := os.Getenv("KRB5_KTNAME"); v != "" {
		return v
	}
	if v := profileValue(cfg, "libdefaults", "default_keytab_name"); v != "" {
		return v
	}
	return "FILE:/etc/krb5.keytab"
}

// listen opens kpropd's own listener as MIT does: IPv6 dual-stack on the
// -P port (a name or number), else the krb5_prop service, else 754;
// IPv4 when the host has no IPv6.
func listen(port string) (net.Listener, error) {
	p := kpropPort
	if port != "" {
		n, err := net.LookupPort("tcp", port)
		if err != nil {
			return nil, fmt.Errorf("getaddrinfo: %w", err)
		}
		p = n
	} else if n, err := net.LookupPort("tcp", kpropService); err == nil {
		p = n
	}
	l, err := net.Listen("tcp", "[::]:"+strconv.Itoa(p))
	if err != nil {
		l, err = net.Listen("tcp4", "0.0.0.0:"+strconv.Itoa(p))
	}
	if err != nil {
		// MIT's wording: the system's message for the cause alone.
		var errno syscall.Errno
		if errors.As(err, &errno) {
			s := errno.Error()
			return nil, &bindError{msg: strings.ToUpper(s[:1]) + s[1:] + " while binding listener socket", err: errno}
		}
		return nil, fmt.Errorf("%w while binding listener socket", err)
	}
	return l, nil
}

// bindError is MIT's message for a port kpropd cannot bind, keeping the
// cause for errors.Is.
type bindError struct {
	msg string
	err error
}

func (e *bindError) Error() string { return e.msg }
func (e *bindError) Unwrap() error { return e.err }

// serveOne handles one passed connection; the exit status says whether
// the propagation succeeded. The secondary replicas get the load after
// the connection is closed, so kprop is not kept waiting; retries wait for
// the next load or kdb5util replica retry.
func (s *server) serveOne(ctx context.Context, conn net.Conn) int {
	err := s.cfg.Serve(ctx, conn)
	conn.Close()
	if err != nil {
		return 1
	}
	if s.replicas != nil {
		s.replicas.DeliverAll(ctx)
	}
	return 0
}

// serveLoop accepts propagations one at a time, as MIT's kpropd does
// (it waits for each session's child before accepting again).
func (s *server) serveLoop(ctx context.Context, l net.Listener, once bool) int {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	if s.replicas != nil {
		// The secondary replicas run beside the propagations: each load
		// is handed over once kprop has its answer, and failed deliveries
		// are retried on their schedule. On the way out, wait for their
		// stop callouts.
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			s.replicas.Run(rctx)
			close(done)
		}()
		defer func() {
			cancel()
			<-done
		}()
	}
	for {
		s.log.Debug("waiting for a kprop connection")
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				daemon.NotifyStopping()
				return 0
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error(s.prog + ": " + err.Error() + " while accepting connection")
			return 1
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetKeepAlive(true)
		}
		err = s.cfg.Serve(ctx, conn) // Serve logs the outcome
		conn.Close()
		if err == nil && s.replicas != nil {
			s.replicas.Loaded()
		}
		if once || ctx.Err() != nil {
			return 0
		}
	}
}
