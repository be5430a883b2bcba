package trafficmanager

import (
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v3"

	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// Counters: one per throttle key, each holding the leases of its current and next window.

// ckey identifies a counter: a level and up to four parts (ids, names), plus the condition
// group of an ADVANCED policy (-1 for the default limit).
type ckey struct {
	lvl        level
	group      int16
	a, b, c, d string
}

var keyEscaper = strings.NewReplacer("%", "%25", "|", "%7C")

// redisKey is the counter's name shared by every gateway and traffic manager.
func (k ckey) redisKey() string {
	parts := []string{levelNames[k.lvl]}
	for _, s := range []string{k.a, k.b, k.c, k.d} {
		parts = append(parts, keyEscaper.Replace(s))
	}
	if k.group >= 0 {
		parts = append(parts, "g"+strconv.Itoa(int(k.group)))
	}
	return strings.Join(parts, "|")
}

// counters is the gateway's table of counters: a concurrent map (lock-free reads) from the
// key's hash, computed once per lookup, to the counter; counters whose 64-bit hashes collide
// share a chain (their next links are written once, at creation, so readers need no lock).
type counters struct {
	seed    maphash.Seed
	m       *xsync.MapOf[uint64, *counter]
	mu      sync.Mutex // serialises inserts and removals (rare)
	byRedis sync.Map   // redis key → *counter, for grants no call waits for
}

func (cs *counters) init() {
	cs.seed = maphash.MakeSeed()
	cs.m = xsync.NewMapOfWithHasher[uint64, *counter](func(h, seed uint64) uint64 { return h ^ seed })
}

// hash mixes the runtime's string hash of each part (maphash.Comparable walks a struct by
// reflection, several times slower).
func (cs *counters) hash(k ckey) uint64 {
	const m = 0x9E3779B97F4A7C15
	h := uint64(k.lvl)<<16 | uint64(uint16(k.group))
	for _, s := range [...]string{k.a, k.b, k.c, k.d} {
		if s != "" {
			h ^= maphash.String(cs.seed, s)
		}
		h *= m
		h ^= h >> 29
	}
	return h
}

func (cs *counters) get(k ckey) *counter {
	h := cs.hash(k)
	head, _ := cs.m.Load(h)
	for c := head; c != nil; c = c.next {
		if c.key == k {
			return c
		}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	head, _ = cs.m.Load(h)
	for c := head; c != nil; c = c.next {
		if c.key == k {
			return c
		}
	}
	c := &counter{key: k, hash: h, rkey: k.redisKey(), next: head}
	cs.m.Store(h, c)
	cs.byRedis.Store(c.rkey, c)
	return c
}

func (cs *counters) leaseByRedisKey(key string, windowStart int64) *lease {
	v, ok := cs.byRedis.Load(key)
	if !ok {
		return nil
	}
	c := v.(*counter)
	for _, l := range [...]*lease{c.cur.Load(), c.upcoming.Load()} {
		if l != nil && l.start == windowStart {
			return l
		}
	}
	return nil
}

// each visits every counter; returning false drops it (counters that share a hash with
// another are kept: 64-bit collisions are too rare to matter).
func (cs *counters) each(f func(ckey, *counter) bool) {
	cs.m.Range(func(h uint64, head *counter) bool {
		for c := head; c != nil; c = c.next {
			if !f(c.key, c) && head.next == nil {
				cs.mu.Lock()
				if cur, _ := cs.m.Load(h); cur == c {
					cs.m.Delete(h)
					cs.byRedis.Delete(c.rkey)
				}
				cs.mu.Unlock()
			}
		}
		return true
	})
}

// counter holds the lease of the current window of one throttle key.
type counter struct {
	key  ckey
	hash uint64
	rkey string
	next *counter // same hash
	// upcoming is the lease of the next window, asked for shortly before it starts.
	upcoming atomic.Pointer[lease]
	mu       sync.Mutex
	cur      atomic.Pointer[lease]
}

// current returns the lease of the window containing nowMs, starting a new (empty) one when
// the window rolled over or the policy's window length changed. A changed limit applies to
// the current lease in place.
func (c *counter) current(nowMs int64, spec *throttlepolicy.Limit) *lease {
	if l := c.cur.Load(); l != nil && nowMs >= l.start && nowMs < l.end && l.end-l.start == spec.WindowMs && l.bytes == spec.Bytes && l.cost == costLease(spec) {
		if l.limit.Load() != spec.Count {
			l.setLimit(spec.Count)
		}
		return l
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.cur.Load(); l != nil && nowMs >= l.start && nowMs < l.end && l.end-l.start == spec.WindowMs && l.bytes == spec.Bytes && l.cost == costLease(spec) {
		return l
	}
	start := nowMs - mod(nowMs, spec.WindowMs)
	if n := c.upcoming.Load(); n != nil && (n.start <= start || n.end-n.start != spec.WindowMs) {
		c.upcoming.Store(nil) // the prepared lease is for this window (used below), or useless
		if n.start == start && n.end-n.start == spec.WindowMs && n.bytes == spec.Bytes && n.cost == costLease(spec) {
			n.setLimit(spec.Count)
			c.cur.Store(n)
			return n
		}
	}
	l := &lease{ctr: c, start: start, end: start + spec.WindowMs, bytes: spec.Bytes, cost: costLease(spec)}
	l.nextAt = l.end*int64(time.Millisecond) - nextLead(spec.WindowMs)
	l.limit.Store(spec.Count)
	l.remaining.Store(-1)
	c.cur.Store(l)
	return l
}

// costLease: GRAPHQL_COST and AI_TOKENS limits are leased only for the calls waiting for
// units, never prefetched (see admitCost).
func costLease(spec *throttlepolicy.Limit) bool { return spec.Cost || spec.Tokens != 0 }

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
