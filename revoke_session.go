package jwesession

import (
	"context"
	"sync"
	"time"
)

// The session's side of revocation: the check at load, and what Clear,
// SignIn and Renew record in the store.

// checkRevoked asks the store whether the session that opened (o, its
// data decoded into s.data) is revoked, at now, and returns why it is
// refused, or nil. On a refusal s.data is zeroed. s.mu must be held.
func (s *Session[T]) checkRevoked(o *opened, now int64) error {
	rv := s.m.rev
	if rv == nil {
		return nil
	}
	cfg := &s.m.cfg
	env := &o.env
	ref := SessionRef{
		SessionID: env.Sid, SignInID: env.Sin, Subject: subjectOf(&s.data),
		IssuedAt: time.Unix(env.Iat, 0), SignedInAt: time.Unix(env.Abs, 0), AbsoluteEnd: time.Unix(cfg.absoluteEnd(env.Abs, env.Rem), 0),
	}
	if err := s.askRevoked(rv, &ref); err != nil {
		return err
	}
	if ref.Subject != "" && now-o.last >= seconds(cfg.RefreshAfter) {
		// The sliding refresh is due: the listing's "last seen".
		s.seen(ref.Subject, env.Sin, env.Abs, env.Rem, now)
	}
	return nil
}

// askRevoked asks the store about ref and applies the failure policy: it
// returns why the session is refused, or nil. On a refusal s.data is
// zeroed. s.mu must be held.
func (s *Session[T]) askRevoked(rv *revocation, ref *SessionRef) error {
	rv.checks.inc(s.m.slot())
	s.check.start(s.req.Context(), rv.CheckTimeout)
	revoked, err := rv.Store.Revoked(&s.check, *ref)
	s.check.stop()
	switch {
	case err != nil && rv.FailOpen:
		n := rv.failedOpen.Add(1)
		if t := time.Now().UnixNano(); t >= rv.nextWarn.Load() {
			rv.nextWarn.Store(t + int64(time.Second))
			s.m.cfg.Logger.WarnContext(s.req.Context(), "jwesession: revocation store unavailable: session served unchecked (Revocation.FailOpen)", "failed_open", n, "error", err)
		}
	case err != nil:
		rv.failedClosed.Add(1)
		var zero T
		s.data = zero
		return unavailable("check session", err)
	case revoked:
		rv.revoked.Add(1)
		var zero T
		s.data = zero
		return errf(ErrRevoked, "the session, its sign-in or its user's sessions were revoked")
	}
	return nil
}

// seen records the sign-in sin of subject, started at abs (remembered:
// rem), as used at now.
func (s *Session[T]) seen(subject, sin string, abs int64, rem bool, now int64) {
	rv := s.m.rev
	rec := SignIn{ID: sin, Subject: subject, SignedInAt: time.Unix(abs, 0), LastSeen: time.Unix(now, 0), End: time.Unix(s.m.cfg.absoluteEnd(abs, rem), 0)}
	if err := rv.Store.Seen(s.req.Context(), rec); err != nil {
		rv.seenFailed.Add(1)
	}
}

// signedIn records a new sign-in for the listing. s.mu must be held.
func (s *Session[T]) signedIn(now int64) {
	if s.m.rev == nil {
		return
	}
	if sub := subjectOf(&s.data); sub != "" {
		s.seen(sub, s.sin, s.abs, s.rem, now)
	}
}

// endRevoked ends the current sign-in as end does and, with revocation
// on, revokes it in the store: its sign-in id, or in Auth.js mode (no
// sign-in id) its token's jti. The sign-in ends in this browser whatever
// the store says; the error says whether the revocation was recorded.
// s.mu must be held.
func (s *Session[T]) endRevoked(op string) error {
	had, sin, sid, until := s.has, s.sin, s.sid, s.recordUntil()
	s.end()
	rv := s.m.rev
	if rv == nil || !had {
		return nil
	}
	if s.m.ajs != nil {
		if err := rv.Store.RevokeSession(s.req.Context(), sid, until); err != nil {
			return failed(op, unavailable("revoke session", err), "; it ended in this browser only")
		}
		return nil
	}
	if err := rv.Store.RevokeSignIn(s.req.Context(), sin, until); err != nil {
		return failed(op, unavailable("revoke sign-in", err), "; it ended in this browser only")
	}
	return nil
}

