package demo

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

// The demo in -format authjs and -format nextauth4: the contract's routes
// over a Next.js app's cookie (README "The demo").

const (
	authjsSecret1 = "demo-authjs-secret-1-0123456789abcdefghij"
	authjsSecret2 = "demo-authjs-secret-2-klmnopqrstuvwxyzABCD"
)

var uuidRE = regexp.MustCompile(`session id: ([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})`)

// authjsInspector returns a manager that reads the demo's cookies.
func authjsInspector(t *testing.T, format jwesession.AuthJSFormat, name string, secrets ...string) *jwesession.AuthJSManager[json.RawMessage] {
	t.Helper()
	s, err := jwesession.NewAuthJSSecrets(secrets...)
	require.NoError(t, err)
	m, err := jwesession.NewAuthJS[json.RawMessage](jwesession.AuthJSConfig{Format: format, CookieName: name, DevelopmentCookies: !strings.HasPrefix(name, "__")}, s)
	require.NoError(t, err)
	return m
}

// jarHeader returns the Cookie header the client's jar sends.
func (c *client) jarHeader() string {
	var parts []string
	for k, v := range c.jarCookies() {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, "; ")
}

func TestAuthJSStartupErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretsFile := filepath.Join(dir, "secrets")
	require.NoError(t, os.WriteFile(secretsFile, []byte(authjsSecret1+"\n"), 0o600))
	keysFile := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(keysFile, []byte("k1:primary:"+secret1+"\n"), 0o600))
	for _, tc := range []struct {
		name   string
		lookup func(string) (string, bool)
		args   []string
		want   string
	}{
		{"no secrets: no random one", env(), []string{"-format", "authjs"}, "set AUTH_SECRET"},
		{"no secrets, v4", env("AUTH_SECRET_1", authjsSecret1), []string{"-format", "nextauth4"}, "set NEXTAUTH_SECRET"},
		{"secrets file and AUTH_SECRET", env("AUTH_SECRET", authjsSecret2), []string{"-format", "authjs", "-secrets-file", secretsFile}, "unset AUTH_SECRET"},
		{"secrets file and NEXTAUTH_SECRET", env("NEXTAUTH_SECRET", authjsSecret2), []string{"-format", "nextauth4", "-secrets-file", secretsFile}, "unset NEXTAUTH_SECRET"},
		{"AUTH_SECRET and JWESESSION_SECRET", env("AUTH_SECRET", authjsSecret1, "JWESESSION_SECRET", secret1), []string{"-format", "authjs"}, "not JWESESSION_SECRET"},
		{"secrets file and JWESESSION_KEYS", env("JWESESSION_KEYS", "k:primary:"+secret1), []string{"-format", "authjs", "-secrets-file", secretsFile}, "not JWESESSION_KEYS"},
		{"AUTH_SECRET and -keys-file", env("AUTH_SECRET", authjsSecret1), []string{"-format", "authjs", "-keys-file", keysFile}, "does not take -keys-file"},
		{"secrets file and -keys-file", env(), []string{"-format", "authjs", "-secrets-file", secretsFile, "-keys-file", keysFile}, "does not take -keys-file"},
		{"a native lifetime flag", env("AUTH_SECRET", authjsSecret1), []string{"-format", "authjs", "-idle-timeout", "1m"}, "does not take -idle-timeout"},
		{"secrets file without a format", env(), []string{"-secrets-file", secretsFile}, "only with -format"},
		{"unknown format", env("AUTH_SECRET", authjsSecret1), []string{"-format", "authjs4"}, "-format must be"},
		{"missing secrets file", env(), []string{"-format", "authjs", "-secrets-file", filepath.Join(dir, "missing")}, "no such file"},
		{"weak secret", env("AUTH_SECRET", "short"), []string{"-format", "authjs"}, "weak secret"},
		{"empty variable", env("AUTH_SECRET", ""), []string{"-format", "authjs"}, "set but empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr, err := runOnce(t, tc.lookup, tc.args...)
			require.Error(t, err, "run must refuse to start; stderr:\n%s", stderr)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, stderr, "listening on")
			assert.NotContains(t, stderr, devAnnouncement)
			for _, s := range []string{authjsSecret1, authjsSecret2, secret1} {
				assert.NotContains(t, err.Error()+stderr, s)
			}
		})
	}
}

func TestAuthJSDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretsFile := filepath.Join(dir, "secrets")
	require.NoError(t, os.WriteFile(secretsFile, []byte("# newest first\n"+authjsSecret2+"\n"+authjsSecret1+"\n"), 0o600))
	for _, tc := range []struct {
		name, cookie string
		format       jwesession.AuthJSFormat
		lookup       func(string) (string, bool)
		args         []string
		secrets      []string // the secret that seals first
	}{
		{"authjs, secrets file", "authjs.session-token", jwesession.FormatAuthJS, env(), []string{"-format", "authjs", "-secrets-file", secretsFile}, []string{authjsSecret2, authjsSecret1}},
		{"authjs, AUTH_SECRET, secure", "__Secure-authjs.session-token", jwesession.FormatAuthJS, env("AUTH_SECRET", authjsSecret1), []string{"-format", "authjs", "-secure"}, []string{authjsSecret1}},
		{"nextauth4, NEXTAUTH_SECRET", "next-auth.session-token", jwesession.FormatNextAuth4, env("NEXTAUTH_SECRET", authjsSecret1), []string{"-format", "nextauth4"}, []string{authjsSecret1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDemo(t, tc.lookup, tc.args...)
			mode := "development"
			if strings.Contains(tc.name, "secure") {
				mode = "secure"
			}
			assert.Equal(t, fmt.Sprintf("jwesession-demo listening on %s (cookie %s, %s cookies)", d.base, tc.cookie, mode), d.line)
			assert.Equal(t, d.line+"\n", d.stderr.String())
			m := authjsInspector(t, tc.format, tc.cookie, tc.secrets...)
			c := newClient(t, d.base)
			r := c.login("alice")
			assertOwnNames(t, r, tc.cookie)
			w := written(r)
			require.Contains(t, w, tc.cookie, summary(r))
			assert.Equal(t, mode == "secure", w[tc.cookie].Secure)
			assert.True(t, w[tc.cookie].HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, w[tc.cookie].SameSite)
			assert.Equal(t, "no-store, private", r.Header.Get("Cache-Control"))
			info, err := m.Inspect(w[tc.cookie].Value)
			require.NoError(t, err, "the demo's token, read as the app reads it")
			assert.Equal(t, 0, info.Secret, "sealed under the first secret")
			var claims map[string]any
			require.NoError(t, json.Unmarshal(info.Claims, &claims))
			assert.Equal(t, "alice", claims["name"])
			assert.Equal(t, "alice", claims["sub"])
			if mode == "secure" {
				return // the client speaks plain HTTP: its jar keeps no Secure cookie
			}
			home := c.home()
			assert.Contains(t, home, "signed in as alice")
			sid := uuidRE.FindStringSubmatch(home)
			require.NotNil(t, sid, home)
			assert.Equal(t, claims["jti"], sid[1], "the session id is the jti")

			// A read writes nothing.
			assertNoSetCookie(t, c.get("/"))

			// The note, chunked up to 4 cookies.
			assertOwnNames(t, c.setNote(strings.Repeat("n", 8000)), tc.cookie)
			names := c.jarNames()
			assert.Equal(t, []string{tc.cookie + ".0", tc.cookie + ".1", tc.cookie + ".2"}, names)
			info, err = m.InspectCookies(c.jarHeader())
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(info.Claims, &claims))
			assert.Equal(t, strings.Repeat("n", 8000), claims["note"])
			assert.Contains(t, c.home(), "note: 8000 bytes")
			r = c.post("/update", url.Values{"note": {strings.Repeat("x", 16000)}})
			assert.Equal(t, http.StatusRequestEntityTooLarge, r.StatusCode)
			assertNoSetCookie(t, r)
			assertOwnNames(t, c.setNote("short"), tc.cookie)
			assert.Equal(t, []string{tc.cookie}, c.jarNames(), "shrinking deletes the chunks")

			// Renew: a new jti.
			r = c.post("/renew", nil)
			require.Equal(t, http.StatusSeeOther, r.StatusCode)
			assertOwnNames(t, r, tc.cookie)
			again := uuidRE.FindStringSubmatch(c.home())
			require.NotNil(t, again)
			assert.NotEqual(t, sid[1], again[1])
			assert.Contains(t, c.get("/admin").body, "admin page for alice")

			// A token the app made itself (encode() of its claims) is
			// read: here made by the library as encode() makes it.
			tok, err := m.Encode(json.RawMessage(`{"name":"bob","sub":"7","picture":"p"}`))
			require.NoError(t, err)
			b := newClient(t, d.base)
			b.setCookie(tc.cookie, tok)
			assert.Contains(t, b.home(), "signed in as bob")
			b.setNote("kept")
			info, err = m.InspectCookies(b.jarHeader())
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(info.Claims, &claims))
			assert.Equal(t, "p", claims["picture"], "a claim the demo does not know survives its update")

			// Sign-out deletes every name; no response ever set a cookie
			// whose name starts with the session cookie's but is not one
			// of its own.
			r = c.post("/logout", nil)
			assertOwnNames(t, r, tc.cookie)
			assert.ElementsMatch(t, append([]string{tc.cookie}, chunkNames4(tc.cookie)...), deletions(r))
			assert.Empty(t, c.jarNames())
			assert.Contains(t, c.home(), "not signed in")
		})
	}
}

