package jwesession

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ctxKey is the type of a manager's context key. It is not zero-sized, so
// every manager's key pointer is distinct.
type ctxKey struct{ _ byte }

// managerCore is the part of a Manager that does not depend on T.
type managerCore struct {
	cfg  Config
	name string // the cookie name as written, with its prefix
	key  *ctxKey
	ring atomic.Pointer[ring]
	mu   sync.Mutex // serialises SetKeyring

	// sealWarnAt is the per-process seal count under one key at which the
	// manager warns (sealWarnDefault; tests lower it).
	sealWarnAt uint64
}

// Manager creates and reads sessions holding data of type T (JSON-encoded).
// Create it with New; it is safe for concurrent use.
type Manager[T any] struct {
	core *managerCore
}

// New validates cfg and the keyring and returns a Manager. Keys are derived
// here, once, not per request.
func New[T any](cfg Config, kr *Keyring) (*Manager[T], error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if kr == nil || len(kr.keys) == 0 {
		return nil, fmt.Errorf("%w: failed to create manager: no keyring; build one with KeyringFromEnv or NewKeyring", ErrNoSecret)
	}
	c := &managerCore{cfg: cfg, key: &ctxKey{}, sealWarnAt: sealWarnDefault}
	c.name = cfg.CookieName
	if !cfg.DevelopmentCookies {
		c.name = "__Host-" + cfg.CookieName
	}
	c.ring.Store(c.derive(kr))
	return &Manager[T]{core: c}, nil
}

// CookieName returns the cookie name as written (with its prefix).
func (m *Manager[T]) CookieName() string { return m.core.name }

// Keyring returns the keyring in use.
func (m *Manager[T]) Keyring() *Keyring { return m.core.ring.Load().src }

// SetKeyring replaces the keyring atomically. Requests in flight finish on
// the keyring they started with; the next request uses kr. Keys are derived
// here, once; a key kept from the current keyring (same id and secret)
// keeps its counters. A keyring that differs from the current one is
// logged at Info (key ids and states); retiring a key before the time
// SafeToRetireAt gave for it, at Warn. ReloadKeysFile and WatchKeysFile
// replace the keyring the same way, from a keys file.
func (m *Manager[T]) SetKeyring(kr *Keyring) error {
	if kr == nil || len(kr.keys) == 0 {
		return fmt.Errorf("%w: failed to replace keyring: it is empty", ErrInvalidKeyring)
	}
	m.core.swap(kr)
	return nil
}

// Stats returns the counters of every key in the current keyring, newest
// first. They count since this manager was created, in this process only
// (see KeyStats).
func (m *Manager[T]) Stats() []KeyStats {
	r := m.core.ring.Load()
	out := make([]KeyStats, len(r.keys))
	for i, k := range r.keys {
		out[i] = KeyStats{
			ID: k.id, State: k.state,
			Sealed: k.count.sealed.Load(), Opened: k.count.opened.Load(),
			Rekeyed: k.count.rekeyed.Load(), Retired: k.count.retired.Load(),
		}
	}
	return out
}

// Session returns the request's session. ctx must come from a request that
// passed through m.Middleware; otherwise the error is ErrNoMiddleware.
func (m *Manager[T]) Session(ctx context.Context) (*Session[T], error) {
	s, ok := ctx.Value(m.core.key).(*Session[T])
	if !ok {
		return nil, ErrNoMiddleware
	}
	return s, nil
}

// Session is one request's session. Get one with Manager.Session. It is
// safe for use by several goroutines of its request, and is loaded (the
// cookie decrypted) on first use.
type Session[T any] struct {
	m    *managerCore
	req  *http.Request
	ring *ring
	hdr  *policyHeaders // backing for the cache headers (in the same allocation)

	mu        sync.Mutex
	loaded    bool
	committed bool
	err       error   // why the request's cookie was rejected
	cookies   carried // what the request carried

	has    bool // a valid session exists
	sid    string
	iat    int64
	exp    int64
	abs    int64
	data   T
	raw    []byte      // data as encoded JSON
	key    *derivedKey // key that opened the token, nil for a new session
	origin []byte      // raw as loaded

	// owed writes (a data change is raw differing from origin)
	reissue bool // new session, Renew or Touch: a new token with new times
	clear   bool // Clear: delete the cookie
	bad     bool // the request's cookie was rejected: delete it
	rekey   bool // opened with an older decrypt-only key
	refresh bool // the sliding refresh is due
}

func (s *Session[T]) now() int64 { return s.m.cfg.Now().Unix() }

