package replica

import (
	"context"
	"sync"
	"time"
)

// stopTimeout bounds the plugins' stop step when kpropd shuts down.
const stopTimeout = 30 * time.Second

// Dispatcher hands kpropd's committed loads to its secondary replicas,
// each on its own goroutine, so a slow or failing plugin delays neither
// the acknowledgement to kprop nor the other replicas.
type Dispatcher struct {
	replicas []*Replica
	kicks    []chan struct{}
}

// NewDispatcher returns a Dispatcher for replicas.
func NewDispatcher(replicas []*Replica) *Dispatcher {
	d := &Dispatcher{replicas: replicas, kicks: make([]chan struct{}, len(replicas))}
	for i := range d.kicks {
		d.kicks[i] = make(chan struct{}, 1)
	}
	return d
}

// Loaded tells every replica that a load committed. It never blocks:
// loads that come while a delivery runs are covered by one more delivery
// after it.
func (d *Dispatcher) Loaded() {
	for _, k := range d.kicks {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// Run delivers after each Loaded and when a failed delivery's retry is
// due, until ctx is done; then it tells each plugin its service stops. It
// starts with a delivery to each replica, so changes a restart left
// undelivered go out at once.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, r := range d.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.serve(ctx, r, d.kicks[i])
		}()
	}
	wg.Wait()
}

func (d *Dispatcher) serve(ctx context.Context, r *Replica, kick <-chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
			if err := r.Stop(stop, false); err != nil {
				r.log.Error("secondary replica " + r.Name() + ": stop: " + err.Error())
			}
			cancel()
			return
		case <-kick:
		case <-timer.C:
		}
		r.Deliver(ctx) // logs its outcome
		timer.Stop()
		if next := r.NextRetry(); !next.IsZero() {
			timer.Reset(max(time.Until(next), 0))
		}
	}
}

// DeliverAll delivers to each replica in turn, for a kpropd that serves
// one connection and exits (inetd): retries then wait for the next load
// or kdb5util replica retry.
func (d *Dispatcher) DeliverAll(ctx context.Context) {
	for _, r := range d.replicas {
		r.Deliver(ctx)
	}
}
