package jwesession

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Revocation, when its Store is set, makes sessions revocable: every
// request whose session token opens asks the store, once, whether the
// session was revoked, and Clear, Renew and SignIn over a sign-in record
// what they end there. Without it (the default) sessions are stateless: a
// copy of a cookie stays valid until it expires.
type Revocation struct {
	// Store keeps the revocations every instance shares (the redis module
	// has one for Redis; MemoryRevocations serves one process). The
	// default, nil, turns revocation off. With a Store, the session data
	// type T must name its user through a method SessionSubject() string
	// (see Subjecter): New refuses a T without one. (An AuthJSManager's
	// claims type need not have one: the "sub" claim serves.)
	Store RevocationStore
	// FailOpen decides what a request gets when the store cannot answer
	// (unreachable, slow past CheckTimeout): false, the default, serves
	// it as signed out for that request (ErrRevocationUnavailable), its
	// cookie left alone, so the user is back when the store is; true
	// serves the session as if it were not revoked, logs a warning (at
	// most one line a second, with the count) and counts it in
	// RevocationStats.FailedOpen. The default fails closed because a
	// service that turns revocation on has sessions it must be able to
	// end, and an outage (which an attacker may cause) must not bring
	// them back.
	FailOpen bool
	// CheckTimeout bounds one check. A store answers from memory in the
	// common case and needs one round trip otherwise; a store slower than
	// this gets the failure policy. The default is 100 milliseconds: two
	// orders of magnitude above a round trip to a store in the same
	// region, small next to a page's own latency.
	CheckTimeout time.Duration
}

// RevocationStore keeps revocations for every instance of a service. Its
// methods must be safe for concurrent use. Times are the manager's clock
// (Config.Now); a record may be dropped once its until time has passed,
// because no session it could affect is valid after it. Most applications
// will use the redis module's store or MemoryRevocations and not implement
// it; a wrapper that embeds one and overrides Revoked is how an
// application rejects sessions from its own state (a user deleted or
// banned: see the example).
type RevocationStore interface {
	// Revoked reports whether the session ref describes is revoked: its
	// session id or its sign-in id was revoked, its subject's sessions
	// were revoked at or after its sign-in (ref.SignedInAt <= at), or
	// everything issued before some T was revoked (ref.IssuedAt < T). It
	// is called once per request whose token opened, on the request's
	// path: it should answer from memory in the common case. ctx carries
	// the check's deadline (Revocation.CheckTimeout); it must not be used
	// after Revoked returns. An error means the store cannot tell, and
	// the failure policy applies; it must not be returned for a session
	// that is simply not revoked.
	Revoked(ctx context.Context, ref SessionRef) (bool, error)
	// RevokeSession revokes one session id until the given time (the end
	// of its sign-in's absolute lifetime, plus the leeway).
	RevokeSession(ctx context.Context, sessionID string, until time.Time) error
	// RevokeSignIn revokes one sign-in (every session id it had and will
	// have) until the given time (the end of its absolute lifetime, plus
	// the leeway).
	RevokeSignIn(ctx context.Context, signInID string, until time.Time) error
	// RevokeSubject revokes every sign-in of the subject that started at
	// or before at, until the given time (at plus the longest absolute
	// lifetime, plus the leeway). A later call with an earlier at must not
	// undo a later one: the latest at stands.
	RevokeSubject(ctx context.Context, subject string, at, until time.Time) error
	// RevokeBefore revokes every session whose token was issued before t,
	// until the given time (t plus the longest absolute lifetime, plus the
	// leeway). The latest t stands.
	RevokeBefore(ctx context.Context, t, until time.Time) error
	// Seen records that a sign-in was used: at sign-in and at each sliding
	// refresh (so at most once per Config.RefreshAfter per session), with
	// LastSeen the time of that request. It is called on the request's
	// path: an implementation should queue the record and return at once.
	// A record lost costs only the accuracy of SignIns. A store may keep
	// no records at all (SignIns then lists none); one that keeps them
	// keeps each until its End.
	Seen(ctx context.Context, s SignIn) error
	// SignIns returns the sign-ins of subject that Seen recorded and
	// whose End is after now, in any order, revoked ones included (the
	// manager filters them out).
	SignIns(ctx context.Context, subject string, now time.Time) ([]SignIn, error)
}

// SessionRef is what a revocation check knows of a session.
//
// For a token of an AuthJSManager (Auth.js v5, NextAuth.js v4), which
// records no sign-in: SessionID is its jti (new on every write, by either
// side), SignInID is "", Subject is the claims type's SessionSubject() or
// else the "sub" claim, IssuedAt and SignedInAt are both its iat, and
// AbsoluteEnd is its exp. A store must never match an empty id (the
// manager refuses to revoke one).
type SessionRef struct {
	SessionID string // changes with Renew
	SignInID  string // fixed at sign-in
	Subject   string // the data's SessionSubject()
	// IssuedAt is when the token was last written; SignedInAt when its
	// sign-in started; AbsoluteEnd when the sign-in ends whatever happens.
	IssuedAt, SignedInAt, AbsoluteEnd time.Time
}

