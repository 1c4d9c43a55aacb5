package jwesession

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newRevokingAuthJS returns an Auth.js manager with revocation through a
// test store on the manager's clock.
func newRevokingAuthJS[T any](t testing.TB, rc Revocation) (*AuthJSManager[T], *testClock, *testStore) {
	t.Helper()
	st := &testStore{}
	if rc.Store == nil {
		rc.Store = st
	}
	m, clk := newAuthJSTest[T](t, AuthJSConfig{Revocation: rc})
	st.Now = clk.Now
	return m, clk, st
}

// ajsSignIn signs in a user (name and sub) and returns the Cookie header.
func ajsSignIn(t testing.TB, m *AuthJSManager[ajsClaims], sub string) string {
	t.Helper()
	rec := serveAJS(t, m, "", func(s *Session[ajsClaims]) {
		require.NoError(t, s.SignIn(ajsClaims{AuthJSClaims: AuthJSClaims{Name: sub, Sub: sub}}))
	})
	return cookieHeader("", rec)
}

// ajsRead reads the session of the Cookie header: ok, the Set-Cookie
// lines of the response, and the session's error.
func ajsRead[T any](t testing.TB, m *AuthJSManager[T], cookie string) (bool, []string, error) {
	t.Helper()
	var ok bool
	var err error
	rec := serveAJS(t, m, cookie, func(s *Session[T]) {
		_, ok = s.Get()
		err = s.Err()
	})
	return ok, setCookies(rec), err
}

// Clear and Renew with revocation on revoke the token's jti, until its exp
// plus the leeway: a copy of that token is refused (and not deleted by the
// read), a concurrent other user's token is not touched, and a sign-in
// over a session revokes the one it replaces.
func TestAuthJSClearAndRenewRevoke(t *testing.T) {
	m, clk, st := newRevokingAuthJS[ajsClaims](t, Revocation{})
	alice, bob := ajsSignIn(t, m, "alice"), ajsSignIn(t, m, "bob")
	clk.Advance(time.Minute)

	var jti string
	rec := serveAJS(t, m, alice, func(s *Session[ajsClaims]) {
		jti = s.ID()
		require.NoError(t, s.Renew())
	})
	assert.Equal(t, "session "+jti+" 2026-12-23 12:00:15", st.lastCall(), "until the old token's exp (sign-in + 30 days) + 15 s")
	renewed := cookieHeader(alice, rec)
	ok, sc, err := ajsRead(t, m, alice)
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrRevoked)
	assert.Empty(t, sc, "a read never deletes the rejected cookie")

	serveAJS(t, m, renewed, func(s *Session[ajsClaims]) {
		jti = s.ID()
		require.NoError(t, s.Clear())
	})
	assert.Equal(t, "session "+jti+" 2026-12-23 12:01:15", st.lastCall())
	ok, _, err = ajsRead(t, m, renewed)
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrRevoked)
	ok, _, err = ajsRead(t, m, bob)
	assert.True(t, ok, "another user's token is not touched by a sign-out: %v", err)

	serveAJS(t, m, bob, func(s *Session[ajsClaims]) {
		jti = s.ID()
		require.NoError(t, s.SignIn(ajsClaims{AuthJSClaims: AuthJSClaims{Sub: "carol"}}))
	})
	ok, _, err = ajsRead(t, m, bob)
	assert.False(t, ok, "the token a sign-in replaced is revoked")
	assert.ErrorIs(t, err, ErrRevoked)

	assert.Equal(t, RevocationStats{Checks: 7, Revoked: 3}, m.RevocationStats())
	assert.Equal(t, uint64(3), m.Metrics().Rejected[RejectRevoked])
	for _, c := range st.calls {
		assert.False(t, strings.HasPrefix(c, "sign-in "), "no sign-in id to revoke: %q", c)
	}
}

