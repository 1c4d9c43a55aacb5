package jwesession

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignInThenRead(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "alice"}))
	})
	sc := setCookies(rec)
	require.Len(t, sc, 1)
	assert.True(t, strings.HasPrefix(sc[0], "__Host-session=eyJ"), sc[0])
	_, _, attrs := cpSplit(sc[0])
	assert.Equal(t, "; Path=/; HttpOnly; Secure; SameSite=Lax", attrs, "a browser-session cookie: no Max-Age, no Expires")
	assert.NotContains(t, sc[0], "Domain")

	res := read(t, m, cookieHeader("", rec))
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	assert.Equal(t, "alice", res.D.User)
	assert.Empty(t, setCookies(res.Rec), "a plain read writes no cookie")
}

func TestDevelopmentCookies(t *testing.T) {
	m, _ := newTestManager(t, Config{DevelopmentCookies: true}, nil)
	assert.Equal(t, "session", m.CookieName())
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "alice"}))
	})
	sc := setCookies(rec)
	require.Len(t, sc, 1)
	assert.True(t, strings.HasPrefix(sc[0], "session="))
	assert.NotContains(t, sc[0], "Secure")
}

func TestDevelopmentOptionKeepsKeys(t *testing.T) {
	// Keys are derived from the base name: a token written with development
	// cookies opens in production settings and back.
	dev, _ := newTestManager(t, Config{DevelopmentCookies: true}, nil)
	prod, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, dev, "alice")
	tok := strings.TrimPrefix(c, "session=")
	res := read(t, prod, "__Host-session="+tok)
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	assert.Equal(t, "alice", res.D.User)
}

func TestUnchangedSessionNeverWritesCookie(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	for i := 0; i < 1000; i++ {
		if i%100 == 0 {
			clk.Advance(time.Second) // still far from RefreshAfter
		}
		res := read(t, m, c)
		require.NoError(t, res.Err)
		require.True(t, res.OK)
		require.Empty(t, setCookies(res.Rec), "request %d", i)
	}
}

func TestSetEqualValueIsNoChange(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Set(testData{User: "alice"}))
	})
	assert.Empty(t, setCookies(rec))
	assert.Equal(t, "private, no-cache", rec.Header().Get("Cache-Control"))

	// Changed, then changed back within the request: no change either.
	rec = serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Set(testData{User: "bob"}))
		require.NoError(t, s.Set(testData{User: "alice"}))
	})
	assert.Empty(t, setCookies(rec))
}

// Every case that owes a Set-Cookie writes it exactly once, and only
// then: a read never writes the session token (the due refresh writes the
// companion; a token under an older key or a rejected cookie, nothing).
func TestOwedWritesExactlyOnce(t *testing.T) {
	type tc struct {
		name         string
		setup        func(t *testing.T, m *Manager[testData], clk *testClock) string // returns the cookie
		fn           func(t *testing.T, s *Session[testData])
		set, deleted []string // the names the response sets and deletes
		check        func(t *testing.T, before, after testData, sidBefore, sidAfter string)
	}
	plain := func(t *testing.T, m *Manager[testData], clk *testClock) string { return signIn(t, m, "alice") }
	same := func(t *testing.T, b, a testData, sb, sa string) {
		assert.Equal(t, b, a)
		assert.Equal(t, sb, sa)
	}
	tok := []string{"__Host-session"}
	cases := []tc{
		{name: "change", setup: plain, fn: func(t *testing.T, s *Session[testData]) {
			require.NoError(t, s.Update(func(d *testData) error { d.N = 7; return nil }))
		}, set: tok, check: func(t *testing.T, b, a testData, sb, sa string) {
			assert.Equal(t, 7, a.N)
			assert.Equal(t, sb, sa)
		}},
		{name: "clear", setup: plain, fn: func(t *testing.T, s *Session[testData]) {
			require.NoError(t, s.Clear())
		}, set: []string{cpTombstone}, deleted: tok},
		{name: "renew", setup: plain, fn: func(t *testing.T, s *Session[testData]) {
			require.NoError(t, s.Renew())
		}, set: tok, check: func(t *testing.T, b, a testData, sb, sa string) {
			assert.Equal(t, b, a)
			assert.NotEqual(t, sb, sa)
		}},
		{name: "touch", setup: plain, fn: func(t *testing.T, s *Session[testData]) {
			require.NoError(t, s.Touch())
		}, set: tok, check: same},
		{name: "refresh due", setup: func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			clk.Advance(5 * time.Minute)
			return c
		}, fn: func(t *testing.T, s *Session[testData]) { s.Get() }, set: []string{cpCompanion}, check: same},
		{name: "older key: no re-key on read", setup: func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
			return c
		}, fn: func(t *testing.T, s *Session[testData]) { s.Get() }, check: same},
		{name: "bad cookie: not deleted", setup: func(t *testing.T, m *Manager[testData], clk *testClock) string {
			return "__Host-session=garbage"
		}, fn: func(t *testing.T, s *Session[testData]) { s.Get() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, nil)
			cookie := c.setup(t, m, clk)
			var before testData
			var sidBefore, sidAfter string
			rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				before, _ = s.Get()
				sidBefore = s.ID()
				c.fn(t, s)
			})
			set, deleted := names(setCookies(rec))
			assert.ElementsMatch(t, c.set, set, "set, each once: %q", setCookies(rec))
			assert.ElementsMatch(t, c.deleted, deleted, "deleted, each once: %q", setCookies(rec))
			want := "no-store, private"
			if len(c.set)+len(c.deleted) == 0 {
				want = "private, no-cache"
			}
			assert.Equal(t, want, rec.Header().Get("Cache-Control"))
			if c.check == nil {
				return
			}
			next := cookieHeader(cookie, rec)
			var after testData
			rec2 := serve(t, m, next, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				var ok bool
				after, ok = s.Get()
				require.True(t, ok)
				require.NoError(t, s.Err())
				sidAfter = s.ID()
			})
			assert.Empty(t, setCookies(rec2), "the next read owes nothing")
			c.check(t, before, after, sidBefore, sidAfter)
		})
	}
}

