// Package jwesessiontest helps tests of handlers that use jwesession
// sessions: it gives a test request a signed-in session holding a value,
// runs a handler behind the manager's middleware, and reads back the
// session a response left, all through the library's public API, so a
// test never depends on the token format. It works with net/http/httptest
// and with handlers that are, or are not yet, wrapped in the middleware.
//
// Use it in tests only: it signs users in without any check.
package jwesessiontest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/jwesession/jwesession"
)

// Keyring returns a keyring of one random secret, for a test's manager.
func Keyring() *jwesession.Keyring {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	kr, err := jwesession.KeyringFromSecret(base64.RawURLEncoding.EncodeToString(b[:]))
	if err != nil {
		panic("jwesessiontest: " + err.Error()) // cannot happen: 32 random bytes
	}
	return kr
}

// SignedIn returns a copy of r that carries the cookies of a new
// browser-session sign-in holding v (what Session.SignIn writes), on top
// of the cookies r already carries.
func SignedIn[T any](m *jwesession.Manager[T], r *http.Request, v T) (*http.Request, error) {
	return signIn(m, r, func(s *jwesession.Session[T]) error { return s.SignIn(v) })
}

// SignedInRemembered is SignedIn for a "remember me" sign-in
// (Session.SignInRemembered).
func SignedInRemembered[T any](m *jwesession.Manager[T], r *http.Request, v T) (*http.Request, error) {
	return signIn(m, r, func(s *jwesession.Session[T]) error { return s.SignInRemembered(v) })
}

func signIn[T any](m *jwesession.Manager[T], r *http.Request, op func(*jwesession.Session[T]) error) (*http.Request, error) {
	var err error
	rec := Serve(m, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, serr := m.Session(req.Context())
		if serr != nil {
			err = serr
			return
		}
		err = op(s)
	}), r.Clone(r.Context()))
	if err != nil {
		return nil, fmt.Errorf("jwesessiontest: failed to sign in: %w", err)
	}
	return Next(r, rec.Result()), nil
}

// Serve runs h for r behind m's middleware and returns the recorded
// response. h may be wrapped in the middleware already (the inner copy
// then passes through) or not: a handler can be tested on its own.
func Serve[T any](m *jwesession.Manager[T], h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	m.Middleware(h).ServeHTTP(rec, r)
	return rec
}

// Next returns the request a browser would send next to r's URL (with r's
// method, no body): r's cookies with resp's Set-Cookie lines applied, as
// a cookie jar applies them (a cookie set replaces the one of its name, a
// deletion removes it). Change its method, URL or body as a test needs.
func Next(r *http.Request, resp *http.Response) *http.Request {
	next := httptest.NewRequest(r.Method, r.URL.String(), nil)
	next.Host = r.Host
	if h := Cookies(r, resp); h != "" {
		next.Header.Set("Cookie", h)
	}
	return next
}

// Cookies returns the Cookie header of Next: r's cookies with resp's
// Set-Cookie lines applied.
func Cookies(r *http.Request, resp *http.Response) string {
	var names []string
	jar := map[string]string{}
	set := func(name, value string) {
		if _, ok := jar[name]; !ok {
			names = append(names, name)
		}
		jar[name] = value
	}
	for _, c := range r.Cookies() {
		set(c.Name, c.Value)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(jar, c.Name)
			continue
		}
		set(c.Name, c.Value)
	}
	var parts []string
	for _, n := range names {
		if v, ok := jar[n]; ok {
			parts = append(parts, n+"="+v)
		}
	}
	return strings.Join(parts, "; ")
}

// State is what the next request of the same browser finds of its
// session.
type State[T any] struct {
	// Data is the session's data; the zero value without a session.
	Data T
	// SignedIn is Session.SignedIn (the ok of Session.Get).
	SignedIn bool
	// Remembered is Session.Remembered: a "remember me" sign-in.
	Remembered bool
	// ID and SignInID are Session.ID and Session.SignInID.
	ID, SignInID string
	// Flashes are the flash messages it would read (Session.Flashes).
	Flashes []string
	// Err is Session.Err: why its session cookie was refused, or nil.
	Err error
}

// Read returns the session a browser that sent r finds after resp: the
// state the next request (Next) reads with m. It changes nothing the test
// holds.
func Read[T any](m *jwesession.Manager[T], r *http.Request, resp *http.Response) State[T] {
	var st State[T]
	Serve(m, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, err := m.Session(req.Context())
		if err != nil {
			st.Err = err
			return
		}
		st.Data, st.SignedIn = s.Get()
		st.Remembered, st.ID, st.SignInID = s.Remembered(), s.ID(), s.SignInID()
		st.Flashes, st.Err = s.Flashes(), s.Err()
	}), Next(r, resp))
	return st
}
