package jwesession

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const flName = "__Host-~f.session"

// flDo runs fn in one request carrying cookie and returns the response.
func flDo(t *testing.T, m *Manager[testData], cookie string, fn func(s *Session[testData])) *httpResult {
	t.Helper()
	rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { fn(s) })
	return &httpResult{lines: setCookies(rec), cc: rec.Header().Get("Cache-Control"), next: cookieHeader(cookie, rec)}
}

type httpResult struct {
	lines []string
	cc    string
	next  string // the Cookie header after the response
}

// flPlain opens the flash cookie a response set, independently of the
// library's derived keys.
func flPlain(t *testing.T, r *httpResult) string {
	t.Helper()
	for _, l := range r.lines {
		if name, value, _ := cpSplit(l); name == flName && value != "" {
			pt, err := cpOpenAs(secretA, "A256GCM flash session", value)
			require.NoError(t, err)
			return string(pt)
		}
	}
	t.Fatalf("no flash cookie in %q", r.lines)
	return ""
}

// A flash survives one redirect: set, read once, removed; it needs no
// session and makes none.
func TestFlashReadOnce(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	assert.False(t, strings.HasPrefix(flName, m.CookieName()), "no reader takes the flash for a chunk of the session cookie")

	r := flDo(t, m, "", func(s *Session[testData]) {
		require.NoError(t, s.AddFlash("note saved"))
		require.NoError(t, s.AddFlash("and another, with \"quotes\" and ✓"))
		assert.False(t, s.SignedIn(), "a flash makes no session")
	})
	set, deleted := names(r.lines)
	assert.Equal(t, []string{flName}, set, "only the flash cookie: %q", r.lines)
	assert.Empty(t, deleted)
	assert.Equal(t, "no-store, private", r.cc)
	_, _, attrs := cpSplit(r.lines[0])
	assert.Equal(t, cpAttrs(600, false), attrs, "Max-Age: FlashMaxAge")
	assert.Equal(t, fmt.Sprintf(`{"v":1,"iat":%d,"msgs":["note saved","and another, with \"quotes\" and ✓"]}`, clk.Now().Unix()), flPlain(t, r))

	clk.Advance(time.Second)
	r = flDo(t, m, r.next, func(s *Session[testData]) {
		_, ok := s.Get()
		assert.False(t, ok, "Get reports no session")
		assert.False(t, s.SignedIn())
		assert.Empty(t, s.ID())
		assert.NoError(t, s.Err())
		assert.Equal(t, []string{"note saved", "and another, with \"quotes\" and ✓"}, s.Flashes())
		assert.Nil(t, s.Flashes(), "read once")
	})
	assert.Equal(t, []string{cpDeletion(flName)}, r.lines, "the response deletes the flash, nothing else")
	assert.Equal(t, "no-store, private", r.cc)

	r = flDo(t, m, r.next, func(s *Session[testData]) { assert.Nil(t, s.Flashes()) })
	assert.Empty(t, r.lines, "nothing owed")
	assert.Equal(t, "private, no-cache", r.cc, "a read: the cache policy applies")
}

// Written only when owed: a request carrying a flash that nobody reads
// leaves it; a read of the session leaves it; Flashes without a flash
// cookie writes nothing.
func TestFlashOnlyWhenOwed(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	cookie := signIn(t, m, "alice")
	r := flDo(t, m, cookie, func(s *Session[testData]) { assert.Nil(t, s.Flashes()) })
	assert.Empty(t, r.lines)
	r = flDo(t, m, cookie, func(s *Session[testData]) { require.NoError(t, s.AddFlash("hello")) })
	require.Len(t, r.lines, 1)
	cookie = r.next
	r = flDo(t, m, cookie, func(s *Session[testData]) {
		d, ok := s.Get()
		assert.True(t, ok)
		assert.Equal(t, "alice", d.User)
	})
	assert.Empty(t, r.lines, "a read that does not ask for flashes keeps them")
	// Unread messages are kept when more are added.
	r = flDo(t, m, cookie, func(s *Session[testData]) { require.NoError(t, s.AddFlash("world")) })
	assert.Contains(t, flPlain(t, r), `"msgs":["hello","world"]`)
	// Read, then added: only the new one travels on.
	r = flDo(t, m, r.next, func(s *Session[testData]) {
		assert.Equal(t, []string{"hello", "world"}, s.Flashes())
		require.NoError(t, s.AddFlash("next"))
	})
	set, deleted := names(r.lines)
	assert.Equal(t, []string{flName}, set)
	assert.Empty(t, deleted)
	assert.Contains(t, flPlain(t, r), `"msgs":["next"]`)
	// Added, then read in the same request: consumed there.
	r = flDo(t, m, r.next, func(s *Session[testData]) {
		require.NoError(t, s.AddFlash("now"))
		assert.Equal(t, []string{"next", "now"}, s.Flashes())
	})
	assert.Equal(t, []string{cpDeletion(flName)}, r.lines)
	// The session was never written by any of it.
	assert.Equal(t, rotToken(t, m, cookie), rotToken(t, m, r.next))
}

