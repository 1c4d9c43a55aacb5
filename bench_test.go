package jwesession

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
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
	m, _ := newBenchManagerConfig(b, Config{}, kr)
	return m
}

// newBenchManagerConfig is newBenchManager with a config (on a test clock,
// quiet), and returns the clock too.
func newBenchManagerConfig(b *testing.B, cfg Config, kr *Keyring) (*Manager[benchData], *testClock) {
	b.Helper()
	if kr == nil {
		kr = mustKeyring(b, "a:primary:"+secretA)
	}
	clk := newTestClock()
	cfg.Now, cfg.Logger = clk.Now, quietLogger()
	m, err := New[benchData](cfg, kr)
	if err != nil {
		b.Fatal(err)
	}
	return m, clk
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
func BenchmarkHotPath(b *testing.B) { benchHotPath(b, newBenchManager(b, nil)) }

// benchHotPath runs the hot path on m: a signed-in cookie, read.
func benchHotPath(b *testing.B, m *Manager[benchData]) {
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

// BenchmarkReadOlderKey: a token under a decrypt-only key older than the
// primary, read: no re-key on read, nothing written (the token is
// rewritten under the primary only by the next real write).
func BenchmarkReadOlderKey(b *testing.B) {
	m := newBenchManager(b, nil)
	cookie := benchToken(b, m)
	if err := m.SetKeyring(mustKeyring(b, "b:primary:"+secretB, "a:decrypt-only:"+secretA)); err != nil {
		b.Fatal(err)
	}
	h := newAllocHandlers(b, m).read
	if _, rec := allocServe(h, cookie); len(setCookies(rec)) != 0 {
		b.Fatalf("a read under an older key wrote %q", setCookies(rec))
	}
	runRequests(b, h, cookie)
}

// BenchmarkHotPathCompanion: the hot path with a companion: the token's
// refresh is due, so the companion is opened, and it is recent, so
// nothing is written.
func BenchmarkHotPathCompanion(b *testing.B) {
	m, clk := newBenchManagerConfig(b, Config{}, nil)
	h := newAllocHandlers(b, m)
	_, companion, _ := hotPathCookies(b, m, clk, h)
	runRequests(b, h.read, companion)
}

// BenchmarkHotPathTombstone: the hot path of a sign-in that followed a
// sign-out in the same browser: the request carries that sign-out's
// tombstone, whose IV the token records, so it is not decrypted.
func BenchmarkHotPathTombstone(b *testing.B) {
	m, clk := newBenchManagerConfig(b, Config{}, nil)
	h := newAllocHandlers(b, m)
	_, _, tombstone := hotPathCookies(b, m, clk, h)
	runRequests(b, h.read, tombstone)
}

// BenchmarkSignOutChunks: Clear of a session of 3 chunks with MaxChunks
// 4: the token opened, a tombstone sealed, the bare name and chunk names
// 0 to 3 deleted.
func BenchmarkSignOutChunks(b *testing.B) {
	m, _ := newBenchManagerConfig(b, Config{MaxChunks: 4}, nil)
	big := benchValue
	big.Theme = strings.Repeat("theme-", 1200)
	signIn := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if err := s.SignIn(big); err != nil {
			b.Fatal(err)
		}
	}))
	cookie, _ := allocServe(signIn, "")
	if !strings.Contains(cookie, m.CookieName()+".2=") || strings.Contains(cookie, m.CookieName()+".3=") {
		b.Fatalf("want 3 chunks: %q", cookie[:min(len(cookie), 200)])
	}
	h := newAllocHandlers(b, m).clear
	_, rec := allocServe(h, cookie)
	if sc := setCookies(rec); len(sc) != 6 || !strings.HasPrefix(sc[0], m.core.names.tombstone+"=") {
		b.Fatalf("want the tombstone and 5 deletions, got %d lines", len(sc))
	}
	runRequests(b, h, cookie)
}

// BenchmarkGoJoseBaseline: go-jose's own parse + decrypt + json.Unmarshal
// of the same token, without HTTP: the baseline the hot path is held to.
func BenchmarkGoJoseBaseline(b *testing.B) {
	m := newBenchManager(b, nil)
	cookie := benchToken(b, m)
	tok := cookie[len(m.CookieName())+1:]
	key := m.core.ring.Load().primary.raw // the data-purpose key: go-jose's DIRECT key
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

// BenchmarkHotPathParallel: the hot path from every P at once (run with
// -cpu 1,2,…): ns/op is wall time per request over all Ps, and cpu-ns/op
// (ns/op × GOMAXPROCS) the CPU each request costs, which stays flat when
// nothing the requests share (the per-key counters, the manager, the
// keyring) makes the cores take turns.
func BenchmarkHotPathParallel(b *testing.B) {
	m := newBenchManager(b, nil)
	cookie := benchToken(b, m)
	h := newAllocHandlers(b, m).read
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", cookie)
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
	reportCPUPerOp(b)
}

// BenchmarkOpenedCounterParallel: the count every read makes (the key's
// Opened), from every P at once: the spread counter next to a single
// atomic, which every core increments on one cache line.
func BenchmarkOpenedCounterParallel(b *testing.B) {
	b.Run("spread", func(b *testing.B) {
		var c spreadCounter
		m := newBenchManager(b, nil)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.inc(m.core.slot())
			}
		})
		reportCPUPerOp(b)
		if c.load() != uint64(b.N) {
			b.Fatalf("counted %d of %d", c.load(), b.N)
		}
	})
	b.Run("single", func(b *testing.B) {
		var c counter
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.inc()
			}
		})
		reportCPUPerOp(b)
	})
}

// reportCPUPerOp reports ns/op × GOMAXPROCS: a parallel benchmark's CPU
// per operation.
func reportCPUPerOp(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())*float64(runtime.GOMAXPROCS(0))/float64(b.N), "cpu-ns/op")
}