// load decrypts the request's cookie once. s.mu must be held.
func (s *Session[T]) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	if s.committed {
		s.err = fmt.Errorf("%w: the session was first read after the response headers were sent, so the response could not be made cache-safe; read it before writing", ErrCommitted)
		s.m.cfg.Logger.Warn("jwesession: session read after the response headers were written; treated as no session", "path", s.req.URL.Path)
		return
	}
	cfg := &s.m.cfg
	s.cookies = scanCookies(s.req.Header, s.m.name, cfg.MaxChunks)
	if !s.cookies.any() {
		return
	}
	fail := func(err error) {
		s.err = err
		s.bad = true
	}
	tok, err := s.cookies.token()
	if err != nil {
		fail(err)
		return
	}
	var env envelope
	dk, err := s.ring.openInto(tok, cfg.MaxChunks*ChunkSize, &env)
	if err != nil {
		fail(err)
		return
	}
	now := s.now()
	if err := cfg.checkTimes(&env, now); err != nil {
		fail(err)
		return
	}
	if err := json.Unmarshal(env.Data, &s.data); err != nil {
		var zero T
		s.data = zero
		fail(errf(ErrMalformed, "failed to decode session data into %T", zero))
		return
	}
	s.has, s.sid, s.iat, s.exp, s.abs = true, env.Sid, env.Iat, env.Exp, env.Abs
	s.raw, s.origin, s.key = env.Data, env.Data, dk
	s.rekey = dk.state == DecryptOnly && dk.index > s.ring.primary.index
	s.refresh = now-env.Iat >= int64(cfg.RefreshAfter/time.Second)
}

// Get returns the session's data and whether there is a session. Treat the
// value as read-only: change it with Set or Update.
func (s *Session[T]) Get() (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.data, s.has
}

// Err returns why the request's session cookie was rejected (ErrExpired,
// ErrDecrypt, …), or nil when the request carried a valid cookie or none.
// A rejected cookie is deleted in the response.
func (s *Session[T]) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.err
}

// ID returns the session id, or "" when there is no session.
func (s *Session[T]) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.sid
}

// SignedInAt returns when the session's sign-in happened (the start of its
// absolute lifetime), or the zero time when there is no session.
func (s *Session[T]) SignedInAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if !s.has {
		return time.Time{}
	}
	return time.Unix(s.abs, 0)
}

// ExpiresAt returns when the session expires unless refreshed, or the
// zero time when there is no session.
func (s *Session[T]) ExpiresAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if !s.has {
		return time.Time{}
	}
	return time.Unix(s.exp, 0)
}

// mutable loads the session and returns an error if it can no longer be
// changed. s.mu must be held.
func (s *Session[T]) mutable(op string) error {
	s.load()
	if s.committed {
		s.m.cfg.Logger.Error("jwesession: session change after the response headers were written was not saved", "op", op, "path", s.req.URL.Path)
		return failed(op, ErrCommitted, "; change the session before writing the response")
	}
	return nil
}

// newID returns a random session id: 16 bytes in base64url.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// put encodes v and stores it, checking that the resulting token fits.
// With fresh, a new session (id, sign-in time) replaces any current one.
// s.mu must be held.
func (s *Session[T]) put(op string, v T, fresh bool) error {
	if err := s.mutable(op); err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jwesession: failed to %s session: encoding data: %w", op, err)
	}
	now := s.now()
	sid, abs := s.sid, s.abs
	if fresh || !s.has {
		sid, abs = newID(), now
	}
	if err := s.fits(sid, abs, raw, now); err != nil {
		return failed(op, err, "")
	}
	if fresh || !s.has {
		s.sid, s.abs, s.has, s.reissue = sid, abs, true, true
		s.iat, s.exp = now, s.expiry(now, abs)
	}
	s.data, s.raw, s.clear = v, raw, false
	return nil
}

// fits returns ErrTooLarge if a token for these claims would not fit the
// cookie budget.
func (s *Session[T]) fits(sid string, abs int64, raw []byte, now int64) error {
	// Measured with the longest header any key id gives, so that a later
	// re-key under a primary with a longer id still fits.
	n := tokenLen(maxHeaderLen, envelopeLen(sid, now, s.expiry(now, abs), abs, raw))
	limit := s.m.cfg.MaxChunks * ChunkSize
	if n > limit {
		return errf(ErrTooLarge, "the encrypted session needs %d bytes, the cookie budget is %d (MaxChunks %d × %d)", n, limit, s.m.cfg.MaxChunks, ChunkSize)
	}
	return nil
}

// expiry returns the idle expiry of a token issued at now, capped by the
// absolute lifetime of a sign-in at abs.
func (s *Session[T]) expiry(now, abs int64) int64 {
	return min(now+int64(s.m.cfg.IdleTimeout/time.Second), abs+int64(s.m.cfg.AbsoluteTimeout/time.Second))
}

// Set replaces the session's data. Setting a value that encodes to the same
// bytes is no change. Without a session, Set starts one (as SignIn does).
// Data too large for the cookie budget is an ErrTooLarge, and the session
// stays as it was.
func (s *Session[T]) Set(v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put("set", v, false)
}

