package jwesession

import "fmt"

// opened is what a request's cookies hold of a valid session, before its
// data is decoded.
type opened struct {
	env    envelope
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
	dk, err := r.openInto(tok, cfg.MaxChunks*ChunkSize, &o.env)
	if err != nil {
		return err
	}
	env := &o.env
	o.key, o.origin = dk, dk
	if env.Org != dk.id {
		// The origin decides: retiring a leaked key ends every sign-in
		// forged under it, also one rewritten under the primary since.
		org, ok := r.byID[env.Org]
		if !ok {
			return fmt.Errorf("%w: the key the sign-in was first sealed under is no longer in the keyring", ErrUnknownKey)
		}
		if org.state == Retired {
			org.count.retired.inc()
			return fmt.Errorf("%w: the sign-in was first sealed under key %q", ErrRetiredKey, org.id)
		}
		o.origin = older(org, dk)
		if o.origin != dk {
			o.origin.count.rewritten.inc()
		}
	}
	if ck.tombstone != "" {
		iv := ivSegment(ck.tombstone)
		if env.Tbs == "" || env.Tbs != iv {
			if out, ok := c.openTombstone(r, ck.tombstone, now); ok {
				if tombstoned(out, env.Sin) {
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
		if iat, exp, ok := c.openCompanion(r, ck.companion, env.Sid, now, env.Rem); ok {
			o.last, o.exp = max(o.last, iat), max(o.exp, min(exp, end))
		}
	}
	return cfg.checkTimes(env.Iat, env.Abs, o.exp, now, env.Rem)
}