// Clear then a "signed out" flash: the flash never brings the session
// back, and a late response of the signed-out sign-in is still refused.
func TestFlashAfterClear(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	cookie := signIn(t, m, "alice")
	late := cookie // a concurrent request's cookie
	r := flDo(t, m, cookie, func(s *Session[testData]) {
		require.NoError(t, s.Clear())
		require.NoError(t, s.AddFlash("signed out"))
		assert.False(t, s.SignedIn())
	})
	set, deleted := names(r.lines)
	assert.ElementsMatch(t, []string{cpTombstone, flName}, set, "tombstone and flash, no session token: %q", r.lines)
	assert.Equal(t, []string{"__Host-session"}, deleted)
	r = flDo(t, m, r.next, func(s *Session[testData]) {
		assert.False(t, s.SignedIn())
		assert.Equal(t, []string{"signed out"}, s.Flashes())
	})
	// The late token with the tombstone and a flash: still signed out.
	tomb := ""
	for _, p := range strings.Split(r.next, "; ") {
		if strings.HasPrefix(p, cpTombstone+"=") {
			tomb = p
		}
	}
	require.NotEmpty(t, tomb)
	res := read(t, m, late+"; "+tomb)
	assert.ErrorIs(t, res.Err, ErrSignedOut)
	assert.False(t, res.OK)
}

// Size errors go to the caller; nothing is added.
func TestFlashTooLarge(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	r := flDo(t, m, "", func(s *Session[testData]) {
		require.NoError(t, s.AddFlash(strings.Repeat("a", 1000)))
		err := s.AddFlash(strings.Repeat("b", 1000))
		require.ErrorIs(t, err, ErrTooLarge)
		assert.Contains(t, err.Error(), "jwesession: failed to add flash to session: too large")
		assert.NotErrorIs(t, s.AddFlash("ok"), ErrTooLarge)
	})
	assert.Contains(t, flPlain(t, r), `"msgs":["`+strings.Repeat("a", 1000)+`","ok"]}`)
	for _, l := range r.lines {
		assert.LessOrEqual(t, len(l), 4096)
	}
	// After the headers: ErrCommitted, and Flashes finds nothing.
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, _ := m.Session(req.Context())
		_, _ = w.Write([]byte("x"))
		assert.ErrorIs(t, s.AddFlash("late"), ErrCommitted)
		assert.Nil(t, s.Flashes())
	}))
	rec := newRecorder()
	h.ServeHTTP(rec, newRequest(r.next))
	assert.Empty(t, setCookies(rec))
}

// A flash cookie that cannot be used is ignored: expired, from the future,
// under a retired key, another purpose's seal, damaged. And a flash opens
// as nothing else.
func TestFlashRefused(t *testing.T) {
	m, clk := newTestManager(t, Config{}, mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA, "c:retired:"+secretC))
	now := clk.Now().Unix()
	pt := func(iat int64) string { return fmt.Sprintf(`{"v":1,"iat":%d,"msgs":["x"]}`, iat) }
	good := cpSeal(t, m, "a", purposeFlash, pt(now))
	flashes := func(v string) []string {
		var got []string
		flDo(t, m, flName+"="+v, func(s *Session[testData]) { got = s.Flashes() })
		return got
	}
	require.Equal(t, []string{"x"}, flashes(good), "control: a decrypt-only key's flash opens")
	for name, v := range map[string]string{
		"expired":          cpSeal(t, m, "a", purposeFlash, pt(now-600-31)),
		"from the future":  cpSeal(t, m, "a", purposeFlash, pt(now+31)),
		"retired key":      cpSeal(t, m, "c", purposeFlash, pt(now)),
		"session key":      cpSeal(t, m, "a", purposeData, pt(now)),
		"companion key":    cpSeal(t, m, "a", purposeCompanion, pt(now)),
		"tombstone key":    cpSeal(t, m, "a", purposeTombstone, pt(now)),
		"other version":    cpSeal(t, m, "a", purposeFlash, `{"v":2,"iat":1,"msgs":["x"]}`),
		"damaged":          good[:len(good)-2] + "AA",
		"not a token":      "hello",
		"oversized":        cpSeal(t, m, "a", purposeFlash, `{"v":1,"iat":`+fmt.Sprint(now)+`,"msgs":["`+strings.Repeat("x", 2000)+`"]}`),
		"not JSON strings": cpSeal(t, m, "a", purposeFlash, fmt.Sprintf(`{"v":1,"iat":%d,"msgs":[1]}`, now)),
	} {
		assert.Nil(t, flashes(v), name)
	}
	// Within the leeway either side: used.
	assert.Equal(t, []string{"x"}, flashes(cpSeal(t, m, "a", purposeFlash, pt(now-630))))
	assert.Equal(t, []string{"x"}, flashes(cpSeal(t, m, "a", purposeFlash, pt(now+30))))
	// A flash as the session token, companion or tombstone: refused or
	// ignored, never a session.
	res := read(t, m, "__Host-session="+good)
	assert.ErrorIs(t, res.Err, ErrDecrypt)
	res = read(t, m, signIn(t, m, "alice")+"; __Host-~r.session="+good+"; __Host-~t.session="+good)
	require.NoError(t, res.Err)
	assert.True(t, res.OK)
}

// A flash in the same response as a session write: both written, each
// its own cookie.
func TestFlashWithSessionWrite(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	r := flDo(t, m, signIn(t, m, "alice"), func(s *Session[testData]) {
		require.NoError(t, s.Update(func(d *testData) error { d.Note = "n"; return nil }))
		require.NoError(t, s.AddFlash("note saved"))
	})
	set, _ := names(r.lines)
	assert.ElementsMatch(t, []string{"__Host-session", flName}, set)
	res := read(t, m, r.next)
	assert.Equal(t, "n", res.D.Note)
}
