package main

import (
	"net/http"
	"testing"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
	"github.com/jwesession/jwesession/examples/internal/apptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's warning is true: gorilla/mux runs the middlewares of r.Use
// only for a matched route, so with r.Use(m.Middleware) its
// NotFoundHandler finds no session (ErrNoMiddleware). That is why the
// example wraps the whole router.
func TestUseSkipsNotFoundHandler(t *testing.T) {
	env := apptest.NewEnv(t)
	m := env.Manager(t)
	r := routes(app.Handlers{M: m})
	r.Use(m.Middleware)
	var notFound error
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, notFound = m.Session(req.Context())
		http.NotFound(w, req)
	})
	c := apptest.NewClient(t, r)
	resp := c.Do("POST", "/login", app.Login{Name: "alice"})
	require.Equal(t, []string{"session"}, resp.SetCookies(), "matched routes see the middleware")
	resp = c.Do("GET", "/no/such/page", nil)
	assert.Equal(t, http.StatusNotFound, resp.Status)
	assert.ErrorIs(t, notFound, jwesession.ErrNoMiddleware)
}
