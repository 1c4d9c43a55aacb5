package jwesession

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/hkdf"
)

// The companion cookie (the sliding refresh), on the injected clock.
// Helpers are prefixed cp; tombstone_test.go and others use them too.

// The companion's and the tombstone's names for the default base name.
const (
	cpCompanion = "__Host-~r.session"
	cpTombstone = "__Host-~t.session"
)

// cpName returns the name of m's cookie of the given mark ("~r." the
// companion, "~t." the tombstone): the prefix, the mark, the base name.
func cpName(m *Manager[testData], mark string) string {
	base := strings.TrimPrefix(m.CookieName(), "__Host-")
	return m.CookieName()[:len(m.CookieName())-len(base)] + mark + base
}

// cpOpenAs decrypts a cookie value with go-jose under the key HKDF-SHA256
// gives for secret and info (salt "jwesession v1"), independently of the
// library's derived keys.
func cpOpenAs(secret, info, value string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, []byte(secret), []byte("jwesession v1"), []byte(info)), key); err != nil {
		return nil, err
	}
	obj, err := jose.ParseEncryptedCompact(value, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, err
	}
	return obj.Decrypt(key)
}

// cpSplit splits a Set-Cookie line into name, value and attributes.
func cpSplit(line string) (name, value, attrs string) {
	name, rest, _ := strings.Cut(line, "=")
	if i := strings.IndexByte(rest, ';'); i >= 0 {
		return name, rest[:i], rest[i:]
	}
	return name, rest, ""
}

// cpAttrs returns the attributes of every cookie the library writes.
func cpAttrs(maxAge int64, dev bool) string {
	secure := "; Secure"
	if dev {
		secure = ""
	}
	return fmt.Sprintf("; Path=/; Max-Age=%d; HttpOnly%s; SameSite=Lax", maxAge, secure)
}

// cpSessionAttrs returns the attributes of a browser-session cookie: no
// Max-Age.
func cpSessionAttrs(dev bool) string {
	return strings.Replace(cpAttrs(0, dev), "; Max-Age=0", "", 1)
}

// cpDeletion returns the exact deletion line of a production cookie name.
func cpDeletion(name string) string { return name + "=" + cpAttrs(0, false) }

// cpLine returns the one Set-Cookie line of rec for name (set or deleted).
func cpLine(t testing.TB, rec *httptest.ResponseRecorder, name string) string {
	t.Helper()
	var found []string
	for _, l := range setCookies(rec) {
		if n, _, _ := cpSplit(l); n == name {
			found = append(found, l)
		}
	}
	require.Len(t, found, 1, "one %s line in %q", name, setCookies(rec))
	return found[0]
}

// cpValue returns the value of the cookie name in a Cookie header.
func cpValue(t testing.TB, cookie, name string) string {
	t.Helper()
	for _, p := range strings.Split(cookie, "; ") {
		if k, v, ok := strings.Cut(p, "="); ok && k == name {
			return v
		}
	}
	t.Fatalf("no %s in %q", name, cookie)
	return ""
}

// cpSeal seals pt under key kid of m for purpose p: what a forger holding
// the key could write.
func cpSeal(t testing.TB, m *Manager[testData], kid string, p purpose, pt string) string {
	t.Helper()
	dk, ok := m.core.ring.Load().byID[kid]
	require.True(t, ok, "no key %q", kid)
	return seal(dk, p, []byte(pt))
}

// cpCompanionPT is a companion's plaintext in its one form.
func cpCompanionPT(sid string, iat, exp int64) string {
	return fmt.Sprintf(`{"v":1,"sid":"%s","iat":%d,"exp":%d}`, sid, iat, exp)
}

// cpBrowser is a browser's cookie jar (RFC 6265, net/http/cookiejar): a
// request carries its cookies, a response's Set-Cookie applies when it
// arrives. serve(t, m, b.Cookie(), …) without Arrive is a request in flight.
type cpBrowser struct {
	t   testing.TB
	m   *Manager[testData]
	jar *cookiejar.Jar
}

func cpNewBrowser(t testing.TB, m *Manager[testData]) *cpBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &cpBrowser{t, m, jar}
}

// Cookie returns the Cookie header the browser sends.
func (b *cpBrowser) Cookie() string { return mxHeader(b.jar) }

