package jwesession

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config configures a Manager. Every zero value is a safe default.
type Config struct {
	// CookieName is the cookie's base name. The default is "session".
	// Unless DevelopmentCookies is set, the cookie is written as
	// "__Host-" + CookieName with Secure, so a sibling subdomain cannot
	// plant one. Keys are derived per base name: a token written for one
	// name does not open under another. The session may also write
	// "~r." + CookieName (the companion of the sliding refresh) and
	// "~t." + CookieName (the tombstone of a sign-out), with the same
	// prefix; no reader takes them for chunks of the session cookie.
	CookieName string
	// DevelopmentCookies drops Secure and the __Host- prefix, for plain
	// HTTP on a development machine. Never set it in production: behind a
	// TLS-terminating proxy the browser sees HTTPS, so Secure stays right.
	// The default is false.
	DevelopmentCookies bool
	// Domain shares the cookies with every subdomain of this host name
	// (e.g. "example.com", no leading dot). The __Host- prefix forbids a
	// Domain, so the cookies are then written "__Secure-" + CookieName, and
	// any subdomain (a user-content or a compromised one) can set or
	// shadow them: share only with hosts you trust as much as this one.
	// The default is "": host-only cookies.
	Domain string
	// Path limits the cookies to requests under this path. A Path other
	// than "/" also rules out __Host- (the cookies are "__Secure-" +
	// CookieName). The default is "/".
	Path string
	// SameSite is the cookies' SameSite attribute: http.SameSiteLaxMode,
	// http.SameSiteStrictMode, or http.SameSiteNoneMode (sent on
	// cross-site requests too, so it needs Secure: not with
	// DevelopmentCookies; protect every state-changing route against CSRF
	// yourself). The default (zero) is Lax.
	SameSite http.SameSite
	// Partitioned adds the Partitioned attribute (CHIPS): in a page
	// embedded in another site (an iframe), the browser keeps a separate
	// cookie jar per embedding site. It needs Secure (not with
	// DevelopmentCookies). The default is false.
	Partitioned bool
	// IdleTimeout is how long a session lives without a write or a
	// refresh. A token whose expiry lies further than IdleTimeout + Leeway
	// past its issue time (which the library never writes) is treated as
	// expiring then, so lowering IdleTimeout shortens the sessions in
	// flight instead of signing them out. The default is 30 minutes.
	IdleTimeout time.Duration
	// AbsoluteTimeout is how long a sign-in lasts, whatever the refreshes.
	// The default is 8 hours. IdleTimeout and AbsoluteTimeout are the
	// lifetimes of a browser-session sign-in (SignIn): its cookies carry
	// no Max-Age or Expires, so the browser drops them when it closes.
	AbsoluteTimeout time.Duration
	// RememberIdleTimeout is IdleTimeout for a "remember me" sign-in
	// (SignInRemembered), whose cookies persist (Max-Age) across browser
	// restarts. The default is 7 days.
	RememberIdleTimeout time.Duration
	// RememberAbsoluteTimeout is AbsoluteTimeout for a "remember me"
	// sign-in, at most 400 days (browsers keep no cookie longer). The
	// default is 30 days. Key rotation waits for the longest absolute
	// lifetime any sign-in can have (this or AbsoluteTimeout, whichever is
	// longer, even if SignInRemembered is never called): an application
	// without "remember me" sets both Remember fields to its IdleTimeout
	// and AbsoluteTimeout.
	RememberAbsoluteTimeout time.Duration
	// RefreshAfter is the age after which a read extends the session's
	// idle expiry (the sliding refresh): it writes a small companion
	// cookie that holds no data, never the session token, so at most one
	// Set-Cookie per RefreshAfter and never one that can undo a concurrent
	// write. The default is 5 minutes, or half of the shorter of
	// IdleTimeout and RememberIdleTimeout when that is shorter. It must be
	// shorter than both.
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
	// Logger receives the library's messages (never a secret, a token or
	// session data), through the request's context when a request caused
	// them: at Debug each rejected cookie with its reason; at Info a
	// keyring replaced (key ids and states); at Warn a first read after
	// the response headers were sent, a session that no longer fits the
	// cookie budget, a key retired before its safe time, and a key that
	// has sealed 2^28 tokens in this process (AES-GCM's random-nonce limit
	// is 2^32 per key across the fleet); at Error a change after the
	// headers were sent (lost), a response sent past the middleware's
	// writer, and a keys file refused. Ordinary traffic, bad cookies
	// included, logs nothing at Info or above. The default is
	// slog.Default().
	Logger *slog.Logger
	// Revocation makes sessions revocable through a shared store (see
	// Revocation). The default, no Store, keeps sessions stateless.
	Revocation Revocation
}

