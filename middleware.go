package jwesession

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// Middleware gives every request passing through it its own Session,
// reached with m.Session(r.Context()). The session is committed (its
// Set-Cookie written when owed, and the cache policy applied) just before
// the response headers go out: on the first final WriteHeader (101
// Switching Protocols included), the first Write or Flush, a Hijack, or when
// the handler returns without writing. Informational responses (103 Early
// Hints) pass through and commit nothing. A request whose handler never
// reads or writes the session is left exactly as it was.
//
// Installed twice for the same manager, the inner copy passes through.
//
// The handler must write through the writer it is given. A framework that
// keeps a writer of its own and runs its handlers inside the middleware
// (gin's chain, run without replacing gin.Context.Writer) sends the
// response past it, without the session's cookie and cache headers. When
// the writer the middleware was given says it has written (a Written()
// bool method, as gin's and negroni's writers have) while the middleware
// saw nothing written, that is logged at Error and counted
// (Metrics.LostCommits). With net/http's own writer it cannot be seen: that
// writer does not tell whether its headers went out, and a handler that
// returns without writing is served a 200 with the session committed. Wrap
// the framework's whole handler instead (see the examples module).
func (m *Manager[T]) Middleware(next http.Handler) http.Handler {
	c := m.core
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(c.key).(*Session[T]); ok {
			next.ServeHTTP(w, r)
			return
		}
		st := &requestState[T]{Context: r.Context(), key: c.key}
		st.sess.m = c
		st.sess.ring = c.ring.Load()
		r = r.WithContext(st)
		st.sess.req = r
		st.w.ResponseWriter = w
		st.w.s = &st.sess
		st.sess.hdr = &st.hdr
		returned := false
		defer func() {
			if !returned { // the handler panicked
				st.sess.abort(w.Header())
			}
		}()
		next.ServeHTTP(&st.w, r)
		returned = true
		if !st.w.committed && wroteElsewhere(w) && st.sess.used() {
			c.event(r.Context(), &c.count.lost, slog.LevelError, "jwesession: the response went out through another writer before the session was committed: its cookie and cache headers were lost; the handler must write through the writer the middleware gives it (for gin, wrap the whole engine)", "path", r.URL.Path)
		}
		st.w.commit()
	})
}

// used reports whether the handler read or wrote the session.
func (s *Session[T]) used() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded
}

// wroteElsewhere reports whether w, or a writer it wraps, says it has
// written the response (gin's and negroni's writers have Written).
func wroteElsewhere(w http.ResponseWriter) bool {
	for range 16 { // a chain of wrappers, bounded
		if ww, ok := w.(interface{ Written() bool }); ok {
			return ww.Written()
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	return false
}

// requestState is everything the middleware allocates for one request, in
// one allocation. It is also the request's context: it answers the
// manager's key with the session and passes every other question to the
// context the request came with.
type requestState[T any] struct {
	context.Context
	key  *ctxKey
	sess Session[T]
	w    responseWriter[T]
	hdr  policyHeaders
}

// String names the context without printing the session.
func (st *requestState[T]) String() string { return "jwesession.requestContext" }

// Format prints String whatever the verb: the context holds the session,
// whose cookie is a credential.
func (st *requestState[T]) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, st.String()) }

// Value returns the session for the manager's key, else asks the parent.
func (st *requestState[T]) Value(k any) any {
	if k == any(st.key) {
		return &st.sess
	}
	return st.Context.Value(k)
}

// responseWriter commits the session just before the headers are sent.
type responseWriter[T any] struct {
	http.ResponseWriter
	s         *Session[T]
	committed bool
}

func (w *responseWriter[T]) commit() {
	if !w.committed {
		w.committed = true
		w.s.commit(w.ResponseWriter.Header())
	}
}

// WriteHeader commits the session on the first final status (101 counts as
// final); other 1xx pass through.
func (w *responseWriter[T]) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.commit()
	w.ResponseWriter.WriteHeader(code)
}

