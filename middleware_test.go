package jwesession

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// Cache policy
// ---------------------------------------------------------------------------

// The headers DESIGN.md says a session response loses: they outrank
// Cache-Control at the CDNs and proxies that read them.
var mwCDNHeaders = []string{
	"Expires", "Surrogate-Control", "CDN-Cache-Control",
	"Cloudflare-CDN-Cache-Control", "Vercel-CDN-Cache-Control", "Netlify-CDN-Cache-Control",
	"Acme-CDN-Cache-Control", "Edge-Control", "X-Accel-Expires",
}

// mwPolicy is what a handler did with its session, as the cache policy sees
// it.
type mwPolicy int

const (
	mwUntouched mwPolicy = iota // never asked for the session
	mwRead                      // read it, wrote nothing
	mwWrote                     // a session cookie or a deletion is in the response
)

// mwCookieWant is what Set-Cookie lines a response must carry.
type mwCookieWant int

const (
	mwNoCookie mwCookieWant = iota
	mwSessionCookie
	mwCompanion // the companion alone (the sliding refresh)
	mwSignOut   // the tombstone and deletions
)

// mwWantCacheControl is the Cache-Control DESIGN.md ("Cache policy")
// prescribes for a session response, as the single header line it must be.
func mwWantCacheControl(p mwPolicy, handlerNoStore bool) []string {
	switch {
	case p == mwWrote:
		return []string{"no-store, private"}
	case handlerNoStore:
		return []string{"private, no-store"} // stricter wins
	default:
		return []string{"private, no-cache"}
	}
}

