package jwesession

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SessionSubject names the test data's user, for revocation.
func (d testData) SessionSubject() string { return d.User }

// testStore is MemoryRevocations that can be made to fail, and counts and
// records what it is asked.
type testStore struct {
	MemoryRevocations
	fail   atomic.Bool
	checks atomic.Int64
	mu     sync.Mutex
	calls  []string // "op id until" of every revocation
}

var errStoreDown = errors.New("store down")

func (s *testStore) Revoked(ctx context.Context, ref SessionRef) (bool, error) {
	s.checks.Add(1)
	if s.fail.Load() {
		return false, errStoreDown
	}
	return s.MemoryRevocations.Revoked(ctx, ref)
}

func (s *testStore) record(op, id string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, op+" "+id+" "+until.UTC().Format(time.DateTime))
	if s.fail.Load() {
		return errStoreDown
	}
	return nil
}

func (s *testStore) RevokeSession(ctx context.Context, id string, until time.Time) error {
	if err := s.record("session", id, until); err != nil {
		return err
	}
	return s.MemoryRevocations.RevokeSession(ctx, id, until)
}

func (s *testStore) RevokeSignIn(ctx context.Context, id string, until time.Time) error {
	if err := s.record("sign-in", id, until); err != nil {
		return err
	}
	return s.MemoryRevocations.RevokeSignIn(ctx, id, until)
}

func (s *testStore) RevokeSubject(ctx context.Context, sub string, at, until time.Time) error {
	if err := s.record("subject", sub+"@"+at.UTC().Format(time.TimeOnly), until); err != nil {
		return err
	}
	return s.MemoryRevocations.RevokeSubject(ctx, sub, at, until)
}

func (s *testStore) RevokeBefore(ctx context.Context, t, until time.Time) error {
	if err := s.record("before", t.UTC().Format(time.TimeOnly), until); err != nil {
		return err
	}
	return s.MemoryRevocations.RevokeBefore(ctx, t, until)
}

func (s *testStore) lastCall() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		return ""
	}
	return s.calls[len(s.calls)-1]
}

// newRevokingManager returns a manager with revocation through a test
// store on the manager's clock.
func newRevokingManager(t testing.TB, rc Revocation) (*Manager[testData], *testClock, *testStore) {
	t.Helper()
	st := &testStore{}
	if rc.Store == nil {
		rc.Store = st
	}
	m, clk := newTestManager(t, Config{Revocation: rc}, nil)
	st.Now = clk.Now
	return m, clk, st
}

func TestRevocationNeedsSubject(t *testing.T) {
	type noSubject struct{ User string }
	_, err := New[noSubject](Config{Revocation: Revocation{Store: &MemoryRevocations{}}}, mustKeyring(t, "a:primary:"+secretA))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "SessionSubject")
	// A pointer receiver is found too.
	_, err = New[ptrSubject](Config{Revocation: Revocation{Store: &MemoryRevocations{}}}, mustKeyring(t, "a:primary:"+secretA))
	require.NoError(t, err)
	_, err = New[testData](Config{Revocation: Revocation{Store: &MemoryRevocations{}, CheckTimeout: -1}}, mustKeyring(t, "a:primary:"+secretA))
	require.ErrorIs(t, err, ErrInvalidConfig)
}

type ptrSubject struct{ User string }

func (p *ptrSubject) SessionSubject() string { return p.User }

// A sign-out with revocation on: the replayed cookie is refused as
// revoked (also by a second instance sharing the store), not deleted by
// the read, and the record lasts until the sign-in's absolute end.
func TestClearRevokesSignIn(t *testing.T) {
	m, _, st := newRevokingManager(t, Revocation{})
	other, err := New[testData](Config{Revocation: Revocation{Store: st}, Now: m.core.cfg.Now, Logger: quietLogger()}, m.Keyring())
	require.NoError(t, err)
	cookie := signIn(t, m, "alice")
	var sin string
	serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		sin = s.SignInID()
		require.NoError(t, s.Clear())
	})
	assert.Equal(t, "sign-in "+sin+" 2026-11-23 20:00:30", st.lastCall(), "revoked until the absolute end (12:00 + 8h) + leeway")
	for _, mgr := range []*Manager[testData]{m, other} {
		res1 := read(t, mgr, cookie)
		d, ok, err, sc := res1.D, res1.OK, res1.Err, setCookies(res1.Rec)
		assert.False(t, ok)
		assert.Zero(t, d, "a revoked session's data is not served")
		assert.ErrorIs(t, err, ErrRevoked)
		assert.Empty(t, sc, "a read never deletes the rejected cookie")
	}
	assert.Equal(t, uint64(2), m.RevocationStats().Revoked+other.RevocationStats().Revoked)
}

