package jwesession

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Lifetimes on the injected clock, no sleeps. Helpers prefixed lt; the rot
// helpers come from rotate_test.go.

// ltForge seals env under m's primary key, as the library would (a sign-in
// id and origin filled in when env has none), and returns the Cookie header
// carrying it.
func ltForge(t testing.TB, m *Manager[testData], env envelope) string {
	t.Helper()
	if env.V == 0 {
		env.V = formatVersion
	}
	if env.Sin == "" {
		env.Sin = "forged-sign-in-0000000"
	}
	if env.Org == "" {
		env.Org = m.core.ring.Load().primary.id
	}
	pt, err := json.Marshal(env)
	require.NoError(t, err)
	tok := seal(m.core.ring.Load().primary, purposeData, pt)
	return m.CookieName() + "=" + tok
}

// ltWritten returns the claims and Max-Age of the session token rec set:
// the one cookie set besides a tombstone; every other line is a deletion.
func ltWritten(t testing.TB, m *Manager[testData], rec interface {
	Result() *http.Response
}) (envelope, int) {
	t.Helper()
	var tok *http.Cookie
	for _, c := range rec.Result().Cookies() {
		switch {
		case c.MaxAge < 0 || c.Name == cpName(m, tombstoneMark):
		case c.Name == m.CookieName() && tok == nil:
			tok = c
		default:
			t.Fatalf("unexpected cookie %s in %q", c.Name, rec.Result().Header["Set-Cookie"])
		}
	}
	require.NotNil(t, tok, "no session cookie in %q", rec.Result().Header["Set-Cookie"])
	return rotClaims(t, m, tok.Value), tok.MaxAge
}

// ltCompanion returns the claims and Max-Age of the companion rec set, the
// only Set-Cookie of rec (m uses the default name and secretA).
func ltCompanion(t testing.TB, rec *httptest.ResponseRecorder) (sid string, iat, exp int64, maxAge int) {
	t.Helper()
	cs := rec.Result().Cookies()
	require.Len(t, cs, 1, "only the companion: %q", setCookies(rec))
	require.Equal(t, cpCompanion, cs[0].Name)
	pt, err := cpOpenAs(secretA, "A256GCM companion session", cs[0].Value)
	require.NoError(t, err)
	var c struct {
		Sid      string
		Iat, Exp int64
	}
	require.NoError(t, json.Unmarshal(pt, &c))
	require.Equal(t, cpCompanionPT(c.Sid, c.Iat, c.Exp), string(pt), "the one form")
	return c.Sid, c.Iat, c.Exp, cs[0].MaxAge
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

// ltAssertRejected checks that res is a rejected session: no data, err, and
// nothing written (a read never deletes the rejected cookie).
func ltAssertRejected(t testing.TB, res readResult, err error) {
	t.Helper()
	assert.False(t, res.OK)
	assert.Empty(t, res.D.User)
	assert.ErrorIs(t, res.Err, err)
	assert.Empty(t, setCookies(res.Rec), "a read writes no Set-Cookie for a rejected cookie")
	assert.Equal(t, "private, no-cache", res.Rec.Header().Get("Cache-Control"))
}

// ltSignIn signs in user, remembered or not, and returns the Cookie header
// for the next request.
func ltSignIn(t testing.TB, m *Manager[testData], user string, rem bool) string {
	t.Helper()
	if !rem {
		return signIn(t, m, user)
	}
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignInRemembered(testData{User: user}))
	})
	return cookieHeader("", rec)
}

// ltMaxAge returns the Max-Age http.Cookie reports for a cookie of a
// sign-in of kind rem meant to live secs: 0 (none) for a browser-session
// one.
func ltMaxAge(rem bool, secs int64) int {
	if !rem {
		return 0
	}
	return int(secs)
}

var ltCustom = Config{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour, RefreshAfter: time.Minute, Leeway: 5 * time.Second}

