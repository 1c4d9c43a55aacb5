// Package redis is a jwesession.RevocationStore on Redis (7.0 or later,
// or a compatible server such as Valkey): a single server, a Cluster, or
// a master watched by Sentinel.
//
// Every instance keeps a copy of the revocations in force in its own
// memory and answers a check from it, without a round trip. Revocations
// are few next to sessions (a sign-out, a renew, a "sign out everywhere"),
// so the copy grows with revocations, never with sessions. Each
// revocation is written, in one script, as a key of its own (which
// expires when the last session it could affect would have) and as an
// entry of a log stream; every instance reads the stream with a blocking
// XREAD and applies what arrives, typically within milliseconds.
//
// # Staleness
//
// Each reply to that read proves the copy was complete when the read was
// sent. A check is answered from the copy while that proof is younger
// than Config.MaxStaleness (default 2 s); past it (Redis unreachable or
// slow, the instance just started) a check reads the revocation keys
// directly, one round trip (MGET), and when that fails too, the
// manager's failure policy applies (jwesession.Revocation.FailOpen). So
// a revocation that Redis acknowledged is in force on every instance
// within MaxStaleness, plus the clock skew between instances for the
// time-based ones.
//
// # Keys
//
// All revocation keys share the hash tag {KeyPrefix}, so they live in one
// Cluster slot (a script touches a record and the log together); the
// sign-in records of Config.SignIns are spread by subject. Make Redis
// persistent (appendonly yes, or RDB snapshots) if revocations must
// survive a Redis restart: a restart that loses them brings revoked
// sessions back everywhere but in instances that already hold them.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/redis/rueidis"
)

// Config configures a Store. Zero values are defaults, except Addrs.
type Config struct {
	// Addrs are HOST:PORT addresses: one server, or some nodes of a
	// Cluster (detected), or, with MasterSet, the Sentinels. Required.
	Addrs []string
	// MasterSet is the name of the master Sentinel watches; set it to
	// connect through the Sentinels in Addrs. The default is none.
	MasterSet string
	// Username and Password authenticate to Redis (AUTH). The default is
	// none.
	Username, Password string
	// KeyPrefix starts every key. The default is "jwesession". It must
	// not contain braces.
	KeyPrefix string
	// MaxStaleness is how old this instance's copy of the revocations may
	// be before checks read Redis directly: the bound on how long a
	// revocation takes to reach every instance. The default is 2 seconds;
	// at least 100 ms. The blocking read that keeps the copy current waits
	// at most a quarter of it, so an idle instance sends four reads per
	// MaxStaleness.
	MaxStaleness time.Duration
	// SignIns keeps a record of each sign-in (start, last seen, end) per
	// subject, for Manager.SignIns: one Redis write per sign-in and per
	// sliding refresh, queued and sent in the background, and about 100
	// bytes of Redis memory per sign-in until it ends. It is the one part
	// of the store that grows with sessions. The default is false: SignIns
	// then lists nothing.
	SignIns bool
	// Now is the clock; it must be the managers' Config.Now. Records
	// expire by Redis's clock at the until times it gives. The default is
	// time.Now.
	Now func() time.Time
	// Logger receives connection changes (lost, back) at Warn and Info,
	// never a token or an id. The default is slog.Default().
	Logger *slog.Logger
	// Applied, when set, is called on the store's reader goroutine after
	// a revocation read from the log is in force in this instance's copy
	// (also one this instance wrote). For tests and metrics; it must
	// return quickly.
	Applied func(Record)
}

// Record is one revocation as the log holds it.
type Record struct {
	Kind  string // "session", "sign-in", "subject" or "before"
	ID    string // the session id, sign-in id or subject; "" for "before"
	At    time.Time
	Until time.Time
	LogID string // the stream entry's id
}

// Stats are a store's counters since it was created.
type Stats struct {
	LocalChecks uint64 // checks answered from this instance's copy
	ColdChecks  uint64 // checks that read Redis (copy not current)
	Failed      uint64 // checks or writes that failed
	Revocations uint64 // revocations this instance wrote
	Applied     uint64 // log entries applied to the copy
	Reads       uint64 // blocking reads of the log sent
	SeenWritten uint64 // sign-in records written
	SeenDropped uint64 // sign-in records dropped (queue full, write failed)
	Records     int    // revocations in the copy now
}

// ErrNotConnected: the store has not reached Redis yet.
var ErrNotConnected = errors.New("jwesession/redis: not connected to Redis yet")