// Renew revokes the session id it replaces: the earlier cookie (say, read
// before a demotion) is refused; the new one is served.
func TestRenewRevokesOldSessionID(t *testing.T) {
	m, clk, st := newRevokingManager(t, Revocation{})
	cookie := signIn(t, m, "alice")
	clk.Advance(10 * time.Minute)
	var oldSID string
	rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		oldSID = s.ID()
		require.NoError(t, s.Renew())
	})
	renewed := cookieHeader(cookie, rec)
	assert.Equal(t, "session "+oldSID+" 2026-11-23 20:00:30", st.lastCall())
	res2 := read(t, m, cookie)
	ok, err := res2.OK, res2.Err
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrRevoked)
	res3 := read(t, m, renewed)
	d, ok, err := res3.D, res3.OK, res3.Err
	assert.True(t, ok)
	assert.NoError(t, err)
	assert.Equal(t, "alice", d.User)
}

// SignIn over a sign-in ends it as a sign-out does: revoked too.
func TestSignInOverSignInRevokesIt(t *testing.T) {
	m, _, _ := newRevokingManager(t, Revocation{})
	cookie := signIn(t, m, "alice")
	rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "bob"}))
	})
	res4 := read(t, m, cookie)
	err := res4.Err
	assert.ErrorIs(t, err, ErrRevoked)
	res5 := read(t, m, cookieHeader(cookie, rec))
	d, ok := res5.D, res5.OK
	assert.True(t, ok)
	assert.Equal(t, "bob", d.User)
}

// Sign out everywhere: two devices of one user and a third of another;
// ClearEverywhere on one signs out both of the user's, not the other's; a
// sign-in after it (a later second) works.
func TestClearEverywhere(t *testing.T) {
	m, clk, st := newRevokingManager(t, Revocation{})
	phone := signIn(t, m, "alice")
	clk.Advance(time.Minute)
	laptop := signIn(t, m, "alice")
	carol := signIn(t, m, "carol")
	clk.Advance(time.Minute)
	info, err := m.InspectCookies(laptop)
	require.NoError(t, err)
	assert.Equal(t, "alice", info.Subject, "Inspect shows the subject")
	rec := serve(t, m, laptop, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.Equal(t, "alice", s.Subject())
		require.NoError(t, s.ClearEverywhere())
		_, ok := s.Get()
		assert.False(t, ok)
	})
	assert.Equal(t, "subject alice@12:02:00 2026-12-23 12:02:30", st.lastCall(), "until the revocation + the longest absolute lifetime (RememberAbsoluteTimeout, 30 days) + leeway")
	assert.Contains(t, strings.Join(setCookies(rec), "\n"), "~t.session=", "this browser's cookie is cleared with a tombstone")
	for _, c := range []string{phone, laptop} {
		res6 := read(t, m, c)
		ok, err := res6.OK, res6.Err
		assert.False(t, ok)
		assert.ErrorIs(t, err, ErrRevoked)
	}
	res7 := read(t, m, carol)
	ok := res7.OK
	assert.True(t, ok, "another user's session is left alone")
	clk.Advance(time.Second)
	again := signIn(t, m, "alice")
	res8 := read(t, m, again)
	ok = res8.OK
	assert.True(t, ok, "a sign-in after the revocation is served")

	// Without a session: nothing happens.
	serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.NoError(t, s.ClearEverywhere())
	})
}

// Everything issued before T: sessions written before are refused, later
// ones served; T in the future is refused.
func TestRevokeBefore(t *testing.T) {
	m, clk, st := newRevokingManager(t, Revocation{})
	old := signIn(t, m, "alice")
	clk.Advance(time.Minute)
	t0 := clk.Now()
	require.NoError(t, m.RevokeBefore(context.Background(), t0))
	assert.Equal(t, "before 12:01:00 2026-12-23 12:01:30", st.lastCall(), "until T + the longest absolute lifetime (30 days) + leeway")
	fresh := signIn(t, m, "bob")
	res9 := read(t, m, old)
	err := res9.Err
	assert.ErrorIs(t, err, ErrRevoked)
	res10 := read(t, m, fresh)
	ok := res10.OK
	assert.True(t, ok)
	assert.ErrorIs(t, m.RevokeBefore(context.Background(), t0.Add(time.Hour)), ErrInvalidConfig)
}