func TestIdleExpiry(t *testing.T) {
	remCustom := ltCustom
	remCustom.RememberIdleTimeout, remCustom.RememberAbsoluteTimeout = 20*time.Minute, 2*time.Hour
	for _, c := range []struct {
		name              string
		cfg               Config
		rem               bool
		idle, abs, leeway time.Duration
	}{
		{"defaults", Config{}, false, 30 * time.Minute, 8 * time.Hour, 30 * time.Second},
		{"custom", remCustom, false, 10 * time.Minute, time.Hour, 5 * time.Second},
		{"remembered, defaults", Config{}, true, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 30 * time.Second},
		{"remembered, custom", remCustom, true, 20 * time.Minute, 2 * time.Hour, 5 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, c.cfg, nil)
			t0 := clk.Now()
			rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				if c.rem {
					require.NoError(t, s.SignInRemembered(testData{User: "alice"}))
				} else {
					require.NoError(t, s.SignIn(testData{User: "alice"}))
				}
				assert.Equal(t, t0.Unix(), s.SignedInAt().Unix())
				assert.Equal(t, c.rem, s.Remembered())
			})
			env, maxAge := ltWritten(t, m, rec)
			assert.Equal(t, t0.Unix(), env.Iat)
			assert.Equal(t, t0.Add(c.idle).Unix(), env.Exp)
			assert.Equal(t, c.rem, env.Rem)
			assert.Equal(t, ltMaxAge(c.rem, int64(c.abs/time.Second)), maxAge, "Max-Age is the absolute end; none for a browser session")
			if !c.rem {
				assert.NotContains(t, setCookies(rec)[0], "Max-Age")
				assert.NotContains(t, setCookies(rec)[0], "Expires")
			}
			cookie := cookieHeader("", rec)

			clk.Advance(c.idle + c.leeway)
			res := read(t, m, cookie)
			require.NoError(t, res.Err, "valid up to exp + leeway")
			require.True(t, res.OK)

			clk.Advance(time.Second)
			ltAssertRejected(t, read(t, m, cookie), ErrExpired)
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
			tok := rotToken(t, m, cookie)
			sid := rotClaims(t, m, tok).Sid
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
				csid, ciat, cexp, maxAge := ltCompanion(t, res.Rec)
				assert.Equal(t, sid, csid)
				assert.Equal(t, now, ciat)
				assert.Equal(t, now+int64(cfg.IdleTimeout/time.Second), cexp, "the refresh extends exp")
				assert.Equal(t, 0, maxAge, "a browser-session sign-in's companion is a browser-session cookie")
				assert.NotContains(t, setCookies(res.Rec)[0], "Max-Age")
				iat = now
				cookie = cookieHeader(cookie, res.Rec)
				require.Equal(t, tok, rotToken(t, m, cookie), "the session token is never re-issued by a read")
			}
			assert.Equal(t, c.want, writes, "Set-Cookie count")
		})
	}
}

// Both kinds of sign-in, with the same lifetimes: a remembered one's
// cookies carry Max-Age up to the absolute end, a browser-session one's
// none.
func TestAbsoluteLifetimeEndsActiveSession(t *testing.T) {
	for _, rem := range []bool{false, true} {
		t.Run(fmt.Sprint("remembered ", rem), func(t *testing.T) { ltAbsoluteLifetimeEndsActiveSession(t, rem) })
	}
}