// mwVaryTokens splits Vary header lines into their field names.
func mwVaryTokens(lines []string) []string {
	var out []string
	for _, l := range lines {
		for _, f := range strings.Split(l, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// mwCountFold counts the tokens equal to name, ignoring case.
func mwCountFold(tokens []string, name string) int {
	n := 0
	for _, tok := range tokens {
		if strings.EqualFold(tok, name) {
			n++
		}
	}
	return n
}

// mwExpectSessionHeaders turns the headers a handler produced without the
// middleware into the headers DESIGN.md says a session response carries
// (Set-Cookie and Vary aside, which are checked on their own), and returns
// the Vary field names expected.
func mwExpectSessionHeaders(base http.Header, p mwPolicy, handlerNoStore bool) (http.Header, []string) {
	want := base.Clone()
	for k := range want {
		for _, drop := range mwCDNHeaders {
			if strings.EqualFold(k, drop) {
				delete(want, k)
			}
		}
	}
	want["Cache-Control"] = mwWantCacheControl(p, handlerNoStore)
	vary := mwVaryTokens(want["Vary"])
	if mwCountFold(vary, "Cookie") == 0 {
		vary = append(vary, "Cookie")
	}
	delete(want, "Vary")
	delete(want, "Set-Cookie")
	return want, vary
}

func TestCachePolicyTable(t *testing.T) {
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	set := func(k, v string) func(http.Header) { return func(h http.Header) { h.Set(k, v) } }
	headerCases := []struct {
		name    string
		set     func(http.Header)
		noStore bool // the handler asked for no-store
	}{
		{"none", func(http.Header) {}, false},
		{"public max-age", set("Cache-Control", "public, max-age=600"), false},
		{"s-maxage", set("Cache-Control", "s-maxage=300, public"), false},
		{"no-store", set("Cache-Control", "no-store"), true},
		{"immutable stale-while-revalidate", set("Cache-Control", "public, immutable, stale-while-revalidate=60"), false},
		{"no-store on a second line, other case", func(h http.Header) {
			h.Add("Cache-Control", "public, max-age=60")
			h.Add("Cache-Control", "No-Store")
		}, true},
		{"vary accept-encoding", set("Vary", "Accept-Encoding"), false},
		{"vary already has cookie", set("Vary", "Accept-Encoding, Cookie"), false},
		{"vary already has cookie in lower case", set("Vary", "accept-encoding, cookie"), false},
		{"vary on two lines", func(h http.Header) {
			h.Add("Vary", "Accept-Encoding")
			h.Add("Vary", "Origin")
		}, false},
		{"surrogate-control", set("Surrogate-Control", "max-age=600"), false},
		{"cdn-cache-control", set("CDN-Cache-Control", "max-age=600"), false},
		{"cloudflare-cdn-cache-control", set("Cloudflare-CDN-Cache-Control", "max-age=600"), false},
		{"edge-control", set("Edge-Control", "cache-maxage=600"), false},
		{"x-accel-expires", set("X-Accel-Expires", "600"), false},
		{"expires", set("Expires", future), false},
		{"cdn header under a non-canonical key", func(h http.Header) {
			h["cdn-cache-control"] = []string{"max-age=600"}
		}, false},
		{"vendor cdn headers in odd casing", func(h http.Header) {
			h["vercel-cdn-cache-control"] = []string{"max-age=600"}
			h["NETLIFY-CDN-CACHE-CONTROL"] = []string{"max-age=600"}
			h["cloudflare-Cdn-cache-CONTROL"] = []string{"max-age=600"}
			h["aCME-cdn-CACHE-control"] = []string{"max-age=600"}
		}, false},
		{"a header merely containing CDN-Cache-Control stays", set("X-CDN-Cache-Control-Info", "hit"), false},
		{"everything at once", func(h http.Header) {
			h.Set("Cache-Control", "public, max-age=600, s-maxage=600")
			h.Add("Vary", "Accept-Encoding")
			for _, k := range mwCDNHeaders {
				h.Set(k, "600")
			}
			h.Set("ETag", `"v1"`)
		}, false},
	}

	m, clk := newTestManager(t, Config{}, nil)
	due := signIn(t, m, "alice")
	clk.Advance(6 * time.Minute) // due's refresh is due; the clock stays here
	valid := signIn(t, m, "alice")
	garbage := m.CookieName() + "=garbage"
	uses := []struct {
		name   string
		cookie string
		do     func(t *testing.T, s *Session[testData])
		policy mwPolicy
		sets   mwCookieWant
	}{
		{"untouched", valid, func(*testing.T, *Session[testData]) {}, mwUntouched, mwNoCookie},
		{"untouched with a bad cookie", garbage, func(*testing.T, *Session[testData]) {}, mwUntouched, mwNoCookie},
		{"read", valid, func(t *testing.T, s *Session[testData]) {
			d, ok := s.Get()
			assert.True(t, ok)
			assert.Equal(t, "alice", d.User)
		}, mwRead, mwNoCookie},
		{"read without a cookie", "", func(t *testing.T, s *Session[testData]) {
			_, ok := s.Get()
			assert.False(t, ok)
		}, mwRead, mwNoCookie},
		{"wrote: sign in", "", func(t *testing.T, s *Session[testData]) {
			assert.NoError(t, s.SignIn(testData{User: "bob"}))
		}, mwWrote, mwSessionCookie},
		{"wrote: set", valid, func(t *testing.T, s *Session[testData]) {
			assert.NoError(t, s.Set(testData{User: "alice", N: 7}))
		}, mwWrote, mwSessionCookie},
		{"wrote: companion (refresh due)", due, func(t *testing.T, s *Session[testData]) {
			_, ok := s.Get()
			assert.True(t, ok)
		}, mwWrote, mwCompanion},
		{"wrote: tombstone and deletions (clear)", valid, func(t *testing.T, s *Session[testData]) {
			assert.NoError(t, s.Clear())
		}, mwWrote, mwSignOut},
		{"read: bad cookie, not deleted", garbage, func(t *testing.T, s *Session[testData]) {
			_, ok := s.Get()
			assert.False(t, ok)
			assert.Error(t, s.Err())
		}, mwRead, mwNoCookie},
	}
	statuses := []struct {
		code  int
		write func(w http.ResponseWriter, r *http.Request)
	}{
		{http.StatusOK, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<p>page</p>") }},
		{http.StatusSeeOther, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/next", http.StatusSeeOther) }},
		{http.StatusNotFound, http.NotFound},
		{http.StatusInternalServerError, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "something broke", http.StatusInternalServerError)
		}},
	}

	for _, u := range uses {
		for _, hc := range headerCases {
			for _, st := range statuses {
				t.Run(u.name+"/"+hc.name+"/"+http.StatusText(st.code), func(t *testing.T) {
					// The same handler without the middleware gives what the
					// handler itself sends.
					base := httptest.NewRecorder()
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						hc.set(w.Header())
						st.write(w, r)
					}).ServeHTTP(base, newRequest(u.cookie))

					rec := serve(t, m, u.cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
						hc.set(w.Header())
						u.do(t, s)
						st.write(w, r)
					})
					res := rec.Result()
					require.Equal(t, st.code, res.StatusCode)
					assert.Equal(t, base.Body.String(), rec.Body.String())
					got := res.Header.Clone()

					if u.policy == mwUntouched {
						assert.Equal(t, base.Result().Header, got, "an untouched session changes no header")
						return
					}

					// Set-Cookie.
					cookies := res.Cookies()
					switch u.sets {
					case mwNoCookie:
						assert.Empty(t, got["Set-Cookie"])
					case mwSessionCookie:
						require.Len(t, cookies, 1, got["Set-Cookie"])
						assert.Equal(t, m.CookieName(), cookies[0].Name)
						assert.NotEmpty(t, cookies[0].Value)
						assert.Zero(t, cookies[0].MaxAge, "a browser-session sign-in: no Max-Age")
					case mwCompanion:
						require.Len(t, cookies, 1, got["Set-Cookie"])
						assert.Equal(t, cpCompanion, cookies[0].Name)
						assert.Zero(t, cookies[0].MaxAge, "a browser-session sign-in: no Max-Age")
					case mwSignOut:
						set, deleted := names(got["Set-Cookie"])
						assert.Equal(t, []string{cpTombstone}, set)
						assert.Equal(t, []string{m.CookieName()}, deleted)
					}

					want, wantVary := mwExpectSessionHeaders(base.Result().Header, u.policy, hc.noStore)
					gotVary := mwVaryTokens(got["Vary"])
					assert.Equal(t, wantVary, gotVary, "Vary: the handler's values, and Cookie once")
					assert.Equal(t, 1, mwCountFold(gotVary, "Cookie"), "Cookie listed exactly once in Vary")
					delete(got, "Vary")
					delete(got, "Set-Cookie")
					assert.Equal(t, want, got)
					assert.Len(t, res.Header["Cache-Control"], 1, "one Cache-Control line")
				})
			}
		}
	}
}