// The manager's operations from an admin tool, and the listing of a
// subject's sign-ins with its last-seen time moved by the sliding refresh.
func TestSignInsAndRevokeOne(t *testing.T) {
	m, clk, _ := newRevokingManager(t, Revocation{})
	ctx := context.Background()
	phone := signIn(t, m, "alice")
	clk.Advance(time.Minute)
	laptop := signIn(t, m, "alice")
	signIn(t, m, "carol")
	list, err := m.SignIns(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, list, 2)

	clk.Advance(10 * time.Minute) // the refresh is due: last seen moves
	res11 := read(t, m, phone)
	ok, sc := res11.OK, setCookies(res11.Rec)
	require.True(t, ok)
	require.NotEmpty(t, sc, "the companion is written")
	list, err = m.SignIns(ctx, "alice")
	require.NoError(t, err)
	var phoneSin string
	serve(t, m, phone, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { phoneSin = s.SignInID() })
	for _, s := range list {
		if s.ID == phoneSin {
			assert.Equal(t, clk.Now().Unix(), s.LastSeen.Unix())
			assert.Equal(t, s.SignedInAt.Add(8*time.Hour), s.End)
			require.NoError(t, m.RevokeSignIn(ctx, s.ID, s.End))
		}
	}
	list, err = m.SignIns(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, list, 1, "the revoked sign-in is not listed")
	res12 := read(t, m, phone)
	err = res12.Err
	assert.ErrorIs(t, err, ErrRevoked)
	res13 := read(t, m, laptop)
	ok = res13.OK
	assert.True(t, ok)

	require.NoError(t, m.RevokeSubject(ctx, "alice"))
	list, err = m.SignIns(ctx, "alice")
	require.NoError(t, err)
	assert.Empty(t, list)
	require.NoError(t, m.RevokeSession(ctx, "some-id", time.Time{}))
	assert.ErrorIs(t, m.RevokeSubject(ctx, ""), ErrInvalidConfig)
}

// Fail closed (the default): a store error serves the request as signed
// out, leaves its cookie alone, and the same cookie is served again once
// the store is back.
func TestFailClosed(t *testing.T) {
	m, _, st := newRevokingManager(t, Revocation{})
	cookie := signIn(t, m, "alice")
	st.fail.Store(true)
	res14 := read(t, m, cookie)
	d, ok, err, sc := res14.D, res14.OK, res14.Err, setCookies(res14.Rec)
	assert.False(t, ok)
	assert.Zero(t, d)
	assert.ErrorIs(t, err, ErrRevocationUnavailable)
	assert.ErrorIs(t, err, errStoreDown)
	assert.NotErrorIs(t, err, ErrRevoked)
	assert.Empty(t, sc, "the cookie is left alone")
	st.fail.Store(false)
	res15 := read(t, m, cookie)
	d, ok, err = res15.D, res15.OK, res15.Err
	assert.True(t, ok)
	assert.NoError(t, err)
	assert.Equal(t, "alice", d.User)
	assert.Equal(t, RevocationStats{Checks: 2, FailedClosed: 1}, m.RevocationStats())
}