// No empty id reaches a store: Auth.js tokens have no sign-in id, so a
// record for "" would revoke every one of them.
func TestRevokeEmptyIDRefused(t *testing.T) {
	m, _, st := newRevokingAuthJS[ajsClaims](t, Revocation{})
	native, _, _ := newRevokingManager(t, Revocation{Store: st})
	require.ErrorIs(t, native.RevokeSignIn(context.Background(), "", time.Time{}), ErrInvalidConfig)
	require.ErrorIs(t, native.RevokeSession(context.Background(), "", time.Time{}), ErrInvalidConfig)
	require.ErrorIs(t, m.RevokeSession(context.Background(), "", time.Time{}), ErrInvalidConfig)
	assert.Empty(t, st.calls)
	// A store given one anyway (an application's own call) matches no
	// token with it.
	cookie := ajsSignIn(t, m, "alice")
	require.NoError(t, st.MemoryRevocations.RevokeSignIn(context.Background(), "", time.Now().Add(time.Hour)))
	require.NoError(t, st.MemoryRevocations.RevokeSession(context.Background(), "", time.Now().Add(time.Hour)))
	ok, _, err := ajsRead(t, m, cookie)
	assert.True(t, ok, "%v", err)
}

// mailSubject names its user by email: its SessionSubject wins over sub.
type mailSubject struct {
	AuthJSClaims
}

func (c mailSubject) SessionSubject() string { return c.Email }

// Revocation by subject and before T is judged by the token's iat, and the
// subject is the claims type's SessionSubject, else the sub claim (for a
// map too). A token the app issues after the revocation is accepted: the
// app does not ask the Go side.
func TestAuthJSRevokeSubjectAndBefore(t *testing.T) {
	ctx := context.Background()
	t.Run("sub claim", func(t *testing.T) {
		m, clk, _ := newRevokingAuthJS[ajsClaims](t, Revocation{})
		alice, bob := ajsSignIn(t, m, "alice"), ajsSignIn(t, m, "bob")
		clk.Advance(time.Minute)
		require.NoError(t, m.RevokeSubject(ctx, "alice"))
		ok, _, err := ajsRead(t, m, alice)
		assert.False(t, ok)
		assert.ErrorIs(t, err, ErrRevoked)
		ok, _, _ = ajsRead(t, m, bob)
		assert.True(t, ok)
		clk.Advance(time.Second)
		reissued, err := m.Encode(ajsClaims{AuthJSClaims: AuthJSClaims{Name: "alice", Sub: "alice"}}) // the app's session route
		require.NoError(t, err)
		ok, _, _ = ajsRead(t, m, m.CookieName()+"="+reissued)
		assert.True(t, ok, "a token the app issued after the revocation is accepted")

		clk.Advance(time.Minute)
		require.NoError(t, m.RevokeBefore(ctx, clk.Now()))
		for _, c := range []string{bob, m.CookieName() + "=" + reissued} {
			ok, _, err = ajsRead(t, m, c)
			assert.False(t, ok)
			assert.ErrorIs(t, err, ErrRevoked)
		}
	})
	t.Run("SessionSubject", func(t *testing.T) {
		m, _, _ := newRevokingAuthJS[mailSubject](t, Revocation{})
		tok, err := m.Encode(mailSubject{AuthJSClaims{Sub: "42", Email: "alice@example.com"}})
		require.NoError(t, err)
		cookie := m.CookieName() + "=" + tok
		serveAJS(t, m, cookie, func(s *Session[mailSubject]) { assert.Equal(t, "alice@example.com", s.Subject()) })
		require.NoError(t, m.RevokeSubject(ctx, "42"))
		ok, _, _ := ajsRead(t, m, cookie)
		assert.True(t, ok, "the sub claim is not the subject of a type that names one")
		require.NoError(t, m.RevokeSubject(ctx, "alice@example.com"))
		ok, _, err = ajsRead(t, m, cookie)
		assert.False(t, ok)
		assert.ErrorIs(t, err, ErrRevoked)
	})
	t.Run("map", func(t *testing.T) {
		m, _, _ := newRevokingAuthJS[map[string]any](t, Revocation{})
		tok, err := m.Encode(map[string]any{"sub": "alice", "name": "A"})
		require.NoError(t, err)
		cookie := m.CookieName() + "=" + tok
		serveAJS(t, m, cookie, func(s *Session[map[string]any]) { assert.Equal(t, "alice", s.Subject()) })
		require.NoError(t, m.RevokeSubject(ctx, "alice"))
		ok, _, err := ajsRead(t, m, cookie)
		assert.False(t, ok)
		assert.ErrorIs(t, err, ErrRevoked)
	})
}

