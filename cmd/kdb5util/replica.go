package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/krb5prop/krb5prop/kdb"
	"github.com/krb5prop/krb5prop/replica"
)

const replicaUsage = `Usage: kdb5_util [-r realm] replica list
	replica info name
	replica retry [name]
	replica reinit name
	replica stop name
	replica start name
	replica destroy name
`

// replicaCmd is the admin side of the secondary replicas of the realm
// (RFC 83.0's info, stop and destroy, and what an operator needs besides:
// a retry now, a reinit, a start). It works on the state files kpropd
// keeps, taking each replica's lock, so it can run beside kpropd.
func (e *env) replicaCmd(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, replicaUsage)
		return failed
	}
	op, names := args[0], args[1:]
	configs, err := replica.Configs(e.cfg.Profile, e.cfg.Realm, e.cfg.DBName)
	if err != nil {
		return e.errorf("%v", err)
	}
	if op == "list" {
		if len(names) != 0 {
			fmt.Fprint(e.stderr, replicaUsage)
			return failed
		}
		return e.replicaList(configs)
	}
	wantName := op != "retry" || len(names) > 0
	if wantName && len(names) != 1 || len(names) > 1 {
		fmt.Fprint(e.stderr, replicaUsage)
		return failed
	}
	var targets []replica.Config
	for _, c := range configs {
		if len(names) == 0 || c.Name == names[0] {
			targets = append(targets, c)
		}
	}
	if len(names) == 1 && len(targets) == 0 {
		return e.errorf("no secondary replica %q for realm %s in [%s]", names[0], e.cfg.Realm, replica.Section)
	}
	src := replica.Source{DBPath: e.cfg.DBName, MasterKeys: func(ctx context.Context, store *kdb.Store) (*kdb.MasterKeys, error) {
		return e.cfg.FetchMasterKeys(ctx, store, e.in)
	}}
	status := error(nil)
	for _, c := range targets {
		r, err := replica.New(c, src, nil)
		if err != nil {
			return e.errorf("%v", err)
		}
		if err := e.replicaOp(op, r); err != nil {
			status = err
		}
	}
	return status
}

// replicaOp runs one operation on one replica and says what it did.
func (e *env) replicaOp(op string, r *replica.Replica) error {
	ctx := e.ctx
	var rep replica.Report
	var err error
	switch op {
	case "info":
		return e.replicaInfo(r)
	case "retry":
		rep, err = r.Deliver(ctx)
	case "reinit":
		rep, err = r.Reinit(ctx)
	case "start":
		rep, err = r.Start(ctx)
	case "stop":
		if err := r.Stop(ctx, true); err != nil {
			return e.errorf("secondary replica %s: %v", r.Name(), err)
		}
		fmt.Fprintf(e.stdout, "Secondary replica %s stopped.\n", r.Name())
		return nil
	case "destroy":
		if err := r.Destroy(ctx); err != nil {
			return e.errorf("secondary replica %s: %v", r.Name(), err)
		}
		fmt.Fprintf(e.stdout, "Secondary replica %s destroyed.\n", r.Name())
		return nil
	default:
		fmt.Fprint(e.stderr, replicaUsage)
		return failed
	}
	if err != nil {
		return e.errorf("secondary replica %s: %v", r.Name(), err)
	}
	switch {
	case rep.State == replica.Stopped:
		fmt.Fprintf(e.stdout, "Secondary replica %s is stopped; nothing delivered (kdb5_util replica start %s).\n", r.Name(), r.Name())
	case rep.Delivered && rep.Reinit:
		fmt.Fprintf(e.stdout, "Secondary replica %s: delivered the whole database, %d records (sequence %d).\n", r.Name(), rep.Changes, rep.Seq)
	case rep.Delivered:
		fmt.Fprintf(e.stdout, "Secondary replica %s: delivered %d changes (sequence %d).\n", r.Name(), rep.Changes, rep.Seq)
	default:
		fmt.Fprintf(e.stdout, "Secondary replica %s: up to date (sequence %d).\n", r.Name(), rep.Seq)
	}
	return nil
}

func (e *env) replicaList(configs []replica.Config) error {
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATE\tSEQUENCE\tLAST DELIVERY\tNEXT RETRY")
	for _, c := range configs {
		r, err := replica.New(c, replica.Source{DBPath: e.cfg.DBName, MasterKeys: noMasterKeys}, nil)
		if err != nil {
			return e.errorf("%v", err)
		}
		info, err := r.Info()
		if err != nil {
			return e.errorf("secondary replica %s: %v", c.Name, err)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", c.Name, info.State, info.Seq, timeText(info.SeqTime), timeText(info.NextRetry))
	}
	return w.Flush()
}

// noMasterKeys stands in where only state is read.
func noMasterKeys(context.Context, *kdb.Store) (*kdb.MasterKeys, error) {
	return nil, errors.New("master key not read")
}

func (e *env) replicaInfo(r *replica.Replica) error {
	info, err := r.Info()
	if err != nil {
		return e.errorf("secondary replica %s: %v", r.Name(), err)
	}
	uuid := info.UUID
	if !info.Used {
		uuid = "(none yet: made at the first delivery)"
	}
	state := string(info.State)
	if info.Reinit && info.State != replica.ReinitRequested {
		state += " (reinit requested)"
	}
	lines := [][2]string{
		{"Secondary replica", info.Name},
		{"UUID", uuid},
		{"Realm", info.Realm},
		{"Plugin", info.Plugin},
		{"State", state},
		{"Update sequence", seqText(info.Seq, info.SeqTime)},
		{"Previous update sequence", seqText(info.PrevSeq, info.PrevTime)},
		{"Last attempt", timeText(info.LastAttempt)},
		{"Changes in last attempt", fmt.Sprint(info.LastChanges)},
		{"Failed attempts", fmt.Sprint(info.Retries)},
		{"Next retry", timeText(info.NextRetry)},
		{"Last error", orDash(info.LastError)},
		{"Last error time", timeText(info.LastErrorTime)},
		{"State directory", info.StateDir},
	}
	for _, l := range lines {
		fmt.Fprintf(e.stdout, "%s: %s\n", l[0], l[1])
	}
	return nil
}

func seqText(seq uint64, t time.Time) string {
	if seq == 0 {
		return "0 (none)"
	}
	return fmt.Sprintf("%d (%s)", seq, timeText(t))
}

// timeText prints times as kadmin prints dates, in UTC so that output
// compares across hosts.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
