package jwesession

import (
	"bytes"
	"net/http"
)

// The commit: what a request's session owes its response, written into
// the response headers just before they go out (see Middleware), once.

// abort is commit for a handler that panicked: no cookie is written, and if
// the session was used, the response an outer recovery handler may still
// write is marked no-store and private.
func (s *Session[T]) abort(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return
	}
	s.committed = true
	if s.loaded {
		applyCachePolicy(h, true, s.hdr)
	}
}

// changed reports whether the data differs from what the cookie held.
// Setting a value that encodes to the same bytes is no change.
func (s *Session[T]) changed() bool {
	return !bytes.Equal(s.raw, s.loadRaw)
}

// commit writes what the session owes into h, applies the cache policy, and
// freezes the session. It is called once, just before the headers are sent.
// Only a real write (changed data, SignIn, Renew, Touch, Clear) writes the
// session token or deletes it; a read whose sliding refresh is due writes
// only a companion, which holds no data.
func (s *Session[T]) commit(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return
	}
	s.committed = true
	if !s.loaded {
		return // untouched: no header changes
	}
	if s.m.ajs != nil {
		s.commitAuthJS(h)
		return
	}
	dirty := s.changed()
	if !dirty && !s.reissue && !s.refresh && !s.clear && len(s.ended) == 0 && s.flash == nil {
		applyCachePolicy(h, false, s.hdr) // a read: nothing owed but the cache policy
		return
	}
	c, now := s.m, s.now()
	wrote := false
	s.ids() // written into the token or the companion
	if len(s.ended) > 0 {
		// Before the token: a new sign-in records the tombstone it follows.
		s.tbs = c.writeTombstone(h, s.ring, s.cookies.tombstone, s.ended, now)
		wrote = true
	}
	switch {
	case s.has && (dirty || s.reissue):
		wrote = s.writeToken(h, now) || wrote
	case s.has && s.refresh:
		c.writeCompanion(h, s.ring, s.sid, now, c.cfg.expiry(now, s.abs, s.rem), s.rem)
		wrote = true
	case !s.has && s.clear:
		wrote = c.deleteAll(h, &s.cookies)
	}
	wrote = s.commitFlash(h, now) || wrote
	applyCachePolicy(h, wrote, s.hdr)
}

// writeToken seals the session and adds its cookies to h: under the
// primary, or under the key that opened the token when that key is newer
// than the primary (a rollout has promoted it elsewhere: every instance
// already reads it). A rewrite never moves a token to an older key, so
// retiring any key the token passed through ends it: the origin is the
// oldest, the key it is under the newest. s.mu must be held. It reports
// whether it wrote anything.
func (s *Session[T]) writeToken(h http.Header, now int64) bool {
	cfg := &s.m.cfg
	dk := s.ring.primary
	if s.key != nil && s.key.index < dk.index {
		dk = s.key
	}
	env := envelope{Sid: s.sid, Sin: s.sin, Org: s.org, Iat: now, Exp: cfg.expiry(now, s.abs, s.rem), Abs: s.abs, Rem: s.rem, Tbs: s.tbs, Data: s.raw}
	n := envelopeLen(&env)
	pt := appendEnvelope(make([]byte, 0, n+tagLen), &env)
	if tokenLen(len(dk.header), len(pt)) > cfg.MaxChunks*ChunkSize {
		// Only a token written under an older configuration (a larger
		// MaxChunks) gets here: keep its cookie rather than write one that
		// would be rejected.
		cfg.Logger.WarnContext(s.req.Context(), "jwesession: session not re-issued: it no longer fits the cookie budget", "path", s.req.URL.Path)
		return false
	}
	// A remembered token's Max-Age is the absolute end: companions extend
	// its idle expiry past its own, and the browser must keep it
	// meanwhile. A browser-session token has none.
	s.m.writeToken(h, dk, pt, cookieAge(s.rem, cfg.absoluteEnd(s.abs, s.rem)-now), &s.cookies)
	return true
}
