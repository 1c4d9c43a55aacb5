package jwesession

// "Remember me" is a choice made per sign-in and kept in its token, so
// one manager and one cookie serve both kinds: SignIn starts a
// browser-session sign-in (cookies without Max-Age or Expires, lifetimes
// IdleTimeout and AbsoluteTimeout), SignInRemembered a persistent one
// (cookies with Max-Age, lifetimes RememberIdleTimeout and
// RememberAbsoluteTimeout). Every rewrite and Renew keeps the kind, the
// companion of the sliding refresh follows it, and the clamp on expiries
// the configuration could never issue uses that sign-in's lifetimes. The
// tombstone of a sign-out is always persistent.

// SignInRemembered is SignIn for a "remember me" sign-in: its cookies
// persist across browser restarts (Max-Age up to the end of its absolute
// lifetime), and it lives by RememberIdleTimeout and
// RememberAbsoluteTimeout. Renew and every write keep the kind; only a new
// sign-in changes it. An AuthJSManager's cookies have one kind, the app's
// (persistent for MaxAge, which SignIn writes): there it is an
// ErrAuthJSMode, and nothing changes.
func (s *Session[T]) SignInRemembered(v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m.ajs != nil {
		return failed("sign in", ErrAuthJSMode, `: it has no "remember me" kind (SignIn writes it for MaxAge, as the app does)`)
	}
	return s.put("sign in", v, true, true)
}

// Remembered reports whether the session's sign-in is a "remember me" one
// (SignInRemembered); false for a browser-session sign-in, no session, and
// an AuthJSManager's session.
func (s *Session[T]) Remembered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.rem
}
