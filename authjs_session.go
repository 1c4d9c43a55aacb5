package jwesession

import (
	"fmt"
	"net/http"
)

// A Session in Auth.js mode (its manager's core has ajs set): the same
// type and methods as the native format's, with the session state used
// this way:
//
//	data           the claims as T
//	raw, loadRaw   the claims: both the token's plaintext after a load;
//	               in canonical form (canon: mergeClaims's, without iat,
//	               exp and jti) once a write is prepared, so that
//	               changed() compares them as the native format does
//	sid            the token's jti
//	last, exp      the token's iat and exp
//	refresh        RefreshAfter is set and the token is older than it
//
// and no sign-in id, origin key, absolute start, companion or tombstone.

// loadAuthJS decrypts the request's Auth.js cookie once, and with
// revocation on asks the store about it. s.mu must be held.
func (s *Session[T]) loadAuthJS() {
	a := s.m.ajs
	ck := a.scan(s.req.Header)
	if !ck.any() {
		return
	}
	now := s.now()
	var pt []byte
	var t authjsTimes
	tok, err := ck.token(a)
	if err == nil {
		_, pt, err = a.ring.open(tok, a.maxLen())
	}
	if err == nil {
		t, err = a.readClaims(pt, &s.data, now)
	}
	if err == nil {
		err = s.checkRevokedAuthJS(pt, &t)
	}
	if err != nil {
		// Refused: served as no session, and the cookie is left alone
		// (a deletion could land after a concurrent sign-in's cookie).
		var zero T
		s.data = zero
		s.err = s.m.refused(s.req.Context(), reasonOf(err), err)
		return
	}
	s.has, s.sid, s.last, s.exp = true, t.jti, int64(t.iat), int64(t.exp)
	s.raw, s.loadRaw, s.canon = pt, pt, false
	s.refresh = a.refreshAfter > 0 && now-s.last >= a.refreshAfter
}

// putAuthJS is put in Auth.js mode: the claims v, merged with the claims
// of the token that the type does not own (unless fresh or no session:
// then v alone), checked to fit. s.mu must be held.
func (s *Session[T]) putAuthJS(op string, v T, fresh bool) error {
	a := s.m.ajs
	typed, err := marshalClaims(v)
	if err != nil {
		return fmt.Errorf("jwesession: failed to %s session: encoding claims: %w", op, err)
	}
	keep := s.has && !fresh
	var prev []byte
	if keep {
		if err := s.canonAuthJS(); err != nil {
			return failed(op, err, "")
		}
		prev = s.loadRaw
	}
	c, err := a.owner.mergeClaims(typed, prev)
	if err != nil {
		return failed(op, err, "")
	}
	now := s.now()
	if err := a.fits(c, now); err != nil {
		return failed(op, err, "")
	}
	var endErr error
	if !keep {
		endErr = s.endRevoked(op) // a sign-in over one ends it, as Clear does
		s.has, s.reissue, s.sid, s.loadRaw, s.canon = true, true, newUUID(), nil, true
		s.last, s.exp = now, now+a.maxAge
	}
	s.data, s.raw, s.clear = v, c, false
	return endErr
}

// canonAuthJS brings the loaded claims into canonical form, once: the
// type's own encoding of the claims it decoded, and the token's other
// claims as they were. s.mu must be held.
func (s *Session[T]) canonAuthJS() error {
	if s.canon {
		return nil
	}
	typed, err := marshalClaims(s.data)
	if err != nil {
		return fmt.Errorf("jwesession: encoding claims: %w", err)
	}
	c, err := s.m.ajs.owner.mergeClaims(typed, s.loadRaw)
	if err != nil {
		return err
	}
	s.raw, s.loadRaw, s.canon = c, c, true
	return nil
}

// commitAuthJS is commit in Auth.js mode: the token is written on a real
// write (changed claims, SignIn, Renew, Touch) and on a read whose refresh
// RefreshAfter asks for; Clear deletes every name the session could use.
// Nothing else is written: no companion, no tombstone. s.mu must be held.
func (s *Session[T]) commitAuthJS(h http.Header) {
	a, now := s.m.ajs, s.now()
	wrote := false
	switch {
	case s.has && (s.changed() || s.reissue || s.refresh):
		wrote = s.writeAuthJS(h, now)
	case !s.has && s.clear:
		a.deleteOthers(h, s.req, -1)
		s.m.count.deleted.inc()
		wrote = true
	}
	applyCachePolicy(h, wrote, s.hdr)
}

// writeAuthJS seals the claims with iat now, exp now + MaxAge and the
// session's jti (a new one if the token had none) under the first secret,
// and adds the cookies. It reports whether it wrote anything. s.mu must
// be held.
func (s *Session[T]) writeAuthJS(h http.Header, now int64) bool {
	a := s.m.ajs
	if err := s.canonAuthJS(); err != nil {
		s.m.cfg.Logger.Error("jwesession: session not re-issued: its claims do not encode", "path", s.req.URL.Path, "error", err)
		return false
	}
	if s.sid == "" {
		s.sid = newUUID()
	}
	pt := appendTokenClaims(s.raw, now, now+a.maxAge, s.sid)
	if authjsTokenLen(a.ring.write, len(a.ring.header), len(pt)) > a.maxLen() {
		// Only a refresh of a token larger than the Go side would write
		// gets here: keep its cookie rather than write a broken one.
		s.m.cfg.Logger.Warn("jwesession: session not re-issued: it does not fit the cookie budget", "path", s.req.URL.Path)
		return false
	}
	a.writeToken(h, a.ring.seal(pt), s.req)
	s.m.count.written.inc()
	if !s.changed() && !s.reissue {
		s.m.count.refreshed.inc() // a re-issue RefreshAfter asked for
	}
	return true
}
