package demo

// The lifetime flags and the sliding refresh, in real time: the demo runs
// with -refresh-after 1s and waits are a second or two. Only states are
// asserted, never how long anything took.

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

// Short lifetimes for the tests that wait in real time.
var shortLifetimes = []string{"-refresh-after", "1s", "-idle-timeout", "3s"}

// waitUntil sleeps until the wall clock has passed the Unix second sec
// (and a little more, so the demo's clock has too).
func waitUntil(sec int64) {
	time.Sleep(time.Until(time.Unix(sec, 0).Add(50 * time.Millisecond)))
}

// waitRefreshDue sleeps until a token or companion issued at iat is due
// for the sliding refresh under -refresh-after 1s.
func waitRefreshDue(iat int64) { waitUntil(iat + 1) }

// startOfSecond sleeps until the wall clock is early in a second, so that
// the next few requests are served within it.
func startOfSecond() {
	if frac := time.Duration(time.Now().Nanosecond()); frac > 100*time.Millisecond {
		time.Sleep(time.Second - frac + 5*time.Millisecond)
	}
}

func TestLifetimeFlags(t *testing.T) {
	t.Parallel()
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args []string
			is   error // the sentinel the error wraps, if any
		}{
			{[]string{"-idle-timeout", "-1s"}, nil},
			{[]string{"-absolute-timeout", "-1h"}, nil},
			{[]string{"-refresh-after", "-1ns"}, nil},
			{[]string{"-idle-timeout", "soon"}, nil},
			{[]string{"-refresh-after", "30m"}, jwesession.ErrInvalidConfig},    // not shorter than the idle timeout
			{[]string{"-absolute-timeout", "10m"}, jwesession.ErrInvalidConfig}, // shorter than the idle timeout
			{[]string{"-idle-timeout", "500ms"}, jwesession.ErrInvalidConfig},   // whole seconds
		} {
			stderr, err := runOnce(t, env("JWESESSION_SECRET", secret1), tc.args...)
			require.Error(t, err, "%v must be a start-up error; stderr:\n%s", tc.args, stderr)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is, "%v", tc.args)
			} else if strings.HasPrefix(tc.args[1], "-") {
				assert.Contains(t, err.Error(), "must not be negative", "%v", tc.args)
				assert.False(t, errors.Is(err, jwesession.ErrInvalidConfig), "%v: refused by the demo before the library", tc.args)
			}
			assert.NotContains(t, stderr, "listening on", "%v", tc.args)
		}
	})

	const day = 24 * 60 * 60
	for _, tc := range []struct {
		name                 string
		args                 []string
		remember             bool
		idle, absolute, tomb int64 // seconds: the sign-in's lifetimes, and its tombstone entry's
	}{
		{"defaults", nil, false, 30 * 60, 8 * 60 * 60, 30 * day},
		{"zero is the default", []string{"-idle-timeout", "0", "-absolute-timeout", "0s", "-refresh-after", "0", "-remember-idle-timeout", "0", "-remember-absolute-timeout", "0s"}, false, 30 * 60, 8 * 60 * 60, 30 * day},
		{"set", []string{"-idle-timeout", "10m", "-absolute-timeout", "1h", "-refresh-after", "2m", "-remember-idle-timeout", "20m", "-remember-absolute-timeout", "2h"}, false, 10 * 60, 60 * 60, 2 * 60 * 60},
		{"idle capped by absolute", []string{"-idle-timeout", "10m", "-absolute-timeout", "10m", "-remember-idle-timeout", "10m", "-remember-absolute-timeout", "10m"}, false, 10 * 60, 10 * 60, 10 * 60},
		{"remembered, defaults", nil, true, 7 * day, 30 * day, 30 * day},
		{"remembered, set", []string{"-idle-timeout", "10m", "-absolute-timeout", "3h", "-refresh-after", "2m", "-remember-idle-timeout", "20m", "-remember-absolute-timeout", "2h"}, true, 20 * 60, 2 * 60 * 60, 3 * 60 * 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDemo(t, env("JWESESSION_SECRET", secret1), tc.args...)
			c := newClient(t, d.base)
			form := url.Values{"user": {"alice"}}
			if tc.remember {
				form.Set("remember", "on")
			}
			r := c.post("/login", form)
			require.Equal(t, http.StatusSeeOther, r.StatusCode)
			tok := openToken(t, secret1, written(r)["session"].Value)
			assert.Equal(t, tc.remember, tok.Rem)
			assert.Equal(t, tc.idle, tok.Exp-tok.Iat, "the token's expiry: -idle-timeout or -remember-idle-timeout")
			if tc.remember {
				assert.InDelta(t, tc.absolute, written(r)["session"].MaxAge, 1, "the token's Max-Age: the absolute end, -remember-absolute-timeout")
			} else {
				assertBrowserSession(t, r, "session")
			}
			r = c.post("/logout", nil)
			ts := openTombstone(t, secret1, written(r)[tombstoneName].Value)
			require.Len(t, ts.Out, 1)
			assert.Equal(t, tok.Abs+tc.tomb, ts.Out[0].End, "the longest absolute end any sign-in can have")
		})
	}
}