// Write commits the session, then writes.
func (w *responseWriter[T]) Write(b []byte) (int, error) {
	w.commit()
	return w.ResponseWriter.Write(b)
}

// Flush commits the session, then flushes if the underlying writer can.
func (w *responseWriter[T]) Flush() { _ = w.FlushError() }

// FlushError commits the session, then flushes, and reports the underlying
// writer's error (http.ErrNotSupported when it cannot flush), so
// http.ResponseController.Flush through the middleware tells a streaming
// handler when its client has gone.
func (w *responseWriter[T]) FlushError() error {
	w.commit()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session, then hijacks the connection if the
// underlying writer can. The session's headers are in Header(); after a
// hijack, writing them is the caller's job.
func (w *responseWriter[T]) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *responseWriter[T]) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Compile-time checks.
var (
	_ http.Flusher  = (*responseWriter[struct{}])(nil)
	_ http.Hijacker = (*responseWriter[struct{}])(nil)
)

// policyHeaders is per-request backing for the header values the cache
// policy sets, so the common case allocates nothing.
type policyHeaders struct {
	cacheControl, vary [1]string
}

// applyCachePolicy makes a response that read or wrote a session safe from
// shared caches, whatever the handler set. wrote: a session cookie or a
// deletion is in the response.
func applyCachePolicy(h http.Header, wrote bool, ph *policyHeaders) {
	// Fold Cache-Control and Vary set under another spelling of their
	// names into the canonical ones, and drop the headers that outrank
	// Cache-Control at the CDNs and proxies that read them, or make a
	// response cacheable on their own, however the handler spelled them.
	for k, v := range h {
		switch {
		case k != "Cache-Control" && strings.EqualFold(k, "Cache-Control"):
			h["Cache-Control"] = append(h["Cache-Control"], v...)
			delete(h, k)
		case k != "Vary" && strings.EqualFold(k, "Vary"):
			h["Vary"] = append(h["Vary"], v...)
			delete(h, k)
		case outranksCacheControl(k):
			delete(h, k)
		}
	}
	switch {
	case wrote:
		ph.cacheControl[0] = "no-store, private"
	case hasDirective(h["Cache-Control"], "no-store"):
		ph.cacheControl[0] = "private, no-store"
	default:
		ph.cacheControl[0] = "private, no-cache"
	}
	h["Cache-Control"] = ph.cacheControl[:1:1]
	if vary := h["Vary"]; !hasDirective(vary, "cookie") && !hasDirective(vary, "*") {
		if len(vary) == 0 {
			ph.vary[0] = "Cookie"
		} else {
			ph.vary[0] = strings.Join(vary, ", ") + ", Cookie"
		}
		h["Vary"] = ph.vary[:1:1]
	}
}

// outranksCacheControl reports whether the header named k (any spelling)
// makes a response cacheable on its own or outranks Cache-Control at the
// CDNs and proxies that read it: Expires, Surrogate-Control, Edge-Control,
// X-Accel-Expires, and every *-CDN-Cache-Control (RFC 9213's
// CDN-Cache-Control and each vendor's: Cloudflare-, Vercel-, Netlify-, …).
func outranksCacheControl(k string) bool {
	const cdn = "CDN-Cache-Control"
	if len(k) >= len(cdn) && strings.EqualFold(k[len(k)-len(cdn):], cdn) &&
		(len(k) == len(cdn) || k[len(k)-len(cdn)-1] == '-') {
		return true
	}
	for _, name := range [...]string{"Expires", "Surrogate-Control", "Edge-Control", "X-Accel-Expires"} {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// hasDirective reports whether a comma-separated header (one or several
// lines) lists name, case-insensitively, with or without a value.
func hasDirective(lines []string, name string) bool {
	for _, line := range lines {
		for line != "" {
			var item string
			item, line, _ = strings.Cut(line, ",")
			item, _, _ = strings.Cut(item, "=")
			if strings.EqualFold(strings.TrimSpace(item), name) {
				return true
			}
		}
	}
	return false
}