func ltAbsoluteLifetimeEndsActiveSession(t *testing.T, rem bool) {
	m, clk := newTestManager(t, Config{RememberIdleTimeout: 30 * time.Minute, RememberAbsoluteTimeout: 8 * time.Hour}, nil)
	t0 := clk.Now().Unix()
	end := t0 + 8*3600
	cookie := ltSignIn(t, m, "alice", rem)
	tok := rotToken(t, m, cookie)
	sid := rotClaims(t, m, tok).Sid

	// Kept active by refreshes (companions) until 7h40m; their exp never
	// passes the end.
	for i := 1; i <= 23; i++ {
		clk.Advance(20 * time.Minute)
		now := clk.Now().Unix()
		res := read(t, m, cookie)
		require.NoError(t, res.Err, "at %d min", i*20)
		require.True(t, res.OK)
		csid, _, exp, maxAge := ltCompanion(t, res.Rec)
		assert.Equal(t, min(now+1800, end), exp, "at %d min", i*20)
		assert.Equal(t, ltMaxAge(rem, exp-now), maxAge, "the companion's Max-Age follows its exp at %d min", i*20)
		assert.Equal(t, sid, csid)
		cookie = cookieHeader(cookie, res.Rec)
		require.Equal(t, tok, rotToken(t, m, cookie), "no refresh re-issues the token (nor moves its absolute start)")
	}

	// 7h50m: Touch re-issues, but exp stays at the end.
	clk.Advance(10 * time.Minute)
	rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Touch())
	})
	env, maxAge := ltWritten(t, m, rec)
	assert.Equal(t, clk.Now().Unix(), env.Iat)
	assert.Equal(t, end, env.Exp, "Touch does not extend past the absolute lifetime")
	assert.Equal(t, t0, env.Abs)
	assert.Equal(t, ltMaxAge(rem, 600), maxAge)
	assert.Equal(t, rem, env.Rem, "Touch keeps the kind")
	assert.Equal(t, cpDeletion(cpCompanion), cpLine(t, rec, cpCompanion), "the carried companion deleted")
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
	assert.Equal(t, ltMaxAge(rem, 300), maxAge)
	assert.Equal(t, rem, env.Rem, "Renew keeps the kind")
	cookie = cookieHeader(cookie, rec)

	// 7h58m: a data change neither.
	clk.Advance(3 * time.Minute)
	rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Update(func(d *testData) error { d.N = 1; return nil }))
	})
	env, maxAge = ltWritten(t, m, rec)
	assert.Equal(t, end, env.Exp)
	assert.Equal(t, t0, env.Abs)
	assert.Equal(t, ltMaxAge(rem, 120), maxAge)
	assert.Equal(t, rem, env.Rem, "a data change keeps the kind")
	cookie = cookieHeader(cookie, rec)

	// Valid up to the end plus the leeway, expired just after.
	clk.Advance(time.Duration(end-clk.Now().Unix())*time.Second + 30*time.Second)
	res := read(t, m, cookie)
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	assert.Empty(t, setCookies(res.Rec), "refresh not due yet (last issue 2m30s ago)")
	clk.Advance(time.Second)
	ltAssertRejected(t, read(t, m, cookie), ErrExpired)
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
	ltAssertRejected(t, read(t, m, cookie), ErrExpired)
}