// A read of a rejected cookie writes no Set-Cookie at all: deleting it
// could land after a concurrent sign-in's cookie and sign the user out.
func TestRejectedCookieReadWritesNothing(t *testing.T) {
	signOut := func(t *testing.T, m *Manager[testData], c string) string {
		return cookieHeader(c, serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			require.NoError(t, s.Clear())
		}))
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, m *Manager[testData], clk *testClock) string // the cookie to read
		want  error
	}{
		{"expired (idle)", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			clk.Advance(31 * time.Minute)
			return c
		}, ErrExpired},
		{"expired, with an expired companion", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			clk.Advance(10 * time.Minute)
			c = cookieHeader(c, read(t, m, c).Rec)
			clk.Advance(31 * time.Minute)
			return c
		}, ErrExpired},
		{"expired (absolute)", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			for range 16 { // a refresh every 29 min, to 7h44m
				clk.Advance(29 * time.Minute)
				res := read(t, m, c)
				require.NoError(t, res.Err)
				c = cookieHeader(c, res.Rec)
			}
			clk.Advance(17 * time.Minute) // 8h1m
			return c
		}, ErrExpired},
		{"tampered", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := []byte(signIn(t, m, "alice"))
			i := len(c) - 40 // in the ciphertext
			c[i] = map[bool]byte{true: 'B', false: 'A'}[c[i] == 'A']
			return string(c)
		}, ErrDecrypt},
		{"tombstoned", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			out := signOut(t, m, c)
			return c + "; " + cpTombstone + "=" + cpValue(t, out, cpTombstone)
		}, ErrSignedOut},
		{"retired key", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA)))
			return c
		}, ErrRetiredKey},
		{"retired origin, rewritten under the primary", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
			c = cookieHeader(c, serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				require.NoError(t, s.Touch())
			}))
			require.Equal(t, "b", rotKid(t, rotToken(t, m, c)))
			require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA)))
			return c
		}, ErrRetiredKey},
		{"unknown key", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB)))
			return c
		}, ErrUnknownKey},
		{"not yet valid", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			now := clk.Now().Unix() + 3600
			return ltForge(t, m, envelope{Sid: "sid-1", Iat: now, Exp: now + 60, Abs: now, Data: json.RawMessage(`{}`)})
		}, ErrNotYetValid},
		{"format version 1", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			now := clk.Now().Unix()
			return m.CookieName() + "=" + cpSeal(t, m, "a", purposeData, fmt.Sprintf(`{"v":1,"sid":"sid-1","iat":%d,"exp":%d,"abs":%d,"data":{}}`, now, now+60, now))
		}, ErrMalformed},
		{"garbage", func(*testing.T, *Manager[testData], *testClock) string { return "__Host-session=garbage" }, ErrMalformed},
		{"a chunk past MaxChunks", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			return "__Host-session.0=" + rotToken(t, m, signIn(t, m, "alice")) + "; __Host-session.1=x"
		}, ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, nil)
			ltAssertRejected(t, read(t, m, c.setup(t, m, clk)), c.want)
		})
	}
}

