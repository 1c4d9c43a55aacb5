// Package apptest drives the examples' application over a real loopback
// server, the same way for every router and framework: every example
// serves the same routes and must behave the same.
//
//	GET  /public           a page that never touches the session: Cache-Control: public, max-age=60
//	POST /login            JSON {"name": N}: signs N in; 200 with the user as JSON
//	GET  /account/profile  protected: the user as JSON; 401 when not signed in
//	POST /account/note     protected: JSON {"note": S} stored in the session; 200 with the user
//	POST /logout           signs out; 204
//	anything else          404, a page that says who is signed in ("not found (signed in as N)")
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// NewApp builds an example's application for a manager: its routes
// behind the session middleware and cross-origin protection.
type NewApp func(m *jwesession.Manager[app.User]) http.Handler

// Secret is the tests' secret.
const Secret = "apptest-secret-0123456789abcdefghijklmnopqrstuvwxyz"

// Clock is a settable clock for Config.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed time.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// Logs collects log records at Warn and above.
type Logs struct {
	mu   sync.Mutex
	recs []slog.Record
}

// Enabled, WithAttrs, WithGroup and Handle make Logs a slog.Handler.
func (l *Logs) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *Logs) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *Logs) WithGroup(string) slog.Handler                 { return l }
func (l *Logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}

// Messages returns the messages logged so far.
func (l *Logs) Messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		out = append(out, r.Message)
	}
	return out
}

// Env is what a test needs around an application: its keyring, a config
// on a settable clock with development cookies (the server is plain HTTP
// on loopback) and a logger that keeps warnings.
type Env struct {
	Keyring *jwesession.Keyring
	Config  jwesession.Config
	Clock   *Clock
	Logs    *Logs
}

// Manager returns a new manager of the Env's keyring and config.
func (e *Env) Manager(t testing.TB) *jwesession.Manager[app.User] {
	t.Helper()
	m, err := jwesession.New[app.User](e.Config, e.Keyring)
	require.NoError(t, err)
	return m
}

// NewEnv returns a fresh Env.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	kr, err := jwesession.KeyringFromSecret(Secret)
	require.NoError(t, err)
	e := &Env{Keyring: kr, Clock: NewClock(), Logs: &Logs{}}
	e.Config = jwesession.Config{DevelopmentCookies: true, Now: e.Clock.Now, Logger: slog.New(e.Logs)}
	return e
}

// Client talks to a server over loopback with a cookie jar, as a browser
// does, and keeps each response for inspection.
type Client struct {
	t   testing.TB
	URL string
	c   *http.Client
}

// NewClient starts h on a loopback server (closed with the test) and
// returns a client for it.
func NewClient(t testing.TB, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := srv.Client()
	c.Jar = jar
	return &Client{t: t, URL: srv.URL, c: c}
}

// Response is what a request got.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// SetCookies returns the names the response set (deletions included) in
// order, "-" before a deletion.
func (r *Response) SetCookies() []string {
	var out []string
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.MaxAge < 0 {
			out = append(out, "-"+c.Name)
		} else {
			out = append(out, c.Name)
		}
	}
	return out
}

// Do sends a request; body, if not nil, is sent as JSON. extra headers
// are name, value pairs.
func (c *Client) Do(method, path string, body any, extra ...string) *Response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Cookies returns the jar's cookies for the server, as a Cookie header.
func (c *Client) Cookies() string {
	u, _ := url.Parse(c.URL)
	var parts []string
	for _, k := range c.c.Jar.Cookies(u) {
		parts = append(parts, k.Name+"="+k.Value)
	}
	return strings.Join(parts, "; ")
}

// Cache-Control values the library sets.
const (
	wrote = "no-store, private"
	read  = "private, no-cache"
)

// assertCache checks the response's cache headers: cc exactly, and Vary
// naming Cookie for any response that touched the session.
func assertCache(t testing.TB, step string, r *Response, cc string) {
	t.Helper()
	assert.Equal(t, []string{cc}, r.Header.Values("Cache-Control"), "%s: Cache-Control", step)
	if cc == wrote || cc == read {
		assert.Contains(t, strings.ToLower(strings.Join(r.Header.Values("Vary"), ",")), "cookie", "%s: Vary", step)
	} else {
		assert.NotContains(t, strings.ToLower(strings.Join(r.Header.Values("Vary"), ",")), "cookie", "%s: Vary", step)
	}
}