// SignIn is one sign-in of a subject, as Manager.SignIns lists them: the
// "where you're signed in" page.
type SignIn struct {
	ID      string // Session.SignInID of its sessions
	Subject string
	// SignedInAt is when it started; LastSeen the latest sign-in or
	// sliding refresh recorded (so it lags the real last request by up to
	// Config.RefreshAfter); End the end of its absolute lifetime.
	SignedInAt, LastSeen, End time.Time
}

// Subjecter is implemented by session data that names the application's
// user (the subject): "sign out everywhere" revokes every sign-in of a
// subject. Revocation needs it. The method's name keeps clear of a field
// named Subject that the data type may have.
type Subjecter interface {
	SessionSubject() string
}

// Revocation errors.
var (
	// ErrRevoked: the session was revoked (its session id, its sign-in, its
	// subject's sessions, or everything issued before a time). It is
	// served as no session; as with every rejected cookie, a read does
	// not delete it.
	ErrRevoked = errors.New("jwesession: session revoked")
	// ErrRevocationUnavailable: the revocation store could not answer (or
	// record a revocation). For a check under the fail-closed policy, the
	// request is served as signed out and its cookie left alone. It wraps
	// the store's error.
	ErrRevocationUnavailable = errors.New("jwesession: revocation store unavailable")
)

// RevocationStats are a manager's revocation counters since it was
// created, in this process.
type RevocationStats struct {
	Checks       uint64 // sessions checked
	Revoked      uint64 // refused as revoked
	FailedClosed uint64 // store errors served as signed out
	FailedOpen   uint64 // store errors served as valid (FailOpen)
	SeenFailed   uint64 // Seen records the store refused
}

// revocation is a manager's revocation state: nil when it is off.
type revocation struct {
	Revocation
	checks                                        spreadCounter // every request whose token opens
	revoked, failedClosed, failedOpen, seenFailed atomic.Uint64
	nextWarn                                      atomic.Int64 // unix nanos before which failures are not logged
}

// newRevocation checks the revocation settings for data type T and returns
// the manager's revocation state, nil when revocation is off.
func newRevocation[T any](cfg *Config) (*revocation, error) {
	rv, err := cfg.Revocation.state()
	if rv == nil || err != nil {
		return rv, err
	}
	if !isSubjecter[T]() {
		var zero T
		return nil, errf(ErrInvalidConfig, "revocation needs the session data type %T to name its user: give it a method SessionSubject() string", zero)
	}
	return rv, nil
}

// state checks the settings and returns the revocation state they make,
// nil when revocation is off.
func (rc Revocation) state() (*revocation, error) {
	if rc.Store == nil {
		return nil, nil
	}
	if rc.CheckTimeout < 0 {
		return nil, errf(ErrInvalidConfig, "Revocation.CheckTimeout is negative")
	}
	if rc.CheckTimeout == 0 {
		rc.CheckTimeout = 100 * time.Millisecond
	}
	return &revocation{Revocation: rc}, nil
}

// isSubjecter reports whether T or *T has a SessionSubject method.
func isSubjecter[T any]() bool {
	var zero T
	_, byValue := any(zero).(Subjecter)
	_, byPointer := any(&zero).(Subjecter)
	return byValue || byPointer
}

// subjectOf returns the subject the data names, or "" when its type has
// no SessionSubject method.
func subjectOf[T any](v *T) string {
	s, _ := askSubject(v)
	return s
}

// askSubject returns the subject the data names and whether its type has
// a SessionSubject method. *T has the methods of T, so the pointer serves
// both receivers without copying the data into an interface (an
// allocation); a T that is itself a pointer is asked as is.
func askSubject[T any](v *T) (string, bool) {
	if s, ok := any(v).(Subjecter); ok {
		return s.SessionSubject(), true
	}
	if s, ok := any(*v).(Subjecter); ok {
		return s.SessionSubject(), true
	}
	return "", false
}

// signInUntil returns how long a sign-in's or a session's record must
// last: the sign-in's absolute end plus the leeway, or, when end is zero
// (unknown), the longest a sign-in starting now can last.
func (cfg *Config) signInUntil(end time.Time) time.Time {
	if end.IsZero() {
		return cfg.Now().Add(cfg.maxAbsolute() + cfg.Leeway)
	}
	return end.Add(cfg.Leeway)
}

// broadUntil returns how long a subject's or a before-T record made for
// time at must last: the longest absolute lifetime past it, plus the
// leeway.
func (cfg *Config) broadUntil(at time.Time) time.Time {
	return at.Add(cfg.maxAbsolute() + cfg.Leeway)
}

// on returns the revocation state, or an error naming op when it is off.
func (c *managerCore) on(op string) (*revocation, error) {
	if c.rev == nil {
		return nil, errf(ErrInvalidConfig, "failed to %s: revocation is off (set Config.Revocation.Store)", op)
	}
	return c.rev, nil
}

