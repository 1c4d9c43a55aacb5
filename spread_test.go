package jwesession

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A writer of a spreadRWMutex excludes every reader, whichever slot the
// reader's P uses: readers on all Ps never see a write half done (and the
// race detector sees every access ordered).
func TestSpreadRWMutexExcludesReaders(t *testing.T) {
	var (
		l    spreadRWMutex
		a, b int // a writer sets both; a reader must see them equal
		torn int
		tmu  sync.Mutex
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				mu := l.rlock()
				x, y := a, b
				mu.RUnlock()
				if x != y {
					tmu.Lock()
					torn++
					tmu.Unlock()
				}
			}
		}()
	}
	for i := range 500 {
		l.lock()
		a = i
		for range 50 { // a write that takes a while
			b = -1
		}
		b = i
		l.unlock()
	}
	wg.Wait()
	assert.Zero(t, torn, "reads saw a write half done")
}

// A P keeps its hint (so it keeps its slot): with one P, a thousand uses
// see one hint, or two if a collection emptied the pool in between (it
// keeps its items one collection more).
// Under the race detector sync.Pool drops items at random, so .ci/run
// runs this test without it, with the allocation tests.
func TestPerPHintStable(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector; .ci/run runs this test without -race")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var p perP
	seen := map[uint32]bool{}
	for range 1000 {
		seen[p.hint()] = true
	}
	require.LessOrEqual(t, len(seen), 2, "one P, one hint: %v", seen)
}