// recordUntil returns until when a revocation of the current session's
// id or sign-in must last: the end of its sign-in's absolute lifetime, or
// in Auth.js mode its token's exp, plus the leeway. s.mu must be held.
func (s *Session[T]) recordUntil() time.Time {
	cfg := &s.m.cfg
	if s.m.ajs != nil {
		return time.Unix(s.exp+s.m.ajs.leeway, 0)
	}
	return cfg.signInUntil(time.Unix(cfg.absoluteEnd(s.abs, s.rem), 0))
}

// revokeRenewed revokes the session id a Renew replaced. s.mu must be
// held.
func (s *Session[T]) revokeRenewed(old string) error {
	rv := s.m.rev
	if rv == nil {
		return nil
	}
	if err := rv.Store.RevokeSession(s.req.Context(), old, s.recordUntil()); err != nil {
		return failed("renew", unavailable("revoke session", err), "; the old session id stays valid")
	}
	return nil
}

// subject returns the subject of the session's data: its SessionSubject,
// or in Auth.js mode, for a claims type without one, the "sub" claim.
// s.mu must be held.
func (s *Session[T]) subject() string {
	if s.m.ajs != nil {
		return s.authjsSubject()
	}
	return subjectOf(&s.data)
}

// Subject returns the session's subject (the data's SessionSubject; in
// Auth.js mode, for a claims type without that method, the "sub" claim),
// or "" when there is no session or the data names none.
func (s *Session[T]) Subject() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if !s.has {
		return ""
	}
	return s.subject()
}

// ClearEverywhere signs the session's user out everywhere: it revokes
// every sign-in of the session's subject that started up to now, on every
// instance (Manager.RevokeSubject), then clears this session as Clear
// does. Without a session it does nothing. It needs revocation on. If the
// store fails, the session is still cleared in this browser and the error
// (ErrRevocationUnavailable) says the other sign-ins were not revoked.
func (s *Session[T]) ClearEverywhere() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutable("clear everywhere"); err != nil {
		return err
	}
	rv, err := s.m.on("clear everywhere")
	if err != nil {
		return err
	}
	if !s.has {
		return nil
	}
	sub := s.subject()
	cfg := &s.m.cfg
	at := time.Unix(s.now(), 0)
	var revErr error
	if sub == "" {
		revErr = errf(ErrInvalidConfig, "failed to clear everywhere: the session data names no subject")
	} else if err := rv.Store.RevokeSubject(s.req.Context(), sub, at, cfg.broadUntil(at)); err != nil {
		revErr = failed("clear everywhere", unavailable("revoke subject", err), "; it ended in this browser only")
	}
	if revErr != nil {
		// Its own sign-in at least.
		if err := s.endRevoked("clear everywhere"); err != nil {
			revErr = err
		}
	} else {
		s.end()
	}
	s.clear = true
	return revErr
}

// checkContext is the context of one revocation check: the request's,
// with a deadline CheckTimeout after the check starts. A store answering
// from memory never asks for Done, so the common case costs a clock
// reading and no timer; the timer is made when Done is first called.
type checkContext struct {
	parent   context.Context
	deadline time.Time

	mu      sync.Mutex
	ctx     context.Context // with the timer; nil until Done
	cancel  context.CancelFunc
	stopped bool // the check is over: done, Err context.Canceled
}

func (c *checkContext) start(parent context.Context, timeout time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parent, c.deadline = parent, time.Now().Add(timeout)
	c.ctx, c.cancel, c.stopped = nil, nil, false
}

// stop ends the check: it releases the timer, if one was made, and from
// then on the context is done. Err must agree with Done from then on: a
// context a store derived from this one (context.WithCancel) reads Err
// once Done is closed, and the context package panics if it is nil.
func (c *checkContext) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.cancel != nil {
		c.cancel() // c.ctx stays: done, and its Err says why
	}
}

func (c *checkContext) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *checkContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.stopped {
			c.cancel() // asked for after the check: it is over
		}
	}
	return c.ctx.Done()
}

func (c *checkContext) Err() error {
	c.mu.Lock()
	ctx, stopped := c.ctx, c.stopped
	c.mu.Unlock()
	switch {
	case ctx != nil:
		return ctx.Err()
	case stopped:
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *checkContext) Value(k any) any { return c.parent.Value(k) }