// Fail open: served, logged at most once a second, counted.
func TestFailOpen(t *testing.T) {
	var logs bytes.Buffer
	st := &testStore{}
	m, clk := newTestManager(t, Config{Revocation: Revocation{Store: st, FailOpen: true}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	st.Now = clk.Now
	cookie := signIn(t, m, "alice")
	require.NoError(t, m.RevokeSubject(context.Background(), "alice"))
	st.fail.Store(true)
	for range 3 {
		res16 := read(t, m, cookie)
		d, ok, err := res16.D, res16.OK, res16.Err
		assert.True(t, ok, "fail open serves the session, revoked or not: the store cannot tell")
		assert.NoError(t, err)
		assert.Equal(t, "alice", d.User)
	}
	assert.Equal(t, uint64(3), m.RevocationStats().FailedOpen)
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "one warning for a burst: %s", logs.String())
	assert.Contains(t, logs.String(), "failed_open=1")
	assert.NotContains(t, logs.String(), cookie)
	st.fail.Store(false)
	res17 := read(t, m, cookie)
	err := res17.Err
	assert.ErrorIs(t, err, ErrRevoked)
}

// blockingStore answers only when its context ends.
type blockingStore struct {
	MemoryRevocations
	deadline chan time.Duration
}

func (s *blockingStore) Revoked(ctx context.Context, _ SessionRef) (bool, error) {
	d, _ := ctx.Deadline()
	s.deadline <- time.Until(d)
	<-ctx.Done()
	return false, ctx.Err()
}

// A slow store gets the failure policy after CheckTimeout: the check's
// context carries the deadline and is done at it.
func TestCheckTimeout(t *testing.T) {
	st := &blockingStore{deadline: make(chan time.Duration, 1)}
	m, _ := newTestManager(t, Config{Revocation: Revocation{Store: st, CheckTimeout: 20 * time.Millisecond}}, nil)
	cookie := signIn(t, m, "alice")
	res18 := read(t, m, cookie)
	ok, err := res18.OK, res18.Err
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrRevocationUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	left := <-st.deadline
	assert.True(t, left > 0 && left <= 20*time.Millisecond, "deadline %v ahead, want within CheckTimeout", left)

	// The default is 100 ms.
	m, _ = newTestManager(t, Config{Revocation: Revocation{Store: st}}, nil)
	res19 := read(t, m, signIn(t, m, "alice"))
	err = res19.Err
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	left = <-st.deadline
	assert.True(t, left > 50*time.Millisecond && left <= 100*time.Millisecond, "deadline %v ahead", left)
}

// The check context without Done: a deadline, the parent's values and
// cancellation, and Err once the deadline has passed.
func TestCheckContext(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	var c checkContext
	c.start(parent, time.Hour)
	assert.Equal(t, "v", c.Value(key{}))
	assert.NoError(t, c.Err())
	d, ok := c.Deadline()
	assert.True(t, ok && time.Until(d) > 59*time.Minute)
	cancel()
	assert.ErrorIs(t, c.Err(), context.Canceled)
	c.stop()
	c.start(context.Background(), -time.Second)
	assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
	<-c.Done()
	c.stop()
	// A parent deadline that comes first is the check's.
	p2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	c.start(p2, time.Hour)
	d, _ = c.Deadline()
	pd, _ := p2.Deadline()
	assert.Equal(t, pd, d)
}

// A context a store derives from the check's (as a Redis client does)
// learns that the check is over, with an error: the context package reads
// the parent's Err once its Done is closed and panics on nil (it did, in
// the redis module's tests, when stop forgot the timer's context). Also
// when the store first asks for Done after the check.
func TestCheckContextDerivedContextsAfterStop(t *testing.T) {
	var c checkContext
	c.start(context.Background(), time.Hour)
	child, cancel := context.WithCancel(&c)
	defer cancel()
	c.stop()
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a derived context outlived the check")
	}
	assert.ErrorIs(t, child.Err(), context.Canceled)
	assert.ErrorIs(t, c.Err(), context.Canceled)

	c.start(context.Background(), time.Hour)
	c.stop()
	assert.ErrorIs(t, c.Err(), context.Canceled, "stopped before any Done")
	late, cancelLate := context.WithCancel(&c)
	defer cancelLate()
	<-late.Done()
	assert.ErrorIs(t, late.Err(), context.Canceled)

	// A new check starts afresh.
	c.start(context.Background(), time.Hour)
	assert.NoError(t, c.Err())
	c.stop()
}

// The store is asked once per request whose token opened: not for an
// untouched request, a request without a cookie, or a rejected token.
func TestCheckOncePerRequest(t *testing.T) {
	m, clk, st := newRevokingManager(t, Revocation{})
	cookie := signIn(t, m, "alice")
	serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		s.Get()
		s.ID()
		s.Subject()
		_ = s.Err()
	})
	assert.Equal(t, int64(1), st.checks.Load())
	serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {})
	read(t, m, "")
	clk.Advance(9 * time.Hour)
	res20 := read(t, m, cookie)
	err := res20.Err
	assert.ErrorIs(t, err, ErrExpired)
	assert.Equal(t, int64(1), st.checks.Load())
}