// Every header named CDN-Cache-Control or ending in -CDN-Cache-Control
// goes, whatever its vendor or casing; one merely containing it stays.
func TestCachePolicyStripsEveryCDNCacheControl(t *testing.T) {
	stripped := []string{
		"vercel-cdn-cache-control", "NETLIFY-CDN-CACHE-CONTROL", "Cloudflare-cdn-Cache-control",
		"cdn-CACHE-control", "Acme-CDN-Cache-Control", "acme-edge-cdn-cache-control",
	}
	kept := []string{
		"X-CDN-Cache-Control-Info", "XCDN-Cache-Control", "CDN-Cache-Controls",
		"Acme-CDN-Cache", "Cache-Control-CDN", "CDN-Cache-Control-Acme",
	}
	m, clk := newTestManager(t, Config{}, nil)
	due := signIn(t, m, "alice")
	clk.Advance(6 * time.Minute)
	valid := signIn(t, m, "alice")
	for _, c := range []struct {
		name, cookie string
		do           func(s *Session[testData])
		sets         bool // the response carries a Set-Cookie
	}{
		{"read", valid, func(s *Session[testData]) { s.Get() }, false},
		{"rejected read", "__Host-session=garbage", func(s *Session[testData]) { s.Get() }, false},
		{"write", valid, func(s *Session[testData]) { _ = s.Set(testData{User: "bob"}) }, true},
		{"companion", due, func(s *Session[testData]) { s.Get() }, true},
		{"sign-out", valid, func(s *Session[testData]) { _ = s.Clear() }, true},
		{"untouched (control)", valid, func(*Session[testData]) {}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := serve(t, m, c.cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				for _, k := range append(stripped, kept...) {
					w.Header()[k] = []string{"max-age=600"}
				}
				c.do(s)
			})
			h := rec.Result().Header
			assert.Equal(t, c.sets, len(h["Set-Cookie"]) > 0)
			for _, k := range kept {
				assert.Equal(t, []string{"max-age=600"}, h[k], k)
			}
			for _, k := range stripped {
				_, present := h[k]
				assert.Equal(t, c.name == "untouched (control)", present, k)
			}
			if c.sets {
				assert.Equal(t, []string{"no-store, private"}, h["Cache-Control"])
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Commit points, on a real server
// ---------------------------------------------------------------------------

// mwDevManager returns a manager with development cookies (the test server
// is plain HTTP) and the given logger (nil: discard).
func mwDevManager(t *testing.T, logger *slog.Logger) *Manager[testData] {
	t.Helper()
	m, _ := newTestManager(t, Config{DevelopmentCookies: true, Logger: logger}, nil)
	return m
}

// mwServer starts a test server running fn behind m's middleware, and
// returns it and a channel closed when the first handler call has returned.
func mwServer(t *testing.T, m *Manager[testData], fn func(w http.ResponseWriter, r *http.Request, s *Session[testData])) (*httptest.Server, <-chan struct{}) {
	t.Helper()
	done := make(chan struct{})
	var once atomic.Bool
	srv := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if once.CompareAndSwap(false, true) {
			defer close(done)
		}
		s, err := m.Session(r.Context())
		if !assert.NoError(t, err) {
			return
		}
		fn(w, r, s)
	})))
	t.Cleanup(srv.Close)
	return srv, done
}

// mwWait waits for a handler to return.
func mwWait(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return")
	}
}

// mwGet sends a GET with the given Cookie header.
func mwGet(t *testing.T, srv *httptest.Server, cookie string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+"/", nil)
	require.NoError(t, err)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	return resp
}

// mwSessionIn returns the session data the response's Set-Cookie carries.
func mwSessionIn(t *testing.T, m *Manager[testData], h http.Header) testData {
	t.Helper()
	resp := http.Response{Header: h}
	for _, c := range resp.Cookies() {
		if c.Name == m.CookieName() && c.MaxAge >= 0 {
			res := read(t, m, c.Name+"="+c.Value)
			require.NoError(t, res.Err)
			require.True(t, res.OK)
			return res.D
		}
	}
	t.Fatalf("no session cookie in %q", h["Set-Cookie"])
	return testData{}
}

// mwRawUpgrade sends an upgrade request on a raw connection and returns the
// response and the reader positioned after its header.
func mwRawUpgrade(t *testing.T, srv *httptest.Server) (*http.Response, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	req, err := http.NewRequest("GET", srv.URL+"/", nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test-protocol")
	require.NoError(t, req.Write(conn))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	require.NoError(t, err)
	return resp, br
}

func mwAssertWroteSession(t *testing.T, h http.Header) {
	t.Helper()
	assert.Equal(t, []string{"no-store, private"}, h["Cache-Control"])
	assert.Equal(t, 1, mwCountFold(mwVaryTokens(h["Vary"]), "Cookie"))
}

func TestFirstFinalWriteHeaderCommits(t *testing.T) {
	m := mwDevManager(t, nil)
	var inHandler http.Header
	var errAfter error
	srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.NoError(t, s.SignIn(testData{User: "alice"}))
		w.WriteHeader(http.StatusAccepted)
		inHandler = w.Header().Clone() // committed into the header map at WriteHeader
		errAfter = s.Set(testData{User: "bob"})
		_, _ = io.WriteString(w, "accepted")
	})
	resp := mwGet(t, srv, "")
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	mwWait(t, done)

	assert.NotEmpty(t, inHandler["Set-Cookie"], "Set-Cookie is in the headers right after WriteHeader")
	assert.ErrorIs(t, errAfter, ErrCommitted)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Len(t, resp.Header["Set-Cookie"], 1)
	assert.Equal(t, "alice", mwSessionIn(t, m, resp.Header).User, "the value at WriteHeader, not the later one")
	mwAssertWroteSession(t, resp.Header)
}