func TestUntouchedMeansUntouched(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	opened := m.Stats()[0].Opened
	for _, cookie := range []string{c, "__Host-session=garbage", c + "; other=1", ""} {
		rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			w.Header().Set("Cache-Control", "public, max-age=600")
			w.Header().Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
			_, _ = w.Write([]byte("hi"))
		})
		assert.Empty(t, setCookies(rec))
		assert.Equal(t, "public, max-age=600", rec.Header().Get("Cache-Control"))
		assert.NotEmpty(t, rec.Header().Get("Expires"))
		assert.Empty(t, rec.Header().Values("Vary"))
	}
	assert.Equal(t, opened, m.Stats()[0].Opened, "no cookie decrypted")
	read(t, m, c)
	assert.Equal(t, opened+1, m.Stats()[0].Opened, "the counter does count reads")
}

func TestSessionWithoutMiddleware(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	s, err := m.Session(context.Background())
	assert.Nil(t, s)
	assert.ErrorIs(t, err, ErrNoMiddleware)

	// Another manager's context is not this manager's.
	other, _ := newTestManager(t, Config{}, nil)
	h := other.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := m.Session(r.Context())
		assert.ErrorIs(t, err, ErrNoMiddleware)
	}))
	h.ServeHTTP(newRecorder(), newRequest(""))
}

func TestMiddlewareTwicePassesThrough(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	var outer, inner *Session[testData]
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer, _ = m.Session(r.Context())
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner, _ = m.Session(r.Context())
			require.NoError(t, inner.SignIn(testData{User: "alice"}))
		})).ServeHTTP(w, r)
	}))
	rec := newRecorder()
	h.ServeHTTP(rec, newRequest(""))
	require.NotNil(t, outer)
	assert.Same(t, outer, inner)
	assert.Len(t, setCookies(rec), 1)
}

func TestChangeAfterCommitIsAnError(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, ok := s.Get()
		require.True(t, ok)
		_, _ = w.Write([]byte("body"))
		for name, op := range map[string]func() error{
			"set":    func() error { return s.Set(testData{User: "bob"}) },
			"update": func() error { return s.Update(func(d *testData) error { d.N = 1; return nil }) },
			"signin": func() error { return s.SignIn(testData{User: "bob"}) },
			"clear":  s.Clear,
			"renew":  s.Renew,
			"touch":  s.Touch,
		} {
			assert.ErrorIs(t, op(), ErrCommitted, name)
		}
	})
	assert.Empty(t, setCookies(rec))
}

func TestFirstReadAfterCommitIsRefused(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = w.Write([]byte("body"))
		_, ok := s.Get()
		assert.False(t, ok, "a session first read after the headers went out would be cacheable")
		assert.ErrorIs(t, s.Err(), ErrCommitted)
	})
	assert.Equal(t, "public, max-age=60", rec.Header().Get("Cache-Control"))
}

func TestUpdateErrorChangesNothing(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	boom := errors.New("boom")
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		err := s.Update(func(d *testData) error { d.User = "mallory"; return boom })
		assert.ErrorIs(t, err, boom)
		d, _ := s.Get()
		assert.Equal(t, "alice", d.User)
	})
	assert.Empty(t, setCookies(rec))
}

func TestRenewAndTouchNeedASession(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.ErrorIs(t, s.Renew(), ErrNoSession)
		assert.ErrorIs(t, s.Touch(), ErrNoSession)
	})
	assert.Empty(t, setCookies(rec))
}

func TestSetWithoutSessionStartsOne(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Set(testData{User: "alice"}))
		assert.NotEmpty(t, s.ID())
		assert.Equal(t, clk.Now().Unix(), s.SignedInAt().Unix())
	})
	require.Len(t, setCookies(rec), 1)
}

func TestClearThenSignInWritesNewSession(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Clear())
		require.NoError(t, s.SignIn(testData{User: "bob"}))
	})
	set, deleted := names(setCookies(rec))
	assert.ElementsMatch(t, []string{cpTombstone, "__Host-session"}, set, "alice's sign-in tombstoned, bob's token")
	assert.Empty(t, deleted)
	next := cookieHeader(c, rec)
	res := read(t, m, next)
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	assert.Equal(t, "bob", res.D.User)
	assert.Empty(t, setCookies(res.Rec))
	ltAssertRejected(t, read(t, m, strings.Replace(next, rotToken(t, m, next), rotToken(t, m, c), 1)), ErrSignedOut)
}

