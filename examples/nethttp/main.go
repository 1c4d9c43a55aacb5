// Command nethttp serves the examples' application on net/http's
// ServeMux: the middleware wraps the whole mux, and the protected group is
// a second mux behind a handler that requires a signed-in user.
//
//	JWESESSION_SECRET=$(go run ./cmd/jwesession keygen | head -1) go -C examples run ./nethttp   # from the repository root
package main

import (
	"log"
	"net/http"

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
	return http.NewCrossOriginProtection().Handler(m.Middleware(mux)), nil
}