// Update calls fn with a copy of the session's data (the zero value when
// there is no session) and stores the result as Set does. If fn returns an
// error, nothing changes and that error is returned. fn runs with the
// session locked: it must not call the session's methods.
func (s *Session[T]) Update(fn func(*T) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutable("update"); err != nil {
		return err
	}
	var v T
	if s.has {
		if err := json.Unmarshal(s.raw, &v); err != nil {
			return fmt.Errorf("jwesession: failed to update session: decoding data: %w", err)
		}
	}
	if err := fn(&v); err != nil {
		return err
	}
	return s.put("update", v, false)
}

// SignIn starts a new session holding v: a new session id and a new
// absolute lifetime, replacing any current session. Call it on every
// sign-in and privilege change, so a session id planted before sign-in is
// worthless after it.
func (s *Session[T]) SignIn(v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put("sign in", v, true)
}

// Clear ends the session (sign-out): the cookie and every chunk is deleted
// in the response. A copy of the old cookie kept elsewhere stays valid until
// it expires: stateless sessions cannot be revoked.
func (s *Session[T]) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutable("clear"); err != nil {
		return err
	}
	var zero T
	s.has, s.sid, s.data, s.raw, s.key = false, "", zero, nil, nil
	s.iat, s.exp, s.abs = 0, 0, 0
	s.reissue, s.rekey, s.refresh, s.clear = false, false, false, true
	return nil
}

// Renew gives the session a new id, keeping its data and its absolute
// lifetime. Without a session it returns ErrNoSession.
func (s *Session[T]) Renew() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutable("renew"); err != nil {
		return err
	}
	if !s.has {
		return failed("renew", ErrNoSession, "")
	}
	s.sid, s.reissue = newID(), true
	return nil
}

// Touch re-issues the session's token with a new expiry now, whatever
// RefreshAfter says. Without a session it returns ErrNoSession.
func (s *Session[T]) Touch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutable("touch"); err != nil {
		return err
	}
	if !s.has {
		return failed("touch", ErrNoSession, "")
	}
	s.reissue = true
	return nil
}

// abort is commit for a handler that panicked: no cookie is written, and if
// the session was used, the response an outer recovery handler may still
// write is marked no-store and private.
func (s *Session[T]) abort(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return
	}
	s.committed = true
	if s.loaded {
		applyCachePolicy(h, true, s.hdr)
	}
}

// String describes the session without its data, id or token.
func (s *Session[T]) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.loaded:
		return "jwesession.Session(not loaded)"
	case s.has:
		return "jwesession.Session(signed in, data redacted)"
	}
	return "jwesession.Session(none)"
}

// GoString is String: a session never prints its token or data.
func (s *Session[T]) GoString() string { return s.String() }

// Format prints String whatever the verb, so %+v and %#v show no token.
func (s *Session[T]) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue is String, for log/slog.
func (s *Session[T]) LogValue() slog.Value { return slog.StringValue(s.String()) }

// changed reports whether the data differs from what the cookie held.
// Setting a value that encodes to the same bytes is no change.
func (s *Session[T]) changed() bool {
	return !bytes.Equal(s.raw, s.origin)
}

// commit writes what the session owes into h, applies the cache policy, and
// freezes the session. It is called once, just before the headers are sent.
func (s *Session[T]) commit(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return
	}
	s.committed = true
	if !s.loaded {
		return // untouched: no header changes
	}
	wrote := false
	switch {
	case s.has && (s.changed() || s.reissue || s.refresh || s.rekey):
		wrote = s.writeToken(h)
	case !s.has && (s.clear || s.bad):
		s.m.deleteAll(h, &s.cookies)
		wrote = true
	}
	applyCachePolicy(h, wrote, s.hdr)
}

// writeToken seals the session and adds its cookies to h. s.mu must be
// held. It reports whether it wrote anything.
func (s *Session[T]) writeToken(h http.Header) bool {
	now := s.now()
	iat, exp := s.iat, s.exp
	if s.changed() || s.reissue || s.refresh {
		iat, exp = now, s.expiry(now, s.abs)
	}
	n := envelopeLen(s.sid, iat, exp, s.abs, s.raw)
	pt := appendEnvelope(make([]byte, 0, n+tagLen), s.sid, iat, exp, s.abs, s.raw)
	if s.rekey {
		s.key.count.rekeyed.Add(1)
	}
	if tokenLen(len(s.ring.primary.header), len(pt)) > s.m.cfg.MaxChunks*ChunkSize {
		// Only a token written under an older configuration (a larger
		// MaxChunks) gets here: keep its cookie rather than write one that
		// would be rejected.
		s.m.cfg.Logger.Warn("jwesession: session not re-issued: it no longer fits the cookie budget", "path", s.req.URL.Path)
		return false
	}
	s.m.writeToken(h, s.ring.primary, pt, int(exp-now), &s.cookies)
	return true
}