// ClearEverywhere revokes the claims' subject: the user's other token
// (another device) is refused, and so is this one.
func TestAuthJSClearEverywhere(t *testing.T) {
	m, clk, st := newRevokingAuthJS[ajsClaims](t, Revocation{})
	laptop, phone := ajsSignIn(t, m, "alice"), ajsSignIn(t, m, "alice")
	clk.Advance(time.Minute)
	rec := serveAJS(t, m, laptop, func(s *Session[ajsClaims]) { require.NoError(t, s.ClearEverywhere()) })
	assert.Equal(t, "subject alice@12:01:00 2026-12-23 12:01:15", st.lastCall(), "until MaxAge + the leeway past it")
	for _, c := range []string{laptop, phone} {
		ok, _, err := ajsRead(t, m, c)
		assert.False(t, ok)
		assert.ErrorIs(t, err, ErrRevoked)
	}
	assert.Contains(t, strings.Join(setCookies(rec), "\n"), m.CookieName()+"=; Path=/; Max-Age=0")
}

// The failure policy of the native format: fail closed serves the request
// as signed out (the cookie left alone), fail open serves it unchecked.
func TestAuthJSRevocationFailure(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		st := &testStore{}
		m, _ := newAuthJSTest[ajsClaims](t, AuthJSConfig{Revocation: Revocation{Store: st, FailOpen: failOpen}})
		cookie := ajsSignIn(t, m, "alice")
		st.fail.Store(true)
		ok, sc, err := ajsRead(t, m, cookie)
		assert.Empty(t, sc)
		if failOpen {
			assert.True(t, ok)
			assert.Equal(t, RevocationStats{Checks: 1, FailedOpen: 1}, m.RevocationStats())
			continue
		}
		assert.False(t, ok)
		assert.ErrorIs(t, err, ErrRevocationUnavailable)
		assert.Equal(t, RevocationStats{Checks: 1, FailedClosed: 1}, m.RevocationStats())
		assert.Equal(t, uint64(1), m.Metrics().Rejected[RejectRevocationUnavailable])
		st.fail.Store(false)
		ok, _, _ = ajsRead(t, m, cookie)
		assert.True(t, ok, "back once the store is")
	}
	_, err := NewAuthJS[ajsClaims](AuthJSConfig{Revocation: Revocation{Store: &MemoryRevocations{}, CheckTimeout: -1}}, mustAuthJSSecrets(t))
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func mustAuthJSSecrets(t testing.TB) *AuthJSSecrets {
	t.Helper()
	s, err := NewAuthJSSecrets(authjsSecret1)
	require.NoError(t, err)
	return s
}

// Without revocation, the revocation calls say it is off.
func TestAuthJSRevocationOff(t *testing.T) {
	m, _ := newAuthJSTest[ajsClaims](t, AuthJSConfig{})
	require.ErrorIs(t, m.RevokeSubject(context.Background(), "alice"), ErrInvalidConfig)
	cookie := ajsSignIn(t, m, "alice")
	serveAJS(t, m, cookie, func(s *Session[ajsClaims]) {
		require.ErrorIs(t, s.ClearEverywhere(), ErrInvalidConfig)
		require.NoError(t, s.Clear())
	})
	assert.Equal(t, RevocationStats{}, m.RevocationStats())
}