func TestSignInResetsAbsoluteRenewKeepsIt(t *testing.T) {
	const step = 20 * time.Minute
	t.Run("sign-in", func(t *testing.T) {
		// A remembered sign-in, then a new one of the other kind: the kind
		// is the new sign-in's.
		m, clk := newTestManager(t, Config{RememberIdleTimeout: 30 * time.Minute, RememberAbsoluteTimeout: 8 * time.Hour}, nil)
		t0 := clk.Now()
		cookie := ltKeepAlive(t, m, clk, ltSignIn(t, m, "alice", true), 7*time.Hour, step)
		rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			assert.Equal(t, t0.Unix(), s.SignedInAt().Unix())
			assert.True(t, s.Remembered())
			require.NoError(t, s.SignIn(testData{User: "alice"}))
			assert.False(t, s.Remembered())
			assert.Equal(t, clk.Now().Unix(), s.SignedInAt().Unix(), "a new sign-in starts a new absolute lifetime")
		})
		env, maxAge := ltWritten(t, m, rec)
		assert.Equal(t, clk.Now().Unix(), env.Abs)
		assert.Equal(t, clk.Now().Unix()+1800, env.Exp, "exp no longer capped by the old sign-in")
		assert.False(t, env.Rem, "the new sign-in's kind")
		assert.Equal(t, 0, maxAge, "a browser-session cookie")
		cpLine(t, rec, cpTombstone) // the old sign-in ended as by a sign-out
		// Alive well past the first sign-in's end (t0 + 8h).
		cookie = ltKeepAlive(t, m, clk, cookieHeader(cookie, rec), 2*time.Hour, step)
		require.Greater(t, clk.Now().Sub(t0), 8*time.Hour+31*time.Second)
		res := read(t, m, cookie)
		require.NoError(t, res.Err)
	})
	t.Run("renew", func(t *testing.T) {
		m, clk := newTestManager(t, Config{RememberIdleTimeout: 30 * time.Minute, RememberAbsoluteTimeout: 8 * time.Hour}, nil)
		t0 := clk.Now()
		cookie := ltKeepAlive(t, m, clk, ltSignIn(t, m, "alice", true), 7*time.Hour, step)
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
		assert.Equal(t, clk.Now().Unix()+1800, env.Exp)
		assert.Equal(t, 3600, maxAge, "Max-Age is the kept absolute end")
		assert.True(t, env.Rem, "Renew keeps the kind")
		cookie = ltKeepAlive(t, m, clk, cookieHeader(cookie, rec), 40*time.Minute, step) // t0 + 7h40m
		clk.Advance(20*time.Minute + 30*time.Second)                                     // t0 + 8h + leeway
		res := read(t, m, cookie)
		require.NoError(t, res.Err)
		clk.Advance(time.Second)
		ltAssertRejected(t, read(t, m, cookie), ErrExpired)
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
				ltAssertRejected(t, res, c.want)
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

// The session token's Max-Age is its absolute end (companions extend its
// idle expiry past its own exp, and the browser must keep it meanwhile); a
// companion's is its exp; both capped at the 400 days browsers keep (a
// RememberAbsoluteTimeout beyond is refused). Only remembered sign-ins
// have a Max-Age.
func TestMaxAgeIsAbsoluteEndCapped(t *testing.T) {
	const day = 24 * time.Hour
	const cap400 = 400 * 24 * 3600
	signInRec := func(t *testing.T, m *Manager[testData]) *httptest.ResponseRecorder {
		return serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			require.NoError(t, s.SignInRemembered(testData{User: "alice"}))
		})
	}
	t.Run("capped at 400 days", func(t *testing.T) {
		for _, idle := range []time.Duration{30 * time.Minute, 399 * day, 400 * day} {
			m, clk := newTestManager(t, Config{RememberIdleTimeout: idle, RememberAbsoluteTimeout: 400 * day}, nil)
			now := clk.Now().Unix()
			rec := signInRec(t, m)
			env, maxAge := ltWritten(t, m, rec)
			assert.Equal(t, cap400, maxAge, "idle %v", idle)
			assert.Equal(t, now+int64(idle/time.Second), env.Exp, "the token keeps its own expiry")
			assert.Contains(t, setCookies(rec)[0], "; Max-Age=34560000;")

			// A refresh much later: the companion is capped the same way.
			clk.Advance(idle / 2)
			res := read(t, m, cookieHeader("", rec))
			require.NoError(t, res.Err)
			_, _, exp, maxAge := ltCompanion(t, res.Rec)
			wantExp := min(clk.Now().Unix()+int64(idle/time.Second), now+cap400)
			assert.Equal(t, wantExp, exp)
			assert.Equal(t, min(cap400, int(wantExp-clk.Now().Unix())), maxAge)
		}
	})
	t.Run("exactly 400 days", func(t *testing.T) {
		m, _ := newTestManager(t, Config{RememberIdleTimeout: 400 * day, RememberAbsoluteTimeout: 400 * day}, nil)
		_, maxAge := ltWritten(t, m, signInRec(t, m))
		assert.Equal(t, cap400, maxAge)
		_, err := New[testData](Config{RememberAbsoluteTimeout: 400*day + time.Second}, mustKeyring(t, "a:primary:"+secretA))
		require.ErrorIs(t, err, ErrInvalidConfig)
		assert.Contains(t, err.Error(), "lower it to 400 days or less")
		// A browser-session sign-in has no Max-Age: any AbsoluteTimeout.
		_, err = New[testData](Config{IdleTimeout: 500 * day, AbsoluteTimeout: 1000 * day}, mustKeyring(t, "a:primary:"+secretA))
		require.NoError(t, err)
	})
	t.Run("the absolute end, not exp", func(t *testing.T) {
		m, clk := newTestManager(t, Config{RememberIdleTimeout: 2 * time.Hour, RememberAbsoluteTimeout: 3 * time.Hour}, nil)
		t0 := clk.Now().Unix()
		rec := signInRec(t, m)
		env, maxAge := ltWritten(t, m, rec)
		assert.Equal(t, t0+7200, env.Exp)
		assert.Equal(t, 10800, maxAge)
		cookie := cookieHeader("", rec)

		clk.Advance(90 * time.Minute)
		res := read(t, m, cookie)
		require.NoError(t, res.Err)
		_, _, exp, maxAge := ltCompanion(t, res.Rec)
		assert.Equal(t, t0+3*3600, exp, "capped by the absolute lifetime")
		assert.Equal(t, 5400, maxAge)
		cookie = cookieHeader(cookie, res.Rec)

		clk.Advance(10 * time.Minute)
		rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			require.NoError(t, s.Update(func(d *testData) error { d.N = 1; return nil }))
		})
		env, maxAge = ltWritten(t, m, rec)
		assert.Equal(t, t0+3*3600, env.Exp)
		assert.Equal(t, 4800, maxAge)
	})
}

