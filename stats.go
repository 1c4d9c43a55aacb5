package jwesession

import "sync/atomic"

// KeyStats are one key's counters since the manager started. They are per
// process and per manager, and reset on restart: evidence of a rotation's
// progress, not proof (another instance may still be sealing under a key
// this one no longer uses). A key kept across a reload (same id and
// secret) keeps its counters, whatever its new state.
type KeyStats struct {
	ID    string
	State KeyState
	// Sealed counts what was sealed under this key: session tokens, and
	// the refresh and sign-out cookies (each under a key derived for its
	// purpose; the count is kept together for AES-GCM's seal limit).
	Sealed uint64
	// Opened counts session tokens opened with this key.
	Opened uint64
	// Rewritten counts session tokens opened with another key whose
	// sign-in was first sealed under this one: sessions rewritten under a
	// newer primary since. They end when this key is retired, like the
	// tokens it opens (see Keyring.SafeToRetireAt).
	Rewritten uint64
	// Retired counts session tokens refused because this key is retired:
	// tokens under it, and tokens whose sign-in started under it. Only
	// authentic tokens are counted.
	Retired uint64
	// Undecodable counts session tokens opened with this key whose data
	// did not decode into the data type, even through MigrateSession
	// (ErrDataDecode): a schema change signing users out.
	Undecodable uint64
}

// keyCounters are a key's counters; shared by every derived ring of one
// manager, so they survive reloads that keep the key.
type keyCounters struct {
	// opened and rewritten count reads of valid sessions: every request
	// (rewritten: every read of a sign-in rotated to a newer key).
	opened, rewritten spreadCounter
	sealed            sealCounter
	retired           counter
	undecodable       counter
	decodeWarned      atomic.Bool // the decode failure was logged
}

// sealWarnDefault is the per-process seal count under one key past which
// the manager logs a warning: 2^28, a sixteenth of the 2^32 seals NIST SP
// 800-38D (section 8.3) allows one AES-GCM key with random 96-bit nonces,
// across every process of the fleet that shares the key.
const sealWarnDefault = 1 << 28

// sealCounter counts the tokens sealed under a key. Its Add checks the
// count it returns against the manager's warning threshold: one comparison
// at seal time, nothing else on the hot path.
type sealCounter struct {
	n    atomic.Uint64
	core *managerCore // the manager to warn; nil for rings made outside one
	id   string       // the key's id, for the warning
}

// Add adds d and returns the new count; the seal that crosses the
// manager's threshold logs the warning, once per key and process.
func (c *sealCounter) Add(d uint64) uint64 {
	n := c.n.Add(d)
	if c.core != nil {
		if at := c.core.sealWarnAt; n >= at && n-d < at {
			c.core.cfg.Logger.Warn("jwesession: this process has sealed many tokens under one key; rotate it soon: AES-GCM with random nonces allows at most 2^32 seals per key across the whole fleet (NIST SP 800-38D), and this count is per process",
				"key", c.id, "sealed", n)
		}
	}
	return n
}

// Load returns the count.
func (c *sealCounter) Load() uint64 { return c.n.Load() }

// Stats returns the counters of every key in the current keyring, newest
// first. They count since this manager was created, in this process only
// (see KeyStats).
func (m *Manager[T]) Stats() []KeyStats {
	r := m.core.ring.Load()
	out := make([]KeyStats, len(r.keys))
	for i, k := range r.keys {
		out[i] = KeyStats{
			ID: k.id, State: k.state,
			Sealed: k.count.sealed.Load(), Opened: k.count.opened.load(),
			Rewritten: k.count.rewritten.load(), Retired: k.count.retired.load(),
			Undecodable: k.count.undecodable.load(),
		}
	}
	return out
}