// normalize returns cfg with defaults filled in, or an error.
func (cfg Config) normalize() (Config, error) {
	if cfg.CookieName == "" {
		cfg.CookieName = "session"
	}
	hostPrefix := strings.HasPrefix(cfg.CookieName, "__Host-")
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
	// The idle timeouts first: RefreshAfter's default depends on them.
	errIdle := errors.Join(def(&cfg.IdleTimeout, 30*time.Minute, "IdleTimeout"), def(&cfg.RememberIdleTimeout, 7*24*time.Hour, "RememberIdleTimeout"))
	if err := errors.Join(
		errIdle,
		def(&cfg.AbsoluteTimeout, 8*time.Hour, "AbsoluteTimeout"),
		def(&cfg.RememberAbsoluteTimeout, 30*24*time.Hour, "RememberAbsoluteTimeout"),
		def(&cfg.RefreshAfter, min(5*time.Minute, min(cfg.IdleTimeout, cfg.RememberIdleTimeout)/2), "RefreshAfter"),
		def(&cfg.Leeway, 30*time.Second, "Leeway"),
	); err != nil {
		return cfg, err
	}
	if err := cfg.checkLifetimes(); err != nil {
		return cfg, err
	}
	if err := cfg.checkScope(hostPrefix); err != nil {
		return cfg, err
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

// checkLifetimes checks the lifetimes, defaults filled in.
func (cfg *Config) checkLifetimes() error {
	if min(cfg.IdleTimeout, cfg.AbsoluteTimeout, cfg.RememberIdleTimeout, cfg.RememberAbsoluteTimeout, cfg.RefreshAfter) < time.Second {
		return errf(ErrInvalidConfig, "timeouts are counted in whole seconds: IdleTimeout, AbsoluteTimeout, RememberIdleTimeout, RememberAbsoluteTimeout and RefreshAfter must be at least 1s")
	}
	for _, l := range [...]struct {
		idle, absolute time.Duration
		prefix         string
	}{{cfg.IdleTimeout, cfg.AbsoluteTimeout, ""}, {cfg.RememberIdleTimeout, cfg.RememberAbsoluteTimeout, "Remember"}} {
		if cfg.RefreshAfter >= l.idle {
			return errf(ErrInvalidConfig, "RefreshAfter (%v) must be shorter than %sIdleTimeout (%v), or sessions expire before they are refreshed", cfg.RefreshAfter, l.prefix, l.idle)
		}
		if l.absolute < l.idle {
			return errf(ErrInvalidConfig, "%sAbsoluteTimeout (%v) must not be shorter than %sIdleTimeout (%v)", l.prefix, l.absolute, l.prefix, l.idle)
		}
	}
	if cfg.RememberAbsoluteTimeout > maxAgeCap*time.Second {
		return errf(ErrInvalidConfig, "RememberAbsoluteTimeout (%v) is over the 400 days browsers keep a cookie: lower it to 400 days or less", cfg.RememberAbsoluteTimeout)
	}
	return nil
}

// seconds returns d in whole seconds (token times are whole seconds).
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// leeway returns Leeway in seconds.
func (cfg *Config) leeway() int64 { return seconds(cfg.Leeway) }

// The lifetimes of one sign-in depend on its kind, which its token
// records (envelope.Rem): a browser-session sign-in (rem false) lives by
// IdleTimeout and AbsoluteTimeout, a "remember me" one by
// RememberIdleTimeout and RememberAbsoluteTimeout.

// idle returns the idle timeout of a sign-in of kind rem, in seconds.
func (cfg *Config) idle(rem bool) int64 {
	if rem {
		return seconds(cfg.RememberIdleTimeout)
	}
	return seconds(cfg.IdleTimeout)
}

// absoluteEnd returns the end of the absolute lifetime of a sign-in of
// kind rem at abs.
func (cfg *Config) absoluteEnd(abs int64, rem bool) int64 {
	if rem {
		return abs + seconds(cfg.RememberAbsoluteTimeout)
	}
	return abs + seconds(cfg.AbsoluteTimeout)
}

// maxAbsolute returns the longest absolute lifetime any sign-in can have:
// what everything that waits for "the absolute lifetime" waits for (a key
// retired after its promotion, a tombstone's entry, a revocation record).
func (cfg *Config) maxAbsolute() time.Duration {
	return max(cfg.AbsoluteTimeout, cfg.RememberAbsoluteTimeout)
}

// expiry returns the idle expiry of a token or companion issued at now,
// capped by the absolute lifetime of a sign-in of kind rem at abs.
func (cfg *Config) expiry(now, abs int64, rem bool) int64 {
	return min(now+cfg.idle(rem), cfg.absoluteEnd(abs, rem))
}

// clampExp returns the expiry of a token or companion of a sign-in of kind
// rem issued at iat that claims exp, treated as at most iat + its idle
// timeout + Leeway: the library never issues more, so a token forged under
// a leaked key cannot live long, and lowering the idle timeout in a deploy
// shortens the sessions in flight instead of signing them out.
func (cfg *Config) clampExp(iat, exp int64, rem bool) int64 {
	return min(exp, iat+cfg.idle(rem)+cfg.leeway())
}

// checkTimes rejects a session of kind rem issued at iat for a sign-in at
// abs whose idle expiry is exp (after clampExp, and the later of the
// token's and a companion's): issued or signed in beyond the leeway in the
// future, or past its idle or absolute lifetime, at now (Unix seconds).
func (cfg *Config) checkTimes(iat, abs, exp, now int64, rem bool) error {
	leeway := cfg.leeway()
	switch {
	case iat > now+leeway || abs > now+leeway:
		return errf(ErrNotYetValid, "issued in the future")
	case now > exp+leeway:
		return errf(ErrExpired, "idle timeout")
	case now > cfg.absoluteEnd(abs, rem)+leeway:
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
