// Package bench compares jwesession with what its users would pick instead,
// on the same claims, in one `go test -bench` run:
//
//	go test -run '^$' -bench . -benchmem -count 6 . | go run ./cmd/benchtable
//
// Every comparison runs on two claims shapes (claims.Data and claims.Rich),
// as sub-benchmarks named claims=basic and claims=rich. It is a module of
// its own so that the library's users never download the peers.
package bench

import (
	"crypto/sha256"
	"encoding/gob"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/jwesession/jwesession/bench/internal/claims"
	"golang.org/x/crypto/hkdf"
)

// benchValue is the library's own (../bench_test.go): about 250 bytes of
// claims once enveloped. The Auth.js benchmarks use it.
var benchValue = claims.Value()

const (
	// benchSecret is every contender's secret (the same string as
	// authjs/bench.mjs uses).
	benchSecret = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
	// benchKeyID is the jwesession key id, as in the library's benchmarks.
	benchKeyID = "a"
	// jweBaseName is jwesession's default cookie base name: the HKDF info.
	jweBaseName = "session"
	// peerCookie is the cookie name of the peers.
	peerCookie = "session"
	// sessionAge is the cookie lifetime the peers are given (jwesession's
	// default absolute lifetime).
	sessionAge = 8 * time.Hour
)

func init() {
	// gorilla/sessions and scs keep values as interface{} and gob them.
	gob.Register(claims.Data{})
	gob.Register(claims.Rich{})
}

// forClaims runs a benchmark once per claims shape, as the sub-benchmarks
// claims=basic and claims=rich (cmd/benchtable makes a table of each).
func forClaims(b *testing.B, basic, rich func(*testing.B)) {
	b.Run("claims="+claims.Name[claims.Data](), basic)
	b.Run("claims="+claims.Name[claims.Rich](), rich)
}

// The peers' keys: HMAC-SHA256 and AES-256, each 32 bytes from the secret.
var (
	peerHashKey  = subKey("hash")
	peerBlockKey = subKey("block")
)

func subKey(info string) []byte {
	k := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, []byte(benchSecret), nil, []byte(info)), k); err != nil {
		panic(err)
	}
	return k
}

// jweKey is jwesession's AES-256 key for the default cookie name, derived
// as its README documents: HKDF-SHA256 of the secret, salt "jwesession v1",
// info "A256GCM <cookie base name>".
func jweKey() []byte {
	k := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, []byte(benchSecret), []byte("jwesession v1"), []byte("A256GCM "+jweBaseName)), k); err != nil {
		panic(err)
	}
	return k
}

// runRequests is the library's own request loop: a fresh httptest request
// and recorder each iteration.
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