// TestSlidingRefresh: -refresh-after sets when a read extends the idle
// expiry, and that read writes only the companion ~r.session (never the
// session token, never a deletion); a write later deletes the companion
// it carried.
func TestSlidingRefresh(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1), shortLifetimes...)
	c := newClient(t, d.base)
	startOfSecond()
	c.setNote("") // not signed in: nothing
	c.login("alice")
	tok := c.token("session")
	cl := openToken(t, secret1, tok)
	assert.Equal(t, int64(3), cl.Exp-cl.Iat, "-idle-timeout 3s")
	r := c.get("/")
	if time.Now().Unix() == cl.Iat {
		assertRead(t, r) // younger than -refresh-after: nothing written
	} else {
		t.Logf("a second boundary passed between sign-in and read; not checked")
	}

	waitRefreshDue(cl.Iat)
	r = c.get("/")
	assert.Contains(t, r.body, "signed in as alice")
	assert.Equal(t, cl.Sid, pageSID(r.body))
	w := written(r)
	require.Equal(t, []string{companionName}, names(w), "a read with the refresh due writes the companion alone; Set-Cookie: %v", summary(r))
	assert.Empty(t, deletions(r), "and deletes nothing")
	assert.Equal(t, []string{"no-store, private"}, r.Header.Values("Cache-Control"))
	assertSessionCookie(t, w[companionName])
	comp := openCompanion(t, secret1, w[companionName].Value)
	assert.Equal(t, cl.Sid, comp.Sid, "bound to the session id")
	assert.GreaterOrEqual(t, comp.Iat, cl.Iat+1)
	assert.Equal(t, comp.Iat+3, comp.Exp, "a later idle expiry: issue time + -idle-timeout")
	assert.Greater(t, comp.Exp, cl.Exp, "past the token's own expiry")
	assertBrowserSession(t, r, companionName) // the companion follows the sign-in's kind
	assert.Equal(t, tok, c.token("session"), "the session token is untouched")
	assert.Equal(t, []string{"session", companionName}, c.jarNames())

	// The companion's issue time counts as the last refresh: within its
	// second, a read writes nothing.
	r = c.get("/")
	if time.Now().Unix() == comp.Iat {
		assertRead(t, r)
	} else {
		t.Logf("a second boundary passed since the companion; not checked")
	}
	waitRefreshDue(comp.Iat)
	r = c.get("/")
	require.Equal(t, []string{companionName}, names(written(r)), "due again: another companion")
	assert.Greater(t, openCompanion(t, secret1, c.jarCookies()[companionName]).Exp, comp.Exp)

	// A write rewrites the token and deletes the companion it carried.
	r = c.setNote("hello")
	assert.Equal(t, []string{"session"}, names(written(r)))
	assert.Equal(t, append(chunkNames(4), companionName), deletions(r))
	assert.Equal(t, []string{"session"}, c.jarNames())
	assert.Contains(t, c.home(), "note: 5 bytes")

	// Under -secure the companion is __Host-~r.session, Secure.
	sd := startDemo(t, env("JWESESSION_SECRET", secret1), append([]string{"-secure"}, shortLifetimes...)...)
	sc := newClient(t, sd.base)
	sc.hc.Jar = nil
	r = sc.login("carol")
	st := written(r)["__Host-session"]
	require.NotNil(t, st)
	waitRefreshDue(openToken(t, secret1, st.Value).Iat)
	r = sc.get("/", "Cookie", "__Host-session="+st.Value)
	assert.Contains(t, r.body, "signed in as carol")
	require.Equal(t, []string{"__Host-~r.session"}, names(written(r)), "Set-Cookie: %v", summary(r))
	assert.True(t, written(r)["__Host-~r.session"].Secure)
	assert.Empty(t, deletions(r))
}

// TestSessionIDOnThePage: signed in, the page shows `session id: SID`, the
// id in the token; an update keeps it, /renew changes it, sign-out removes
// it.
func TestSessionIDOnThePage(t *testing.T) {
	t.Parallel()
	_, c := signedInDemo(t)
	sid := openToken(t, secret1, c.token("session")).Sid
	body := c.home()
	assert.Contains(t, body, "<p>session id: "+sid+"</p>")
	assert.Equal(t, sid, pageSID(body))

	c.setNote("hello")
	assert.Equal(t, sid, pageSID(c.home()), "an update keeps the session id")

	r := c.post("/renew", nil)
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	renewed := openToken(t, secret1, c.token("session")).Sid
	require.NotEqual(t, sid, renewed)
	body = c.home()
	assert.Equal(t, renewed, pageSID(body), "the page shows the id /renew gave")
	assert.NotContains(t, body, sid)

	c.post("/logout", url.Values{})
	body = c.home()
	assert.Contains(t, body, "not signed in")
	assert.NotContains(t, body, "session id:")
}
