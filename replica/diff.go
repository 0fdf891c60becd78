package replica

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/krb5prop/krb5prop/kdb"
)

// plan is a delivery worked out before the plugin runs: the policy
// changes (a realm has few), the principal changes spooled to a file by
// name (no keys: the records are read again when the plugin takes them),
// and the snapshot the plugin acknowledges by succeeding.
type plan struct {
	full          bool
	policyChanges []*Change // adds and replaces
	policyDeletes []*Change
	spool         string // principal changes, one spoolEntry per line; "" for a full delivery
	principals    int    // how many principal changes
	snapshot      string // the new snapshot, to be renamed into place on success
}

// spoolEntry is a principal change without its record.
type spoolEntry struct {
	Op      Op     `json:"op"`
	Name    string `json:"name"`
	Parts   []Part `json:"parts,omitempty"`
	OldKVNO int    `json:"old_kvno,omitempty"`
}

// changes counts the plan's changes.
func (p *plan) changes() int {
	return len(p.policyChanges) + len(p.policyDeletes) + p.principals
}

// makePlan compares the view of the database with the acknowledged
// snapshot old (nil for a full delivery) in one pass over both, both in
// name order, writing the spool and the new snapshot as it goes.
func (r *Replica) makePlan(ctx context.Context, v *kdb.View, old *snapshotReader, seq sequence) (pl *plan, err error) {
	pl = &plan{full: old == nil, snapshot: r.path(snapshotFile + ".new")}
	var policies []*kdb.Policy
	if err := v.Policies(ctx, func(p *kdb.Policy) error {
		policies = append(policies, p)
		return nil
	}); err != nil {
		return nil, err
	}
	prints := make([]policyPrint, len(policies))
	for i, p := range policies {
		prints[i] = printPolicy(p)
	}
	pl.policyChanges, pl.policyDeletes = diffPolicies(old, policies, prints)

	sw, err := createSnapshot(pl.snapshot, seq, prints)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			sw.abandon()
		}
	}()
	if pl.full {
		err = v.Principals(ctx, false, func(p *kdb.Principal) error {
			pp := printPrincipal(p)
			pl.principals++
			return sw.add(&pp)
		})
		if err != nil {
			return nil, err
		}
		return pl, sw.finish()
	}

	pl.spool = r.path(spoolFile)
	f, err := os.OpenFile(pl.spool, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	emit := func(e spoolEntry) error {
		pl.principals++
		return enc.Encode(e)
	}
	prev, err := old.next()
	if err != nil {
		return nil, err
	}
	err = v.Principals(ctx, false, func(p *kdb.Principal) error {
		cur := printPrincipal(p)
		if err := sw.add(&cur); err != nil {
			return err
		}
		for prev != nil && prev.name < cur.name {
			if err := emit(spoolEntry{Op: PrincipalDelete, Name: prev.name}); err != nil {
				return err
			}
			if prev, err = old.next(); err != nil {
				return err
			}
		}
		if prev == nil || prev.name > cur.name {
			return emit(spoolEntry{Op: PrincipalAdd, Name: cur.name})
		}
		parts := changedParts(prev, &cur)
		e := spoolEntry{Op: PrincipalReplace, Name: cur.name, Parts: parts}
		if cur.kvno > prev.kvno {
			e.Op, e.OldKVNO = PrincipalAddKeyVersion, int(prev.kvno)
		}
		if prev, err = old.next(); err != nil {
			return err
		}
		if len(parts) == 0 {
			return nil
		}
		return emit(e)
	})
	for err == nil && prev != nil {
		if err = emit(spoolEntry{Op: PrincipalDelete, Name: prev.name}); err == nil {
			prev, err = old.next()
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = sw.finish()
	}
	if err != nil {
		os.Remove(pl.spool)
		return nil, err
	}
	return pl, nil
}

// diffPolicies compares the policies now with the snapshot's (all adds
// when old is nil), each list in name order.
func diffPolicies(old *snapshotReader, policies []*kdb.Policy, prints []policyPrint) (changes, deletes []*Change) {
	before := map[string]fingerprint{}
	if old != nil {
		for _, p := range old.policies {
			before[p.name] = p.print
		}
	}
	for i, p := range policies {
		was, ok := before[p.Name]
		switch {
		case !ok:
			changes = append(changes, &Change{Op: PolicyAdd, Name: p.Name, Policy: policyRecord(p)})
		case was != prints[i].print:
			changes = append(changes, &Change{Op: PolicyReplace, Name: p.Name, Policy: policyRecord(p)})
		}
		delete(before, p.Name)
	}
	for name := range before {
		deletes = append(deletes, &Change{Op: PolicyDelete, Name: name})
	}
	sort.Slice(deletes, func(i, j int) bool { return deletes[i].Name < deletes[j].Name })
	return changes, deletes
}

// errStopped ends a scan when the plugin stops taking changes.
var errStopped = errors.New("plugin stopped reading")

// delivery turns the plan into the changes a plugin takes, reading each
// principal's record from the view as it goes; mkeys, when set, decrypts
// the keys into the records.
func (pl *plan) delivery(ctx context.Context, h Header, v *kdb.View, mkeys *kdb.MasterKeys) *Delivery {
	d := &Delivery{Header: h}
	d.Changes = func(yield func(*Change) bool) {
		for _, c := range pl.policyChanges {
			if !yield(c) {
				return
			}
		}
		var err error
		if pl.full {
			err = v.Principals(ctx, false, func(p *kdb.Principal) error {
				rec, err := principalRecord(p, mkeys)
				if err != nil {
					return err
				}
				if !yield(&Change{Op: PrincipalAdd, Name: rec.Name, Principal: rec}) {
					return errStopped
				}
				return nil
			})
		} else {
			err = pl.spooled(ctx, v, mkeys, yield)
		}
		if errors.Is(err, errStopped) {
			return
		}
		if err != nil {
			d.err = err
			return
		}
		for _, c := range pl.policyDeletes {
			if !yield(c) {
				return
			}
		}
	}
	return d
}

// spooled yields the spooled principal changes with their records.
func (pl *plan) spooled(ctx context.Context, v *kdb.View, mkeys *kdb.MasterKeys, yield func(*Change) bool) error {
	f, err := os.Open(pl.spool)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var e spoolEntry
		if err := dec.Decode(&e); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", pl.spool, err)
		}
		c := &Change{Op: e.Op, Name: e.Name, Parts: e.Parts, OldKVNO: e.OldKVNO}
		if e.Op != PrincipalDelete {
			p, err := v.Get(ctx, e.Name)
			if err != nil {
				return err
			}
			if c.Principal, err = principalRecord(p, mkeys); err != nil {
				return err
			}
		}
		if !yield(c) {
			return errStopped
		}
	}
}

// discard removes the plan's files.
func (pl *plan) discard() {
	if pl.spool != "" {
		os.Remove(pl.spool)
	}
	os.Remove(pl.snapshot)
}
