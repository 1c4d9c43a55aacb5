package bench

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/bench/internal/claims"
)

// The Auth.js formats read through jwesession's middleware, on the claims
// authjs/bench.mjs times Auth.js's own decode() with (the same flat claims,
// secret and cookie name; iat, exp and jti added as encode() adds them),
// next to the native hot path.

// authjsBenchClaims is the claims type: the benchmark's data, flat, as an
// Auth.js token holds it.
type authjsBenchClaims struct {
	claims.Data
}

// authjsSalt is the production cookie name of Auth.js v5, the key's salt
// (as in authjs/bench.mjs).
const authjsSalt = "__Secure-authjs.session-token"

type authjsFixture struct {
	m      *jwesession.AuthJSManager[authjsBenchClaims]
	cookie string
}

func newAuthJSRead(tb testing.TB, format jwesession.AuthJSFormat) *authjsFixture {
	tb.Helper()
	s, err := jwesession.NewAuthJSSecrets(benchSecret)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := jwesession.AuthJSConfig{Format: format, Logger: quietLogger()}
	if format == jwesession.FormatAuthJS {
		cfg.CookieName = authjsSalt
	}
	m, err := jwesession.NewAuthJS[authjsBenchClaims](cfg, s)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := m.Encode(authjsBenchClaims{benchValue})
	if err != nil {
		tb.Fatal(err)
	}
	f := &authjsFixture{m: m, cookie: m.CookieName() + "=" + tok}
	checkRead(tb, f.read(tb), f.cookie)
	return f
}

// read reads the session and checks it.
func (f *authjsFixture) read(tb testing.TB) http.Handler {
	return f.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := f.m.Session(r.Context())
		if d, ok := s.Get(); !ok || d.User != benchValue.User {
			tb.Fatal("jwesession Auth.js: session not read")
		}
	}))
}

// BenchmarkJWESessionAuthJSRead: an Auth.js v5 token (A256CBC-HS512, kid)
// in the cookie, the handler reads the session, nothing is written back.
func BenchmarkJWESessionAuthJSRead(b *testing.B) {
	f := newAuthJSRead(b, jwesession.FormatAuthJS)
	if !strings.HasPrefix(f.cookie, authjsSalt+"=") {
		b.Fatal("not the production cookie name")
	}
	runRequests(b, f.read(b), f.cookie)
}

// BenchmarkJWESessionNextAuth4Read: the same with a NextAuth.js v4 token
// (A256GCM, no kid: the one secret).
func BenchmarkJWESessionNextAuth4Read(b *testing.B) {
	f := newAuthJSRead(b, jwesession.FormatNextAuth4)
	runRequests(b, f.read(b), f.cookie)
}
