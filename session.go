// Package jwesession keeps a web service's login state in an encrypted
// cookie: the whole session is a JWE (A256GCM, direct key) in the cookie,
// and the server keeps nothing.
//
// A Manager holds the configuration and the current keyring. Its Middleware
// gives every request its own Session, reached through the request's
// context; the cookie is decrypted only when the handler first asks for the
// session, and a Set-Cookie header is written only when the session really
// changed or was explicitly cleared, renewed, touched, re-keyed, or is due
// for its sliding refresh.
//
//	kr, err := jwesession.KeyringFromEnv() // JWESESSION_SECRET or JWESESSION_KEYS
//	if err != nil { log.Fatal(err) }
//	m, err := jwesession.New[User](jwesession.Config{}, kr)
//	if err != nil { log.Fatal(err) }
//	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//		s, _ := m.Session(r.Context())
//		if u, ok := s.Get(); ok { fmt.Fprintf(w, "hello %s", u.Name) }
//	})
//	http.ListenAndServe(addr, m.Middleware(mux))
//
// # Key rotation
//
// A Keyring lists keys newest first; exactly one is Primary (seals and
// opens), others are DecryptOnly (open) or Retired (recognised, rejected
// with ErrRetiredKey). Tokens carry their key's id as "kid"; the key is found
// by that id, never by trying keys in turn. A token opened with a
// decrypt-only key older than the primary is re-sealed under the primary on
// its next read, keeping its times. Manager.SetKeyring swaps the keyring
// atomically; requests in flight finish on the keyring they started with.
// To rotate a fleet without logging anybody out: add the new key as newest,
// decrypt-only, everywhere; then promote it everywhere; then retire the old
// key once the absolute lifetime has passed since the last instance loaded
// the promotion (Manager.SafeToRetireAt, from a keys file's "promoted:"
// line); then remove it. Manager.WatchKeysFile reloads a keys file (see
// ParseKeysFile) when it changes and on SIGHUP; Manager.Stats counts, per
// key and per process, tokens sealed, opened, re-keyed and rejected as
// retired. The jwesession command (cmd/jwesession) writes each step's keys
// file and inspects cookies.
//
// # Caching
//
// Every response whose handler read or wrote the session gets
// "Cache-Control: private, no-cache" (read) or "no-store, private" (wrote a
// cookie), "Vary: Cookie", and loses CDN-specific cache headers, applied
// when the headers are sent, whatever the handler set. Responses that never
// touch the session are left alone, so public pages stay cacheable.
//
// # Cookie size
//
// One cookie carries at most ChunkSize bytes of token. Config.MaxChunks
// (default 1) allows splitting a larger session into name.0, name.1, …;
// data that does not fit is an ErrTooLarge from Set or Update, and the
// previous cookie stays as it was.
package jwesession

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors. Match them with errors.Is: the errors returned wrap them with
// details, never with token bytes or secrets.
var (
	// ErrNoMiddleware: the context carries no session of this manager;
	// wrap the handler with Manager.Middleware.
	ErrNoMiddleware = errors.New("jwesession: no session in this context: wrap the handler with Manager.Middleware")
	// ErrNoSession: the operation needs a session and there is none.
	ErrNoSession = errors.New("jwesession: no session: sign in first")
	// ErrCommitted: the response headers were already written, so the
	// session can no longer be read for the first time or changed.
	ErrCommitted = errors.New("jwesession: response headers already written")
	// ErrTooLarge: a cookie, token or session is over its size limit.
	ErrTooLarge = errors.New("jwesession: too large")
	// ErrMalformed: the token is not in the exact form the library writes.
	ErrMalformed = errors.New("jwesession: malformed token")
	// ErrUnsupported: the token asks for an algorithm, encryption or
	// compression the library refuses.
	ErrUnsupported = errors.New("jwesession: unsupported token algorithm")
	// ErrUnknownKey: the token's kid names no key of the keyring.
	ErrUnknownKey = errors.New("jwesession: unknown key id")
	// ErrRetiredKey: the token was sealed under a retired key.
	ErrRetiredKey = errors.New("jwesession: retired key")
	// ErrDecrypt: the token failed authentication: tampered, or sealed
	// under another key or for another cookie name.
	ErrDecrypt = errors.New("jwesession: failed to decrypt token: authentication failed")
	// ErrExpired: the session's idle or absolute lifetime is over.
	ErrExpired = errors.New("jwesession: session expired")
	// ErrNotYetValid: the token's issue time or sign-in time lies in the
	// future beyond the clock leeway.
	ErrNotYetValid = errors.New("jwesession: token not yet valid")
	// ErrNoSecret: no secret was configured.
	ErrNoSecret = errors.New("jwesession: no secret configured")
	// ErrWeakSecret: the secret is too short or an obvious pattern.
	ErrWeakSecret = errors.New("jwesession: weak secret")
	// ErrInvalidKeyring: the keys do not form a valid keyring.
	ErrInvalidKeyring = errors.New("jwesession: invalid keyring")
	// ErrInvalidConfig: a Config field is out of range.
	ErrInvalidConfig = errors.New("jwesession: invalid config")
)

// opError is an error of a session operation: its message names the
// operation once, and it wraps the cause for errors.Is.
type opError struct {
	msg string
	err error
}

func (e *opError) Error() string { return e.msg }
func (e *opError) Unwrap() error { return e.err }

// failed returns "jwesession: failed to <op> session: <cause><suffix>",
// without repeating the cause's own "jwesession:" prefix.
func failed(op string, err error, suffix string) error {
	return &opError{msg: "jwesession: failed to " + op + " session: " + strings.TrimPrefix(err.Error(), "jwesession: ") + suffix, err: err}
}

