package jwesession

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Lifetimes on the injected clock, no sleeps. Helpers prefixed lt; the rot
// helpers come from rotate_test.go.

// ltForge seals env under m's primary key, as the library would, and returns
// the Cookie header carrying it.
func ltForge(t testing.TB, m *Manager[testData], env envelope) string {
	t.Helper()
	pt, err := json.Marshal(env)
	require.NoError(t, err)
	tok := seal(m.core.ring.Load().primary, purposeData, pt)
	return m.CookieName() + "=" + tok
}

// ltWritten returns the claims and Max-Age of the one session cookie rec set.
func ltWritten(t testing.TB, m *Manager[testData], rec interface {
	Result() *http.Response
}) (envelope, int) {
	t.Helper()
	cs := rec.Result().Cookies()
	require.Len(t, cs, 1)
	require.Equal(t, m.CookieName(), cs[0].Name)
	require.GreaterOrEqual(t, cs[0].MaxAge, 0, "a session cookie, not a deletion")
	return rotClaims(t, m, cs[0].Value), cs[0].MaxAge
}

// ltKeepAlive reads the session every step for d, following the cookie as a
// browser would, and fails if it is ever rejected.
func ltKeepAlive(t testing.TB, m *Manager[testData], clk *testClock, cookie string, d, step time.Duration) string {
	t.Helper()
	for elapsed := time.Duration(0); elapsed < d; elapsed += step {
		clk.Advance(step)
		res := read(t, m, cookie)
		require.NoError(t, res.Err, "at %v", elapsed+step)
		require.True(t, res.OK)
		cookie = cookieHeader(cookie, res.Rec)
	}
	return cookie
}

// ltAssertDeleted checks that res is a rejected session: no data, err, and
// the cookie deleted.
func ltAssertDeleted(t testing.TB, m *Manager[testData], res readResult, err error) {
	t.Helper()
	assert.False(t, res.OK)
	assert.Empty(t, res.D.User)
	assert.ErrorIs(t, res.Err, err)
	cs := res.Rec.Result().Cookies()
	if assert.Len(t, cs, 1) {
		assert.Equal(t, m.CookieName(), cs[0].Name)
		assert.Equal(t, -1, cs[0].MaxAge, "deleted: Max-Age=0")
	}
}

var ltCustom = Config{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour, RefreshAfter: time.Minute, Leeway: 5 * time.Second}

func TestIdleExpiry(t *testing.T) {
	for _, c := range []struct {
		name         string
		cfg          Config
		idle, leeway time.Duration
	}{
		{"defaults", Config{}, 30 * time.Minute, 30 * time.Second},
		{"custom", ltCustom, 10 * time.Minute, 5 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, c.cfg, nil)
			t0 := clk.Now()
			rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				require.NoError(t, s.SignIn(testData{User: "alice"}))
				assert.Equal(t, t0.Unix(), s.SignedInAt().Unix())
			})
			env, maxAge := ltWritten(t, m, rec)
			assert.Equal(t, t0.Unix(), env.Iat)
			assert.Equal(t, t0.Add(c.idle).Unix(), env.Exp)
			assert.Equal(t, int(c.idle/time.Second), maxAge)
			cookie := cookieHeader("", rec)

			clk.Advance(c.idle + c.leeway)
			res := read(t, m, cookie)
			require.NoError(t, res.Err, "valid up to exp + leeway")
			require.True(t, res.OK)

			clk.Advance(time.Second)
			ltAssertDeleted(t, m, read(t, m, cookie), ErrExpired)
		})
	}
}

// ExpiresAt documents "when the session expires unless refreshed, or the
// zero time when there is no session". Right after SignIn there is a
// session; its cookie will say exp = now + IdleTimeout.
func TestExpiresAtAfterSignIn(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	var got time.Time
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "alice"}))
		got = s.ExpiresAt()
	})
	env, _ := ltWritten(t, m, rec)
	assert.Equal(t, clk.Now().Add(30*time.Minute).Unix(), env.Exp)
	assert.Equal(t, env.Exp, got.Unix(), "ExpiresAt after SignIn returned %v", got)
}