// assertOwnNames checks that every cookie r sets or deletes is the
// session cookie or one of its chunks: the app joins every cookie whose
// name starts with the session cookie's, so no other feature may use such
// a name.
func assertOwnNames(t *testing.T, r response, name string) {
	t.Helper()
	own := append([]string{name}, chunkNames4(name)...)
	for _, c := range r.Cookies() {
		assert.Contains(t, own, c.Name, "%s sets %s", r.Request.URL.Path, c.Name)
	}
}

// chunkNames4 returns the names of the demo's 4 chunks.
func chunkNames4(name string) []string {
	var out []string
	for i := range maxChunks {
		out = append(out, fmt.Sprintf("%s.%d", name, i))
	}
	return out
}

// TestAuthJSEnvWarning: an environment the app reads differently from
// @auth/core is announced.
func TestAuthJSEnvWarning(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("AUTH_SECRET", authjsSecret1, "AUTH_SECRET_1", authjsSecret2), "-format", "authjs")
	assert.Contains(t, d.stderr.String(), "AUTH_SECRET_1 is set but ignored")
	c := newClient(t, d.base)
	w := written(c.login("alice"))
	_, err := authjsInspector(t, jwesession.FormatAuthJS, "authjs.session-token", authjsSecret1).Inspect(w["authjs.session-token"].Value)
	require.NoError(t, err, "sealed under AUTH_SECRET, as next-auth 5 reads the environment")
}

// With -redis (here a connector to a store in memory), an Auth.js format
// revokes too: POST /logout-everywhere refuses every token of the user
// (the sub claim) issued up to then, on this browser and another; without
// -redis it is 501 and changes nothing, as in the native format.
func TestAuthJSLogoutEverywhere(t *testing.T) {
	t.Parallel()
	lookup := env("AUTH_SECRET", authjsSecret1)
	d := startDemo(t, lookup, "-format", "authjs")
	c := newClient(t, d.base)
	c.login("alice")
	r := c.post("/logout-everywhere", url.Values{})
	assert.Equal(t, http.StatusNotImplemented, r.StatusCode)
	assertNoSetCookie(t, r)
	assert.Contains(t, c.home(), "signed in as alice")

	store := &jwesession.MemoryRevocations{}
	connect := func(addr string, _ *slog.Logger) (jwesession.RevocationStore, func(), error) {
		assert.Equal(t, "127.0.0.1:1", addr)
		return store, func() {}, nil
	}
	d = startDemoWith(t, connect, lookup, "-format", "authjs", "-redis", "127.0.0.1:1")
	laptop, phone, bob := newClient(t, d.base), newClient(t, d.base), newClient(t, d.base)
	laptop.login("alice")
	phone.login("alice")
	bob.login("bob")
	copied := phone.jarCookies()
	r = laptop.post("/logout-everywhere", url.Values{})
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	assertOwnNames(t, r, "authjs.session-token")
	assert.Contains(t, laptop.home(), "not signed in")
	home := phone.home()
	assert.Contains(t, home, "not signed in")
	assert.Contains(t, home, "previous cookie rejected: jwesession: session revoked")
	assert.Equal(t, copied, phone.jarCookies(), "a read does not delete the refused cookie")
	assert.Contains(t, bob.home(), "signed in as bob")
	time.Sleep(1100 * time.Millisecond) // revocation by subject covers its second: sign in after it
	phone.login("alice")
	assert.Contains(t, phone.home(), "signed in as alice", "a new sign-in after it")
}