func TestEarlyHintsCommitNothing(t *testing.T) {
	m := mwDevManager(t, nil)
	const link = "</app.css>; rel=preload; as=style"
	var afterHint error
	var headersAfterHint http.Header
	srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		// A cookie is owed before the 103: if the 103 committed, it would
		// carry it and the later change would be refused.
		assert.NoError(t, s.SignIn(testData{User: "alice"}))
		w.Header().Set("Link", link)
		w.WriteHeader(http.StatusEarlyHints)
		headersAfterHint = w.Header().Clone()
		afterHint = s.Set(testData{User: "alice", Note: "after the hint"})
		_, _ = io.WriteString(w, "page")
	})

	var hints []http.Header
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			hints = append(hints, http.Header(h).Clone())
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", srv.URL+"/", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	mwWait(t, done)

	require.Len(t, hints, 1, "the 103 reached the client")
	hint := hints[0]
	assert.Equal(t, link, hint.Get("Link"))
	assert.Empty(t, hint.Values("Set-Cookie"), "no cookie on the 103")
	assert.Empty(t, hint.Values("Cache-Control"), "no cache policy on the 103")
	assert.Empty(t, hint.Values("Vary"))
	assert.Empty(t, headersAfterHint.Values("Set-Cookie"))
	assert.NoError(t, afterHint, "the session is still open after a 103")

	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, resp.Header["Set-Cookie"], 1)
	assert.Equal(t, "after the hint", mwSessionIn(t, m, resp.Header).Note, "the final response carries the change made after the 103")
	mwAssertWroteSession(t, resp.Header)
	assert.Equal(t, link, resp.Header.Get("Link"))
}

func TestSwitchingProtocolsCommits(t *testing.T) {
	m := mwDevManager(t, nil)
	var errAfter error
	var inHandler http.Header
	srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.NoError(t, s.SignIn(testData{User: "alice"}))
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "test-protocol")
		w.WriteHeader(http.StatusSwitchingProtocols)
		inHandler = w.Header().Clone()
		errAfter = s.Set(testData{User: "bob"})
		conn, brw, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("upgraded")
		_ = brw.Flush()
	})
	resp, br := mwRawUpgrade(t, srv)
	rest, _ := io.ReadAll(br)
	mwWait(t, done)

	assert.NotEmpty(t, inHandler["Set-Cookie"], "101 commits like a final status")
	assert.ErrorIs(t, errAfter, ErrCommitted)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Len(t, resp.Header["Set-Cookie"], 1)
	assert.Equal(t, "alice", mwSessionIn(t, m, resp.Header).User)
	mwAssertWroteSession(t, resp.Header)
	assert.Equal(t, "upgraded", string(rest))
}

func TestHijackCommits(t *testing.T) {
	m := mwDevManager(t, nil)
	var beforeHijack, atHijack http.Header
	var errAfter error
	srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.NoError(t, s.SignIn(testData{User: "alice"}))
		h := w.Header() // the map the wrapper commits into
		beforeHijack = h.Clone()
		conn, brw, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		defer func() { _ = conn.Close() }()
		atHijack = h.Clone()
		errAfter = s.Set(testData{User: "bob"})
		// A Hijack-based upgrade writes the response itself, from w.Header().
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test-protocol\r\n")
		_ = atHijack.Write(brw)
		_, _ = brw.WriteString("\r\nupgraded")
		_ = brw.Flush()
	})
	resp, br := mwRawUpgrade(t, srv)
	rest, _ := io.ReadAll(br)
	mwWait(t, done)

	assert.Empty(t, beforeHijack["Set-Cookie"], "nothing committed before the hijack")
	assert.NotEmpty(t, atHijack["Set-Cookie"], "Set-Cookie is in w.Header() when Hijack returns")
	mwAssertWroteSession(t, atHijack)
	assert.ErrorIs(t, errAfter, ErrCommitted)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "alice", mwSessionIn(t, m, resp.Header).User)
	assert.Equal(t, "upgraded", string(rest))
}

