package demo

// Race pairs through the running demo, over loopback, as a browser sees
// them: two requests carrying the same cookies are served at once, and both
// responses are applied to a real RFC 6265 jar (net/http/cookiejar) in both
// arrival orders; then the browser's next page load shows the state. Real
// time, with -refresh-after 1s -idle-timeout 3s, so the sliding refresh is
// due a second after a sign-in. The demo's clock leeway is the library's
// 30s, longer than any wait here, so cookies that must be past their
// expiry are made by sealing backdated claims under the demo's secret,
// exactly as the demo would have sealed them that long ago.

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

// raceReq is one request of a race pair.
type raceReq struct {
	method, path string
	form         url.Values
}

var (
	reqRead   = raceReq{http.MethodGet, "/", nil}
	reqLogout = raceReq{http.MethodPost, "/logout", url.Values{}}
)

func reqNote(note string) raceReq {
	return raceReq{http.MethodPost, "/update", url.Values{"note": {note}}}
}

func reqLogin(user string) raceReq {
	return raceReq{http.MethodPost, "/login", url.Values{"user": {user}}}
}

// jarList returns the cookies c's jar would send.
func (c *client) jarList() []*http.Cookie {
	u, err := url.Parse(c.base + "/")
	require.NoError(c.t, err)
	return c.jar.Cookies(u)
}

// race serves a and b at once, each carrying exactly cookies, and returns
// their responses.
func race(t *testing.T, base string, cookies []*http.Cookie, a, b raceReq) (response, response) {
	t.Helper()
	var hdr []string
	for _, ck := range cookies {
		hdr = append(hdr, ck.Name+"="+ck.Value)
	}
	cookie := strings.Join(hdr, "; ")
	start := make(chan struct{})
	var out [2]response
	var errs [2]error
	var wg sync.WaitGroup
	for i, rq := range []raceReq{a, b} {
		wg.Go(func() {
			var body strings.Reader
			if rq.form != nil {
				body.Reset(rq.form.Encode())
			}
			req, err := http.NewRequest(rq.method, base+rq.path, &body)
			if err != nil {
				errs[i] = err
				return
			}
			if rq.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			<-start
			resp, err := hc.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			dropFlashLines(resp) // the flash cookie has tests of its own
			b, err := io.ReadAll(resp.Body)
			out[i], errs[i] = response{resp, string(b)}, err
		})
	}
	close(start)
	wg.Wait()
	for i, rq := range []raceReq{a, b} {
		require.NoError(t, errs[i], "%s %s", rq.method, rq.path)
		require.Less(t, out[i].StatusCode, 400, "%s %s: %s", rq.method, rq.path, out[i].body)
	}
	return out[0], out[1]
}

// landed returns a browser whose jar held cookies and then received the
// responses in this order.
func landed(t *testing.T, base string, cookies []*http.Cookie, rs ...response) *client {
	t.Helper()
	c := newClient(t, base)
	u, err := url.Parse(base + "/")
	require.NoError(t, err)
	c.jar.SetCookies(u, cookies)
	for _, r := range rs {
		c.jar.SetCookies(u, r.Cookies())
	}
	return c
}

// bothOrders calls check with a browser for each arrival order of a's and
// b's responses.
func bothOrders(t *testing.T, base string, cookies []*http.Cookie, ra, rb response, an, bn string, check func(t *testing.T, order string, c *client)) {
	t.Helper()
	check(t, an+" lands last", landed(t, base, cookies, rb, ra))
	check(t, bn+" lands last", landed(t, base, cookies, ra, rb))
}

// assertRefreshRead checks that a read with the refresh due wrote the
// companion alone: never the session token, never a deletion.
func assertRefreshRead(t *testing.T, r response) {
	t.Helper()
	assert.Equal(t, []string{companionName}, names(written(r)), "the read with the refresh due; Set-Cookie: %v", summary(r))
	assert.Empty(t, deletions(r), "the read with the refresh due deletes nothing")
}