func TestSlidingRefreshThrottle(t *testing.T) {
	for _, c := range []struct {
		name        string
		cfg         Config
		step, total time.Duration
		want        int
	}{
		{"defaults, every 30s", Config{}, 30 * time.Second, 10 * time.Minute, 2},
		{"defaults, every minute", Config{}, time.Minute, time.Hour, 12},
		{"defaults, every 2 minutes", Config{}, 2 * time.Minute, time.Hour, 10},
		{"defaults, every 4 minutes", Config{}, 4 * time.Minute, time.Hour, 7},
		{"defaults, every 7 minutes", Config{}, 7 * time.Minute, 63 * time.Minute, 9},
		{"custom, every 20s", ltCustom, 20 * time.Second, 10 * time.Minute, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, c.cfg, nil)
			cfg := m.core.cfg
			cookie := signIn(t, m, "alice")
			iat := clk.Now().Unix()
			writes := 0
			for elapsed := time.Duration(0); elapsed < c.total; elapsed += c.step {
				clk.Advance(c.step)
				now := clk.Now().Unix()
				res := read(t, m, cookie)
				require.NoError(t, res.Err, "at %v", elapsed+c.step)
				require.True(t, res.OK)
				due := now-iat >= int64(cfg.RefreshAfter/time.Second)
				if !due {
					assert.Empty(t, setCookies(res.Rec), "at %v: refreshed before RefreshAfter", elapsed+c.step)
					continue
				}
				writes++
				env, maxAge := ltWritten(t, m, res.Rec)
				assert.Equal(t, now, env.Iat)
				assert.Equal(t, now+int64(cfg.IdleTimeout/time.Second), env.Exp, "the refresh extends exp")
				assert.Equal(t, int(cfg.IdleTimeout/time.Second), maxAge)
				iat = now
				cookie = cookieHeader(cookie, res.Rec)
			}
			assert.Equal(t, c.want, writes, "Set-Cookie count")
		})
	}
}

func TestAbsoluteLifetimeEndsActiveSession(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	t0 := clk.Now().Unix()
	end := t0 + 8*3600
	cookie := signIn(t, m, "alice")
	sid := rotClaims(t, m, rotToken(t, m, cookie)).Sid

	// Kept active by refreshes until 7h40m; exp never passes the end.
	for i := 1; i <= 23; i++ {
		clk.Advance(20 * time.Minute)
		now := clk.Now().Unix()
		res := read(t, m, cookie)
		require.NoError(t, res.Err, "at %d min", i*20)
		require.True(t, res.OK)
		env, maxAge := ltWritten(t, m, res.Rec)
		assert.Equal(t, min(now+1800, end), env.Exp, "at %d min", i*20)
		assert.Equal(t, int(env.Exp-now), maxAge, "Max-Age follows exp at %d min", i*20)
		assert.Equal(t, t0, env.Abs, "no refresh moves the absolute start")
		assert.Equal(t, sid, env.Sid)
		cookie = cookieHeader(cookie, res.Rec)
	}

	// 7h50m: Touch re-issues, but exp stays at the end.
	clk.Advance(10 * time.Minute)
	rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Touch())
	})
	env, maxAge := ltWritten(t, m, rec)
	assert.Equal(t, clk.Now().Unix(), env.Iat)
	assert.Equal(t, end, env.Exp, "Touch does not extend past the absolute lifetime")
	assert.Equal(t, 600, maxAge)
	cookie = cookieHeader(cookie, rec)

	// 7h55m: Renew gives a new id, same absolute start, same end.
	clk.Advance(5 * time.Minute)
	rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Renew())
		assert.Equal(t, t0, s.SignedInAt().Unix())
	})
	env, maxAge = ltWritten(t, m, rec)
	assert.NotEqual(t, sid, env.Sid)
	assert.Equal(t, t0, env.Abs, "Renew keeps the absolute start")
	assert.Equal(t, end, env.Exp, "Renew does not extend past the absolute lifetime")
	assert.Equal(t, 300, maxAge)
	cookie = cookieHeader(cookie, rec)

	// 7h58m: a data change neither.
	clk.Advance(3 * time.Minute)
	rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Update(func(d *testData) error { d.N = 1; return nil }))
	})
	env, maxAge = ltWritten(t, m, rec)
	assert.Equal(t, end, env.Exp)
	assert.Equal(t, t0, env.Abs)
	assert.Equal(t, 120, maxAge)
	cookie = cookieHeader(cookie, rec)

	// Valid up to the end plus the leeway, expired just after.
	clk.Advance(time.Duration(end-clk.Now().Unix())*time.Second + 30*time.Second)
	res := read(t, m, cookie)
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	assert.Empty(t, setCookies(res.Rec), "refresh not due yet (last issue 2m30s ago)")
	clk.Advance(time.Second)
	ltAssertDeleted(t, m, read(t, m, cookie), ErrExpired)
}