// The manager's metrics count this mode's refusals by reason, its writes,
// its re-issues on a read and its sign-outs.
func TestAuthJSMetrics(t *testing.T) {
	m, clk := newAuthJSTest[ajsClaims](t, AuthJSConfig{RefreshAfter: time.Hour})
	cookie := ajsSignIn(t, m, "alice")
	tampered := cookie[:len(cookie)-3] + "AAA"
	if tampered == cookie {
		tampered = cookie[:len(cookie)-3] + "BBB"
	}
	for _, c := range []string{tampered, m.CookieName() + "=x.y", m.CookieName() + ".0=a; " + m.CookieName() + ".2=b"} {
		ok, _, _ := ajsRead(t, m, c)
		require.False(t, ok)
	}
	clk.Advance(2 * time.Hour)
	ok, sc, _ := ajsRead(t, m, cookie) // re-issued: RefreshAfter
	require.True(t, ok)
	require.NotEmpty(t, sc)
	require.NotContains(t, sc[0], "Max-Age=0", "the token re-issued")
	clk.Advance(31 * 24 * time.Hour)
	ok, _, _ = ajsRead(t, m, cookie)
	require.False(t, ok)
	serveAJS(t, m, "", func(s *Session[ajsClaims]) { _ = s.Clear() }) // nothing to sign out: still a sign-out's deletions
	got := m.Metrics()
	assert.Empty(t, got.Keys)
	assert.Equal(t, Metrics{
		Rejected: map[RejectReason]uint64{
			RejectMalformed: 2, RejectDecrypt: 1, RejectUnknownKey: 0, RejectRetiredKey: 0, RejectExpired: 1, RejectNotYetValid: 0,
			RejectSignedOut: 0, RejectDataDecode: 0, RejectRevoked: 0, RejectRevocationUnavailable: 0,
		},
		SessionsWritten: 2, SessionsDeleted: 1, Refreshes: 1, Keys: got.Keys,
	}, got)
	assert.Contains(t, m.MetricsVar().String(), `"SessionsWritten":2`)
}

// Flash messages and "remember me" have no equivalent in these cookies:
// AddFlash and SignInRemembered return ErrAuthJSMode and write nothing,
// Flashes finds none (not even a cookie named like the native flash
// cookie), and Remembered is false.
func TestAuthJSNoFlashesNoRemember(t *testing.T) {
	m, _ := newAuthJSTest[ajsClaims](t, AuthJSConfig{DevelopmentCookies: true})
	rec := serveAJS(t, m, "", func(s *Session[ajsClaims]) {
		err := s.SignInRemembered(ajsClaims{AuthJSClaims: AuthJSClaims{Sub: "alice"}})
		require.ErrorIs(t, err, ErrAuthJSMode)
		assert.Contains(t, err.Error(), "remember me")
		assert.False(t, s.SignedIn(), "nothing signed in")
		require.ErrorIs(t, s.AddFlash("hello"), ErrAuthJSMode)
		assert.Nil(t, s.Flashes())
	})
	assert.Empty(t, setCookies(rec))

	cookie := ajsSignIn(t, m, "alice")
	// A flash cookie of a native manager of the same site is not read.
	native, _ := newTestManager(t, Config{DevelopmentCookies: true}, nil)
	flash := serve(t, native, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.AddFlash("hi"))
	})
	cookie = cookieHeader(cookie, flash)
	require.Contains(t, cookie, "~f.session=")
	rec = serveAJS(t, m, cookie, func(s *Session[ajsClaims]) {
		assert.Nil(t, s.Flashes())
		assert.False(t, s.Remembered())
		_, ok := s.Get()
		assert.True(t, ok)
		require.ErrorIs(t, s.AddFlash("x"), ErrAuthJSMode)
	})
	assert.Empty(t, setCookies(rec))
	// Every name a native manager writes starts with "~" after its
	// prefix, so none starts with an Auth.js cookie's name, and the app's
	// join never takes one in.
	for _, dev := range []bool{false, true} {
		n, _ := newTestManager(t, Config{DevelopmentCookies: dev}, nil)
		for _, name := range []string{n.core.names.companion, n.core.names.tombstone, n.core.names.flash} {
			for _, f := range []AuthJSFormat{FormatAuthJS, FormatNextAuth4} {
				a, _ := newAuthJSTest[ajsClaims](t, AuthJSConfig{Format: f, DevelopmentCookies: dev})
				assert.False(t, strings.HasPrefix(name, a.CookieName()), "%s starts with %s", name, a.CookieName())
			}
		}
	}
}
