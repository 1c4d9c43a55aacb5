// Command nethttp serves the examples' application on net/http's
// ServeMux: the middleware wraps the whole mux, and the protected group is
// a second mux behind a handler that requires a signed-in user.
//
//	JWESESSION_SECRET=$(go run ./cmd/jwesession keygen | head -1) go -C examples run ./nethttp   # from the repository root
package main

import (
	"net/http"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
)

func main() { app.Serve(newApp) }

// newApp returns the application for m.
func newApp(m *jwesession.Manager[app.User]) http.Handler {
	h := app.Handlers{M: m}
	account := http.NewServeMux()
	account.HandleFunc("GET /account/profile", h.Profile)
	account.HandleFunc("POST /account/note", h.Note)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /public", h.Public)
	mux.HandleFunc("POST /login", h.Login)
	mux.HandleFunc("POST /logout", h.Logout)
	mux.Handle("/account/", h.RequireUser(account))
	mux.HandleFunc("/", h.NotFound)
	return http.NewCrossOriginProtection().Handler(m.Middleware(mux))
}
