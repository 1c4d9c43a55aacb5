package bench

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/bench/internal/claims"
)

// jweFixture is a jwesession manager on a fixed clock, with the Cookie
// headers of its three hot paths.
type jweFixture[D claims.Claims] struct {
	m     *jwesession.Manager[D]
	value D
	now   time.Time // the manager's clock: moved only during set-up
	// Cookie headers: a fresh token alone; a token whose refresh is due
	// with the recent companion a read wrote; a fresh token of a sign-in
	// that followed a sign-out in the same browser, with that sign-out's
	// tombstone.
	cookie, companion, tombstone string
	token                        string // the fresh token alone
}

// benchStart is the fixtures' clock at the measured reads.
var benchStart = time.Unix(1_764_590_400, 0)

func newJWE[D claims.Claims](tb testing.TB) *jweFixture[D] {
	tb.Helper()
	kr, err := jwesession.ParseKeys(benchKeyID + ":primary:" + benchSecret)
	if err != nil {
		tb.Fatal(err)
	}
	f := &jweFixture[D]{value: claims.Sample[D](), now: benchStart}
	f.m, err = jwesession.New[D](jwesession.Config{Logger: quietLogger(), Now: func() time.Time { return f.now }}, kr)
	if err != nil {
		tb.Fatal(err)
	}
	signIn, read, clear := f.signIn(tb), f.hot(tb), f.clear(tb)

	// The companion: a sign-in six minutes ago (its refresh is due), read
	// now, which writes the companion.
	f.now = benchStart.Add(-6 * time.Minute)
	old := oneCookie(tb, serveOnce(signIn, ""))
	f.now = benchStart
	res := serveOnce(read, old)
	if len(res.Cookies()) != 1 {
		tb.Fatalf("a read whose refresh is due set %d cookies, want the companion", len(res.Cookies()))
	}
	f.companion = nextCookies(old, res)

	// The tombstone: that sign-in signed out, then a new one.
	out := nextCookies(old, serveOnce(clear, old))
	if strings.Contains(out, f.m.CookieName()+"=") || out == "" {
		tb.Fatalf("a sign-out must leave a tombstone and no token: %q", out)
	}
	f.tombstone = nextCookies(out, serveOnce(signIn, out))
	if strings.Count(f.tombstone, "=") != 2 {
		tb.Fatalf("want the tombstone and the new token: %q", f.tombstone)
	}

	f.cookie = oneCookie(tb, serveOnce(signIn, ""))
	f.token = strings.TrimPrefix(f.cookie, f.m.CookieName()+"=")
	for _, c := range []string{f.cookie, f.companion, f.tombstone} {
		checkRead(tb, read, c)
	}
	return f
}

// hot reads the session and checks it.
func (f *jweFixture[D]) hot(tb testing.TB) http.Handler {
	key := f.value.Key()
	return f.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := f.m.Session(r.Context())
		if d, ok := s.Get(); !ok || d.Key() != key {
			tb.Fatalf("jwesession: session not read: %v", s.Err())
		}
	}))
}

func (f *jweFixture[D]) signIn(tb testing.TB) http.Handler {
	return f.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := f.m.Session(r.Context())
		if err := s.SignIn(f.value); err != nil {
			tb.Fatal(err)
		}
	}))
}

func (f *jweFixture[D]) clear(tb testing.TB) http.Handler {
	return f.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := f.m.Session(r.Context())
		if err := s.Clear(); err != nil {
			tb.Fatal(err)
		}
	}))
}

// BenchmarkJWESessionHotPath: a valid session cookie, the handler reads the
// session, nothing is written back.
func BenchmarkJWESessionHotPath(b *testing.B) {
	forClaims(b, benchJWEHot[claims.Data], benchJWEHot[claims.Rich])
}

func benchJWEHot[D claims.Claims](b *testing.B) {
	f := newJWE[D](b)
	runRequests(b, f.hot(b), f.cookie)
}

// BenchmarkJWESessionHotPathCompanion: the hot path with a companion: the
// token's refresh is due, so the companion is opened too, and it is
// recent, so nothing is written.
func BenchmarkJWESessionHotPathCompanion(b *testing.B) {
	forClaims(b, benchJWECompanion[claims.Data], benchJWECompanion[claims.Rich])
}

func benchJWECompanion[D claims.Claims](b *testing.B) {
	f := newJWE[D](b)
	runRequests(b, f.hot(b), f.companion)
}

// BenchmarkJWESessionHotPathTombstone: the hot path of a sign-in that
// followed a sign-out in the same browser: the request carries the
// sign-out's tombstone, which the token records (so it is not decrypted).
func BenchmarkJWESessionHotPathTombstone(b *testing.B) {
	forClaims(b, benchJWETombstone[claims.Data], benchJWETombstone[claims.Rich])
}

func benchJWETombstone[D claims.Claims](b *testing.B) {
	f := newJWE[D](b)
	runRequests(b, f.hot(b), f.tombstone)
}

// BenchmarkJWESessionSignIn: a new session sealed, Set-Cookie and cache
// headers written.
func BenchmarkJWESessionSignIn(b *testing.B) {
	forClaims(b, benchJWESignIn[claims.Data], benchJWESignIn[claims.Rich])
}

func benchJWESignIn[D claims.Claims](b *testing.B) {
	f := newJWE[D](b)
	runRequests(b, f.signIn(b), "")
}

// BenchmarkJWESessionNoCookie: no session cookie, the handler never touches
// the session (whatever the claims type: one row).
func BenchmarkJWESessionNoCookie(b *testing.B) {
	f := newJWE[claims.Data](b)
	runRequests(b, f.m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})), "")
}
