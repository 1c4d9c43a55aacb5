// Command gorillamux serves the examples' application on gorilla/mux. The
// middleware wraps the whole router, not r.Use: gorilla/mux runs the
// middlewares of r.Use only for a matched route, so its NotFoundHandler
// (and MethodNotAllowedHandler) would find no session. The protected group
// is a subrouter with a middleware of its own.
//
//	JWESESSION_SECRET=$(go run ./cmd/jwesession keygen | head -1) go -C examples run ./gorillamux   # from the repository root
package main

import (
	"net/http"

	"github.com/gorilla/mux"
	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
)

func main() { app.Serve(newApp) }

// newApp returns the application for m.
func newApp(m *jwesession.Manager[app.User]) http.Handler {
	return http.NewCrossOriginProtection().Handler(m.Middleware(routes(app.Handlers{M: m})))
}

// routes returns the router, without the session middleware.
func routes(h app.Handlers) *mux.Router {
	r := mux.NewRouter()
	r.HandleFunc("/public", h.Public).Methods("GET")
	r.HandleFunc("/login", h.Login).Methods("POST")
	r.HandleFunc("/logout", h.Logout).Methods("POST")
	account := r.PathPrefix("/account").Subrouter()
	account.Use(h.RequireUser)
	account.HandleFunc("/profile", h.Profile).Methods("GET")
	account.HandleFunc("/note", h.Note).Methods("POST")
	r.NotFoundHandler = http.HandlerFunc(h.NotFound)
	return r
}
