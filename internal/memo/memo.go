// Package memo keeps values that are costly to compute and cheap to keep,
// such as derived and decrypted keys, in a bounded map that is emptied
// when full: no bookkeeping on the hot path, and a working set that fits
// stays.
package memo

import "sync"

// Map is a bounded map from string keys to values, safe for concurrent
// use. The zero value is not usable; make one with New.
type Map[V any] struct {
	max int
	mu  sync.RWMutex
	m   map[string]V
}

// New returns a Map that holds at most max values.
func New[V any](max int) *Map[V] {
	return &Map[V]{max: max, m: make(map[string]V)}
}

// Get returns the value stored under key.
func (c *Map[V]) Get(key string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[key]
	c.mu.RUnlock()
	return v, ok
}

// Put stores v under key, first emptying the map if it is full.
func (c *Map[V]) Put(key string, v V) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		c.m = make(map[string]V, c.max)
	}
	c.m[key] = v
	c.mu.Unlock()
}

// Len returns how many values the map holds.
func (c *Map[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
