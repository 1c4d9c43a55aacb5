package demo

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Without -redis, POST /logout-everywhere is 501 and changes nothing,
// signed in or not; other methods are 405.
func TestLogoutEverywhereWithoutRedis(t *testing.T) {
	t.Parallel()
	d, c := signedInDemo(t)
	r := c.post("/logout-everywhere", url.Values{})
	assert.Equal(t, http.StatusNotImplemented, r.StatusCode)
	assertNoSetCookie(t, r)
	assert.Contains(t, c.home(), "signed in as")
	anon := newClient(t, d.base)
	r = anon.post("/logout-everywhere", url.Values{})
	assert.Equal(t, http.StatusNotImplemented, r.StatusCode)
	assertNoSetCookie(t, r)
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete} {
		r := c.do(m, "/logout-everywhere", url.Values{})
		assert.Equal(t, http.StatusMethodNotAllowed, r.StatusCode, m)
		assertNoSetCookie(t, r, m)
	}
}

// The Redis flags: refused in a build without Redis, and checked.
func TestRedisFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-redis", "127.0.0.1:6379"}, "this build has no Redis"},
		{[]string{"-redis-fail", "open"}, "-redis-fail needs -redis"},
		{[]string{"-redis", "127.0.0.1:6379", "-redis-fail", "maybe"}, "-redis-fail must be open or closed"},
	} {
		_, err := runOnce(t, env("JWESESSION_SECRET", secret1), tc.args...)
		require.Error(t, err, "%v", tc.args)
		assert.Contains(t, err.Error(), tc.want)
	}
}