// The absolute lifetime is enforced from the token's absolute start, not
// only through the exp cap: a token whose exp lies beyond abs + 8 h (as no
// library-made token does) still ends at abs + 8 h + leeway.
func TestAbsoluteLifetimeFromClaims(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	now := clk.Now().Unix()
	cookie := ltForge(t, m, envelope{V: formatVersion, Sid: "sid-1", Iat: now, Exp: now + 1800, Abs: now - 8*3600 + 60, Data: json.RawMessage(`{"user":"alice"}`)})
	clk.Advance(90 * time.Second) // abs + 8h + 30s
	res := read(t, m, cookie)
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	clk.Advance(time.Second)
	ltAssertDeleted(t, m, read(t, m, cookie), ErrExpired)
}

func TestSignInResetsAbsoluteRenewKeepsIt(t *testing.T) {
	const step = 20 * time.Minute
	t.Run("sign-in", func(t *testing.T) {
		m, clk := newTestManager(t, Config{}, nil)
		t0 := clk.Now()
		cookie := ltKeepAlive(t, m, clk, signIn(t, m, "alice"), 7*time.Hour, step)
		rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			assert.Equal(t, t0.Unix(), s.SignedInAt().Unix())
			require.NoError(t, s.SignIn(testData{User: "alice"}))
			assert.Equal(t, clk.Now().Unix(), s.SignedInAt().Unix(), "a new sign-in starts a new absolute lifetime")
		})
		env, maxAge := ltWritten(t, m, rec)
		assert.Equal(t, clk.Now().Unix(), env.Abs)
		assert.Equal(t, 1800, maxAge, "exp no longer capped by the old sign-in")
		// Alive well past the first sign-in's end (t0 + 8h).
		cookie = ltKeepAlive(t, m, clk, cookieHeader(cookie, rec), 2*time.Hour, step)
		require.Greater(t, clk.Now().Sub(t0), 8*time.Hour+31*time.Second)
		res := read(t, m, cookie)
		require.NoError(t, res.Err)
	})
	t.Run("renew", func(t *testing.T) {
		m, clk := newTestManager(t, Config{}, nil)
		t0 := clk.Now()
		cookie := ltKeepAlive(t, m, clk, signIn(t, m, "alice"), 7*time.Hour, step)
		var sid string
		rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			sid = s.ID()
			require.NoError(t, s.Renew())
			assert.NotEqual(t, sid, s.ID())
			assert.Equal(t, t0.Unix(), s.SignedInAt().Unix(), "Renew keeps the absolute lifetime")
		})
		env, maxAge := ltWritten(t, m, rec)
		assert.Equal(t, t0.Unix(), env.Abs)
		assert.NotEqual(t, sid, env.Sid)
		assert.Equal(t, 1800, maxAge)
		cookie = ltKeepAlive(t, m, clk, cookieHeader(cookie, rec), 40*time.Minute, step) // t0 + 7h40m
		clk.Advance(20*time.Minute + 30*time.Second)                                     // t0 + 8h + leeway
		res := read(t, m, cookie)
		require.NoError(t, res.Err)
		clk.Advance(time.Second)
		ltAssertDeleted(t, m, read(t, m, cookie), ErrExpired)
	})
}

