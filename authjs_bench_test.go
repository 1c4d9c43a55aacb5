package jwesession

import (
	"net/http"
	"testing"
)

// The Auth.js read path: a token of the hot path's claims, flat, read
// through the middleware. bench/ has the same next to the native hot path
// and to Auth.js's own decode() in Node.

type authjsBenchClaims struct {
	benchData
}

func benchAuthJSRead(b *testing.B, format AuthJSFormat) {
	m, _ := newAuthJSTest[authjsBenchClaims](b, AuthJSConfig{Format: format})
	tok, err := m.Encode(authjsBenchClaims{benchValue})
	if err != nil {
		b.Fatal(err)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if d, ok := s.Get(); !ok || d.User != benchValue.User {
			b.Fatal("session not read")
		}
	}))
	runRequests(b, h, m.CookieName()+"="+tok)
}

// BenchmarkAuthJSRead: an Auth.js v5 token (A256CBC-HS512).
func BenchmarkAuthJSRead(b *testing.B) { benchAuthJSRead(b, FormatAuthJS) }

// BenchmarkNextAuth4Read: a NextAuth.js v4 token (A256GCM).
func BenchmarkNextAuth4Read(b *testing.B) { benchAuthJSRead(b, FormatNextAuth4) }
