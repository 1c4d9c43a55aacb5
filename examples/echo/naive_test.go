package main

import (
	"net/http"
	"testing"

	"github.com/jwesession/jwesession/examples/internal/app"
	"github.com/jwesession/jwesession/examples/internal/apptest"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's warning is true: with e.Use(echo.WrapMiddleware(m.Middleware))
// the session is committed when the middleware chain returns, before
// echo's HTTPErrorHandler writes the 404 page, so a signed-in user's 404
// page says "not signed in" (and the library logs and counts the late
// read). Sign-in and reads work; error pages do not.
func TestWrapMiddlewareErrorPagesFindNoSession(t *testing.T) {
	env := apptest.NewEnv(t)
	m := env.Manager(t)
	e := echo.New()
	e.Use(echo.WrapMiddleware(m.Middleware))
	routes(e, m)
	c := apptest.NewClient(t, e)

	resp := c.Do("POST", "/login", app.Login{Name: "alice"})
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	require.Equal(t, []string{"session"}, resp.SetCookies())
	resp = c.Do("GET", "/account/profile", nil)
	require.Equal(t, http.StatusOK, resp.Status, "routes see the session")

	resp = c.Do("GET", "/no/such/page", nil)
	assert.Equal(t, http.StatusNotFound, resp.Status)
	assert.Contains(t, resp.Body, "not signed in", "the error page ran after the commit")
	assert.Equal(t, uint64(1), m.Metrics().ReadsAfterCommit)
	msgs := env.Logs.Messages()
	require.Len(t, msgs, 1, "%q", msgs)
	assert.Contains(t, msgs[0], "read after the response headers were written")
}
