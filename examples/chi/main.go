// Command chi serves the examples' application on chi: the middleware is
// installed with r.Use (chi runs its NotFound handler inside it too), and
// the protected group is an r.Group with a middleware of its own.
//
//	JWESESSION_SECRET=$(go run ./cmd/jwesession keygen | head -1) go -C examples run ./chi   # from the repository root
package main

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
)

func main() { app.Serve(newApp) }

// newApp returns the application for m.
func newApp(m *jwesession.Manager[app.User]) http.Handler {
	h := app.Handlers{M: m}
	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.Get("/public", h.Public)
	r.Post("/login", h.Login)
	r.Post("/logout", h.Logout)
	r.Group(func(r chi.Router) {
		r.Use(h.RequireUser)
		r.Get("/account/profile", h.Profile)
		r.Post("/account/note", h.Note)
	})
	r.NotFound(h.NotFound)
	return http.NewCrossOriginProtection().Handler(r)
}
