package jwesession

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// AuthJSConfig configures an AuthJSManager: a session cookie shared with a
// Next.js app that uses Auth.js v5 or NextAuth.js v4. Every zero value is
// a safe default; the settings marked "must match" must equal the Next.js
// app's.
type AuthJSConfig struct {
	// Format is the app's token format. The default is FormatAuthJS
	// (Auth.js v5, next-auth 5); FormatNextAuth4 is next-auth 4.
	Format AuthJSFormat
	// CookieName is the session cookie's full name, exactly as the app
	// writes it, prefix included (must match). For Auth.js v5 it is also
	// the salt of the key, so a token written for one name does not open
	// under another. The default is "__Secure-authjs.session-token"
	// ("__Secure-next-auth.session-token" for v4), or without the
	// "__Secure-" prefix with DevelopmentCookies, as the app names it on
	// an https:// and an http:// URL. A prefix is never guessed: give the
	// name the browser holds.
	CookieName string
	// DevelopmentCookies drops the Secure attribute (and the default
	// name's "__Secure-" prefix), for plain HTTP on a development machine,
	// as the app does on an http:// URL. The default is false.
	DevelopmentCookies bool
	// MaxAge is the lifetime of the tokens the Go side writes (exp = now
	// + MaxAge) and their cookies' Max-Age (must match the app's
	// session.maxAge, or jwt.maxAge when set). Reads accept a token until
	// its own exp, as the app's decode() does. The default is 30 days, the
	// app's default.
	MaxAge time.Duration
	// RefreshAfter, when set, makes a read of a token issued longer ago
	// than this re-issue it (same claims, new iat and exp): a sliding
	// expiry like the app's own, but that write can undo a concurrent
	// sign-out or update (see the README's "Sharing sessions with a
	// Next.js app"). The default is 0: the Go side never writes on a read,
	// and the app refreshes the cookie whenever its client asks for the
	// session. It must be shorter than MaxAge.
	RefreshAfter time.Duration
	// Leeway is the clock tolerance on exp and nbf. The default is 15
	// seconds, decode()'s.
	Leeway time.Duration
	// MaxChunks is how many cookies one token may span when read or
	// written, 1 to 10. The app chunks a token without limit (into name.0,
	// name.1, … of 3936 bytes for v5 and 3933 for v4); proxies cap the
	// Cookie header (nginx: 8 KB per header line by default). The default
	// is 4.
	MaxChunks int
	// Revocation, when its Store is set, checks every token that opens
	// against the revocations every instance shares, as Config.Revocation
	// does for the native format (the same Store, FailOpen and
	// CheckTimeout, the same ErrRevoked and ErrRevocationUnavailable).
	// These tokens record no sign-in: a revocation by subject (the claims
	// type's SessionSubject(), or else the "sub" claim) or before T is
	// judged by the token's iat, and Clear and Renew revoke the token's
	// jti. The app re-issues tokens without asking the Go side, so a
	// revocation holds only for tokens issued before it unless the app
	// checks too (see the README's "Revocation"). The default, nil, turns
	// revocation off.
	Revocation Revocation
	// Now is the clock. The default is time.Now.
	Now func() time.Time
	// Logger receives warnings (an environment the app may read
	// differently, a change after the headers were sent) and errors;
	// never a secret or a token. The default is slog.Default().
	Logger *slog.Logger
}

// The chunk sizes of the formats: 4096 bytes minus the size the app
// estimates for a cookie's name and attributes (160 in @auth/core, 163 in
// next-auth 4).
const (
	authjsChunkSize   = 3936
	nextAuthChunkSize = 3933
)