func TestFirstWriteCommits(t *testing.T) {
	m := mwDevManager(t, nil)
	var inHandler http.Header
	var errAfter error
	srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.NoError(t, s.SignIn(testData{User: "alice"}))
		w.Header().Set("Cache-Control", "public, max-age=600")
		_, _ = io.WriteString(w, "first")
		inHandler = w.Header().Clone()
		errAfter = s.Set(testData{User: "bob"})
		_, _ = io.WriteString(w, " second")
	})
	resp := mwGet(t, srv, "")
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	mwWait(t, done)

	assert.NotEmpty(t, inHandler["Set-Cookie"])
	assert.ErrorIs(t, errAfter, ErrCommitted)
	assert.Equal(t, "first second", string(body))
	require.Len(t, resp.Header["Set-Cookie"], 1)
	assert.Equal(t, "alice", mwSessionIn(t, m, resp.Header).User)
	mwAssertWroteSession(t, resp.Header)
}

func TestFlushCommitsBeforeBodyEnds(t *testing.T) {
	m := mwDevManager(t, nil)
	release := make(chan struct{})
	var flushErr, errAfter error
	var timedOut atomic.Bool
	srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.NoError(t, s.SignIn(testData{User: "alice"}))
		flushErr = http.NewResponseController(w).Flush()
		errAfter = s.Set(testData{User: "bob"})
		// The body is not finished until the client has seen the headers.
		select {
		case <-release:
		case <-time.After(3 * time.Second):
			timedOut.Store(true)
		}
		_, _ = io.WriteString(w, "streamed")
	})
	resp := mwGet(t, srv, "") // returns once the headers arrive
	setCookie := resp.Header.Clone()
	close(release)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	mwWait(t, done)

	assert.False(t, timedOut.Load(), "the headers did not arrive before the body finished")
	assert.NoError(t, flushErr)
	assert.ErrorIs(t, errAfter, ErrCommitted)
	require.Len(t, setCookie["Set-Cookie"], 1)
	assert.Equal(t, "alice", mwSessionIn(t, m, setCookie).User)
	mwAssertWroteSession(t, setCookie)
	assert.Equal(t, "streamed", string(body))
}

func TestReturnWithoutWritingCommits(t *testing.T) {
	t.Run("wrote", func(t *testing.T) {
		m := mwDevManager(t, nil)
		srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			w.Header().Set("Cache-Control", "public, max-age=600")
			w.Header().Set("Surrogate-Control", "max-age=600")
			assert.NoError(t, s.SignIn(testData{User: "alice"}))
		})
		resp := mwGet(t, srv, "")
		_ = resp.Body.Close()
		mwWait(t, done)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, resp.Header["Set-Cookie"], 1)
		assert.Equal(t, "alice", mwSessionIn(t, m, resp.Header).User)
		mwAssertWroteSession(t, resp.Header)
		assert.Empty(t, resp.Header.Values("Surrogate-Control"))
	})
	t.Run("read", func(t *testing.T) {
		m := mwDevManager(t, nil)
		cookie := signIn(t, m, "alice")
		srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			w.Header().Set("Cache-Control", "public, max-age=600")
			_, ok := s.Get()
			assert.True(t, ok)
		})
		resp := mwGet(t, srv, cookie)
		_ = resp.Body.Close()
		mwWait(t, done)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Empty(t, resp.Header["Set-Cookie"])
		assert.Equal(t, []string{"private, no-cache"}, resp.Header["Cache-Control"])
		assert.Equal(t, 1, mwCountFold(mwVaryTokens(resp.Header["Vary"]), "Cookie"))
	})
}