func TestNotYetValid(t *testing.T) {
	for _, c := range []struct {
		name           string
		cfg            Config
		iatOff, absOff int64
		want           error
	}{
		{"iat beyond default leeway", Config{}, 31, 0, ErrNotYetValid},
		{"iat within default leeway", Config{}, 30, 0, nil},
		{"abs beyond default leeway", Config{}, 0, 31, ErrNotYetValid},
		{"abs within default leeway", Config{}, 0, 30, nil},
		{"both far in the future", Config{}, 3600, 3600, ErrNotYetValid},
		{"iat beyond custom leeway", ltCustom, 6, 0, ErrNotYetValid},
		{"iat within custom leeway", ltCustom, 5, 0, nil},
		{"abs beyond custom leeway", ltCustom, 0, 6, ErrNotYetValid},
		{"abs within custom leeway", ltCustom, 0, 5, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, c.cfg, nil)
			now := clk.Now().Unix()
			cookie := ltForge(t, m, envelope{
				V: formatVersion, Sid: "forged-sid", Iat: now + c.iatOff, Exp: now + c.iatOff + 600,
				Abs: now + c.absOff, Data: json.RawMessage(`{"user":"eve"}`),
			})
			res := read(t, m, cookie)
			if c.want != nil {
				ltAssertDeleted(t, m, res, c.want)
				assert.NotErrorIs(t, res.Err, ErrExpired)
				return
			}
			require.NoError(t, res.Err)
			require.True(t, res.OK)
			assert.Equal(t, "eve", res.D.User)
			assert.Empty(t, setCookies(res.Rec))
		})
	}
}

func TestMaxAgeFollowsExpCapped(t *testing.T) {
	const day = 24 * time.Hour
	const cap400 = 400 * 24 * 3600
	t.Run("capped at 400 days", func(t *testing.T) {
		for _, idle := range []time.Duration{400*day + time.Second, 500 * day} {
			m, clk := newTestManager(t, Config{IdleTimeout: idle, AbsoluteTimeout: 1000 * day}, nil)
			now := clk.Now().Unix()
			rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				require.NoError(t, s.SignIn(testData{User: "alice"}))
			})
			env, maxAge := ltWritten(t, m, rec)
			assert.Equal(t, cap400, maxAge, "idle %v", idle)
			assert.Equal(t, now+int64(idle/time.Second), env.Exp, "the token keeps its own expiry")
			assert.Contains(t, setCookies(rec)[0], "; Max-Age=34560000;")

			// A refresh much later is capped the same way.
			clk.Advance(300 * day)
			res := read(t, m, cookieHeader("", rec))
			require.NoError(t, res.Err)
			env, maxAge = ltWritten(t, m, res.Rec)
			assert.Equal(t, cap400, maxAge)
			assert.Equal(t, clk.Now().Unix()+int64(idle/time.Second), env.Exp)
		}
	})
	t.Run("exactly 400 days", func(t *testing.T) {
		m, _ := newTestManager(t, Config{IdleTimeout: 400 * day, AbsoluteTimeout: 400 * day}, nil)
		_, maxAge := ltWritten(t, m, serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			require.NoError(t, s.SignIn(testData{User: "alice"}))
		}))
		assert.Equal(t, cap400, maxAge)
	})
	t.Run("follows exp", func(t *testing.T) {
		m, clk := newTestManager(t, Config{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 3 * time.Hour}, nil)
		t0 := clk.Now().Unix()
		rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			require.NoError(t, s.SignIn(testData{User: "alice"}))
		})
		_, maxAge := ltWritten(t, m, rec)
		assert.Equal(t, 7200, maxAge)
		clk.Advance(90 * time.Minute)
		res := read(t, m, cookieHeader("", rec))
		require.NoError(t, res.Err)
		env, maxAge := ltWritten(t, m, res.Rec)
		assert.Equal(t, t0+3*3600, env.Exp, "capped by the absolute lifetime")
		assert.Equal(t, 5400, maxAge)
	})
}

