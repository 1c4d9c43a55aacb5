package jwesession

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// ctxKey is the type of a manager's context key. It is not zero-sized, so
// every manager's key pointer is distinct.
type ctxKey struct{ _ byte }

// managerCore is the part of a Manager that does not depend on T.
type managerCore struct {
	cfg   Config
	names cookieNames
	key   *ctxKey
	ring  atomic.Pointer[ring]
	mu    sync.Mutex  // serialises SetKeyring
	rev   *revocation // nil: revocation off (revoke.go)
	count counters    // event counters (metrics.go)

	// sealWarnAt is the per-process seal count under one key at which the
	// manager warns (sealWarnDefault; tests lower it).
	sealWarnAt uint64

	ajs *authjsCore // Auth.js mode (authjs.go); nil for the native format

	data *dataDecoder // decodes the data type's JSON (decode.go)

	slots perP // the hints of the spread counters (spread.go)
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
	if err := checkDataType(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	if kr == nil || len(kr.keys) == 0 {
		return nil, fmt.Errorf("%w: failed to create manager: no keyring; build one with KeyringFromEnv or NewKeyring", ErrNoSecret)
	}
	rev, err := newRevocation[T](&cfg)
	if err != nil {
		return nil, err
	}
	c := &managerCore{cfg: cfg, key: &ctxKey{}, sealWarnAt: sealWarnDefault, rev: rev, data: newDataDecoder(reflect.TypeFor[T]())}
	c.names = newCookieNames(&cfg)
	c.ring.Store(c.derive(kr))
	return &Manager[T]{core: c}, nil
}

// CookieName returns the cookie name as written (with its prefix).
func (m *Manager[T]) CookieName() string { return m.core.names.data }

// Keyring returns the keyring in use.
func (m *Manager[T]) Keyring() *Keyring { return m.core.ring.Load().src }

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

	check checkContext // the revocation check's (revoke_session.go)

	mu      sync.Mutex
	err     error   // why the request's cookie was rejected
	cookies carried // what the request carried

	sid     string      // session id (see ids)
	sin     string      // sign-in id (see ids)
	lazyIDs []byte      // the loaded session and sign-in ids, until ids makes them strings
	org     string      // id of the key the sign-in was first sealed under
	key     *derivedKey // the key that opened the token; nil for a new sign-in
	last    int64       // latest issue time (token or companion)
	exp     int64       // idle expiry
	abs     int64       // sign-in time
	tbs     string      // IV of the tombstone the request carried, checked
	data    T
	raw     []byte // data as encoded JSON
	loadRaw []byte // raw as loaded

	// owed writes (a data change is raw differing from loadRaw)
	ended []tombstoneEntry // sign-ins ended here (Clear, SignIn over one): tombstone them
	flash *flashState      // flash messages, once used: a cookie of their own (flash.go)

	// The flags, together (each would take a word of its own between the
	// fields above).
	loaded    bool
	committed bool
	has       bool  // a valid session exists
	rem       bool  // "remember me": persistent cookies, the Remember lifetimes
	canon     bool  // Auth.js mode: raw and loadRaw are in canonical form (authjs_session.go)
	reissue   bool  // owed: new session, Renew or Touch: a new token
	clear     bool  // owed: Clear: delete every form of the token
	refresh   bool  // owed: the sliding refresh is due: write a companion
	sidLen    uint8 // the session id's length in lazyIDs (at most maxIDLen)
}

func (s *Session[T]) now() int64 { return s.m.cfg.Now().Unix() }

// Get returns the session's data and whether there is a session. Treat the
// value as read-only: change it with Set or Update.
func (s *Session[T]) Get() (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.data, s.has
}

// Err returns why the request's session cookie was rejected (ErrExpired,
// ErrDecrypt, ErrSignedOut, …), or nil when the request carried a valid
// cookie or none. A rejected cookie is not deleted by a read (that
// deletion could land after a concurrent sign-in's response and undo it):
// the next write replaces it, and the browser drops it at its Max-Age.
func (s *Session[T]) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.err
}

// ID returns the session id, or "" when there is no session. Renew gives
// the session a new one.
func (s *Session[T]) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.ids()
	return s.sid
}

// SignInID returns the id of the session's sign-in, or "" when there is no
// session: a random id fixed by SignIn and kept by Renew and every write,
// which the tombstone of a sign-out names.
func (s *Session[T]) SignInID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.ids()
	return s.sin
}

// SignedInAt returns when the session's sign-in happened (the start of its
// absolute lifetime), or the zero time when there is none (Auth.js: never).
func (s *Session[T]) SignedInAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if !s.has || s.abs == 0 {
		return time.Time{}
	}
	return time.Unix(s.abs, 0)
}

// ExpiresAt returns when the session expires unless refreshed (its idle
// expiry, never past the absolute lifetime), or the zero time when there
// is no session.
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
	s.ids() // every change reads or replaces them
	if s.committed {
		s.m.event(s.req.Context(), &s.m.count.lateChanges, slog.LevelError, "jwesession: session change after the response headers were written was not saved", "op", op, "path", s.req.URL.Path)
		return failed(op, ErrCommitted, "; change the session before writing the response")
	}
	return nil
}

