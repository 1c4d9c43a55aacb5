//go:build jwesession_unsafe_demo

package demo

import (
	"net/http"
	"strings"
)

// wrapOutermost wraps the whole demo, from the outside, in the behaviour of
// the session stacks that leaked one user's login to another: just before
// the headers go out it deletes Cache-Control and Vary, and when the request
// carried a session cookie and the response sets no cookie, it re-sets the
// request's session cookie(s) with a fresh lifetime, on every response.
// Behind a cache that stores Set-Cookie, every visitor then becomes the last
// signed-in user and sign-out "blinks".
//
// It exists only in the test-only build with the tag jwesession_unsafe_demo,
// which the end-to-end suite (e2e/) uses to prove that it sees this bug. No
// production build carries it, and no flag turns it on.
func wrapOutermost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uw := &unsafeWriter{ResponseWriter: w}
		for _, c := range r.Cookies() {
			if isSessionCookieName(c.Name) {
				uw.carried = append(uw.carried, c)
			}
		}
		h.ServeHTTP(uw, r)
		uw.beforeHeaders()
	})
}

// isSessionCookieName reports whether name is one of the demo's session
// cookies: session or __Host-session, bare or a chunk (name.N).
func isSessionCookieName(name string) bool {
	name = strings.TrimPrefix(name, "__Host-")
	return name == "session" || strings.HasPrefix(name, "session.")
}

// unsafeWriter applies the leaky behaviour once, just before the headers
// are sent.
type unsafeWriter struct {
	http.ResponseWriter
	carried []*http.Cookie
	done    bool
}

func (u *unsafeWriter) beforeHeaders() {
	if u.done {
		return
	}
	u.done = true
	h := u.ResponseWriter.Header()
	h.Del("Cache-Control")
	h.Del("Vary")
	if len(u.carried) == 0 || len(h.Values("Set-Cookie")) > 0 {
		return
	}
	for _, c := range u.carried {
		re := &http.Cookie{
			Name:     c.Name,
			Value:    c.Value,
			Path:     "/",
			MaxAge:   30 * 60,
			HttpOnly: true,
			Secure:   strings.HasPrefix(c.Name, "__Host-"),
			SameSite: http.SameSiteLaxMode,
		}
		h.Add("Set-Cookie", re.String())
	}
}

// WriteHeader applies the leaky behaviour on the first final status.
func (u *unsafeWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		u.beforeHeaders()
	}
	u.ResponseWriter.WriteHeader(code)
}

// Write applies the leaky behaviour, then writes.
func (u *unsafeWriter) Write(b []byte) (int, error) {
	u.beforeHeaders()
	return u.ResponseWriter.Write(b)
}

// Flush applies the leaky behaviour, then flushes.
func (u *unsafeWriter) Flush() {
	u.beforeHeaders()
	_ = http.NewResponseController(u.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (u *unsafeWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }
