package jwesession

import (
	"sync"
	"sync/atomic"
)

// What every request touches must not make the cores serving requests
// take turns at one cache line: a count of every read, a read lock of
// every revocation check. Each is spread over slots on cache lines of
// their own (128 bytes apart: adjacent-line prefetchers pair 64-byte
// lines), and a goroutine uses the slot of the P it runs on (a perP
// hint), so at steady state no line moves between cores.

// spreadSlots is how many slots a spreadCounter or a spreadRWMutex has.
const spreadSlots = 16

// perP hands out a hint per P: a sync.Pool keeps one per P (its private
// slot), handed out round-robin when a P first asks (and again after a
// collection has emptied the pool), so each P keeps using its own slot.
// Slots picked at random per use would be worse than one shared line
// (every line visited by every core: BenchmarkOpenedCounterParallel).
// The zero value is ready to use.
type perP struct {
	hints sync.Pool     // a *uint32 per P
	next  atomic.Uint32 // the next hint handed out
}

// hint returns the hint of the P this goroutine runs on.
func (p *perP) hint() uint32 {
	h, ok := p.hints.Get().(*uint32)
	if !ok {
		h = new(uint32)
		*h = p.next.Add(1)
	}
	i := *h
	p.hints.Put(h)
	return i
}

// spreadCounter counts what every request that reads a session counts
// (the key that opened its token, the revocation checks): each core
// increments a slot of its own, and a load adds the slots up.
type spreadCounter struct {
	slot [spreadSlots]struct {
		n atomic.Uint64
		_ [120]byte
	}
}

// inc counts one in the slot of the hint.
func (c *spreadCounter) inc(hint uint32) { c.slot[hint%spreadSlots].n.Add(1) }

func (c *spreadCounter) load() uint64 {
	var n uint64
	for i := range c.slot {
		n += c.slot[i].n.Load()
	}
	return n
}

// spreadRWMutex is a readers-writer lock for what every request reads
// and few write (the revocations in force): a reader locks the slot of
// its P only (sync.RWMutex's read lock is an atomic add on the one line
// of its reader count, shared by every core), a writer locks every slot.
// The zero value is unlocked.
type spreadRWMutex struct {
	slot [spreadSlots]struct {
		mu sync.RWMutex
		_  [128 - 24]byte
	}
	perP perP
}

// rlock locks the slot of this goroutine's P for reading and returns it,
// for runlock.
func (l *spreadRWMutex) rlock() *sync.RWMutex {
	mu := &l.slot[l.perP.hint()%spreadSlots].mu
	mu.RLock()
	return mu
}

// lock locks every slot for writing, in order.
func (l *spreadRWMutex) lock() {
	for i := range l.slot {
		l.slot[i].mu.Lock()
	}
}

func (l *spreadRWMutex) unlock() {
	for i := range l.slot {
		l.slot[i].mu.Unlock()
	}
}

// slot returns the hint of the P this goroutine runs on, for the spread
// counters.
func (c *managerCore) slot() uint32 { return c.slots.hint() }