// user decodes a JSON user.
func user(t testing.TB, r *Response) app.User {
	t.Helper()
	var u app.User
	require.NoError(t, json.Unmarshal([]byte(r.Body), &u), r.Body)
	return u
}

// Run checks an example's application: sign in, read without a
// Set-Cookie, update as JSON, the sliding refresh, error pages that know
// the user, sign out, and the cache headers of every response; and that
// nothing was logged at Warn or above.
func Run(t *testing.T, newApp NewApp) {
	env := NewEnv(t)
	c := NewClient(t, newApp(env.Manager(t)))

	r := c.Do("GET", "/public", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Empty(t, r.SetCookies(), "public")
	assertCache(t, "public page (untouched)", r, "public, max-age=60")

	r = c.Do("GET", "/account/profile", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "protected, not signed in")
	assert.Empty(t, r.SetCookies())
	assertCache(t, "401", r, read)

	r = c.Do("POST", "/login", map[string]string{"name": "alice"}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, r.Status, "a cross-site sign-in is refused")
	assert.Empty(t, r.SetCookies())

	r = c.Do("POST", "/login", map[string]string{"name": "alice"})
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	assert.Equal(t, app.User{Name: "alice"}, user(t, r))
	assert.Equal(t, []string{"session"}, r.SetCookies(), "the sign-in sets the session cookie")
	assertCache(t, "sign-in", r, wrote)
	signedIn := c.Cookies()

	for i := range 3 {
		r = c.Do("GET", "/account/profile", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Body)
		assert.Equal(t, app.User{Name: "alice"}, user(t, r))
		assert.Empty(t, r.SetCookies(), "read %d sets no cookie", i)
		assertCache(t, "read", r, read)
	}

	r = c.Do("POST", "/account/note", map[string]string{"note": "buy milk"})
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	assert.Equal(t, app.User{Name: "alice", Note: "buy milk"}, user(t, r))
	assert.Equal(t, []string{"session"}, r.SetCookies(), "the update rewrites the session cookie")
	assertCache(t, "update", r, wrote)

	r = c.Do("POST", "/account/note", map[string]string{"note": "buy milk"})
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	assert.Empty(t, r.SetCookies(), "the same note again is no change")
	assertCache(t, "unchanged update", r, read)

	r = c.Do("GET", "/account/profile", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, app.User{Name: "alice", Note: "buy milk"}, user(t, r))
	assert.Empty(t, r.SetCookies())

	r = c.Do("GET", "/no/such/page", nil)
	assert.Equal(t, http.StatusNotFound, r.Status)
	assert.Contains(t, r.Body, "signed in as alice", "the error page knows the user")
	assert.Empty(t, r.SetCookies())
	assertCache(t, "404", r, read)

	env.Clock.Advance(6 * time.Minute)
	r = c.Do("GET", "/account/profile", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, []string{"~r.session"}, r.SetCookies(), "the sliding refresh writes only the companion")
	assertCache(t, "refresh", r, wrote)
	r = c.Do("GET", "/account/profile", nil)
	assert.Empty(t, r.SetCookies(), "once")

	r = c.Do("POST", "/logout", nil)
	assert.Equal(t, http.StatusNoContent, r.Status)
	set := r.SetCookies()
	assert.Contains(t, set, "-session", "the session cookie deleted: %v", set)
	assert.Contains(t, set, "~t.session", "the tombstone: %v", set)
	assertCache(t, "sign-out", r, wrote)

	r = c.Do("GET", "/account/profile", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "signed out")
	r = c.Do("GET", "/no/such/page", nil)
	assert.Contains(t, r.Body, "not signed in")

	// A late response of a request in flight re-set the old cookie: the
	// tombstone (which the jar adds) still refuses it.
	require.Contains(t, c.Cookies(), "~t.session=")
	old := strings.Split(signedIn, "; ")
	old = slices.DeleteFunc(old, func(s string) bool { return !strings.HasPrefix(s, "session=") })
	require.Len(t, old, 1)
	r = c.Do("GET", "/account/profile", nil, "Cookie", old[0])
	assert.Equal(t, http.StatusUnauthorized, r.Status, "the old cookie after sign-out")

	assert.Empty(t, env.Logs.Messages(), "nothing logged at Warn or above")
}