// unavailable wraps a store's error.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: failed to %s: %w", ErrRevocationUnavailable, op, err)
}

// revoke records a revocation through write, naming op in its errors.
func (c *managerCore) revoke(op string, write func(RevocationStore) error) error {
	rv, err := c.on(op)
	if err != nil {
		return err
	}
	if err := write(rv.Store); err != nil {
		return unavailable(op, err)
	}
	return nil
}

// RevokeSession revokes one session id everywhere, until end (the end of
// its sign-in's absolute lifetime; zero: the longest there can be). Most
// applications revoke sign-ins or subjects instead; Renew revokes the id
// it replaces.
func (m *Manager[T]) RevokeSession(ctx context.Context, sessionID string, end time.Time) error {
	if sessionID == "" {
		return errf(ErrInvalidConfig, "failed to revoke session: the session id is empty")
	}
	return m.core.revoke("revoke session", func(st RevocationStore) error {
		return st.RevokeSession(ctx, sessionID, m.core.cfg.signInUntil(end))
	})
}

// RevokeSignIn revokes one sign-in everywhere (every session id it had or
// will have), until end (SignIn.End from SignIns; zero: the longest there
// can be): the "sign out that device" of a "where you're signed in" page.
// Clear does it for the session's own sign-in.
func (m *Manager[T]) RevokeSignIn(ctx context.Context, signInID string, end time.Time) error {
	if signInID == "" {
		// Auth.js tokens have none: a record for "" would be a record for
		// all of them.
		return errf(ErrInvalidConfig, "failed to revoke sign-in: the sign-in id is empty")
	}
	return m.core.revoke("revoke sign-in", func(st RevocationStore) error {
		return st.RevokeSignIn(ctx, signInID, m.core.cfg.signInUntil(end))
	})
}

// RevokeSubject revokes every sign-in of the subject that started up to
// now ("sign out everywhere", a user banned or demoted): on every instance
// once the revocation has reached it (see the store's staleness bound).
// Sign-in times are whole seconds, so a new sign-in within the same second
// is revoked with them. Session.ClearEverywhere does it from a handler.
func (m *Manager[T]) RevokeSubject(ctx context.Context, subject string) error {
	if subject == "" {
		return errf(ErrInvalidConfig, "failed to revoke subject: the subject is empty")
	}
	cfg := &m.core.cfg
	at := time.Unix(cfg.Now().Unix(), 0)
	return m.core.revoke("revoke subject", func(st RevocationStore) error {
		return st.RevokeSubject(ctx, subject, at, cfg.broadUntil(at))
	})
}

// RevokeBefore revokes every session whose token was issued before t, on
// every instance: an incident switch that signs everybody out without a
// key rotation. t must not lie in the future.
func (m *Manager[T]) RevokeBefore(ctx context.Context, t time.Time) error {
	cfg := &m.core.cfg
	if t.After(cfg.Now().Add(cfg.Leeway)) {
		return errf(ErrInvalidConfig, "failed to revoke sessions: the time lies in the future")
	}
	return m.core.revoke("revoke sessions", func(st RevocationStore) error {
		return st.RevokeBefore(ctx, t, cfg.broadUntil(t))
	})
}

// SignIns lists the subject's sign-ins that are neither over nor revoked,
// as the store recorded them (see RevocationStore.Seen): for a "where
// you're signed in" page, whose entries RevokeSignIn signs out.
func (m *Manager[T]) SignIns(ctx context.Context, subject string) ([]SignIn, error) {
	rv, err := m.core.on("list sign-ins")
	if err != nil {
		return nil, err
	}
	now := m.core.cfg.Now()
	all, err := rv.Store.SignIns(ctx, subject, now)
	if err != nil {
		return nil, unavailable("list sign-ins", err)
	}
	out := all[:0]
	for _, s := range all {
		if !s.End.After(now) {
			continue
		}
		// A sign-in's tokens were all issued at or after its start; one
		// that started before a before-T revocation is listed as revoked.
		ref := SessionRef{SignInID: s.ID, Subject: subject, IssuedAt: s.SignedInAt, SignedInAt: s.SignedInAt, AbsoluteEnd: s.End}
		revoked, err := rv.Store.Revoked(ctx, ref)
		if err != nil {
			return nil, unavailable("list sign-ins", err)
		}
		if !revoked {
			out = append(out, s)
		}
	}
	return out, nil
}

// RevocationStats returns the manager's revocation counters (zero when
// revocation is off).
func (m *Manager[T]) RevocationStats() RevocationStats {
	rv := m.core.rev
	if rv == nil {
		return RevocationStats{}
	}
	return RevocationStats{
		Checks: rv.checks.load(), Revoked: rv.revoked.Load(),
		FailedClosed: rv.failedClosed.Load(), FailedOpen: rv.failedOpen.Load(),
		SeenFailed: rv.seenFailed.Load(),
	}
}
