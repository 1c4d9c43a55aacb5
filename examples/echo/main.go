// Command echo serves the examples' application on echo (v4).
//
// The adapter is two lines. The session middleware wraps the whole echo
// instance, which is an http.Handler:
//
//	http.NewCrossOriginProtection().Handler(m.Middleware(e))
//
// not e.Use(echo.WrapMiddleware(m.Middleware)): echo runs its
// HTTPErrorHandler (404 pages, errors returned by handlers) after the
// middleware chain has returned, so after the session was committed, and
// such a page would find no session (a signed-in user's 404 page says "not
// signed in", and the library logs a read after the headers were sent).
// And a handler reaches its session through the request's context:
//
//	m.Session(c.Request().Context())
//
//	JWESESSION_SECRET=$(go run ./cmd/jwesession keygen | head -1) go -C examples run ./echo   # from the repository root
package main

import (
	"errors"
	"net/http"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
	"github.com/labstack/echo/v4"
)

func main() { app.Serve(newApp) }

// newApp returns the application for m.
func newApp(m *jwesession.Manager[app.User]) http.Handler {
	e := echo.New()
	routes(e, m)
	return http.NewCrossOriginProtection().Handler(m.Middleware(e))
}

// routes adds the application's routes and error handler to e.
func routes(e *echo.Echo, m *jwesession.Manager[app.User]) {
	session := func(c echo.Context) *jwesession.Session[app.User] {
		s, err := m.Session(c.Request().Context())
		if err != nil {
			panic(err) // e is not wrapped in m.Middleware
		}
		return s
	}
	e.GET("/public", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=60")
		return c.String(http.StatusOK, "the same page for everyone\n")
	})
	e.POST("/login", func(c echo.Context) error {
		var in app.Login
		if err := c.Bind(&in); err != nil {
			return c.JSON(http.StatusBadRequest, app.Error{Error: app.BadBody})
		}
		if !app.ValidName(in.Name) {
			return c.JSON(http.StatusBadRequest, app.Error{Error: app.BadName})
		}
		// … check the password here …
		u := app.User{Name: in.Name}
		if err := session(c).SignIn(u); err != nil {
			status, msg := app.UpdateStatus(err)
			return c.JSON(status, app.Error{Error: msg})
		}
		return c.JSON(http.StatusOK, u)
	})
	e.POST("/logout", func(c echo.Context) error {
		if err := session(c).Clear(); err != nil {
			return c.JSON(http.StatusInternalServerError, app.Error{Error: app.Failed})
		}
		return c.NoContent(http.StatusNoContent)
	})
	account := e.Group("/account", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if _, ok := session(c).Get(); !ok {
				return c.JSON(http.StatusUnauthorized, app.Error{Error: app.SignInFirst})
			}
			return next(c)
		}
	})
	account.GET("/profile", func(c echo.Context) error {
		u, _ := session(c).Get()
		return c.JSON(http.StatusOK, u)
	})
	account.POST("/note", func(c echo.Context) error {
		var in app.NoteUpdate
		if err := c.Bind(&in); err != nil {
			return c.JSON(http.StatusBadRequest, app.Error{Error: app.BadBody})
		}
		s := session(c)
		if err := s.Update(func(u *app.User) error { u.Note = in.Note; return nil }); err != nil {
			status, msg := app.UpdateStatus(err)
			return c.JSON(status, app.Error{Error: msg})
		}
		u, _ := s.Get()
		return c.JSON(http.StatusOK, u)
	})
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if he, ok := errors.AsType[*echo.HTTPError](err); ok && he.Code == http.StatusNotFound && !c.Response().Committed {
			u, signedIn := session(c).Get()
			_ = c.String(http.StatusNotFound, app.NotFound(u, signedIn))
			return
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
}