// Store is a jwesession.RevocationStore on Redis. Create it with New and
// Close it when done; it is safe for concurrent use.
type Store struct {
	cfg    Config
	log    string // the stream's key
	client atomic.Pointer[rueidis.Client]
	local  jwesession.MemoryRevocations

	base  time.Time    // monotonic origin of proof
	proof atomic.Int64 // nanoseconds since base when the last complete read was sent; -1: never
	cold  atomic.Bool  // tests: answer every check from Redis

	seenq chan jwesession.SignIn

	stop   context.CancelFunc
	done   sync.WaitGroup
	closed atomic.Bool

	localChecks, coldChecks, failed, revocations, applied, reads, seenWritten, seenDropped atomic.Uint64
}

// Compile-time check.
var _ jwesession.RevocationStore = (*Store)(nil)

// New returns a store. It connects to Redis and reads the log once
// (within MaxStaleness), so on a reachable Redis the store answers from
// its copy at once; when Redis does not answer it returns all the same
// and keeps trying in the background: an instance starts while Redis is
// down, and its checks get the failure policy until Redis answers. Only a
// bad Config is an error.
func New(cfg Config) (*Store, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("jwesession/redis: failed to create store: Config.Addrs is empty")
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "jwesession"
	}
	if strings.ContainsAny(cfg.KeyPrefix, "{}") {
		return nil, errors.New("jwesession/redis: failed to create store: KeyPrefix must not contain braces")
	}
	if cfg.MaxStaleness == 0 {
		cfg.MaxStaleness = 2 * time.Second
	}
	if cfg.MaxStaleness < 100*time.Millisecond {
		return nil, errors.New("jwesession/redis: failed to create store: MaxStaleness must be at least 100ms")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{cfg: cfg, log: "{" + cfg.KeyPrefix + "}:log", base: time.Now(), seenq: make(chan jwesession.SignIn, 4096)}
	s.local.Now = cfg.Now
	s.proof.Store(-1)
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.done.Add(1)
	s.start(ctx)
	if cfg.SignIns {
		s.done.Add(1)
		go s.writeSeen(ctx)
	}
	return s, nil
}

// Close stops the background work and closes the connections.
func (s *Store) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.stop()
	s.done.Wait()
	if c := s.client.Load(); c != nil {
		(*c).Close()
	}
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		LocalChecks: s.localChecks.Load(), ColdChecks: s.coldChecks.Load(), Failed: s.failed.Load(),
		Revocations: s.revocations.Load(), Applied: s.applied.Load(), Reads: s.reads.Load(),
		SeenWritten: s.seenWritten.Load(), SeenDropped: s.seenDropped.Load(), Records: s.local.Len(),
	}
}

// Current reports whether checks are answered from this instance's copy:
// its last complete read of the log was sent less than MaxStaleness ago.
func (s *Store) Current() bool {
	p := s.proof.Load()
	return p >= 0 && !s.cold.Load() && time.Since(s.base)-time.Duration(p) < s.cfg.MaxStaleness
}

// conn returns the client, or ErrNotConnected.
func (s *Store) conn() (rueidis.Client, error) {
	c := s.client.Load()
	if c == nil {
		return nil, ErrNotConnected
	}
	return *c, nil
}

// Key names. Revocation records: {prefix}:s:<session id>, :i:<sign-in
// id>, :u:<subject>, :b (before T); the log {prefix}:log; sign-in records
// <prefix>:signins:{<subject>}.
func (s *Store) key(kind byte, id string) string {
	return "{" + s.cfg.KeyPrefix + "}:" + string(kind) + ":" + id
}

// kindOf returns the Record.Kind of a record's key letter.
func kindOf(letter string) string {
	switch letter {
	case "s":
		return "session"
	case "i":
		return "sign-in"
	case "u":
		return "subject"
	case "b":
		return "before"
	}
	return ""
}

// Revoked implements jwesession.RevocationStore: from this instance's copy
// while it is current, else with one round trip.
func (s *Store) Revoked(ctx context.Context, ref jwesession.SessionRef) (bool, error) {
	if s.Current() {
		s.localChecks.Add(1)
		return s.local.Revoked(ctx, ref)
	}
	s.coldChecks.Add(1)
	revoked, err := s.coldCheck(ctx, ref)
	if err != nil {
		s.failed.Add(1)
	}
	return revoked, err
}

