package kdc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/krb5prop/krb5prop/kdb"
)

// lockoutFlushDelay is how long counter updates gather before they are
// written together. Every successful AS request of a principal that
// requires preauthentication records its time, as MIT's KDC does; one
// SQLite commit per request cost more than the rest of the request, and
// on the request path it put checkpoint stalls into the AS latency.
const lockoutFlushDelay = 5 * time.Millisecond

// lockoutWriter writes the KDC's lockout counters behind the requests, in
// batches. Reads see the counters not yet written, so a count is never
// lost between two requests; what a crash of the process loses is the
// last few milliseconds of counts, where MIT's DB2 file would keep them in
// the page cache (neither forces them to disk).
type lockoutWriter struct {
	store    *kdb.Store
	logError func(string)

	mu       sync.Mutex
	pending  map[string]kdb.Lockout // not yet handed to a write
	inflight map[string]kdb.Lockout // being written
	running  bool
	closing  sync.Once
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

func newLockoutWriter(store *kdb.Store, logError func(string)) *lockoutWriter {
	return &lockoutWriter{store: store, logError: logError, pending: map[string]kdb.Lockout{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// get returns the counters of name that are not yet in the store.
func (w *lockoutWriter) get(name string) (kdb.Lockout, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l, ok := w.pending[name]; ok {
		return l, true
	}
	l, ok := w.inflight[name]
	return l, ok
}

// put queues name's counters for the next write.
func (w *lockoutWriter) put(name string, l kdb.Lockout) {
	w.mu.Lock()
	w.pending[name] = l
	if !w.running {
		w.running = true
		go w.run()
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *lockoutWriter) run() {
	defer close(w.done)
	for {
		select {
		case <-w.wake:
		case <-w.stop:
			w.flush()
			return
		}
		select {
		case <-time.After(lockoutFlushDelay):
		case <-w.stop:
			w.flush()
			return
		}
		w.flush()
	}
}

// flush writes what is pending in one transaction. Counters that fail to
// be written go back to pending, unless newer ones came meanwhile, and
// are tried again with the next batch.
func (w *lockoutWriter) flush() {
	w.mu.Lock()
	batch := w.pending
	if len(batch) == 0 {
		w.mu.Unlock()
		return
	}
	w.pending, w.inflight = map[string]kdb.Lockout{}, batch
	w.mu.Unlock()
	err := w.store.SetLockouts(context.Background(), batch)
	w.mu.Lock()
	w.inflight = nil
	if err != nil {
		for name, l := range batch {
			if _, newer := w.pending[name]; !newer {
				w.pending[name] = l
			}
		}
	}
	w.mu.Unlock()
	if err != nil {
		w.logError(fmt.Sprintf("lockout: %v", err))
	}
}

// close writes what is pending and stops the writer.
func (w *lockoutWriter) close() {
	w.closing.Do(func() {
		w.mu.Lock()
		running := w.running
		w.mu.Unlock()
		if !running {
			w.flush()
			return
		}
		close(w.stop)
		<-w.done
	})
}
