package jwesession

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every cookie the manager writes, and every deletion, carries the
// manager's scope; the prefix follows from it.
func TestScopeOnEveryCookie(t *testing.T) {
	for _, c := range []struct {
		name   string
		cfg    Config
		prefix string
		attrs  string // with MAXAGE for the Max-Age part
	}{
		{"defaults", Config{}, "__Host-", "; Path=/MAXAGE; HttpOnly; Secure; SameSite=Lax"},
		{"domain", Config{Domain: "example.com"}, "__Secure-", "; Path=/; Domain=example.com MAXAGE; HttpOnly; Secure; SameSite=Lax"},
		{"path", Config{Path: "/app"}, "__Secure-", "; Path=/appMAXAGE; HttpOnly; Secure; SameSite=Lax"},
		{"strict", Config{SameSite: http.SameSiteStrictMode}, "__Host-", "; Path=/MAXAGE; HttpOnly; Secure; SameSite=Strict"},
		{"none, partitioned", Config{SameSite: http.SameSiteNoneMode, Partitioned: true}, "__Host-", "; Path=/MAXAGE; HttpOnly; Secure; SameSite=None; Partitioned"},
		{"all", Config{Domain: "Sub.Example-1.com", Path: "/a/b", SameSite: http.SameSiteNoneMode, Partitioned: true}, "__Secure-", "; Path=/a/b; Domain=Sub.Example-1.com MAXAGE; HttpOnly; Secure; SameSite=None; Partitioned"},
		{"development, domain", Config{DevelopmentCookies: true, Domain: "localhost", SameSite: http.SameSiteStrictMode}, "", "; Path=/; Domain=localhost MAXAGE; HttpOnly; SameSite=Strict"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.MaxChunks = 2
			m, clk := newTestManager(t, c.cfg, nil)
			attrs := func(maxAge string) string {
				return strings.Replace(strings.Replace(c.attrs, " MAXAGE", "MAXAGE", 1), "MAXAGE", maxAge, 1)
			}
			require.Equal(t, c.prefix+"session", m.CookieName())
			check := func(lines []string) {
				t.Helper()
				require.NotEmpty(t, lines)
				for _, line := range lines {
					name, _, rest := cpSplit(line)
					assert.True(t, strings.HasPrefix(name, c.prefix), line)
					if strings.Contains(rest, "; Max-Age=0") {
						assert.Equal(t, attrs("; Max-Age=0"), rest, "a deletion in the scope: %s", line)
					} else if strings.Contains(rest, "Max-Age") {
						i := strings.Index(rest, "; Max-Age=")
						j := i + len("; Max-Age=") + strings.IndexByte(rest[i+len("; Max-Age="):], ';')
						assert.Equal(t, attrs(rest[i:j]), rest, line)
					} else {
						assert.Equal(t, attrs(""), rest, line)
					}
				}
			}
			// A remembered sign-in (Max-Age), its refresh (companion), a
			// browser-session sign-in over it (tombstone, deletions), a
			// flash, a sign-out.
			rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				require.NoError(t, s.SignInRemembered(testData{User: "alice"}))
			})
			check(setCookies(rec))
			cookie := cookieHeader("", rec)
			clk.Advance(6 * time.Minute)
			res := read(t, m, cookie)
			require.NoError(t, res.Err)
			require.True(t, res.OK, "the scope's names are read back")
			check(setCookies(res.Rec))
			cookie = cookieHeader(cookie, res.Rec)
			rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				require.NoError(t, s.SignIn(testData{User: "bob", Note: strings.Repeat("n", 4000)}))
			})
			check(setCookies(rec))
			cookie = cookieHeader(cookie, rec)
			rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				require.NoError(t, s.Clear())
				require.NoError(t, s.AddFlash("signed out"))
			})
			check(setCookies(rec))
			cookie = cookieHeader(cookie, rec)
			rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				assert.Equal(t, []string{"signed out"}, s.Flashes())
			})
			check(setCookies(rec))
		})
	}
}

// Combinations browsers reject are constructor errors that name the fix.
func TestScopeErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{CookieName: "__Host-session", Domain: "example.com"}, "name the cookie without the prefix"},
		{Config{CookieName: "__Host-session", Path: "/app"}, "name the cookie without the prefix"},
		{Config{SameSite: http.SameSiteNoneMode, DevelopmentCookies: true}, "SameSite=None needs Secure"},
		{Config{Partitioned: true, DevelopmentCookies: true}, "Partitioned needs Secure"},
		{Config{SameSite: http.SameSiteDefaultMode}, "SameSite must be"},
		{Config{SameSite: 9}, "SameSite must be"},
		{Config{Domain: ".example.com"}, "without the leading dot"},
		{Config{Domain: "example.com:443"}, "Domain must be a host name"},
		{Config{Domain: "exa mple.com"}, "Domain must be a host name"},
		{Config{Domain: "example..com"}, "Domain must be a host name"},
		{Config{Domain: "-example.com"}, "Domain must be a host name"},
		{Config{Domain: "example.com; Secure"}, "Domain must be a host name"},
		{Config{Domain: strings.Repeat("a.", 127) + "a"}, "Domain must be a host name"},
		{Config{Path: "app"}, "Path must start with /"},
		{Config{Path: "/a;b"}, "Path must start with /"},
		{Config{Path: "/a b"}, "Path must start with /"},
		{Config{Path: "/ä"}, "Path must start with /"},
		{Config{Path: "/" + strings.Repeat("a", maxPathLen)}, "Path must start with /"},
	} {
		_, err := New[testData](c.cfg, mustKeyring(t, "a:primary:"+secretA))
		require.ErrorIs(t, err, ErrInvalidConfig, "%+v", c.cfg)
		assert.Contains(t, err.Error(), c.want, "%+v", c.cfg)
	}
	// Accepted: the __Secure- prefix asked for with a Domain, a host-only
	// __Host- name, the longest path and domain.
	for _, cfg := range []Config{
		{CookieName: "__Secure-session", Domain: "example.com"},
		{CookieName: "__Host-session"},
		{Path: "/" + strings.Repeat("a", maxPathLen-1)},
		{Domain: strings.Repeat("a", 63) + "." + strings.Repeat("b", 63)},
	} {
		_, err := New[testData](cfg, mustKeyring(t, "a:primary:"+secretA))
		assert.NoError(t, err, "%+v", cfg)
	}
}

// Keys are derived per base name, not per scope: a token written under
// one scope opens under another (the scope only decides where the browser
// sends it).
func TestScopeKeepsKeys(t *testing.T) {
	host, _ := newTestManager(t, Config{}, nil)
	shared, _ := newTestManager(t, Config{Domain: "example.com"}, nil)
	cookie := signIn(t, host, "alice")
	res := read(t, shared, strings.Replace(cookie, "__Host-", "__Secure-", 1))
	require.NoError(t, res.Err)
	assert.Equal(t, "alice", res.D.User)
	assert.False(t, read(t, shared, cookie).OK, "the __Host- cookie is not the __Secure- one")
}