// coldCheck reads the records that could revoke ref from Redis.
func (s *Store) coldCheck(ctx context.Context, ref jwesession.SessionRef) (bool, error) {
	c, err := s.conn()
	if err != nil {
		return false, err
	}
	keys := []string{s.key('b', ""), s.key('i', ref.SignInID), s.key('s', ref.SessionID)}
	if ref.Subject != "" {
		keys = append(keys, s.key('u', ref.Subject))
	}
	vals, err := c.Do(ctx, c.B().Mget().Key(keys...).Build()).ToArray()
	if err != nil {
		return false, err
	}
	for i, v := range vals {
		str, err := v.ToString()
		if err != nil {
			continue // nil: no such record
		}
		at, _, ok := parseRecord(str)
		switch {
		case i == 1 && ref.SignInID == "", i == 2 && ref.SessionID == "":
			// An empty id (an Auth.js token has no sign-in id) matches
			// no record.
		case !ok:
			return false, fmt.Errorf("jwesession/redis: failed to read revocation: malformed record %q", keys[i])
		case i == 0:
			if ref.IssuedAt.Unix() < at {
				return true, nil
			}
		case i == 3:
			if ref.SignedInAt.Unix() <= at {
				return true, nil
			}
		default:
			return true, nil
		}
	}
	return false, nil
}

// parseRecord reads a record's value, "AT UNTIL" in Unix seconds.
func parseRecord(v string) (at, until int64, ok bool) {
	a, u, found := strings.Cut(v, " ")
	at, err1 := strconv.ParseInt(a, 10, 64)
	until, err2 := strconv.ParseInt(u, 10, 64)
	return at, until, found && err1 == nil && err2 == nil
}

// revokeScript writes one revocation: the record key (the latest AT and
// UNTIL kept, expiring at UNTIL) and a log entry, then trims the log. The
// horizon key holds the longest UNTIL - now seen (the longest absolute
// lifetime plus the leeway, in practice): every entry logged longer ago
// than that has expired, so the log keeps only what is in force. KEYS:
// record, log, horizon. ARGV: kind letter, id, AT, UNTIL, now (Unix
// seconds).
var revokeScript = rueidis.NewLuaScript(`
local at, untl, now = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if untl <= now then return 0 end
local cur = redis.call('GET', KEYS[1])
if cur then
  local a, u = string.match(cur, '^(%d+) (%d+)$')
  if a then at = math.max(at, tonumber(a)); untl = math.max(untl, tonumber(u)) end
end
redis.call('SET', KEYS[1], at .. ' ' .. untl, 'EXAT', untl)
redis.call('XADD', KEYS[2], '*', 'k', ARGV[1], 'id', ARGV[2], 'at', at, 'until', untl)
local h = tonumber(redis.call('GET', KEYS[3]) or '0')
if untl - now > h then
  h = untl - now
  redis.call('SET', KEYS[3], h, 'EXAT', untl)
end
redis.call('XTRIM', KEYS[2], 'MINID', tostring((now - h) * 1000))
return 1
`)

// revoke writes a revocation to Redis, then to this instance's copy.
func (s *Store) revoke(ctx context.Context, kind byte, id string, at, until time.Time) error {
	c, err := s.conn()
	if err == nil {
		err = revokeScript.Exec(ctx, c, []string{s.key(kind, id), s.log, "{" + s.cfg.KeyPrefix + "}:horizon"},
			[]string{string(kind), id, strconv.FormatInt(at.Unix(), 10), strconv.FormatInt(until.Unix(), 10), strconv.FormatInt(s.cfg.Now().Unix(), 10)}).Error()
	}
	if err != nil {
		s.failed.Add(1)
		return fmt.Errorf("jwesession/redis: failed to write revocation: %w", err)
	}
	s.revocations.Add(1)
	return s.apply(ctx, string(kind), id, at, until)
}

// apply puts one revocation into this instance's copy.
func (s *Store) apply(ctx context.Context, kind, id string, at, until time.Time) error {
	switch kind {
	case "s":
		return s.local.RevokeSession(ctx, id, until)
	case "i":
		return s.local.RevokeSignIn(ctx, id, until)
	case "u":
		return s.local.RevokeSubject(ctx, id, at, until)
	case "b":
		return s.local.RevokeBefore(ctx, at, until)
	}
	return fmt.Errorf("jwesession/redis: failed to apply revocation: unknown kind %q", kind)
}

// RevokeSession implements jwesession.RevocationStore.
func (s *Store) RevokeSession(ctx context.Context, sessionID string, until time.Time) error {
	return s.revoke(ctx, 's', sessionID, s.cfg.Now(), until)
}

// RevokeSignIn implements jwesession.RevocationStore.
func (s *Store) RevokeSignIn(ctx context.Context, signInID string, until time.Time) error {
	return s.revoke(ctx, 'i', signInID, s.cfg.Now(), until)
}

// RevokeSubject implements jwesession.RevocationStore.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at, until time.Time) error {
	return s.revoke(ctx, 'u', subject, at, until)
}

// RevokeBefore implements jwesession.RevocationStore.
func (s *Store) RevokeBefore(ctx context.Context, t, until time.Time) error {
	return s.revoke(ctx, 'b', "", t, until)
}
