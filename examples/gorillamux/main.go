// Command gorillamux serves the examples' application on gorilla/mux. The
// middleware wraps the whole router, not r.Use: gorilla/mux runs the
// middlewares of r.Use only for a matched route, so its NotFoundHandler
// (and MethodNotAllowedHandler) would find no session. The protected group
// is a subrouter with a middleware of its own.
//
//	JWESESSION_SECRET=$(go run ./cmd/jwesession keygen | head -1) go -C examples run ./gorillamux   # from the repository root
package main

import (
	"log"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/app"
)

func main() {
	kr, err := jwesession.KeyringFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	h, err := newApp(kr, jwesession.Config{DevelopmentCookies: true}) // plain HTTP on loopback
	if err != nil {
		log.Fatal(err)
	}
	log.Print("listening on http://127.0.0.1:8080")
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}

func newApp(kr *jwesession.Keyring, cfg jwesession.Config) (http.Handler, error) {
	m, err := jwesession.New[app.User](cfg, kr)
	if err != nil {
		return nil, err
	}
	return http.NewCrossOriginProtection().Handler(m.Middleware(routes(app.Handlers{M: m}))), nil
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