func TestSessionFromGoValueKeyring(t *testing.T) {
	kr, err := NewKeyring(Key{ID: "k1", State: Primary, Secret: mustSecret(t, secretA)})
	require.NoError(t, err)
	m, _ := newTestManager(t, Config{}, kr)
	res := read(t, m, signIn(t, m, "alice"))
	require.NoError(t, res.Err)
	assert.Equal(t, "alice", res.D.User)
}

// A session sized to the budget under a short key id is still rewritten
// under a primary with the longest id at its next write (a read never
// re-keys), and reads back afterwards.
func TestRekeyNearBudgetFits(t *testing.T) {
	m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	// Grow the note to the largest the budget allows.
	lo, hi := 0, ChunkSize
	for lo < hi {
		mid := (lo + hi + 1) / 2
		var e error
		serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			e = s.Update(func(d *testData) error { d.Note = strings.Repeat("n", mid); return nil })
		})
		if e == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Update(func(d *testData) error { d.Note = strings.Repeat("n", lo); return nil }))
	})
	c = cookieHeader(c, rec)
	long := strings.Repeat("L", 32)
	require.NoError(t, m.SetKeyring(mustKeyring(t, long+":primary:"+secretB, "a:decrypt-only:"+secretA)))
	res := read(t, m, c)
	require.NoError(t, res.Err)
	assert.Empty(t, setCookies(res.Rec), "no re-key on read")
	rec = serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Touch())
	})
	sc := setCookies(rec)
	require.Len(t, sc, 1, "rewritten into one cookie: %q", sc)
	next := cookieHeader(c, rec)
	assert.Equal(t, long, rotKid(t, rotToken(t, m, next)))
	res = read(t, m, next)
	require.NoError(t, res.Err)
	assert.Len(t, res.D.Note, lo)
	assert.Empty(t, setCookies(res.Rec))
}

// Printing a session or the request's context never shows the cookie.
func TestSessionAndContextPrintRedacted(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	tok := strings.TrimPrefix(c, "__Host-session=")
	var buf strings.Builder
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, ok := s.Get()
		require.True(t, ok)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			for _, v := range []any{s, r.Context(), struct{ S *Session[testData] }{s}} {
				out := fmt.Sprintf(verb, v)
				assert.NotContains(t, out, tok[:20], verb)
				assert.NotContains(t, out, "alice", verb)
			}
		}
		logger.Info("x", "session", s, "ctx", r.Context())
	})
	assert.NotContains(t, buf.String(), tok[:20])
	assert.NotContains(t, buf.String(), "alice")
}

// A handler that panics under an outer recovery handler: the error page
// that handler writes is still private, and no cookie is written.
func TestPanicResponseIsPrivate(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	inner := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		_, _ = s.Get()
		require.NoError(t, s.Touch())
		w.Header().Set("Cache-Control", "public, max-age=600")
		panic("boom")
	}))
	recoverer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				http.Error(w, "oops", http.StatusInternalServerError)
			}
		}()
		inner.ServeHTTP(w, r)
	})
	rec := newRecorder()
	recoverer.ServeHTTP(rec, newRequest(c))
	assert.Equal(t, 500, rec.Code)
	assert.Equal(t, "no-store, private", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "Cookie", rec.Header().Get("Vary"))
	assert.Empty(t, setCookies(rec))
}

// Cache-Control and Vary set under another spelling are folded in.
func TestCachePolicyFoldsSpellings(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		w.Header()["cache-control"] = []string{"public, max-age=600, no-store"}
		w.Header()["vary"] = []string{"Accept-Encoding"}
		_, _ = s.Get()
	})
	h := rec.Result().Header
	assert.Equal(t, []string{"private, no-store"}, h["Cache-Control"])
	assert.Equal(t, []string{"Accept-Encoding, Cookie"}, h["Vary"])
	assert.NotContains(t, h, "cache-control")
	assert.NotContains(t, h, "vary")
}

// Errors of session operations name the operation once and keep their
// sentinel for errors.Is.
func TestOperationErrorText(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		err := s.Set(testData{Note: strings.Repeat("n", 2*ChunkSize)})
		require.ErrorIs(t, err, ErrTooLarge)
		assert.True(t, strings.HasPrefix(err.Error(), "jwesession: failed to set session: too large: "), err.Error())
		assert.Equal(t, 1, strings.Count(err.Error(), "jwesession:"), err.Error())
		err = s.Renew()
		require.ErrorIs(t, err, ErrNoSession)
		assert.Equal(t, 1, strings.Count(err.Error(), "jwesession:"), err.Error())
	})
}
