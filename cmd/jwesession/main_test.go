package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

// The tool is driven through tool.run, as main calls it, with a fake
// environment, standard input and clock; its output is parsed back. The
// cookies it reads are made by the library itself: a Manager with a test
// clock, served through its middleware to a test browser.

const (
	secret1 = "tool-test-secret-1-0123456789abcdefghij"
	secret2 = "tool-test-secret-2-klmnopqrstuvwxyzABCD"
	secret3 = "tool-test-secret-3-EFGHIJKLMNOPQRSTUVWX"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// result is one run of the tool.
type result struct {
	out, err string
	code     int
}

// fields parses "name: value" lines of standard output, then of standard
// error (where inspect reports a rejection); the first of each name wins.
func (r result) fields() map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(r.out+"\n"+r.err, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			if _, dup := m[k]; !dup {
				m[k] = v
			}
		}
	}
	return m
}

// runTool runs the tool with env (name, value pairs) at now.
func runTool(t *testing.T, stdin string, env []string, now time.Time, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) {
		for i := 0; i+1 < len(env); i += 2 {
			if env[i] == k {
				return env[i+1], true
			}
		}
		return "", false
	}
	code := tool{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, lookup: lookup, now: func() time.Time { return now }}.run(args)
	r := result{out.String(), errOut.String(), code}
	if len(args) > 0 && args[0] == "inspect" && code != 0 {
		// The contract: a rejection or an error prints nothing on
		// standard output.
		assert.Empty(t, r.out, "stdout of %q (exit %d)", args, code)
	}
	// Whatever the command, standard error never shows a secret; standard
	// output only shows the secrets of a keys file it prints.
	for _, s := range []string{secret1, secret2, secret3} {
		assert.NotContains(t, r.err, s, "stderr of %q", args)
		if len(args) > 0 && args[0] == "inspect" {
			assert.NotContains(t, r.out, s, "stdout of %q", args)
		}
	}
	return r
}

// userData is the applications' session data in these tests.
type userData struct {
	User string `json:"user"`
	Note string `json:"note,omitempty"`
}

// app is an application: a manager whose clock the test sets.
type app struct {
	t   *testing.T
	m   *jwesession.Manager[userData]
	now time.Time
}

func newApp(t *testing.T, kr *jwesession.Keyring, cfg jwesession.Config) *app {
	t.Helper()
	a := &app{t: t, now: t0}
	cfg.Now = func() time.Time { return a.now }
	cfg.Logger = slog.New(slog.DiscardHandler)
	m, err := jwesession.New[userData](cfg, kr)
	require.NoError(t, err)
	a.m = m
	return a
}

// at sets the application's clock.
func (a *app) at(now time.Time) *app {
	a.now = now
	return a
}