// normalize returns cfg with defaults filled in, or an error.
func (cfg AuthJSConfig) normalize() (AuthJSConfig, error) {
	if cfg.Format != FormatAuthJS && cfg.Format != FormatNextAuth4 {
		return cfg, errf(ErrInvalidConfig, "Format must be FormatAuthJS or FormatNextAuth4")
	}
	if cfg.CookieName == "" {
		cfg.CookieName = map[AuthJSFormat]string{FormatAuthJS: "authjs.session-token", FormatNextAuth4: "next-auth.session-token"}[cfg.Format]
		if !cfg.DevelopmentCookies {
			cfg.CookieName = "__Secure-" + cfg.CookieName
		}
	}
	if !validAuthJSCookieName(cfg.CookieName) {
		return cfg, errf(ErrInvalidConfig, "CookieName must be 1 to 128 cookie-name characters (letters, digits and !#$%%&'*+-.^_`|~)")
	}
	if cfg.DevelopmentCookies && (strings.HasPrefix(cfg.CookieName, "__Secure-") || strings.HasPrefix(cfg.CookieName, "__Host-")) {
		return cfg, errf(ErrInvalidConfig, "CookieName %q needs the Secure attribute, which DevelopmentCookies drops: browsers refuse it over plain HTTP", cfg.CookieName)
	}
	if cfg.MaxAge < 0 || cfg.RefreshAfter < 0 || cfg.Leeway < 0 {
		return cfg, errf(ErrInvalidConfig, "MaxAge, RefreshAfter and Leeway must not be negative")
	}
	cfg.MaxAge = cmp.Or(cfg.MaxAge, 30*24*time.Hour)
	cfg.Leeway = cmp.Or(cfg.Leeway, 15*time.Second)
	if cfg.MaxAge < time.Second {
		return cfg, errf(ErrInvalidConfig, "MaxAge is counted in whole seconds: at least 1s")
	}
	if cfg.RefreshAfter != 0 && (cfg.RefreshAfter < time.Second || cfg.RefreshAfter >= cfg.MaxAge) {
		return cfg, errf(ErrInvalidConfig, "RefreshAfter (%v) must be at least 1s and shorter than MaxAge (%v)", cfg.RefreshAfter, cfg.MaxAge)
	}
	if cfg.MaxChunks = cmp.Or(cfg.MaxChunks, 4); cfg.MaxChunks < 1 || cfg.MaxChunks > MaxChunksLimit {
		return cfg, errf(ErrInvalidConfig, "MaxChunks must be 1 to %d", MaxChunksLimit)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	return cfg, nil
}

// validAuthJSCookieName reports whether s is 1 to 128 RFC 6265 cookie-name
// characters.
func validAuthJSCookieName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isCookieNameByte(s[i]) {
			return false
		}
	}
	return true
}

// isCookieNameByte reports whether c may appear in a cookie name (an RFC
// 7230 token character).
func isCookieNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// authjsCore is the Auth.js side of a manager: what managerCore holds in
// Auth.js mode.
type authjsCore struct {
	format       AuthJSFormat
	name         string // the full cookie name: the key's salt (v5)
	ring         *authjsRing
	chunkSize    int
	maxChunks    int
	maxAge       int64 // seconds
	refreshAfter int64 // seconds; 0: never
	leeway       int64 // seconds
	dev          bool
	owner        claimOwner
}

// maxLen is the longest token read or written: MaxChunks full chunks.
func (a *authjsCore) maxLen() int { return a.maxChunks * a.chunkSize }

// ErrAuthJSMode: the Session method has no equivalent for an Auth.js or
// NextAuth.js cookie (SignInRemembered, AddFlash; see AuthJSManager).
var ErrAuthJSMode = errors.New("jwesession: not available for an Auth.js cookie")

// AuthJSManager reads and writes the session cookie of a Next.js app that
// uses Auth.js v5 or NextAuth.js v4, so a Go service behind the same
// origin knows who the user is without a second sign-in. T is the token's
// claims: a struct embedding AuthJSClaims, or a map. Create it with
// NewAuthJS; it is safe for concurrent use.
//
// Its sessions are the Session type of Manager, with the format's rules:
// Get returns the claims; Set and Update change the claims the type owns
// and keep every other claim the token holds (an update from Go keeps
// "picture" and a provider's tokens it knows nothing of); SignIn starts a
// token from the given claims alone; Renew gives the token a new jti;
// Touch re-issues it; Clear deletes every cookie of it. Every write sets
// iat, exp (now + MaxAge) and, when new, a random UUID jti, as encode()
// does; ID returns the jti, ExpiresAt the exp; SignInID and SignedInAt are
// empty (the format has no sign-in id or time). No companion or tombstone
// cookie exists in this mode: the app joins every cookie whose name starts
// with the session cookie's. A read never writes unless RefreshAfter asks
// for it. SignIn writes a persistent cookie (Max-Age MaxAge), as the app
// does: there is no browser-session kind, so SignInRemembered returns
// ErrAuthJSMode, and so does AddFlash (the app knows no flash cookie;
// Flashes returns none). With AuthJSConfig.Revocation, Clear and Renew
// revoke the token's jti and ClearEverywhere the claims' subject.
type AuthJSManager[T any] struct {
	m Manager[T]
	a *authjsCore
}