// A token whose exp lies beyond iat + IdleTimeout + Leeway (no library
// token does) is treated as expiring then, not rejected; so lowering
// IdleTimeout shortens the sessions in flight.
func TestTokenExpClamped(t *testing.T) {
	t.Run("forged long exp", func(t *testing.T) {
		m, clk := newTestManager(t, Config{}, nil)
		now := clk.Now().Unix()
		cookie := ltForge(t, m, envelope{Sid: "sid-1", Iat: now, Exp: now + 10*3600, Abs: now, Data: json.RawMessage(`{"user":"eve"}`)})
		res := read(t, m, cookie)
		require.NoError(t, res.Err)
		assert.Equal(t, now+1830, res.Exp)
		clk.Advance(1860 * time.Second) // the clamped exp + leeway
		require.NoError(t, read(t, m, cookie).Err)
		clk.Advance(time.Second)
		ltAssertRejected(t, read(t, m, cookie), ErrExpired)
	})
	// The clamp uses the sign-in's own idle timeout: a remembered token
	// may claim RememberIdleTimeout, a browser-session one only
	// IdleTimeout.
	t.Run("by the sign-in's kind", func(t *testing.T) {
		const week = 7 * 24 * 3600
		for _, rem := range []bool{false, true} {
			m, clk := newTestManager(t, Config{}, nil)
			now := clk.Now().Unix()
			cookie := ltForge(t, m, envelope{Sid: "sid-1", Iat: now, Exp: now + 30*24*3600, Abs: now, Rem: rem, Data: json.RawMessage(`{"user":"eve"}`)})
			want := now + 1830
			if rem {
				want = now + week + 30
			}
			res := read(t, m, cookie)
			require.NoError(t, res.Err)
			assert.Equal(t, want, res.Exp, "remembered %v", rem)
			clk.Advance(time.Duration(want-now+30) * time.Second)
			require.NoError(t, read(t, m, cookie).Err)
			clk.Advance(time.Second)
			ltAssertRejected(t, read(t, m, cookie), ErrExpired)
		}
	})
	t.Run("idle timeout lowered", func(t *testing.T) {
		long, clk := newTestManager(t, Config{IdleTimeout: time.Hour}, nil)
		short, _ := newTestManager(t, Config{Now: clk.Now}, nil)
		now := clk.Now().Unix()
		cookie := signIn(t, long, "alice")
		clk.Advance(20 * time.Minute)
		res := read(t, short, cookie)
		require.NoError(t, res.Err, "shortened, not signed out")
		assert.Equal(t, now+1830, res.Exp)
		require.NoError(t, read(t, long, cookie).Err)
		clk.Advance(11*time.Minute + time.Second) // now + 31m + 1s
		ltAssertRejected(t, read(t, short, cookie), ErrExpired)
		require.NoError(t, read(t, long, cookie).Err, "control: the longer idle timeout still accepts it")
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
	set, deleted := names(setCookies(res.Rec))
	assert.Equal(t, []string{cpCompanion}, set, "due after half the idle timeout: the companion")
	assert.Empty(t, deleted)
}