// serveOnce runs h once on a request carrying cookie (if any) and returns
// the response, for the set-up checks.
func serveOnce(h http.Handler, cookie string) *http.Response {
	req := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// oneCookie returns the single cookie a sign-in response set, as a Cookie
// request header value.
func oneCookie(tb testing.TB, res *http.Response) string {
	tb.Helper()
	c := res.Cookies()
	if len(c) != 1 || c[0].Value == "" {
		tb.Fatalf("sign-in set %d cookies, want one", len(c))
	}
	return c[0].Name + "=" + c[0].Value
}

// nextCookies returns the Cookie header a browser sends after res, which
// answered a request that sent prev: res's cookies set over prev's, its
// deletions (Max-Age 0) removed.
func nextCookies(prev string, res *http.Response) string {
	var names []string
	jar := map[string]string{}
	for _, part := range strings.Split(prev, "; ") {
		if k, v, ok := strings.Cut(part, "="); ok {
			names = append(names, k)
			jar[k] = v
		}
	}
	for _, c := range res.Cookies() {
		if _, ok := jar[c.Name]; !ok {
			names = append(names, c.Name)
		}
		jar[c.Name] = c.Value
		if c.MaxAge < 0 {
			delete(jar, c.Name)
		}
	}
	var out []string
	for _, k := range names {
		if v, ok := jar[k]; ok {
			out = append(out, k+"="+v)
			delete(jar, k)
		}
	}
	return strings.Join(out, "; ")
}

// checkRead runs a read handler once and checks that it wrote no cookie.
func checkRead(tb testing.TB, h http.Handler, cookie string) {
	tb.Helper()
	if res := serveOnce(h, cookie); len(res.Header.Values("Set-Cookie")) != 0 || res.StatusCode != http.StatusOK {
		tb.Fatalf("read path: status %d, Set-Cookie %q; want 200 and no cookie", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// BenchmarkEmptyRequest: an httptest request to a handler that does
// nothing, without any middleware. The table subtracts it from the HTTP
// benchmarks.
func BenchmarkEmptyRequest(b *testing.B) {
	runRequests(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "")
}

// ---------------------------------------------------------------------------
// gorilla/sessions CookieStore (securecookie underneath, gob of
// map[interface{}]interface{}, AES-256-CTR + HMAC-SHA256).

type gorillaFixture[D claims.Claims] struct {
	store  *sessions.CookieStore
	value  D
	cookie string
}

func newGorilla[D claims.Claims](tb testing.TB) *gorillaFixture[D] {
	tb.Helper()
	st := sessions.NewCookieStore(peerHashKey, peerBlockKey)
	st.Options = &sessions.Options{Path: "/", MaxAge: int(sessionAge / time.Second), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	f := &gorillaFixture[D]{store: st, value: claims.Sample[D]()}
	f.cookie = oneCookie(tb, serveOnce(f.save(tb), ""))
	checkRead(tb, f.get(tb), f.cookie)
	return f
}

func (f *gorillaFixture[D]) get(tb testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := f.store.Get(r, peerCookie)
		if err != nil || s.IsNew {
			tb.Fatalf("gorilla/sessions: session not read: %v", err)
		}
		if d, ok := s.Values["data"].(D); !ok || d.Key() != f.value.Key() {
			tb.Fatal("gorilla/sessions: session not read")
		}
	})
}

func (f *gorillaFixture[D]) save(tb testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := f.store.Get(r, peerCookie)
		s.Values["data"] = f.value
		if err := s.Save(r, w); err != nil {
			tb.Fatal(err)
		}
	})
}

// BenchmarkGorillaSessionsGet: CookieStore.Get and a read of the value.
func BenchmarkGorillaSessionsGet(b *testing.B) {
	forClaims(b, benchGorillaGet[claims.Data], benchGorillaGet[claims.Rich])
}

func benchGorillaGet[D claims.Claims](b *testing.B) {
	f := newGorilla[D](b)
	runRequests(b, f.get(b), f.cookie)
}

// BenchmarkGorillaSessionsSave: a new session's value set and saved.
func BenchmarkGorillaSessionsSave(b *testing.B) {
	forClaims(b, benchGorillaSave[claims.Data], benchGorillaSave[claims.Rich])
}

func benchGorillaSave[D claims.Claims](b *testing.B) {
	f := newGorilla[D](b)
	runRequests(b, f.save(b), "")
}

// ---------------------------------------------------------------------------
// gorilla/securecookie alone, gob (its default) and JSON.

type secureCookieFixture[D claims.Claims] struct {
	sc     *securecookie.SecureCookie
	value  D
	cookie string
}

func newSecureCookie[D claims.Claims](tb testing.TB, useJSON bool) *secureCookieFixture[D] {
	tb.Helper()
	sc := securecookie.New(peerHashKey, peerBlockKey).MaxAge(int(sessionAge / time.Second))
	if useJSON {
		sc.SetSerializer(securecookie.JSONEncoder{})
	}
	f := &secureCookieFixture[D]{sc: sc, value: claims.Sample[D]()}
	f.cookie = oneCookie(tb, serveOnce(f.encode(tb), ""))
	checkRead(tb, f.decode(tb), f.cookie)
	return f
}

func (f *secureCookieFixture[D]) decode(tb testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(peerCookie)
		if err != nil {
			tb.Fatal(err)
		}
		var d D
		if err := f.sc.Decode(peerCookie, c.Value, &d); err != nil || d.Key() != f.value.Key() {
			tb.Fatalf("securecookie: value not decoded: %v", err)
		}
	})
}