// Arrive applies the responses' Set-Cookie in order.
func (b *cpBrowser) Arrive(recs ...*httptest.ResponseRecorder) {
	for _, rec := range recs {
		b.jar.SetCookies(mxURL, rec.Result().Cookies())
	}
}

// Do sends a request and applies its response.
func (b *cpBrowser) Do(fn func(s *Session[testData])) *httptest.ResponseRecorder {
	rec := serve(b.t, b.m, b.Cookie(), func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { fn(s) })
	b.Arrive(rec)
	return rec
}

// cpSetTo moves clk to t.
func cpSetTo(clk *testClock, t time.Time) { clk.Advance(t.Sub(clk.Now())) }

func TestCompanionRefreshWritesOnlyCompanion(t *testing.T) {
	// The companion follows its sign-in's kind: persistent for a
	// remembered sign-in, a browser-session cookie otherwise (both kinds
	// with the same lifetimes here).
	for _, c := range []struct{ dev, rem bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		dev := c.dev
		t.Run(fmt.Sprintf("development=%v remembered=%v", dev, c.rem), func(t *testing.T) {
			m, clk := newTestManager(t, Config{DevelopmentCookies: dev, RememberIdleTimeout: 30 * time.Minute, RememberAbsoluteTimeout: 8 * time.Hour}, nil)
			prefix := map[bool]string{false: "__Host-", true: ""}[dev]
			cookie := ltSignIn(t, m, "alice", c.rem)
			t0 := clk.Now().Unix()
			sid := read(t, m, cookie).SID

			clk.Advance(5*time.Minute - time.Second)
			assert.Empty(t, setCookies(read(t, m, cookie).Rec), "not due before RefreshAfter")
			last := cookie
			for _, at := range []int64{300, 600} { // the refresh at RefreshAfter, then RefreshAfter after the companion
				cpSetTo(clk, time.Unix(t0+at, 0))
				res := read(t, m, last)
				require.NoError(t, res.Err)
				require.True(t, res.OK)
				lines := setCookies(res.Rec)
				require.Len(t, lines, 1, "the companion, no session token: %q", lines)
				name, value, attrs := cpSplit(lines[0])
				assert.Equal(t, prefix+"~r.session", name)
				if c.rem {
					assert.Equal(t, cpAttrs(1800, dev), attrs, "Max-Age = exp - now")
				} else {
					assert.Equal(t, cpSessionAttrs(dev), attrs, "no Max-Age: a browser-session cookie")
				}
				assert.Equal(t, "no-store, private", res.Rec.Header().Get("Cache-Control"))
				pt, err := cpOpenAs(secretA, "A256GCM companion session", value)
				require.NoError(t, err)
				assert.Equal(t, cpCompanionPT(sid, t0+at, t0+at+1800), string(pt))
				// Its own purpose's key: not the session key, not a token.
				_, err = cpOpenAs(secretA, "A256GCM session", value)
				assert.Error(t, err)
				assert.ErrorIs(t, read(t, m, prefix+"session="+value).Err, ErrDecrypt)

				last = cookieHeader(last, res.Rec)
				assert.Equal(t, cookie+"; "+name+"="+value, last, "the session token is untouched")
				// Within RefreshAfter of the companion, reads write nothing.
				for _, d := range []time.Duration{time.Second, 4*time.Minute + 58*time.Second} {
					clk.Advance(d)
					res := read(t, m, last)
					require.NoError(t, res.Err)
					assert.Empty(t, setCookies(res.Rec), "%v after the companion", clk.Now().Unix()-t0-at)
				}
			}
		})
	}
}

func TestCompanionOutlivesToken(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	t0 := clk.Now()
	cookie := signIn(t, m, "alice")
	clk.Advance(10 * time.Minute)
	withCompanion := cookieHeader(cookie, read(t, m, cookie).Rec)
	require.Contains(t, withCompanion, cpCompanion+"=")

	cpSetTo(clk, t0.Add(31*time.Minute)) // the token's own exp + 1 min
	res := read(t, m, withCompanion)
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	assert.Equal(t, "alice", res.D.User)
	assert.Equal(t, t0.Add(40*time.Minute).Unix(), res.Exp, "ExpiresAt is the companion's exp")
	set, deleted := names(setCookies(res.Rec))
	assert.Equal(t, []string{cpCompanion}, set, "due again: a new companion")
	assert.Empty(t, deleted)

	// Control: the token alone has expired.
	res = read(t, m, cookie)
	assert.ErrorIs(t, res.Err, ErrExpired)
	assert.False(t, res.OK)
	assert.Empty(t, setCookies(res.Rec))
}

