package jwesession

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Shared test helpers. Every test file of the package may use them.

// testData is the session data type of the tests.
type testData struct {
	User string `json:"user"`
	N    int    `json:"n,omitempty"`
	Note string `json:"note,omitempty"`
}

// testClock is a settable clock for Config.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Test secrets: 32+ bytes with enough distinct values.
const (
	secretA = "test-secret-A-0123456789abcdefghijklmnop"
	secretB = "test-secret-B-qrstuvwxyzABCDEFGHIJKLMNOP"
	secretC = "test-secret-C-QRSTUVWXYZ!#$%&()*+/<=>?@["
)

// mustSecret returns NewSecret(s) or fails the test.
func mustSecret(t testing.TB, s string) Secret {
	t.Helper()
	sec, err := NewSecret(s)
	require.NoError(t, err)
	return sec
}

// mustKeyring builds a keyring from ID:STATE:SECRET entries or fails.
func mustKeyring(t testing.TB, entries ...string) *Keyring {
	t.Helper()
	kr, err := ParseKeys(strings.Join(entries, ","))
	require.NoError(t, err)
	return kr
}

// quietLogger discards log output.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestManager returns a manager on a test clock with development
// cookies off (production settings), keyed by secretA under id "a", unless
// cfg or kr say otherwise.
func newTestManager(t testing.TB, cfg Config, kr *Keyring) (*Manager[testData], *testClock) {
	t.Helper()
	clk := newTestClock()
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if kr == nil {
		kr = mustKeyring(t, "a:primary:"+secretA)
	}
	m, err := New[testData](cfg, kr)
	require.NoError(t, err)
	return m, clk
}

// serve runs one request with the given Cookie header through m's
// middleware around fn, and returns the recorded response.
func serve(t testing.TB, m *Manager[testData], cookie string, fn func(w http.ResponseWriter, r *http.Request, s *Session[testData])) *httptest.ResponseRecorder {
	t.Helper()
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r.Context())
		if err != nil {
			t.Errorf("Session: %v", err)
			return
		}
		fn(w, r, s)
	}))
	req := httptest.NewRequest("GET", "https://example.test/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// setCookies returns the response's Set-Cookie lines.
func setCookies(rec *httptest.ResponseRecorder) []string {
	return rec.Result().Header["Set-Cookie"]
}

// cookieHeader turns a response's Set-Cookie lines into the Cookie header a
// browser would send next (deletions dropped), merged over prev.
func cookieHeader(prev string, rec *httptest.ResponseRecorder) string {
	jar := map[string]string{}
	var order []string
	add := func(k, v string) {
		if _, ok := jar[k]; !ok {
			order = append(order, k)
		}
		jar[k] = v
	}
	for _, p := range strings.Split(prev, "; ") {
		if k, v, ok := strings.Cut(p, "="); ok {
			add(k, v)
		}
	}
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(jar, c.Name)
			continue
		}
		add(c.Name, c.Value)
	}
	var parts []string
	for _, k := range order {
		if v, ok := jar[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, "; ")
}

// signIn signs in user and returns the Cookie header for the next request.
func signIn(t testing.TB, m *Manager[testData], user string) string {
	t.Helper()
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: user}))
	})
	// Exactly one cookie set, the bare session cookie; the only deletions
	// are those every write of the bare name owes: each chunk name when
	// MaxChunks > 1 (the request carried nothing else).
	var set, deleted []string
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			deleted = append(deleted, c.Name)
		} else {
			set = append(set, c.Name)
		}
	}
	require.Equal(t, []string{m.CookieName()}, set, "one session cookie: %q", setCookies(rec))
	var wantDeleted []string
	if n := m.core.cfg.MaxChunks; n > 1 {
		for i := range n {
			wantDeleted = append(wantDeleted, m.CookieName()+"."+strconv.Itoa(i))
		}
	}
	require.ElementsMatch(t, wantDeleted, deleted, "deletions: %q", setCookies(rec))
	return cookieHeader("", rec)
}

// readResult is what a handler saw of its session, and the response.
type readResult struct {
	D        testData
	OK       bool
	Err      error
	Exp      int64 // ExpiresAt, Unix seconds
	SID, SIN string
	Rec      *httptest.ResponseRecorder
}

// read returns the session's data and error as a handler sees them.
func read(t testing.TB, m *Manager[testData], cookie string) readResult {
	t.Helper()
	var res readResult
	res.Rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		res.D, res.OK = s.Get()
		res.Err, res.Exp, res.SID, res.SIN = s.Err(), s.ExpiresAt().Unix(), s.ID(), s.SignInID()
	})
	return res
}

// newRequest returns a GET request with the given Cookie header.
func newRequest(cookie string) *http.Request {
	req := httptest.NewRequest("GET", "https://example.test/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req
}

// maxAbs returns the longest absolute lifetime any sign-in of m can have,
// in seconds: what tombstones and key retirement wait for.
func maxAbs(m *Manager[testData]) int64 { return seconds(m.core.cfg.maxAbsolute()) }

// newRecorder returns a new response recorder.
func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