// serve sends one request from b to a handler calling fn with the
// request's session, and applies the response's cookies to b; it returns
// the names the response set (deletions not counted).
func (a *app) serve(b *browser, fn func(s *jwesession.Session[userData])) []string {
	a.t.Helper()
	h := a.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.m.Session(r.Context())
		require.NoError(a.t, err)
		fn(s)
	}))
	req := httptest.NewRequest("GET", "/", nil)
	if c := b.header(); c != "" {
		req.Header.Set("Cookie", c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return b.apply(rec.Result().Cookies())
}

// signIn signs d in on b.
func (a *app) signIn(b *browser, d userData) {
	a.serve(b, func(s *jwesession.Session[userData]) { require.NoError(a.t, s.SignIn(d)) })
}

// signInRemembered signs b in with "remember me".
func (a *app) signInRemembered(b *browser, d userData) {
	a.serve(b, func(s *jwesession.Session[userData]) { require.NoError(a.t, s.SignInRemembered(d)) })
}

// read reads b's session as a page would: the data, the sign-in id, why
// it was rejected, and the names the response set.
func (a *app) read(b *browser) (d userData, sin string, set []string, err error) {
	set = a.serve(b, func(s *jwesession.Session[userData]) {
		d, _ = s.Get()
		sin, err = s.SignInID(), s.Err()
	})
	return d, sin, set, err
}

// browser is a cookie jar: names in the order first set, and their values.
type browser struct {
	names  []string
	values map[string]string
}

// header returns the Cookie header the browser sends, "" when it has no
// cookie.
func (b *browser) header() string {
	var parts []string
	for _, n := range b.names {
		parts = append(parts, n+"="+b.values[n])
	}
	return strings.Join(parts, "; ")
}

// apply applies a response's cookies and returns the names set.
func (b *browser) apply(cs []*http.Cookie) []string {
	if b.values == nil {
		b.values = map[string]string{}
	}
	var set []string
	for _, c := range cs {
		_, had := b.values[c.Name]
		switch {
		case c.MaxAge < 0: // Max-Age=0: deleted
			if had {
				delete(b.values, c.Name)
				for i, n := range b.names {
					if n == c.Name {
						b.names = append(b.names[:i:i], b.names[i+1:]...)
						break
					}
				}
			}
		default:
			if !had {
				b.names = append(b.names, c.Name)
			}
			b.values[c.Name] = c.Value
			set = append(set, c.Name)
		}
	}
	return set
}

// value returns the value of a cookie, which must be set.
func (b *browser) value(t *testing.T, name string) string {
	t.Helper()
	v, ok := b.values[name]
	require.True(t, ok, "the browser holds %s: %s", name, b.names)
	return v
}

// only returns a browser holding only the named cookies of b.
func (b *browser) only(names ...string) *browser {
	c := &browser{values: map[string]string{}}
	for _, n := range names {
		if v, ok := b.values[n]; ok {
			c.names = append(c.names, n)
			c.values[n] = v
		}
	}
	return c
}

// clone returns a copy of b.
func (b *browser) clone() *browser { return b.only(b.names...) }

// token returns the token of a new sign-in of user under kr's primary,
// cookie "session", at now.
func token(t *testing.T, kr *jwesession.Keyring, now time.Time, user string) string {
	t.Helper()
	b := &browser{}
	newApp(t, kr, jwesession.Config{}).at(now).signIn(b, userData{User: user})
	return b.value(t, "__Host-session")
}

func keys(t *testing.T, s string) *jwesession.Keyring {
	t.Helper()
	kr, err := jwesession.ParseKeys(s)
	require.NoError(t, err)
	return kr
}

func TestKeygen(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		r := runTool(t, "", nil, t0, "keygen")
		require.Equal(t, 0, r.code)
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		require.Len(t, lines, 2)
		secret := lines[0]
		assert.Len(t, secret, 43, "32 bytes in unpadded base64url")
		assert.False(t, seen[secret], "secrets are random")
		seen[secret] = true

		// The secret is accepted as JWESESSION_SECRET, and the entry as
		// JWESESSION_KEYS with the same key id, so switching logs nobody out.
		one, err := jwesession.KeyringFromSecret(secret)
		require.NoError(t, err)
		entry := strings.Replace(lines[1], ":decrypt-only:", ":primary:", 1)
		kr, err := jwesession.ParseKeys(entry)
		require.NoError(t, err)
		assert.Equal(t, one.Primary().ID, kr.Primary().ID)
		assert.Empty(t, r.err)
	}
}

// Bad usage: exit 2, the usage on standard error, nothing on standard output.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"keygen", "extra"}, {"keygen", "-nope"}, {"rotate"}, {"rotate", "sideways"},
		{"rotate", "add", "extra"}, {"rotate", "add", "-nope"}, {"rotate", "-nope", "add"}, {"rotate", "confirm", "-at"},
		{"inspect", "TOKEN"}, {"inspect", "-nope"}, {"inspect", "-idle", "soon"}} {
		r := runTool(t, "", nil, t0, args...)
		assert.Equal(t, 2, r.code, "%q", args)
		assert.Contains(t, r.err, "usage:", "%q", args)
		assert.Empty(t, r.out, "%q", args)
	}
}

// -h and help: exit 0, the usage on standard output, for the tool and each
// subcommand.
func TestHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "rotate add|promote|confirm|retire|remove|emergency"},
		{[]string{"-h"}, "jwesession inspect"},
		{[]string{"--help"}, "jwesession keygen"},
		{[]string{"keygen", "-h"}, "jwesession keygen"},
		{[]string{"keygen", "help"}, "jwesession keygen"},
		{[]string{"inspect", "-h"}, "-idle"},
		{[]string{"inspect", "-help"}, "-idle"},
		{[]string{"inspect", "help"}, "-idle"},
		{[]string{"inspect", "-idle", "5m", "-h"}, "-idle"},
		{[]string{"rotate", "-h"}, "confirm"},
		{[]string{"rotate", "help"}, "confirm"},
		{[]string{"rotate", "confirm", "-h"}, "-at TIME"},
		{[]string{"rotate", "retire", "help"}, "-force"},
	} {
		r := runTool(t, "", nil, t0, c.args...)
		assert.Equal(t, 0, r.code, "%q", c.args)
		assert.True(t, strings.HasPrefix(r.out, "usage:\n"), "%q: %s", c.args, r.out)
		assert.Contains(t, r.out, c.want, "%q", c.args)
		assert.Empty(t, r.err, "%q", c.args)
	}
	r := runTool(t, "", nil, t0, "help")
	for _, cmd := range []string{"keygen", "inspect", "exit status: 0"} {
		assert.Contains(t, r.out, cmd)
	}
}