// A companion of another session id (the one before a Renew) is ignored.
func TestCompanionBoundToSessionID(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	t0 := clk.Now()
	cookie1 := signIn(t, m, "alice")
	sid1 := read(t, m, cookie1).SID
	clk.Advance(time.Minute)
	cookie2 := cookieHeader(cookie1, serve(t, m, cookie1, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Renew())
	}))
	require.NotEqual(t, sid1, read(t, m, cookie2).SID)

	cpSetTo(clk, t0.Add(20*time.Minute)) // the old token's refresh: a companion for sid1
	_, comp, _ := cpSplit(cpLine(t, read(t, m, cookie1).Rec, cpCompanion))
	pt, err := cpOpenAs(secretA, "A256GCM companion session", comp)
	require.NoError(t, err)
	require.Contains(t, string(pt), `"sid":"`+sid1+`"`)

	cpSetTo(clk, t0.Add(32*time.Minute)) // the renewed token's exp (t0+31m) + 1 min
	res := read(t, m, cookie2+"; "+cpCompanion+"="+comp)
	assert.ErrorIs(t, res.Err, ErrExpired, "another session id's companion extends nothing")
	assert.Empty(t, setCookies(res.Rec))
	// Control: the same companion does extend its own session.
	res = read(t, m, cookie1+"; "+cpCompanion+"="+comp)
	require.NoError(t, res.Err)
	assert.Equal(t, t0.Add(50*time.Minute).Unix(), res.Exp)
}

func TestCompanionFromTheFutureIgnored(t *testing.T) {
	for _, c := range []struct {
		ahead int64 // the companion's iat past now, in seconds
		used  bool
	}{{30, true}, {31, false}} {
		t.Run(fmt.Sprintf("iat now+%ds", c.ahead), func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, nil)
			cookie := signIn(t, m, "alice")
			sid := read(t, m, cookie).SID
			clk.Advance(31 * time.Minute) // the token alone has expired
			iat := clk.Now().Unix() + c.ahead
			res := read(t, m, cookie+"; "+cpCompanion+"="+cpSeal(t, m, "a", purposeCompanion, cpCompanionPT(sid, iat, iat+1800)))
			assert.Empty(t, setCookies(res.Rec), "nothing due, nothing to delete")
			if !c.used {
				assert.ErrorIs(t, res.Err, ErrExpired, "issued beyond the leeway in the future: ignored")
				return
			}
			require.NoError(t, res.Err)
			assert.Equal(t, iat+1800, res.Exp)
		})
	}
}

// A companion claiming a later exp than its iat + IdleTimeout + Leeway is
// treated as expiring then.
func TestCompanionClamped(t *testing.T) {
	for _, claim := range []struct{ exp, want int64 }{
		{36000, 1830}, {1831, 1830}, {1830, 1830}, {1500, 1500}, // past iat
	} {
		t.Run(fmt.Sprintf("exp iat+%d", claim.exp), func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, nil)
			t0 := clk.Now().Unix()
			cookie := signIn(t, m, "alice")
			sid := read(t, m, cookie).SID
			iat := t0 + 600
			cookie += "; " + cpCompanion + "=" + cpSeal(t, m, "a", purposeCompanion, cpCompanionPT(sid, iat, iat+claim.exp))
			cpSetTo(clk, time.Unix(t0+31*60, 0)) // the token alone has expired
			res := read(t, m, cookie)
			require.NoError(t, res.Err)
			assert.Equal(t, iat+claim.want, res.Exp)
			cpSetTo(clk, time.Unix(iat+claim.want+30, 0))
			require.NoError(t, read(t, m, cookie).Err, "valid up to the clamped exp + leeway")
			clk.Advance(time.Second)
			assert.ErrorIs(t, read(t, m, cookie).Err, ErrExpired)
		})
	}
}