func TestResponseControllerReachesUnderlyingWriter(t *testing.T) {
	m := mwDevManager(t, nil)
	var isWrapper bool
	var errs map[string]error
	var bare error
	var signInErr error
	srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, isWrapper = w.(*responseWriter[testData])
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(time.Minute)
		errs = map[string]error{
			"SetWriteDeadline": rc.SetWriteDeadline(deadline),
			"SetReadDeadline":  rc.SetReadDeadline(deadline),
			"EnableFullDuplex": rc.EnableFullDuplex(),
		}
		// Control: a wrapper without Unwrap hides these methods.
		bare = http.NewResponseController(struct{ http.ResponseWriter }{w}).SetWriteDeadline(deadline)
		// None of these sends headers, so the session is still open.
		signInErr = s.SignIn(testData{User: "alice"})
		_, _ = io.WriteString(w, "ok")
	})
	resp := mwGet(t, srv, "")
	_ = resp.Body.Close()
	mwWait(t, done)

	require.True(t, isWrapper, "the handler sees the middleware's writer")
	for name, err := range errs {
		assert.NoError(t, err, name)
	}
	assert.ErrorIs(t, bare, http.ErrNotSupported, "the control shows the check can fail")
	assert.NoError(t, signInErr)
	require.Len(t, resp.Header["Set-Cookie"], 1)
	assert.Equal(t, "alice", mwSessionIn(t, m, resp.Header).User)
}

// mwFlushErrorWriter is a writer whose flush fails, as the server's does
// once the client has gone.
type mwFlushErrorWriter struct {
	http.ResponseWriter
	err error
}

func (w *mwFlushErrorWriter) FlushError() error { return w.err }

func TestFlushReportsUnderlyingError(t *testing.T) {
	// http.ResponseController.Flush returns the underlying writer's error
	// (a gone client) or ErrNotSupported; the wrapper must not turn either
	// into success, or a streaming handler never learns its client left.
	m, _ := newTestManager(t, Config{}, nil)
	gone := errors.New("client gone")
	for name, tc := range map[string]struct {
		w    http.ResponseWriter
		want error
	}{
		"flush fails":       {&mwFlushErrorWriter{httptest.NewRecorder(), gone}, gone},
		"cannot flush":      {struct{ http.ResponseWriter }{httptest.NewRecorder()}, http.ErrNotSupported},
		"flushes (control)": {httptest.NewRecorder(), nil},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			var committed bool
			m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := m.Session(r.Context())
				_, _ = s.Get()
				err = http.NewResponseController(w).Flush()
				committed = w.Header().Get("Cache-Control") != ""
			})).ServeHTTP(tc.w, newRequest(""))
			assert.True(t, committed, "Flush commits even when it fails")
			if tc.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tc.want)
			}
		})
	}
}

func TestChangeAfterCommitIsLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	m := mwDevManager(t, logger)
	cookie := signIn(t, m, "alice")
	token := strings.TrimPrefix(cookie, m.CookieName()+"=")
	require.NotEqual(t, cookie, token)

	var setErr, readErr error
	srv, done := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, ok := s.Get()
		assert.True(t, ok)
		_, _ = io.WriteString(w, "body")
		setErr = s.Set(testData{User: "alice", Note: "top-secret-note"})
	})
	resp := mwGet(t, srv, cookie)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	mwWait(t, done)

	assert.ErrorIs(t, setErr, ErrCommitted)
	assert.Empty(t, resp.Header["Set-Cookie"])
	out := logs.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1, "one log line for the lost change: %q", out)
	assert.Contains(t, lines[0], "level=ERROR")
	assert.Contains(t, lines[0], "jwesession")
	assert.NotContains(t, out, token, "no token in the log")
	for i := 0; i+16 <= len(token); i += 8 {
		assert.NotContains(t, out, token[i:i+16], "no token bytes in the log")
	}
	assert.NotContains(t, out, "eyJ", "no JOSE header in the log")
	assert.NotContains(t, out, "top-secret-note", "no session data in the log")

	// The first read after commit is refused and logged too.
	logs.Reset()
	var ok bool
	srv2, done2 := mwServer(t, m, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, _ = io.WriteString(w, "body")
		_, ok = s.Get()
		readErr = s.Err()
	})
	resp = mwGet(t, srv2, cookie)
	_ = resp.Body.Close()
	mwWait(t, done2)
	assert.False(t, ok)
	assert.ErrorIs(t, readErr, ErrCommitted)
	out = logs.String()
	assert.Contains(t, out, "level=WARN")
	assert.NotContains(t, out, token)
	assert.NotContains(t, out, "eyJ")
}

