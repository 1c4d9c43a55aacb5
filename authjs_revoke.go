package jwesession

import (
	"context"
	"time"
)

// Revocation and counters of an AuthJSManager. Its tokens record no
// sign-in, so the check's SessionRef has the token's jti as the session
// id, no sign-in id, and the token's iat as both its issue and sign-in
// time (see SessionRef); revocations by subject and before T are judged by
// that iat. The app re-issues tokens on its own (every request to its
// session route), without asking the Go side: a token it issues after a
// revocation is not refused by it, unless the app's jwt callback consults
// the same state (see the README's "Revocation").

// checkRevokedAuthJS asks the store whether the opened token (plaintext
// pt, times t; its claims decoded into s.data) is revoked, and returns why
// it is refused, or nil. s.mu must be held.
func (s *Session[T]) checkRevokedAuthJS(pt []byte, t *authjsTimes) error {
	rv := s.m.rev
	if rv == nil {
		return nil
	}
	iat := time.Unix(int64(t.iat), 0)
	ref := SessionRef{
		SessionID: t.jti, Subject: s.claimsSubject(pt),
		IssuedAt: iat, SignedInAt: iat, AbsoluteEnd: time.Unix(int64(t.exp), 0),
	}
	return s.askRevoked(rv, &ref)
}

// authjsSubject is subject in Auth.js mode. s.mu must be held.
func (s *Session[T]) authjsSubject() string { return s.claimsSubject(s.raw) }

// claimsSubject returns the subject of claims c (s.data decoded from
// them): the claims type's SessionSubject when it has one, else the "sub"
// claim when it is a string, else "".
func (s *Session[T]) claimsSubject(c []byte) string {
	if sub, ok := askSubject(&s.data); ok {
		return sub
	}
	return stringClaim(c, "sub")
}

// RevokeSubject revokes, on every Go instance, every token of the subject
// issued up to now (the claims type's SessionSubject(), or else the "sub"
// claim): "sign out everywhere", a user banned. The app does not check:
// a token it issues afterwards (its session route re-issues the cookie
// of every browser that still holds one) is accepted. It needs
// AuthJSConfig.Revocation; Session.ClearEverywhere does it from a handler.
func (m *AuthJSManager[T]) RevokeSubject(ctx context.Context, subject string) error {
	return m.m.RevokeSubject(ctx, subject)
}

// RevokeBefore revokes, on every Go instance, every token issued (iat)
// before t: an incident switch. As with RevokeSubject, a token the app
// issues afterwards is accepted. t must not lie in the future.
func (m *AuthJSManager[T]) RevokeBefore(ctx context.Context, t time.Time) error {
	return m.m.RevokeBefore(ctx, t)
}

// RevokeSession revokes one token, by its jti (Session.ID), on every Go
// instance, until end (its ExpiresAt; zero: MaxAge from now). Every write
// gives a token a new jti, by either side, so this ends that one token
// only: Clear and Renew do it for the request's token.
func (m *AuthJSManager[T]) RevokeSession(ctx context.Context, jti string, end time.Time) error {
	return m.m.RevokeSession(ctx, jti, end)
}

// RevocationStats returns the manager's revocation counters (zero when
// revocation is off).
func (m *AuthJSManager[T]) RevocationStats() RevocationStats { return m.m.RevocationStats() }

// Metrics returns the manager's counters, as Manager.Metrics does: cookies
// refused by reason (revoked and revocation_unavailable included), tokens
// written (a re-issue of RefreshAfter counts there and in Refreshes),
// sign-outs, and the changes and reads refused after the headers were
// sent. Keys is empty: the secrets have no per-key counters.
func (m *AuthJSManager[T]) Metrics() Metrics { return m.m.Metrics() }

// MetricsVar returns the manager's Metrics as an expvar.Var (see
// Manager.MetricsVar).
func (m *AuthJSManager[T]) MetricsVar() MetricsVar { return m.Metrics }
