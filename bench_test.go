package jwesession

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// The hot-path benchmarks. Each iteration builds a fresh httptest request
// and recorder, as a server builds a request and writer per connection
// turn; BenchmarkEmptyRequest measures that alone, so the others can be
// read net of it.

// benchData is about 250 bytes of claims once enveloped.
type benchData struct {
	User   string   `json:"user"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
	Tenant string   `json:"tenant"`
	Theme  string   `json:"theme"`
}

var benchValue = benchData{
	User:   "alice.example",
	Email:  "alice@example.com",
	Roles:  []string{"admin", "billing", "support"},
	Tenant: "tenant-0042",
	Theme:  "dark",
}

func newBenchManager(b *testing.B, kr *Keyring) *Manager[benchData] {
	b.Helper()
	if kr == nil {
		kr = mustKeyring(b, "a:primary:"+secretA)
	}
	clk := newTestClock()
	m, err := New[benchData](Config{Now: clk.Now, Logger: quietLogger()}, kr)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// benchToken signs in once and returns the cookie header.
func benchToken(b *testing.B, m *Manager[benchData]) string {
	b.Helper()
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if err := s.SignIn(benchValue); err != nil {
			b.Fatal(err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	c := rec.Result().Cookies()
	if len(c) != 1 {
		b.Fatalf("want one cookie, got %d", len(c))
	}
	return c[0].Name + "=" + c[0].Value
}

func runRequests(b *testing.B, h http.Handler, cookie string) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkEmptyRequest: an httptest request to a handler that does
// nothing, without the middleware. Subtract it from the others.
func BenchmarkEmptyRequest(b *testing.B) {
	runRequests(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "")
}

// BenchmarkHotPath: a valid session cookie, the handler reads the session,
// nothing is written back.
func BenchmarkHotPath(b *testing.B) {
	m := newBenchManager(b, nil)
	cookie := benchToken(b, m)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if d, ok := s.Get(); !ok || d.User != benchValue.User {
			b.Fatal("session not read")
		}
	}))
	runRequests(b, h, cookie)
}

// BenchmarkHotPath16Keys: the hot path with 16 keys in the ring, the
// primary listed last: the key lookup must not grow with the ring.
func BenchmarkHotPath16Keys(b *testing.B) {
	entries := []string{}
	for i := 0; i < 15; i++ {
		entries = append(entries, "k"+string(rune('a'+i))+":decrypt-only:"+secretB+string(rune('a'+i)))
	}
	entries = append(entries, "a:primary:"+secretA)
	m := newBenchManager(b, mustKeyring(b, entries...))
	cookie := benchToken(b, m)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if _, ok := s.Get(); !ok {
			b.Fatal("session not read")
		}
	}))
	runRequests(b, h, cookie)
}

// BenchmarkNoCookie: no session cookie, the handler never touches the
// session.
func BenchmarkNoCookie(b *testing.B) {
	m := newBenchManager(b, nil)
	h := m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	runRequests(b, h, "")
}

// BenchmarkSignIn: a new session sealed, Set-Cookie and cache headers
// written.
func BenchmarkSignIn(b *testing.B) {
	m := newBenchManager(b, nil)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if err := s.SignIn(benchValue); err != nil {
			b.Fatal(err)
		}
	}))
	runRequests(b, h, "")
}

// BenchmarkRekey: a token under a decrypt-only key older than the primary,
// re-sealed under the primary on read (the request keeps the old cookie,
// so every iteration re-keys).
func BenchmarkRekey(b *testing.B) {
	m := newBenchManager(b, nil)
	cookie := benchToken(b, m)
	if err := m.SetKeyring(mustKeyring(b, "b:primary:"+secretB, "a:decrypt-only:"+secretA)); err != nil {
		b.Fatal(err)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if _, ok := s.Get(); !ok {
			b.Fatal("session not read")
		}
	}))
	runRequests(b, h, cookie)
}

// BenchmarkGoJoseBaseline: go-jose's own parse + decrypt + json.Unmarshal
// of the same token, without HTTP: the baseline the hot path is held to.
func BenchmarkGoJoseBaseline(b *testing.B) {
	m := newBenchManager(b, nil)
	cookie := benchToken(b, m)
	tok := cookie[len(m.CookieName())+1:]
	key := deriveKey([]byte(secretA), "session")
	b.ReportAllocs()
	for b.Loop() {
		obj, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			b.Fatal(err)
		}
		pt, err := obj.Decrypt(key)
		if err != nil {
			b.Fatal(err)
		}
		var env struct {
			envelope
			Data benchData `json:"data"`
		}
		if err := json.Unmarshal(pt, &env); err != nil {
			b.Fatal(err)
		}
	}
}