func TestConfigValidation(t *testing.T) {
	kr := mustKeyring(t, "a:primary:"+secretA)
	bad := []struct {
		name string
		cfg  Config
		hint string
	}{
		{"negative IdleTimeout", Config{IdleTimeout: -time.Minute}, "IdleTimeout"},
		{"negative AbsoluteTimeout", Config{AbsoluteTimeout: -time.Hour}, "AbsoluteTimeout"},
		{"negative RefreshAfter", Config{RefreshAfter: -time.Second}, "RefreshAfter"},
		{"negative Leeway", Config{Leeway: -time.Second}, "Leeway"},
		{"sub-second IdleTimeout", Config{IdleTimeout: 500 * time.Millisecond, RefreshAfter: 100 * time.Millisecond}, "1s"},
		{"RefreshAfter equal to IdleTimeout", Config{IdleTimeout: 10 * time.Minute, RefreshAfter: 10 * time.Minute}, "shorter than IdleTimeout"},
		{"RefreshAfter above IdleTimeout", Config{IdleTimeout: 10 * time.Minute, RefreshAfter: 11 * time.Minute}, "RefreshAfter"},
		{"AbsoluteTimeout below IdleTimeout", Config{IdleTimeout: 20 * time.Minute, AbsoluteTimeout: 10 * time.Minute}, "AbsoluteTimeout"},
		{"IdleTimeout above default AbsoluteTimeout", Config{IdleTimeout: 9 * time.Hour}, "AbsoluteTimeout"},
		{"MaxChunks 11", Config{MaxChunks: 11}, "MaxChunks"},
		{"MaxChunks negative", Config{MaxChunks: -1}, "MaxChunks"},
		{"CookieName with space", Config{CookieName: "my session"}, "CookieName"},
		{"CookieName with semicolon", Config{CookieName: "a;b"}, "CookieName"},
		{"CookieName with equals", Config{CookieName: "a=b"}, "CookieName"},
		{"CookieName with dot", Config{CookieName: "sess.ion"}, "CookieName"},
		{"CookieName non-ASCII", Config{CookieName: "sessión"}, "CookieName"},
		{"CookieName only a prefix", Config{CookieName: "__Host-"}, "CookieName"},
		{"CookieName 65 chars", Config{CookieName: strings.Repeat("s", 65)}, "CookieName"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			m, err := New[testData](c.cfg, kr)
			assert.Nil(t, m)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), c.hint)
			assert.Contains(t, err.Error(), "jwesession:")
		})
	}

	t.Run("defaults", func(t *testing.T) {
		m, err := New[testData](Config{}, kr)
		require.NoError(t, err)
		cfg := m.core.cfg
		assert.Equal(t, 30*time.Minute, cfg.IdleTimeout)
		assert.Equal(t, 8*time.Hour, cfg.AbsoluteTimeout)
		assert.Equal(t, 5*time.Minute, cfg.RefreshAfter)
		assert.Equal(t, 30*time.Second, cfg.Leeway)
		assert.Equal(t, 1, cfg.MaxChunks, "MaxChunks 0 is 1")
		assert.Equal(t, "session", cfg.CookieName)
		assert.Equal(t, "__Host-session", m.CookieName())
		assert.NotNil(t, cfg.Now)
		assert.NotNil(t, cfg.Logger)
	})
	good := []struct {
		name     string
		cfg      Config
		cookie   string
		maxChunk int
	}{
		{"MaxChunks 10", Config{MaxChunks: 10}, "__Host-session", 10},
		{"MaxChunks 1", Config{MaxChunks: 1}, "__Host-session", 1},
		{"AbsoluteTimeout equal to IdleTimeout", Config{IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour}, "__Host-session", 1},
		{"one-second timeouts", Config{IdleTimeout: 2 * time.Second, AbsoluteTimeout: 2 * time.Second, RefreshAfter: time.Second}, "__Host-session", 1},
		{"__Host- prefix given", Config{CookieName: "__Host-app"}, "__Host-app", 1},
		{"__Secure- prefix given", Config{CookieName: "__Secure-app"}, "__Host-app", 1},
		{"development cookies", Config{CookieName: "__Host-app", DevelopmentCookies: true}, "app", 1},
		{"64-char name", Config{CookieName: strings.Repeat("s", 64), DevelopmentCookies: true}, strings.Repeat("s", 64), 1},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			m, err := New[testData](c.cfg, kr)
			require.NoError(t, err)
			assert.Equal(t, c.cookie, m.CookieName())
			assert.Equal(t, c.maxChunk, m.core.cfg.MaxChunks)
		})
	}
}

// A short idle timeout needs no RefreshAfter of its own: the default is
// half the idle timeout when that is under 5 minutes.
func TestRefreshAfterDefaultFollowsShortIdle(t *testing.T) {
	m, clk := newTestManager(t, Config{IdleTimeout: 4 * time.Minute}, nil)
	c := signIn(t, m, "alice")
	clk.Advance(2*time.Minute - time.Second)
	assert.Empty(t, setCookies(read(t, m, c).Rec), "not yet due")
	clk.Advance(time.Second)
	res := read(t, m, c)
	require.NoError(t, res.Err)
	assert.Len(t, setCookies(res.Rec), 1, "due after half the idle timeout")
}
