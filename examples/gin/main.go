// Command gin serves the examples' application on gin.
//
// The adapter is two lines. The session middleware wraps the whole gin
// engine, which is an http.Handler:
//
//	http.NewCrossOriginProtection().Handler(m.Middleware(r))
//
// so gin's own writer wraps the middleware's, and every response, 404
// pages included, goes out through it. Running gin's chain inside the
// middleware from a gin middleware without replacing c.Writer looks right
// and is not: handlers write through gin's writer, past the middleware's,
// and a sign-in answers 200 with no Set-Cookie (the library logs it at
// Error; see naive_test.go). And a handler reaches its session through the
// request's context:
//
//	m.Session(c.Request.Context())
//
// (m.Session(c) with the *gin.Context itself finds the session only when
// the engine's ContextWithFallback is set.)
//
//	JWESESSION_SECRET=$(go run ./cmd/jwesession keygen | head -1) go -C examples run ./gin   # from the repository root
package main

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
)

func main() { app.Serve(newApp) }

// newApp returns the application for m.
func newApp(m *jwesession.Manager[app.User]) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	routes(r, m)
	return http.NewCrossOriginProtection().Handler(m.Middleware(r))
}

// routes adds the application's routes to r.
func routes(r *gin.Engine, m *jwesession.Manager[app.User]) {
	session := func(c *gin.Context) *jwesession.Session[app.User] {
		s, err := m.Session(c.Request.Context())
		if err != nil {
			panic(err) // the engine is not wrapped in m.Middleware
		}
		return s
	}
	r.GET("/public", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=60")
		c.String(http.StatusOK, "the same page for everyone\n")
	})
	r.POST("/login", func(c *gin.Context) {
		var in app.Login
		if err := c.ShouldBindJSON(&in); err != nil {
			c.JSON(http.StatusBadRequest, app.Error{Error: app.BadBody})
			return
		}
		if !app.ValidName(in.Name) {
			c.JSON(http.StatusBadRequest, app.Error{Error: app.BadName})
			return
		}
		// … check the password here …
		u := app.User{Name: in.Name}
		if err := session(c).SignIn(u); err != nil {
			status, msg := app.UpdateStatus(err)
			c.JSON(status, app.Error{Error: msg})
			return
		}
		c.JSON(http.StatusOK, u)
	})
	r.POST("/logout", func(c *gin.Context) {
		if err := session(c).Clear(); err != nil {
			c.JSON(http.StatusInternalServerError, app.Error{Error: app.Failed})
			return
		}
		c.Status(http.StatusNoContent)
	})
	account := r.Group("/account", func(c *gin.Context) {
		if _, ok := session(c).Get(); !ok {
			c.AbortWithStatusJSON(http.StatusUnauthorized, app.Error{Error: app.SignInFirst})
			return
		}
		c.Next()
	})
	account.GET("/profile", func(c *gin.Context) {
		u, _ := session(c).Get()
		c.JSON(http.StatusOK, u)
	})
	account.POST("/note", func(c *gin.Context) {
		var in app.NoteUpdate
		if err := c.ShouldBindJSON(&in); err != nil {
			c.JSON(http.StatusBadRequest, app.Error{Error: app.BadBody})
			return
		}
		s := session(c)
		if err := s.Update(func(u *app.User) error { u.Note = in.Note; return nil }); err != nil {
			status, msg := app.UpdateStatus(err)
			c.JSON(status, app.Error{Error: msg})
			return
		}
		u, _ := s.Get()
		c.JSON(http.StatusOK, u)
	})
	r.NoRoute(func(c *gin.Context) {
		u, ok := session(c).Get()
		c.String(http.StatusNotFound, app.NotFound(u, ok))
	})
}
