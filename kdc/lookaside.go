package kdc

import (
	"container/list"
	"sync"
)

// staleTime is how long a reply stays in the lookaside cache, in seconds
// (MIT replay.c STALE_TIME, two minutes).
const staleTime = 2 * 60

// entryOverhead approximates the memory of one cache entry beyond its
// request and reply bytes, as MIT counts sizeof(struct entry).
const entryOverhead = 96

// lookaside is MIT's lookaside cache (replay.c): the replies to recent
// requests, keyed by the request bytes, so that a retransmitted request
// gets the same reply instead of being processed again (which would, for
// one, count a wrong password twice). An entry without a reply marks a
// request being processed; a retransmission of it is dropped. Entries
// expire after two minutes and the oldest go first when the cache would
// exceed its size.
type lookaside struct {
	mu      sync.Mutex
	max     int
	size    int
	entries map[string]*list.Element
	order   *list.List // of *lookasideEntry, oldest first
}

type lookasideEntry struct {
	req    string
	reply  []byte
	done   bool
	timeIn uint32
}

func newLookaside(max int) *lookaside {
	return &lookaside{max: max, entries: map[string]*list.Element{}, order: list.New()}
}

func (e *lookasideEntry) size() int { return entryOverhead + len(e.req) + len(e.reply) }

// get returns the cached reply for req; done is false while the request is
// still being processed.
func (c *lookaside) get(req string, now uint32) (reply []byte, done, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[req]
	if !ok {
		return nil, false, false
	}
	e := el.Value.(*lookasideEntry)
	if tsAfter(now, tsIncr(e.timeIn, staleTime)) {
		c.remove(el)
		return nil, false, false
	}
	return e.reply, e.done, true
}

// begin marks req as being processed.
func (c *lookaside) begin(req string, now uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.insert(&lookasideEntry{req: req, timeIn: now})
}

// finish replaces the in-progress entry of req by its reply, or removes it
// when there is none.
func (c *lookaside) finish(req string, reply []byte, now uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[req]; ok {
		c.remove(el)
	}
	if reply != nil {
		c.insert(&lookasideEntry{req: req, reply: reply, done: true, timeIn: now})
	}
}

// insert adds e after purging stale entries and, oldest first, as many
// others as it takes to stay within the size (kdc_insert_lookaside). An
// entry larger than the whole cache is not kept.
func (c *lookaside) insert(e *lookasideEntry) {
	sz := e.size()
	for el := c.order.Front(); el != nil; el = c.order.Front() {
		old := el.Value.(*lookasideEntry)
		if !tsAfter(e.timeIn, tsIncr(old.timeIn, staleTime)) && c.size+sz <= c.max {
			break
		}
		c.remove(el)
	}
	if sz > c.max {
		return
	}
	if el, ok := c.entries[e.req]; ok {
		c.remove(el)
	}
	c.entries[e.req] = c.order.PushBack(e)
	c.size += sz
}

func (c *lookaside) remove(el *list.Element) {
	e := el.Value.(*lookasideEntry)
	c.order.Remove(el)
	delete(c.entries, e.req)
	c.size -= e.size()
}
