package demo

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The everyday-features contract (README, "The demo"), over loopback:
// remember me, and the flashes after a sign-out and a saved note.

func TestRememberMe(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1))
	c := newClient(t, d.base)
	r := c.post("/login", url.Values{"user": {"alice"}, "remember": {"on"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	ck := written(r)["session"]
	require.NotNil(t, ck, "Set-Cookie: %v", summary(r))
	assert.InDelta(t, 30*24*60*60, ck.MaxAge, 1, "remember=on: a persistent cookie until the absolute end (the library's RememberAbsoluteTimeout)")
	assert.True(t, openToken(t, secret1, ck.Value).Rem)
	assert.Contains(t, c.home(), "signed in as alice")

	for _, form := range []url.Values{{"user": {"bob"}}, {"user": {"bob"}, "remember": {"off"}}, {"user": {"bob"}, "remember": {""}}} {
		c := newClient(t, d.base)
		r = c.post("/login", form)
		require.Equal(t, http.StatusSeeOther, r.StatusCode)
		assertBrowserSession(t, r, "session")
		assert.False(t, openToken(t, secret1, written(r)["session"].Value).Rem, "%v", form)
		assert.Contains(t, c.home(), "signed in as bob")
	}
	assert.Contains(t, newClient(t, d.base).home(), `name="remember"`, "the sign-in form offers it")
}

// flashLines counts the "flash:" lines of a page.
func flashLines(body string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "<p>flash: ") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(l, "<p>"), "</p>"))
		}
	}
	return out
}

func TestFlashAfterLogout(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1))
	c := newFlashClient(t, d.base)
	c.login("alice")
	r := c.post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	set := names(written(r))
	assert.ElementsMatch(t, []string{tombstoneName, "~f.session"}, set, "the tombstone and the flash, no session: %v", summary(r))

	page := c.get("/")
	assert.Equal(t, []string{"flash: signed out"}, flashLines(page.body))
	assert.Contains(t, page.body, "not signed in", "the flash brings no session back")
	assert.Contains(t, deletions(page), "~f.session", "read once: the page deletes it")
	assert.Equal(t, []string{"no-store, private"}, page.Header.Values("Cache-Control"))
	page = c.get("/")
	assert.Empty(t, flashLines(page.body), "the page after it shows none")
	assertRead(t, page)

	// Signing out without a sign-in: no flash.
	anon := newFlashClient(t, d.base)
	r = anon.post("/logout", nil)
	assert.NotContains(t, names(written(r)), "~f.session")
	assert.Empty(t, flashLines(anon.home()))
}

func TestFlashAfterUpdate(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1))
	c := newFlashClient(t, d.base)

	// Not signed in: nothing changes, no flash.
	r := c.setNote("hello")
	assertNoSetCookie(t, r)
	assert.Empty(t, flashLines(c.home()))

	c.login("alice")
	r = c.setNote("hello")
	assert.Contains(t, names(written(r)), "~f.session")
	page := c.get("/")
	assert.Equal(t, []string{"flash: note saved"}, flashLines(page.body))
	assert.Contains(t, page.body, "note: 5 bytes")
	assert.Empty(t, flashLines(c.home()), "once")

	// The same note again: nothing changed, no flash.
	r = c.setNote("hello")
	assertNoSetCookie(t, r)
	assert.Empty(t, flashLines(c.home()))

	// Too large: 413, nothing changes, no flash.
	r = c.post("/update", url.Values{"note": {strings.Repeat("x", 12000)}})
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.StatusCode)
	assertNoSetCookie(t, r)
	r = c.post("/update", url.Values{"note": {strings.Repeat("x", 20000)}})
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.StatusCode)
	assertNoSetCookie(t, r)
	assert.Empty(t, flashLines(c.home()))

	// Removing the note is a change.
	c.setNote("")
	assert.Equal(t, []string{"flash: note saved"}, flashLines(c.home()))
}