// NewAuthJS validates cfg and the secrets and returns a manager for the
// app's cookie. Keys are derived here, once; the warnings of secrets read
// from the environment are logged.
func NewAuthJS[T any](cfg AuthJSConfig, secrets *AuthJSSecrets) (*AuthJSManager[T], error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if secrets == nil || len(secrets.list) == 0 {
		return nil, fmt.Errorf("%w: failed to create Auth.js manager: no secrets; build them with AuthJSSecretsFromEnv or NewAuthJSSecrets", ErrNoSecret)
	}
	owner, ok := newClaimOwner(reflect.TypeFor[T]())
	if !ok {
		return nil, errf(ErrInvalidConfig, "the claims type %v is not a struct or a map with string keys: a token's claims are a JSON object", reflect.TypeFor[T]())
	}
	a := &authjsCore{
		format: cfg.Format, name: cfg.CookieName, ring: deriveAuthJSRing(cfg.Format, secrets, cfg.CookieName),
		chunkSize: authjsChunkSize, maxChunks: cfg.MaxChunks, maxAge: seconds(cfg.MaxAge),
		refreshAfter: seconds(cfg.RefreshAfter), leeway: seconds(cfg.Leeway), dev: cfg.DevelopmentCookies, owner: owner,
	}
	if cfg.Format == FormatNextAuth4 {
		a.chunkSize = nextAuthChunkSize
	}
	rev, err := cfg.Revocation.state()
	if err != nil {
		return nil, err
	}
	for _, w := range secrets.warnings {
		cfg.Logger.Warn("jwesession: " + w)
	}
	c := &managerCore{
		// The longest a token lives is MaxAge: what a revocation by
		// subject or before T must outlast.
		cfg: Config{
			CookieName: cfg.CookieName, DevelopmentCookies: cfg.DevelopmentCookies, MaxChunks: cfg.MaxChunks, Now: cfg.Now, Logger: cfg.Logger,
			AbsoluteTimeout: cfg.MaxAge, RememberAbsoluteTimeout: cfg.MaxAge, Leeway: cfg.Leeway, Revocation: cfg.Revocation,
		},
		key:   &ctxKey{},
		ajs:   a,
		names: cookieNames{data: cfg.CookieName},
		rev:   rev,
	}
	c.ring.Store(&ring{}) // no native keys: Stats and Metrics list none
	return &AuthJSManager[T]{m: Manager[T]{core: c}, a: a}, nil
}

// CookieName returns the session cookie's full name.
func (m *AuthJSManager[T]) CookieName() string { return m.a.name }

// Format returns the token format.
func (m *AuthJSManager[T]) Format() AuthJSFormat { return m.a.format }

// Middleware gives every request passing through it its own Session,
// reached with m.Session(r.Context()), as Manager.Middleware does: the
// cookie is decrypted on first use, written only when owed, and every
// response that touched the session gets the cache-safe headers.
func (m *AuthJSManager[T]) Middleware(next http.Handler) http.Handler { return m.m.Middleware(next) }

// Session returns the request's session. ctx must come from a request that
// passed through m.Middleware; otherwise the error is ErrNoMiddleware.
func (m *AuthJSManager[T]) Session(ctx context.Context) (*Session[T], error) {
	return m.m.Session(ctx)
}

// Encode returns a token holding claims as the app's encode() writes it:
// sealed under the first secret, with iat now, exp now + MaxAge and a new
// random UUID jti (whatever claims held for those three). It is for tests
// and tools (the key tool's encode); most applications write the session
// with Session.
func (m *AuthJSManager[T]) Encode(claims T) (string, error) {
	typed, err := marshalClaims(claims)
	if err != nil {
		return "", fmt.Errorf("jwesession: failed to encode token: encoding claims: %w", err)
	}
	c, err := m.a.owner.mergeClaims(typed, nil)
	if err != nil {
		return "", fmt.Errorf("jwesession: failed to encode token: %w", err)
	}
	now := m.m.core.cfg.Now().Unix()
	if err := m.a.fits(c, now); err != nil {
		return "", fmt.Errorf("jwesession: failed to encode token: %w", err)
	}
	return m.a.ring.seal(appendTokenClaims(c, now, now+m.a.maxAge, newUUID())), nil
}

// fits returns ErrTooLarge if a token of canonical claims c written at now
// would not fit MaxChunks cookies.
func (a *authjsCore) fits(c []byte, now int64) error {
	n := authjsTokenLen(a.ring.write, len(a.ring.header), len(appendTokenClaims(c, now, now+a.maxAge, uuidShape)))
	if n > a.maxLen() {
		return errf(ErrTooLarge, "the encrypted token needs %d bytes, the cookie budget is %d (MaxChunks %d × %d)", n, a.maxLen(), a.maxChunks, a.chunkSize)
	}
	return nil
}

// uuidShape is a placeholder as long as newUUID's ids, for fits.
const uuidShape = "00000000-0000-4000-8000-000000000000"

// readClaims checks the plaintext of an opened token as the app's decode()
// does (a JSON object in valid UTF-8; exp not past, nbf not ahead, with
// the clock tolerance), requires the iat and exp encode() always writes,
// and decodes it into dst (nil: only checked).
func (a *authjsCore) readClaims(pt []byte, dst any, now int64) (authjsTimes, error) {
	if err := checkClaimsText(pt); err != nil {
		return authjsTimes{}, err
	}
	if dst == nil {
		if !json.Valid(pt) {
			return authjsTimes{}, errf(ErrMalformed, "the claims are not JSON")
		}
	} else if err := json.Unmarshal(pt, dst); err != nil {
		return authjsTimes{}, errf(ErrMalformed, "failed to decode the claims into %T", dst)
	}
	t, err := readTimes(pt)
	if err != nil {
		return t, err
	}
	return t, t.check(now, a.leeway)
}
