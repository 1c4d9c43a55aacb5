package jwesession

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRememberConfig(t *testing.T) {
	cfg, err := Config{}.normalize()
	require.NoError(t, err)
	assert.Equal(t, 7*24*time.Hour, cfg.RememberIdleTimeout)
	assert.Equal(t, 30*24*time.Hour, cfg.RememberAbsoluteTimeout)
	assert.Equal(t, 30*24*time.Hour, cfg.maxAbsolute())
	cfg, err = Config{RememberIdleTimeout: 4 * time.Minute, RememberAbsoluteTimeout: time.Hour, AbsoluteTimeout: 2 * time.Hour}.normalize()
	require.NoError(t, err)
	assert.Equal(t, 2*time.Minute, cfg.RefreshAfter, "half the shorter idle timeout")
	assert.Equal(t, 2*time.Hour, cfg.maxAbsolute(), "the longer of the two")

	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{RememberIdleTimeout: -time.Second}, "RememberIdleTimeout is negative"},
		{Config{RememberAbsoluteTimeout: -time.Second}, "RememberAbsoluteTimeout is negative"},
		{Config{RememberIdleTimeout: 2 * time.Hour, RememberAbsoluteTimeout: time.Hour}, "RememberAbsoluteTimeout (1h0m0s) must not be shorter than RememberIdleTimeout (2h0m0s)"},
		{Config{RememberIdleTimeout: 10 * time.Minute, RefreshAfter: 10 * time.Minute, IdleTimeout: time.Hour}, "RefreshAfter (10m0s) must be shorter than RememberIdleTimeout (10m0s)"},
		{Config{RememberIdleTimeout: 500 * time.Millisecond}, "at least 1s"},
		{Config{RememberAbsoluteTimeout: 401 * 24 * time.Hour}, "lower it to 400 days or less"},
	} {
		_, err := New[testData](c.cfg, mustKeyring(t, "a:primary:"+secretA))
		require.ErrorIs(t, err, ErrInvalidConfig, "%+v", c.cfg)
		assert.Contains(t, err.Error(), c.want)
	}
}

// A "remember me" sign-in's cookies persist; SignIn's do not. Renew,
// Touch and a data change keep the kind; Clear ends it; a new sign-in
// chooses again.
func TestRememberKindKept(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignInRemembered(testData{User: "alice"}))
		assert.True(t, s.Remembered())
	})
	env, maxAge := ltWritten(t, m, rec)
	require.True(t, env.Rem)
	assert.Equal(t, 30*24*3600, maxAge)
	cookie := cookieHeader("", rec)
	for name, op := range map[string]func(s *Session[testData]) error{
		"renew":  (*Session[testData]).Renew,
		"touch":  (*Session[testData]).Touch,
		"update": func(s *Session[testData]) error { return s.Update(func(d *testData) error { d.N++; return nil }) },
		"set":    func(s *Session[testData]) error { return s.Set(testData{User: "alice", Note: "set"}) },
	} {
		rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			require.NoError(t, op(s))
			assert.True(t, s.Remembered(), name)
		})
		env, maxAge := ltWritten(t, m, rec)
		assert.True(t, env.Rem, name)
		assert.Positive(t, maxAge, name)
		cookie = cookieHeader(cookie, rec)
	}
	assert.True(t, read(t, m, cookie).OK)
	rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Clear())
		assert.False(t, s.Remembered())
		require.NoError(t, s.Set(testData{User: "anon"})) // a new session without SignIn: a browser-session one
		assert.False(t, s.Remembered())
	})
	env, maxAge = ltWritten(t, m, rec)
	assert.False(t, env.Rem)
	assert.Zero(t, maxAge)
}
