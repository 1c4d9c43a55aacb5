package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
	"github.com/jwesession/jwesession/examples/internal/apptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naive is the wiring that looks right and is not: a gin middleware that
// runs the rest of gin's chain inside the session middleware without
// replacing c.Writer, so handlers write through gin's writer, past the
// middleware's.
func naive(m *jwesession.Manager[app.User]) gin.HandlerFunc {
	return func(c *gin.Context) {
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	}
}

// The README's warning is true: with the naive wiring a sign-in answers
// 200 with no Set-Cookie and without the cache headers, silently but for
// the library's Error line (it sees gin's writer say it has written) and
// its LostCommits counter. The same routes wired as the example wires
// them set the cookie.
func TestNaiveWiringLosesTheCookie(t *testing.T) {
	env := apptest.NewEnv(t)
	m := env.Manager(t)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(naive(m))
	routes(r, m)
	c := apptest.NewClient(t, r)

	resp := c.Do("POST", "/login", app.Login{Name: "alice"})
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	assert.Contains(t, resp.Body, `"alice"`, "the handler signed in")
	assert.Empty(t, resp.SetCookies(), "but no Set-Cookie went out")
	assert.NotContains(t, strings.Join(resp.Header.Values("Cache-Control"), ","), "no-store", "nor the cache headers")
	assert.Equal(t, uint64(1), m.Metrics().LostCommits)
	msgs := env.Logs.Messages()
	require.Len(t, msgs, 1, "%q", msgs)
	assert.Contains(t, msgs[0], "another writer")

	resp = apptest.NewClient(t, newApp(env.Manager(t))).Do("POST", "/login", app.Login{Name: "alice"})
	assert.Equal(t, []string{"session"}, resp.SetCookies(), "the example's wiring")
}

// m.Session with the *gin.Context itself finds the session only with the
// engine's ContextWithFallback; the request's context always does.
func TestGinContextNeedsFallback(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		env := apptest.NewEnv(t)
		m, err := jwesession.New[app.User](env.Config, env.Keyring)
		require.NoError(t, err)
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		r.ContextWithFallback = fallback
		var viaGin, viaRequest error
		r.GET("/", func(c *gin.Context) {
			_, viaGin = m.Session(c)
			_, viaRequest = m.Session(c.Request.Context())
			c.Status(http.StatusNoContent)
		})
		apptest.NewClient(t, m.Middleware(r)).Do("GET", "/", nil)
		assert.NoError(t, viaRequest)
		if fallback {
			assert.NoError(t, viaGin)
		} else {
			assert.ErrorIs(t, viaGin, jwesession.ErrNoMiddleware)
		}
	}
}
