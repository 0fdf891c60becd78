package replica

import (
	"context"
	"errors"
	"iter"
	"sync"
)

// Plugin is the vendor side of a secondary replica: the callouts of RFC
// 83.0, with Kerberos data. A method's error is its outcome: nil is
// success, ErrRequestReinit (or an error wrapping it) asks for a full
// delivery, and any other error, ErrCantProcess included, means the
// infrastructure keeps the changes and tries again later.
type Plugin interface {
	// AuthInit is called before the first Apply or InitReinit of each
	// process: log in to the foreign registry.
	AuthInit(ctx context.Context, id Identity) error
	// Apply makes the foreign registry hold the changes. d.Changes yields
	// them in delivery order; the plugin may stop early.
	Apply(ctx context.Context, d *Delivery) error
	// InitReinit comes before a full delivery: forget what the foreign
	// registry holds for this replica.
	InitReinit(ctx context.Context, id Identity) error
	// Stop says the replica's service is interrupted: kpropd is shutting
	// down, or an admin stopped it.
	Stop(ctx context.Context, id Identity) error
	// Destroy says the replica is being removed for good.
	Destroy(ctx context.Context, id Identity) error
}

// Identity names a secondary replica to its plugin.
type Identity struct {
	Name  string
	UUID  string
	Realm string
}

// Delivery is one apply: the header and the changes.
type Delivery struct {
	Header
	// Changes yields each change once, in order. Iterating it reads the
	// database; it may be ranged over once.
	Changes iter.Seq[*Change]
	err     error
}

// Err reports what stopped Changes before the last change (the database
// could not be read), nil if nothing did. A delivery cut short fails
// whatever the plugin answers.
func (d *Delivery) Err() error { return d.err }

// The outcomes a plugin can return besides success.
var (
	// ErrCantProcess: keep the changes, retry with back-off.
	ErrCantProcess = errors.New("can't process")
	// ErrRequestReinit: run InitReinit, then deliver the whole database.
	ErrRequestReinit = errors.New("reinit requested")
)

// NewPlugin makes a compiled-in plugin for one configured replica.
type NewPlugin func(Config) (Plugin, error)

var (
	registryMu sync.Mutex
	registry   = map[string]NewPlugin{}
)

// Register makes a compiled-in plugin available under name, for a
// `plugin = name` relation. It is meant for the main package of a custom
// build, before the configuration is read; registering a name twice
// panics, as a build mistake.
func Register(name string, f NewPlugin) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("replica: plugin " + name + " registered twice")
	}
	registry[name] = f
}

func registered(name string) (NewPlugin, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	f, ok := registry[name]
	return f, ok
}
