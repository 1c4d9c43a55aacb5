//go:build !race

package jwesession

// raceEnabled: allocation counts are not deterministic under the race
// detector, so the allocation tests skip.
const raceEnabled = false
