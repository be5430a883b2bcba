package gateway

import (
	"hash/maphash"
	"maps"
)

// tableShards is the number of shards of a table. A change copies one shard (about n/64
// entries) and the shard array (64 pointers), not the whole table: a subscription event on a
// gateway holding a million subscriptions copies ~16k entries, not a million.
const tableShards = 64

// table is an immutable, sharded map. Readers use get without locks; writers derive a new
// table through a tableTx, which copies a shard the first time it touches it within one
// generation (one state build) and mutates it in place afterwards.
type table[K comparable, V any] struct {
	seed   maphash.Seed
	n      int
	shards [tableShards]*tableShard[K, V]
}

type tableShard[K comparable, V any] struct {
	gen uint64 // the build generation that owns (may mutate) this shard
	m   map[K]V
}

func newTable[K comparable, V any]() *table[K, V] {
	return &table[K, V]{seed: maphash.MakeSeed()}
}

func (t *table[K, V]) shard(k K) int {
	return int(maphash.Comparable(t.seed, k) % tableShards)
}

// get returns the value for k.
func (t *table[K, V]) get(k K) (V, bool) {
	s := t.shards[t.shard(k)]
	if s == nil {
		var zero V
		return zero, false
	}
	v, ok := s.m[k]
	return v, ok
}

// len returns the number of entries.
func (t *table[K, V]) len() int { return t.n }

// each calls f for every entry until f returns false. Order is unspecified.
func (t *table[K, V]) each(f func(K, V) bool) {
	for _, s := range t.shards {
		if s == nil {
			continue
		}
		for k, v := range s.m {
			if !f(k, v) {
				return
			}
		}
	}
}

// tableTx is a write transaction on a copy of a table, owned by one build generation.
type tableTx[K comparable, V any] struct {
	gen uint64
	t   *table[K, V]
}

// begin starts a transaction: the result shares all shards with t until they are written.
func (t *table[K, V]) begin(gen uint64) *tableTx[K, V] {
	c := *t
	return &tableTx[K, V]{gen: gen, t: &c}
}

func (tx *tableTx[K, V]) own(k K) *tableShard[K, V] {
	i := tx.t.shard(k)
	s := tx.t.shards[i]
	if s != nil && s.gen == tx.gen {
		return s
	}
	ns := &tableShard[K, V]{gen: tx.gen}
	if s != nil {
		ns.m = maps.Clone(s.m)
	} else {
		ns.m = make(map[K]V)
	}
	tx.t.shards[i] = ns
	return ns
}

func (tx *tableTx[K, V]) get(k K) (V, bool) { return tx.t.get(k) }

func (tx *tableTx[K, V]) set(k K, v V) {
	s := tx.own(k)
	if _, ok := s.m[k]; !ok {
		tx.t.n++
	}
	s.m[k] = v
}

func (tx *tableTx[K, V]) del(k K) {
	if _, ok := tx.t.get(k); !ok {
		return
	}
	s := tx.own(k)
	delete(s.m, k)
	tx.t.n--
}

// done returns the new table. The transaction must not be used afterwards.
func (tx *tableTx[K, V]) done() *table[K, V] { return tx.t }