// backdated returns a token of c's sign-in sealed as the demo would have
// sealed it at iat (expiry iat + 3s, the sign-in at iat).
func backdated(t *testing.T, c *client, iat int64) string {
	t.Helper()
	tok := c.token("session")
	cl := openToken(t, secret1, tok)
	pt := fmt.Appendf(nil, `{"v":2,"sid":%q,"sin":%q,"org":%q,"iat":%d,"exp":%d,"abs":%d,"rem":false,"tbs":"","data":{"user":%q}}`,
		cl.Sid, cl.Sin, cl.Org, iat, iat+3, iat, cl.Data.User)
	return seal(t, secret1, infoToken, strings.Split(tok, ".")[0], pt)
}

func TestRacePairs(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1), shortLifetimes...)

	// signedIn returns a browser signed in as user, its cookies and its
	// token's claims, once the sliding refresh is due.
	signedIn := func(t *testing.T, user string, due bool) (*client, []*http.Cookie, claims) {
		c := newClient(t, d.base)
		c.login(user)
		cl := openToken(t, secret1, c.token("session"))
		if due {
			waitRefreshDue(cl.Iat)
		}
		return c, c.jarList(), cl
	}
	signedOut := func(t *testing.T, order string, c *client) string {
		t.Helper()
		body := c.home()
		assert.Contains(t, body, "not signed in", order)
		assert.NotContains(t, body, "session id:", order)
		return body
	}

	t.Run("read with refresh due, logout", func(t *testing.T) {
		t.Parallel()
		_, cookies, _ := signedIn(t, "alice", true)
		rr, rl := race(t, d.base, cookies, reqRead, reqLogout)
		assertRefreshRead(t, rr)
		assert.Equal(t, []string{tombstoneName}, names(written(rl)))
		assert.Equal(t, everyTokenName, deletions(rl))
		bothOrders(t, d.base, cookies, rr, rl, "read", "logout", func(t *testing.T, order string, c *client) {
			signedOut(t, order, c)
			assert.Empty(t, tokenNames(c.jarNames()), "%s: no session token in the jar", order)
			assert.Contains(t, c.jarNames(), tombstoneName, order)
		})
	})

	t.Run("read with refresh due, update", func(t *testing.T) {
		t.Parallel()
		_, cookies, cl := signedIn(t, "bob", true)
		note := "the update's note"
		rr, ru := race(t, d.base, cookies, reqRead, reqNote(note))
		assertRefreshRead(t, rr)
		require.Contains(t, written(ru), "session")
		bothOrders(t, d.base, cookies, rr, ru, "read", "update", func(t *testing.T, order string, c *client) {
			body := c.home()
			assert.Contains(t, body, "signed in as bob", order)
			assert.Contains(t, body, fmt.Sprintf("note: %d bytes", len(note)), order)
			assert.Equal(t, cl.Sid, pageSID(body), order)
			assert.Equal(t, note, openToken(t, secret1, c.token("session")).Data.Note, order)
		})
	})

	t.Run("read with refresh due, renew", func(t *testing.T) {
		t.Parallel()
		_, cookies, cl := signedIn(t, "carol", true)
		rr, rn := race(t, d.base, cookies, reqRead, raceReq{http.MethodPost, "/renew", url.Values{}})
		assertRefreshRead(t, rr)
		renewed := openToken(t, secret1, written(rn)["session"].Value).Sid
		require.NotEqual(t, cl.Sid, renewed)
		if ck := written(rr)[companionName]; assert.NotNil(t, ck, "the read's companion") {
			assert.Equal(t, cl.Sid, openCompanion(t, secret1, ck.Value).Sid, "the read's companion names the old id")
		}
		bothOrders(t, d.base, cookies, rr, rn, "read", "renew", func(t *testing.T, order string, c *client) {
			for range 3 { // the old id never returns
				body := c.home()
				assert.Contains(t, body, "signed in as carol", order)
				assert.Equal(t, renewed, pageSID(body), "%s: the new session id", order)
				assert.NotContains(t, body, cl.Sid, order)
			}
			assert.Equal(t, renewed, openToken(t, secret1, c.token("session")).Sid, order)
		})
	})

	t.Run("update growing into 3 chunks, logout", func(t *testing.T) {
		t.Parallel()
		c, _, _ := signedIn(t, "dave", false)
		c.setNote("short")
		cookies := c.jarList()
		require.Equal(t, []string{"session"}, c.jarNames())
		grow := strings.Repeat("g", 7000)
		ru, rl := race(t, d.base, cookies, reqNote(grow), reqLogout)
		require.Equal(t, chunkNames(3), names(written(ru)), "the update grows the session into 3 chunks")
		assert.Equal(t, []string{"session", "session.3"}, deletions(ru))
		assert.Equal(t, everyTokenName, deletions(rl), "the sign-out deletes every chunk name, not only the bare one it carried")
		// The sign-out lands last: not one chunk left.
		c = landed(t, d.base, cookies, ru, rl)
		signedOut(t, "logout lands last", c)
		assert.Equal(t, []string{tombstoneName}, c.jarNames(), "logout lands last: no chunk left")
		// The update lands last: its chunks are back in the jar, and the
		// tombstone refuses them.
		c = landed(t, d.base, cookies, rl, ru)
		body := signedOut(t, "update lands last", c)
		assert.Contains(t, body, jwesession.ErrSignedOut.Error())
		assert.Equal(t, append(chunkNames(3), tombstoneName), c.jarNames(), "update lands last: exactly its chunks, refused")
	})

	t.Run("read carrying an expired cookie, login", func(t *testing.T) {
		t.Parallel()
		c, _, _ := signedIn(t, "erin", false)
		expired := backdated(t, c, time.Now().Unix()-100) // past its expiry and the 30s leeway
		cookies := []*http.Cookie{{Name: "session", Value: expired}}
		rr, rl := race(t, d.base, cookies, reqRead, reqLogin("frank"))
		assert.Contains(t, rr.body, "previous cookie rejected: "+jwesession.ErrExpired.Error())
		assertNoSetCookie(t, rr, "a read carrying a rejected cookie deletes nothing")
		require.Contains(t, written(rl), "session")
		bothOrders(t, d.base, cookies, rr, rl, "read", "login", func(t *testing.T, order string, c *client) {
			body := c.home()
			assert.Contains(t, body, "signed in as frank", order)
			assert.Equal(t, openToken(t, secret1, written(rl)["session"].Value).Sid, pageSID(body), order)
		})
	})

	// The companion keeps a session alive past its token's own expiry: a
	// token sealed 32s ago (expiry 3s later, plus the 30s leeway: it is
	// refused from two seconds on) is read with its refresh due; once the token alone
	// is refused as expired, the browser holding the token and the
	// companion is still signed in.
	t.Run("companion keeps the session alive", func(t *testing.T) {
		t.Parallel()
		c, _, _ := signedIn(t, "grace", false)
		old := backdated(t, c, time.Now().Unix()-32)
		oldClaims := openToken(t, secret1, old)
		b := newClient(t, d.base)
		b.setCookie("session", old)
		r := b.get("/")
		require.Contains(t, r.body, "signed in as grace")
		assertRefreshRead(t, r)
		if v, ok := b.jarCookies()[companionName]; assert.True(t, ok, "the companion is in the jar") {
			comp := openCompanion(t, secret1, v)
			assert.Equal(t, oldClaims.Sid, comp.Sid)
			assert.Greater(t, comp.Exp, oldClaims.Exp, "the companion refreshed past the token's own expiry")
		}

		waitUntil(oldClaims.Exp + 31) // past the token's own expiry and the leeway
		alone := newClient(t, d.base)
		alone.setCookie("session", old)
		body := alone.home()
		assert.Contains(t, body, "not signed in", "the token alone has expired")
		assert.Contains(t, body, jwesession.ErrExpired.Error())
		body = b.home()
		assert.Contains(t, body, "signed in as grace", "the companion kept the session alive")
		assert.Equal(t, old, b.token("session"), "with the same token")
	})
}