func (f *secureCookieFixture[D]) encode(tb testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := f.sc.Encode(peerCookie, f.value)
		if err != nil {
			tb.Fatal(err)
		}
		http.SetCookie(w, &http.Cookie{Name: peerCookie, Value: v, Path: "/", MaxAge: int(sessionAge / time.Second), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	})
}

// BenchmarkSecureCookieGobDecode: the request's cookie decoded with gob.
func BenchmarkSecureCookieGobDecode(b *testing.B) {
	forClaims(b, benchSecureCookieDecode[claims.Data](false), benchSecureCookieDecode[claims.Rich](false))
}

// BenchmarkSecureCookieGobEncode: the value encoded with gob and set.
func BenchmarkSecureCookieGobEncode(b *testing.B) {
	forClaims(b, benchSecureCookieEncode[claims.Data](false), benchSecureCookieEncode[claims.Rich](false))
}

// BenchmarkSecureCookieJSONDecode: the request's cookie decoded with
// securecookie.JSONEncoder.
func BenchmarkSecureCookieJSONDecode(b *testing.B) {
	forClaims(b, benchSecureCookieDecode[claims.Data](true), benchSecureCookieDecode[claims.Rich](true))
}

// BenchmarkSecureCookieJSONEncode: the value encoded with JSON and set.
func BenchmarkSecureCookieJSONEncode(b *testing.B) {
	forClaims(b, benchSecureCookieEncode[claims.Data](true), benchSecureCookieEncode[claims.Rich](true))
}

func benchSecureCookieDecode[D claims.Claims](useJSON bool) func(*testing.B) {
	return func(b *testing.B) {
		f := newSecureCookie[D](b, useJSON)
		runRequests(b, f.decode(b), f.cookie)
	}
}

func benchSecureCookieEncode[D claims.Claims](useJSON bool) func(*testing.B) {
	return func(b *testing.B) {
		f := newSecureCookie[D](b, useJSON)
		runRequests(b, f.encode(b), "")
	}
}

// ---------------------------------------------------------------------------
// scs v2 with its memory store (server-side sessions: a random token in
// the cookie, gob-encoded data in the store).

type scsFixture[D claims.Claims] struct {
	sm     *scs.SessionManager
	value  D
	cookie string
}

func newSCS[D claims.Claims](tb testing.TB) *scsFixture[D] {
	tb.Helper()
	sm := scs.New() // its memstore
	sm.Lifetime = sessionAge
	sm.Cookie.Name = peerCookie
	sm.Cookie.Secure = true
	sm.ErrorFunc = func(_ http.ResponseWriter, _ *http.Request, err error) { tb.Fatal(err) }
	f := &scsFixture[D]{sm: sm, value: claims.Sample[D]()}
	f.cookie = oneCookie(tb, serveOnce(f.put(tb), ""))
	checkRead(tb, f.read(tb), f.cookie)
	return f
}

func (f *scsFixture[D]) read(tb testing.TB) http.Handler {
	return f.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, ok := f.sm.Get(r.Context(), "data").(D); !ok || d.Key() != f.value.Key() {
			tb.Fatal("scs: session not read")
		}
	}))
}

// put signs in as scs recommends: a new token, then the value.
func (f *scsFixture[D]) put(tb testing.TB) http.Handler {
	return f.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f.sm.RenewToken(r.Context()); err != nil {
			tb.Fatal(err)
		}
		f.sm.Put(r.Context(), "data", f.value)
	}))
}

// BenchmarkSCSRead: LoadAndSave with a handler that reads the session.
func BenchmarkSCSRead(b *testing.B) {
	forClaims(b, benchSCSRead[claims.Data], benchSCSRead[claims.Rich])
}

func benchSCSRead[D claims.Claims](b *testing.B) {
	f := newSCS[D](b)
	runRequests(b, f.read(b), f.cookie)
}

// BenchmarkSCSPut: LoadAndSave with a handler that signs in (RenewToken +
// Put); each iteration adds a session to the memory store.
func BenchmarkSCSPut(b *testing.B) {
	forClaims(b, benchSCSPut[claims.Data], benchSCSPut[claims.Rich])
}

func benchSCSPut[D claims.Claims](b *testing.B) {
	f := newSCS[D](b)
	runRequests(b, f.put(b), "")
}