func TestCompanionNeverPastAbsoluteEnd(t *testing.T) {
	m, clk := newTestManager(t, Config{RememberIdleTimeout: 30 * time.Minute, RememberAbsoluteTimeout: time.Hour}, nil)
	t0 := clk.Now().Unix()
	end := t0 + 3600
	cookie := ltSignIn(t, m, "alice", true)
	sid := read(t, m, cookie).SID
	for _, step := range []struct {
		at, exp, maxAge int64
	}{{25 * 60, t0 + 55*60, 1800}, {50 * 60, end, 600}, {55 * 60, end, 300}} {
		cpSetTo(clk, time.Unix(t0+step.at, 0))
		res := read(t, m, cookie)
		require.NoError(t, res.Err, "at %ds", step.at)
		line := cpLine(t, res.Rec, cpCompanion)
		_, value, attrs := cpSplit(line)
		pt, err := cpOpenAs(secretA, "A256GCM companion session", value)
		require.NoError(t, err)
		assert.Equal(t, cpCompanionPT(sid, t0+step.at, step.exp), string(pt))
		assert.Equal(t, cpAttrs(step.maxAge, false), attrs)
		cookie = cookieHeader(cookie, res.Rec)
	}
	// A forged companion within the clamp still stops at the end.
	forged := "__Host-session=" + rotToken(t, m, cookie) + "; " + cpCompanion + "=" + cpSeal(t, m, "a", purposeCompanion, cpCompanionPT(sid, t0+55*60, t0+85*60))
	cpSetTo(clk, time.Unix(t0+56*60, 0))
	res := read(t, m, forged)
	require.NoError(t, res.Err)
	assert.Equal(t, end, res.Exp, "ExpiresAt never past the absolute end")
	cpSetTo(clk, time.Unix(end+30, 0))
	require.NoError(t, read(t, m, forged).Err)
	clk.Advance(time.Second)
	assert.ErrorIs(t, read(t, m, forged).Err, ErrExpired)
}

// Two refreshes at t1 < t2 from the same cookie: whichever arrives last
// decides, and a stale one landing last shortens the idle window by t2-t1
// at worst.
func TestStaleCompanionLandingLast(t *testing.T) {
	for _, staleLast := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale last=%v", staleLast), func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, nil)
			b := cpNewBrowser(t, m)
			b.Do(func(s *Session[testData]) { require.NoError(t, s.SignIn(testData{User: "alice"})) })
			t0 := clk.Now()
			sent := b.Cookie() // both requests leave before either response arrives
			clk.Advance(10 * time.Minute)
			r1 := serve(t, m, sent, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { s.Get() })
			clk.Advance(2 * time.Minute)
			r2 := serve(t, m, sent, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { s.Get() })
			for _, r := range []*httptest.ResponseRecorder{r1, r2} {
				require.Len(t, setCookies(r), 1)
				cpLine(t, r, cpCompanion)
			}
			last := t0.Add(12 * time.Minute)
			if staleLast {
				b.Arrive(r2, r1)
				last = t0.Add(10 * time.Minute)
			} else {
				b.Arrive(r1, r2)
			}
			cpSetTo(clk, last.Add(30*time.Minute+30*time.Second))
			res := read(t, m, b.Cookie())
			require.NoError(t, res.Err)
			assert.Equal(t, "alice", res.D.User)
			assert.Equal(t, last.Add(30*time.Minute).Unix(), res.Exp)
			clk.Advance(time.Second)
			assert.ErrorIs(t, read(t, m, b.Cookie()).Err, ErrExpired)
		})
	}
}

