package redis

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/redis/internal/redistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitStale waits until the instance's copy is no longer current (Redis
// stopped: no read completes).
func waitStale(t testing.TB, in *instance) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for in.st.Current() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: copy still current 30s after Redis stopped", in.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Redis stopped mid-run and restarted, under both policies. Fail closed:
// while the copy is past MaxStaleness and Redis does not answer, a valid
// session is served as signed out (ErrRevocationUnavailable) and its
// cookie left alone, a revoked one stays refused; once Redis is back, the
// same cookie is served again, the revocation still holds (Redis
// persisted it), and a revocation made after the restart reaches every
// instance. Fail open: the valid session is served throughout, the
// outage counted.
func TestRedisStoppedAndRestarted(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(map[bool]string{false: "FailClosed", true: "FailOpen"}[failOpen], func(t *testing.T) {
			srv := redistest.StartServer(t)
			ev := newEvents()
			p := prefix()
			var ins []*instance
			for i := range 2 {
				cfg := storeConfig([]string{srv.Addr()}, p)
				cfg.MaxStaleness = 400 * time.Millisecond
				ins = append(ins, newInstance(t, "i"+strconv.Itoa(i), cfg, jwesession.Revocation{FailOpen: failOpen, CheckTimeout: 50 * time.Millisecond}, ev))
			}
			waitCurrent(t, ins...)
			valid, gone, later := newBrowser(), newBrowser(), newBrowser()
			valid.login(t, ins[0], "alice")
			gone.login(t, ins[0], "bob")
			later.login(t, ins[1], "carol")
			replay := gone.copy()
			code, _ := gone.do(t, ins[0], "POST", "/logout")
			require.Equal(t, 200, code)
			ev.wait(t, "applied sign-in "+signInOf(t, ins[1], replay)+" @i1")

			srv.Stop()
			waitStale(t, ins[0])
			// A failing read proves nothing: the copy stays stale while
			// Redis is down (2.5 × MaxStaleness of retries).
			for range 20 {
				require.False(t, ins[0].st.Current(), "the copy became current with Redis down")
				time.Sleep(50 * time.Millisecond)
			}
			for _, in := range ins {
				waitStale(t, in)
				before := valid.header()
				got := valid.home(t, in)
				if failOpen {
					assert.Equal(t, "signed in as alice", got, "fail open serves the session on %s", in.name)
				} else {
					assert.Equal(t, "ErrRevocationUnavailable", got, "fail closed on %s", in.name)
				}
				assert.Equal(t, before, valid.header(), "the cookie is left alone on %s", in.name)
				if !failOpen {
					assert.Equal(t, "ErrRevocationUnavailable", replay.home(t, in))
				}
				// A revocation cannot be recorded while Redis is down.
				_, body := later.copy().do(t, in, "POST", "/everywhere")
				if failOpen {
					assert.Equal(t, "ErrRevocationUnavailable\n", body)
				}
			}
			stats := ins[0].m.RevocationStats()
			if failOpen {
				assert.Positive(t, stats.FailedOpen)
			} else {
				assert.Positive(t, stats.FailedClosed)
			}

			srv.Start()
			waitCurrent(t, ins...)
			for _, in := range ins {
				assert.Equal(t, "signed in as alice", valid.home(t, in), "the same cookie is back on %s", in.name)
				assert.Equal(t, "ErrRevoked", replay.home(t, in), "the revocation survived the restart, on %s", in.name)
			}
			waitNextSecond()
			require.NoError(t, ins[0].m.RevokeSubject(context.Background(), "carol"))
			ev.wait(t, "applied subject carol @i1")
			assert.Equal(t, "ErrRevoked", later.home(t, ins[1]), "a revocation after the restart reaches the others")
		})
	}
}

// An instance that starts while Redis is down applies the policy until
// Redis answers, then serves from its copy, which holds what was revoked
// before it started.
func TestStartWhileRedisDown(t *testing.T) {
	srv := redistest.StartServer(t)
	p := prefix()
	first := newInstance(t, "first", storeConfig([]string{srv.Addr()}, p), jwesession.Revocation{}, nil)
	waitCurrent(t, first)
	valid, gone := newBrowser(), newBrowser()
	valid.login(t, first, "alice")
	gone.login(t, first, "bob")
	replay := gone.copy()
	code, _ := gone.do(t, first, "POST", "/logout")
	require.Equal(t, 200, code)
	srv.Stop()

	for _, failOpen := range []bool{false, true} {
		ev := newEvents()
		in := newInstance(t, "late-"+strconv.FormatBool(failOpen), storeConfig([]string{srv.Addr()}, p), jwesession.Revocation{FailOpen: failOpen, CheckTimeout: 50 * time.Millisecond}, ev)
		assert.False(t, in.st.Current())
		want := "ErrRevocationUnavailable"
		if failOpen {
			want = "signed in as alice"
		}
		assert.Equal(t, want, valid.home(t, in), "before Redis answers, fail open %v", failOpen)
		assert.Equal(t, uint64(1), in.st.Stats().ColdChecks)
		defer func(in *instance, ev *events) {
			waitCurrent(t, in)
			ev.wait(t, "applied sign-in "+signInOf(t, in, replay)+" @"+in.name)
			assert.Equal(t, "signed in as alice", valid.home(t, in))
			assert.Equal(t, "ErrRevoked", replay.home(t, in), "the copy holds what was revoked before the instance started")
		}(in, ev)
	}
	srv.Start()
}