// put encodes v and stores it, checking that the resulting token fits.
// With fresh, a new sign-in (session id, sign-in id, sign-in time) of
// kind rem replaces any current one, which ends as with Clear; without a
// session, a browser-session sign-in starts. s.mu must be held.
func (s *Session[T]) put(op string, v T, fresh, rem bool) error {
	if err := s.mutable(op); err != nil {
		return err
	}
	if s.m.ajs != nil {
		return s.putAuthJS(op, v, fresh)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jwesession: failed to %s session: encoding data: %w", op, err)
	}
	now := s.now()
	sid, abs, kind := s.sid, s.abs, s.rem
	if fresh || !s.has {
		sid, abs, kind = newID(), now, rem && fresh
	}
	if err := s.fits(sid, abs, kind, raw, now); err != nil {
		return failed(op, err, "")
	}
	started := fresh || !s.has
	var endErr error
	if started {
		endErr = s.endRevoked(op)
		s.sid, s.sin, s.org, s.abs, s.rem, s.has, s.reissue = sid, newID(), s.ring.primary.id, abs, kind, true, true
		s.last, s.exp = now, s.m.cfg.expiry(now, abs, kind)
	}
	s.data, s.raw, s.clear = v, raw, false
	if started {
		s.signedIn(now)
	}
	return endErr
}

// end ends the current sign-in, if any: the response's tombstone will
// name it. s.mu must be held.
func (s *Session[T]) end() {
	if s.has {
		// Until the longest absolute end any sign-in can have.
		s.ended = append(s.ended, tombstoneEntry{Sin: s.sin, End: s.abs + seconds(s.m.cfg.maxAbsolute())})
	}
	var zero T
	s.has, s.sid, s.sin, s.org, s.key, s.data, s.raw = false, "", "", "", nil, zero, nil
	s.last, s.exp, s.abs, s.rem = 0, 0, 0, false
	s.reissue, s.refresh = false, false
}

// fits returns ErrTooLarge if a token for these claims would not fit the
// cookie budget.
func (s *Session[T]) fits(sid string, abs int64, rem bool, raw []byte, now int64) error {
	// Measured with the longest header, origin key id and sign-in id any
	// keyring gives, and a tombstone IV, so that a rewrite under a primary
	// with a longer id still fits (and Rem false, the longer spelling).
	env := envelope{Sid: sid, Sin: newIDShape, Org: maxKeyIDShape, Iat: now, Exp: s.m.cfg.expiry(now, abs, rem), Abs: abs, Tbs: ivShape, Data: raw}
	n := tokenLen(maxHeaderLen, envelopeLen(&env))
	limit := s.m.cfg.MaxChunks * ChunkSize
	if n > limit {
		return errf(ErrTooLarge, "the encrypted session needs %d bytes, the cookie budget is %d (MaxChunks %d × %d)", n, limit, s.m.cfg.MaxChunks, ChunkSize)
	}
	return nil
}

// Placeholders of the longest values the envelope's ids take, for fits.
const (
	newIDShape    = "0123456789012345678901"           // newID's 22 characters
	maxKeyIDShape = "01234567890123456789012345678901" // a 32-character key id
	ivShape       = "0123456789012345"                 // an IV segment
)

// Set replaces the session's data. Setting a value that encodes to the same
// bytes is no change. Without a session, Set starts one (as SignIn does).
// Data too large for the cookie budget is an ErrTooLarge, and the session
// stays as it was.
func (s *Session[T]) Set(v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put("set", v, false, false)
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
	return s.put("update", v, false, false)
}

// SignIn starts a new browser-session sign-in holding v: a new session
// id, a new sign-in id and a new absolute lifetime. Its cookies carry no
// Max-Age or Expires, so the browser drops them when it closes; the server
// still ends it after IdleTimeout without use and AbsoluteTimeout after
// sign-in. SignInRemembered is the "remember me" form. A current sign-in is ended as by Clear
// (the response's tombstone names it, so a late response of its requests
// cannot bring it back). Call it when a user signs in, so a session id
// planted before sign-in is worthless after it. On a privilege change of
// the same sign-in (a role granted, a second factor passed) call Renew
// instead: it gives the session a new id but keeps the sign-in and its
// absolute lifetime, which SignIn would restart.
func (s *Session[T]) SignIn(v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put("sign in", v, true, false)
}

// Clear ends the session (sign-out): every form of its cookie is deleted
// in the response, and a small tombstone cookie names its sign-in, so that
// a concurrent request of the same sign-in whose response lands later
// cannot sign the user in again. A copy of the old cookie kept elsewhere
// (or a browser that drops the tombstone) stays valid until it expires,
// unless revocation is on: then the sign-in is revoked everywhere, and an
// ErrRevocationUnavailable says the store did not record it.
func (s *Session[T]) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutable("clear"); err != nil {
		return err
	}
	err := s.endRevoked("clear")
	s.clear = true
	return err
}

// Renew gives the session a new id, keeping its data, its sign-in and its
// absolute lifetime: call it on every privilege change. Without a session
// it returns ErrNoSession. With revocation on it revokes the old id, so a
// concurrent request still carrying it is refused.
func (s *Session[T]) Renew() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutable("renew"); err != nil {
		return err
	}
	if !s.has {
		return failed("renew", ErrNoSession, "")
	}
	old := s.sid
	s.sid, s.reissue = s.m.newSessionID(), true
	return s.revokeRenewed(old)
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