// A companion that cannot be used is ignored: never an error, never an
// extension.
func TestUnusableCompanionIgnored(t *testing.T) {
	m, clk := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA, "z:retired:"+secretC))
	other, _ := newTestManager(t, Config{CookieName: "other"}, nil) // same key, another base name
	t0 := clk.Now()
	cookie := signIn(t, m, "alice")
	sid := read(t, m, cookie).SID
	pt := func(now int64) string { return cpCompanionPT(sid, now, now+1800) }
	cases := []struct {
		name  string
		value func(now int64) string
	}{
		{"garbage", func(int64) string { return "garbage" }},
		{"a session token", func(int64) string { return rotToken(t, m, cookie) }},
		{"under the session key", func(n int64) string { return cpSeal(t, m, "a", purposeData, pt(n)) }},
		{"under the tombstone key", func(n int64) string { return cpSeal(t, m, "a", purposeTombstone, pt(n)) }},
		{"for another cookie name", func(n int64) string { return cpSeal(t, other, "a", purposeCompanion, pt(n)) }},
		{"under a retired key", func(n int64) string { return cpSeal(t, m, "z", purposeCompanion, pt(n)) }},
		{"format version 2", func(n int64) string {
			return cpSeal(t, m, "a", purposeCompanion, strings.Replace(pt(n), `"v":1`, `"v":2`, 1))
		}},
		{"not the one form", func(n int64) string {
			return cpSeal(t, m, "a", purposeCompanion, strings.Replace(pt(n), `,"iat"`, `, "iat"`, 1))
		}},
		{"truncated", func(n int64) string { v := cpSeal(t, m, "a", purposeCompanion, pt(n)); return v[:len(v)-1] }},
		{"oversized", func(int64) string { return strings.Repeat("A", 4000) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cpSetTo(clk, t0.Add(6*time.Minute)) // the token's refresh due
			res := read(t, m, cookie+"; "+cpCompanion+"="+c.value(clk.Now().Unix()))
			require.NoError(t, res.Err)
			assert.True(t, res.OK)
			assert.Equal(t, t0.Add(30*time.Minute).Unix(), res.Exp)
			_, v, _ := cpSplit(cpLine(t, res.Rec, cpCompanion))
			require.Len(t, setCookies(res.Rec), 1, "a fresh companion, nothing else")
			_, err := cpOpenAs(secretA, "A256GCM companion session", v)
			assert.NoError(t, err)

			cpSetTo(clk, t0.Add(31*time.Minute)) // the token alone has expired
			res = read(t, m, cookie+"; "+cpCompanion+"="+c.value(clk.Now().Unix()))
			assert.ErrorIs(t, res.Err, ErrExpired, "no extension")
			assert.Empty(t, setCookies(res.Rec))
		})
	}
	// Control: the well-formed companion does extend.
	res := read(t, m, cookie+"; "+cpCompanion+"="+cpSeal(t, m, "a", purposeCompanion, pt(clk.Now().Unix())))
	require.NoError(t, res.Err)
}

// Every write of the token deletes the companion the request carried.
func TestWritesDeleteTheCompanion(t *testing.T) {
	for _, c := range []struct {
		name         string
		fn           func(s *Session[testData]) error
		set, deleted []string
	}{
		{"update", func(s *Session[testData]) error {
			return s.Update(func(d *testData) error { d.N = 1; return nil })
		}, []string{"__Host-session"}, []string{cpCompanion}},
		{"touch", (*Session[testData]).Touch, []string{"__Host-session"}, []string{cpCompanion}},
		{"renew", (*Session[testData]).Renew, []string{"__Host-session"}, []string{cpCompanion}},
		{"sign in", func(s *Session[testData]) error {
			return s.SignIn(testData{User: "bob"})
		}, []string{cpTombstone, "__Host-session"}, []string{cpCompanion}},
		{"clear", (*Session[testData]).Clear, []string{cpTombstone}, []string{"__Host-session", cpCompanion}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, nil)
			cookie := signIn(t, m, "alice")
			clk.Advance(6 * time.Minute)
			cookie = cookieHeader(cookie, read(t, m, cookie).Rec)
			require.Contains(t, cookie, cpCompanion+"=")
			clk.Advance(time.Minute)
			rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				require.NoError(t, c.fn(s))
			})
			set, deleted := names(setCookies(rec))
			assert.ElementsMatch(t, c.set, set)
			assert.ElementsMatch(t, c.deleted, deleted)
			assert.Equal(t, cpDeletion(cpCompanion), cpLine(t, rec, cpCompanion))
			if c.name == "clear" {
				return
			}
			env, _ := ltWritten(t, m, rec)
			assert.Equal(t, clk.Now().Unix(), env.Iat, "a write is a new issue")
			res := read(t, m, cookieHeader(cookie, rec))
			require.NoError(t, res.Err)
			assert.Empty(t, setCookies(res.Rec), "the new token owes nothing")
		})
	}
}
