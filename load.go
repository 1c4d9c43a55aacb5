package jwesession

import (
	"fmt"
	"log/slog"
)

// opened is what a request's cookies hold of a valid session, before its
// data is decoded.
type opened struct {
	env    envelope // its id strings empty: the ids are in ids
	ids    claimIDs
	key    *derivedKey // the key that opened the token
	origin *derivedKey // the older of the claimed origin and key
	last   int64       // the latest issue time: the token's or a matching companion's
	exp    int64       // the idle expiry: the later of the token's and a matching companion's, clamped
	tbs    string      // the IV segment of the tombstone the request carried, checked
}

// openSession reads the session token tok (its chunks joined) at now,
// with the keys of r and the companion and tombstone of ck: it opens the
// token, checks the
// key its sign-in was first sealed under, refuses a sign-in the tombstone
// names, applies a matching companion, and checks the times. The error is
// why the session is refused.
func (c *managerCore) openSession(r *ring, tok string, ck *carried, now int64, o *opened) error {
	cfg := &c.cfg
	dk, err := r.openInto(tok, cfg.MaxChunks*ChunkSize, &o.env, &o.ids)
	if err != nil {
		return err
	}
	env, ids := &o.env, &o.ids
	slot := c.slot()
	dk.count.opened.inc(slot)
	o.key, o.origin = dk, dk
	if string(ids.org) != dk.id {
		// The origin decides: retiring a leaked key ends every sign-in
		// forged under it, also one rewritten under the primary since.
		org, ok := r.byID[string(ids.org)]
		if !ok {
			return fmt.Errorf("%w: the key the sign-in was first sealed under is no longer in the keyring", ErrUnknownKey)
		}
		if org.state == Retired {
			org.count.retired.inc()
			return fmt.Errorf("%w: the sign-in was first sealed under key %q", ErrRetiredKey, org.id)
		}
		o.origin = older(org, dk)
		if o.origin != dk {
			o.origin.count.rewritten.inc(slot)
		}
	}
	if ck.tombstone != "" {
		iv := ivSegment(ck.tombstone)
		if len(ids.tbs) == 0 || string(ids.tbs) != iv {
			if out, ok := c.openTombstone(r, ck.tombstone, now); ok {
				if tombstoned(out, string(ids.sin)) {
					return fmt.Errorf("%w: the sign-in was signed out in this browser", ErrSignedOut)
				}
			} else {
				iv = "" // unreadable: ignored
			}
		}
		o.tbs = iv
	}
	end := cfg.absoluteEnd(env.Abs, env.Rem)
	o.last, o.exp = env.Iat, min(cfg.clampExp(env.Iat, env.Exp, env.Rem), end)
	if ck.companion != "" && now-env.Iat >= seconds(cfg.RefreshAfter) {
		// Only a token whose own refresh is due needs its companion: before
		// that, its own expiry is later than any idle check.
		if iat, exp, ok := c.openCompanion(r, ck.companion, ids.sid, now, env.Rem); ok {
			o.last, o.exp = max(o.last, iat), max(o.exp, min(exp, end))
		}
	}
	return cfg.checkTimes(env.Iat, env.Abs, o.exp, now, env.Rem)
}

// load decrypts the request's cookie once. s.mu must be held.
func (s *Session[T]) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	if s.committed {
		s.err = fmt.Errorf("%w: the session was first read after the response headers were sent, so the response could not be made cache-safe; read it before writing", ErrCommitted)
		s.m.event(s.req.Context(), &s.m.count.lateReads, slog.LevelWarn, "jwesession: session read after the response headers were written; treated as no session", "path", s.req.URL.Path)
		return
	}
	if s.m.ajs != nil {
		s.loadAuthJS()
		return
	}
	cfg := &s.m.cfg
	s.cookies = scanCookies(s.req.Header, &s.m.names, cfg.MaxChunks)
	s.tbs = ivSegment(s.cookies.tombstone) // what a new sign-in here was checked against: nothing can name it
	if !s.cookies.any() {
		return
	}
	var o opened
	now := s.now()
	tok, err := s.cookies.token()
	if err == nil {
		err = s.m.openSession(s.ring, tok, &s.cookies, now, &o)
	}
	if err != nil {
		// Refused: served as no session. The cookie is not deleted: that
		// deletion could land after a concurrent sign-in's cookie and
		// sign the user out again. The next write replaces it.
		s.err = s.m.refused(s.req.Context(), reasonOf(err), err)
		return
	}
	raw, err := decodeData(s.m.data, o.env.Data, &s.data)
	if err != nil {
		s.err = s.m.refused(s.req.Context(), RejectDataDecode, err)
		s.m.undecodable(o.key, err)
		return
	}
	s.loadedIDs(&o.ids)
	if s.m.rev != nil {
		s.ids()
		o.env.Sid, o.env.Sin = s.sid, s.sin // the check names them
	}
	if err := s.checkRevoked(&o, now); err != nil {
		s.sid, s.sin, s.lazyIDs = "", "", nil
		s.err = s.m.refused(s.req.Context(), reasonOf(err), err)
		return
	}
	env := &o.env
	s.has, s.org, s.key = true, o.origin.id, o.key
	s.last, s.exp, s.abs, s.rem, s.tbs = o.last, o.exp, env.Abs, env.Rem, o.tbs
	s.raw, s.loadRaw = raw, raw // migrated data is written at the next write
	s.refresh = now-o.last >= seconds(cfg.RefreshAfter)
}

// loadedIDs keeps the session and sign-in ids of a token just opened as
// bytes of its plaintext (which this session alone holds): a read that
// writes nothing never needs them as strings. s.mu must be held.
func (s *Session[T]) loadedIDs(ids *claimIDs) {
	// The sign-in id follows the session id in the plaintext (see
	// parseClaims): one span holds both.
	s.lazyIDs = ids.sid[:len(ids.sid)+len(envSin)+len(ids.sin)]
	s.sidLen = uint8(len(ids.sid)) // parseClaims: at most maxIDLen
}

// ids makes the ids loaded strings, once, in one allocation: before
// anything reads s.sid or s.sin. s.mu must be held.
func (s *Session[T]) ids() {
	if s.lazyIDs == nil {
		return
	}
	span, n := string(s.lazyIDs), int(s.sidLen)
	s.sid, s.sin, s.lazyIDs = span[:n], span[n+len(envSin):], nil
}