// ---------------------------------------------------------------------------
// Untouched, on a real server
// ---------------------------------------------------------------------------

func TestUntouchedIsByteIdenticalOnRealServer(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	old := signIn(t, m, "alice")
	clk.Advance(10 * time.Minute) // old is now due for the sliding refresh
	cur := signIn(t, m, "carol")
	// Promote a new key: every token under "a" is under an older key.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
	cookies := map[string]string{
		"due for refresh, older key": old,
		"older key":                  cur,
		"bad":                        m.CookieName() + "=garbage",
		"among others":               "theme=dark; " + cur + "; lang=en",
	}

	handlers := map[string]http.HandlerFunc{
		"public page": func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Cache-Control", "public, max-age=600")
			h.Set("Expires", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat))
			h.Set("Surrogate-Control", "max-age=600")
			h.Set("CDN-Cache-Control", "max-age=600")
			h.Set("Vary", "Accept-Encoding")
			h.Set("ETag", `"v1"`)
			_, _ = io.WriteString(w, "<h1>public</h1>")
		},
		"no write": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
		},
		"redirect":  func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusSeeOther) },
		"not found": http.NotFound,
		"error":     func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) },
		"no content": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.WriteHeader(http.StatusNoContent)
		},
		"streaming": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=5")
			rc := http.NewResponseController(w)
			_, _ = io.WriteString(w, "part 1;")
			_ = rc.Flush()
			_, _ = io.WriteString(w, "part 2")
		},
	}

	opened := func() (n []uint64) {
		for _, s := range m.Stats() {
			n = append(n, s.Opened)
		}
		return n
	}
	before := opened()

	fetch := func(t *testing.T, srv *httptest.Server, path, cookie string) (int, http.Header, string) {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Cookie", cookie)
		client := srv.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		_ = resp.Body.Close()
		h := resp.Header.Clone()
		require.NotEmpty(t, h.Get("Date"))
		delete(h, "Date")
		return resp.StatusCode, h, string(body)
	}
	for hname, hf := range handlers {
		plain := httptest.NewServer(hf)
		wrapped := httptest.NewServer(m.Middleware(hf))
		for cname, cookie := range cookies {
			t.Run(hname+"/"+cname, func(t *testing.T) {
				wantCode, wantH, wantBody := fetch(t, plain, "/p", cookie)
				code, h, body := fetch(t, wrapped, "/p", cookie)
				assert.Equal(t, wantCode, code)
				assert.Equal(t, wantH, h)
				assert.Equal(t, wantBody, body)
			})
		}
		plain.Close()
		wrapped.Close()
	}
	assert.Equal(t, before, opened(), "no cookie was decrypted")

	// Control: the counter does move when a handler reads.
	srv := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		_, _ = s.Get()
	})))
	defer srv.Close()
	_, h, _ := fetch(t, srv, "/", cur)
	assert.NotEqual(t, before, opened(), "a read opens the cookie")
	assert.Empty(t, h["Set-Cookie"], "and never re-keys it")
	_, h, _ = fetch(t, srv, "/", old)
	set, deleted := names(h["Set-Cookie"])
	assert.Equal(t, []string{cpCompanion}, set, "a read due for the refresh writes the companion alone")
	assert.Empty(t, deleted)
}