// errf wraps a sentinel with a detail.
func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

// Config configures a Manager. Every zero value is a safe default.
type Config struct {
	// CookieName is the cookie's base name. The default is "session".
	// Unless DevelopmentCookies is set, the cookie is written as
	// "__Host-" + CookieName with Secure, so a sibling subdomain cannot
	// plant one. Keys are derived per base name: a token written for one
	// name does not open under another.
	CookieName string
	// DevelopmentCookies drops Secure and the __Host- prefix, for plain
	// HTTP on a development machine. Never set it in production: behind a
	// TLS-terminating proxy the browser sees HTTPS, so Secure stays right.
	// The default is false.
	DevelopmentCookies bool
	// IdleTimeout is how long a session lives without a refresh: the
	// token's expiry. The default is 30 minutes.
	IdleTimeout time.Duration
	// AbsoluteTimeout is how long a sign-in lasts, whatever the refreshes.
	// The default is 8 hours.
	AbsoluteTimeout time.Duration
	// RefreshAfter is the age after which a read re-issues the token with
	// a new expiry (the sliding refresh), so at most one Set-Cookie per
	// RefreshAfter. The default is 5 minutes, or half of IdleTimeout when
	// that is shorter. It must be shorter than IdleTimeout.
	RefreshAfter time.Duration
	// Leeway is the clock skew tolerated on issue and expiry times. The
	// default is 30 seconds.
	Leeway time.Duration
	// MaxChunks is how many cookies one session may be split into, 1 to
	// 10. The default is 1. Proxies cap the Cookie header (nginx: 8 KB per
	// header line by default), so raise it with care.
	MaxChunks int
	// Now is the clock. The default is time.Now.
	Now func() time.Time
	// Logger receives the library's messages (never a secret or token):
	// at Info a keyring replaced (key ids and states); at Warn a change or
	// first read after the response headers were sent, a key retired
	// before its safe time, and a key that has sealed 2^28 tokens in this
	// process (AES-GCM's random-nonce limit is 2^32 per key across the
	// fleet); at Error a change that was lost and a keys file refused.
	// Nothing is logged per request at Info or below. The default is
	// slog.Default().
	Logger *slog.Logger
}

// normalize returns cfg with defaults filled in, or an error.
func (cfg Config) normalize() (Config, error) {
	if cfg.CookieName == "" {
		cfg.CookieName = "session"
	}
	cfg.CookieName = strings.TrimPrefix(strings.TrimPrefix(cfg.CookieName, "__Host-"), "__Secure-")
	if !validCookieName(cfg.CookieName) || strings.HasPrefix(cfg.CookieName, "__") {
		return cfg, errf(ErrInvalidConfig, "CookieName must be 1 to 64 of A-Za-z0-9_-, not starting with __ (the library adds the __Host- prefix itself)")
	}
	def := func(d *time.Duration, v time.Duration, name string) error {
		if *d < 0 {
			return errf(ErrInvalidConfig, "%s is negative", name)
		}
		if *d == 0 {
			*d = v
		}
		return nil
	}
	errIdle := def(&cfg.IdleTimeout, 30*time.Minute, "IdleTimeout") // first: RefreshAfter's default depends on it
	if err := errors.Join(
		errIdle,
		def(&cfg.AbsoluteTimeout, 8*time.Hour, "AbsoluteTimeout"),
		def(&cfg.RefreshAfter, min(5*time.Minute, cfg.IdleTimeout/2), "RefreshAfter"),
		def(&cfg.Leeway, 30*time.Second, "Leeway"),
	); err != nil {
		return cfg, err
	}
	if cfg.IdleTimeout < time.Second || cfg.AbsoluteTimeout < time.Second || cfg.RefreshAfter < time.Second {
		return cfg, errf(ErrInvalidConfig, "timeouts are counted in whole seconds: IdleTimeout, AbsoluteTimeout and RefreshAfter must be at least 1s")
	}
	if cfg.RefreshAfter >= cfg.IdleTimeout {
		return cfg, errf(ErrInvalidConfig, "RefreshAfter (%v) must be shorter than IdleTimeout (%v), or sessions expire before they are refreshed", cfg.RefreshAfter, cfg.IdleTimeout)
	}
	if cfg.AbsoluteTimeout < cfg.IdleTimeout {
		return cfg, errf(ErrInvalidConfig, "AbsoluteTimeout (%v) must not be shorter than IdleTimeout (%v)", cfg.AbsoluteTimeout, cfg.IdleTimeout)
	}
	if cfg.MaxChunks == 0 {
		cfg.MaxChunks = 1
	}
	if cfg.MaxChunks < 1 || cfg.MaxChunks > MaxChunksLimit {
		return cfg, errf(ErrInvalidConfig, "MaxChunks must be 1 to %d", MaxChunksLimit)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// checkTimes rejects claims issued or signed in beyond the leeway in the
// future, or past their idle or absolute lifetime, at now (Unix seconds).
func (cfg *Config) checkTimes(env *envelope, now int64) error {
	leeway := int64(cfg.Leeway / time.Second)
	switch {
	case env.Iat > now+leeway || env.Abs > now+leeway:
		return errf(ErrNotYetValid, "issued in the future")
	case now > env.Exp+leeway:
		return errf(ErrExpired, "idle timeout")
	case now > env.Abs+int64(cfg.AbsoluteTimeout/time.Second)+leeway:
		return errf(ErrExpired, "absolute lifetime")
	}
	return nil
}

func validCookieName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

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