// A store that fails to record: the sign-out, renew or sign-out
// everywhere still happens in this browser, and the error says the store
// did not record it.
func TestRevokeFailureReported(t *testing.T) {
	m, _, st := newRevokingManager(t, Revocation{FailOpen: true})
	cookie := signIn(t, m, "alice")
	st.fail.Store(true)
	for _, op := range []func(*Session[testData]) error{
		(*Session[testData]).Clear,
		(*Session[testData]).ClearEverywhere,
	} {
		rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			err := op(s)
			assert.ErrorIs(t, err, ErrRevocationUnavailable)
			assert.ErrorIs(t, err, errStoreDown)
			_, ok := s.Get()
			assert.False(t, ok)
		})
		assert.Contains(t, strings.Join(setCookies(rec), "\n"), "~t.session=")
	}
	rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.ErrorIs(t, s.Renew(), ErrRevocationUnavailable)
	})
	assert.NotEmpty(t, setCookies(rec), "the new session id is written all the same")
	assert.ErrorIs(t, m.RevokeSubject(context.Background(), "alice"), ErrRevocationUnavailable)
	_, err := m.SignIns(context.Background(), "alice")
	assert.ErrorIs(t, err, ErrRevocationUnavailable, "the listing cannot tell which sign-ins are revoked")
}

// Without revocation, the operations say it is off.
func TestRevocationOff(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	ctx := context.Background()
	assert.ErrorIs(t, m.RevokeSubject(ctx, "alice"), ErrInvalidConfig)
	assert.ErrorIs(t, m.RevokeSignIn(ctx, "x", time.Time{}), ErrInvalidConfig)
	assert.ErrorIs(t, m.RevokeSession(ctx, "x", time.Time{}), ErrInvalidConfig)
	assert.ErrorIs(t, m.RevokeBefore(ctx, time.Time{}), ErrInvalidConfig)
	_, err := m.SignIns(ctx, "alice")
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.Zero(t, m.RevocationStats())
	cookie := signIn(t, m, "alice")
	serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		assert.ErrorIs(t, s.ClearEverywhere(), ErrInvalidConfig)
		assert.NoError(t, s.Clear())
	})
}

// Records expire: MemoryRevocations drops each once its until time has
// passed.
func TestMemoryRevocationsExpire(t *testing.T) {
	clk := newTestClock()
	s := &MemoryRevocations{Now: clk.Now}
	ctx := context.Background()
	now := clk.Now()
	require.NoError(t, s.RevokeSignIn(ctx, "a", now.Add(time.Hour)))
	require.NoError(t, s.RevokeSession(ctx, "b", now.Add(2*time.Hour)))
	require.NoError(t, s.RevokeSubject(ctx, "u", now, now.Add(3*time.Hour)))
	require.NoError(t, s.RevokeBefore(ctx, now, now.Add(4*time.Hour)))
	require.NoError(t, s.Seen(ctx, SignIn{ID: "a", Subject: "u", End: now.Add(time.Hour)}))
	assert.Equal(t, 4, s.Len())
	for i, left := range []int{3, 2, 1, 0} {
		clk.Advance(time.Hour + time.Second)
		require.NoError(t, s.RevokeSignIn(ctx, "tmp", clk.Now())) // sweeps, then expires itself next time
		assert.Equal(t, left+1, s.Len(), "after %d h", i+1)
	}
	assert.Empty(t, s.seen)
}

// Revoked sessions and a store that cannot answer (fail closed) are counted
// under their own reasons.
func TestRevocationRejectReasons(t *testing.T) {
	m, _, st := newRevokingManager(t, Revocation{})
	c := signIn(t, m, "alice")
	require.NoError(t, m.RevokeSubject(context.Background(), "alice"))
	require.ErrorIs(t, read(t, m, c).Err, ErrRevoked)
	got := obRejected(m)
	assert.Equal(t, uint64(1), got["revoked"])

	st.fail.Store(true)
	d := signIn(t, m, "bob")
	require.ErrorIs(t, read(t, m, d).Err, ErrRevocationUnavailable)
	got = obRejected(m)
	assert.Equal(t, uint64(1), got["revocation_unavailable"])
	assert.Equal(t, uint64(1), got["revoked"])
	for name, n := range got {
		if name != "revoked" && name != "revocation_unavailable" {
			assert.Zero(t, n, name)
		}
	}
}
