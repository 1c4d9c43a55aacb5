// Command chi serves the examples' application on chi: the middleware is
// installed with r.Use (chi runs its NotFound handler inside it too), and
// the protected group is an r.Group with a middleware of its own.
//
//	JWESESSION_SECRET=$(go run ./cmd/jwesession keygen | head -1) go -C examples run ./chi   # from the repository root
package main

import (
	"log"
	"net/http"

	"github.com/go-chi/chi/v5"
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
	return http.NewCrossOriginProtection().Handler(r), nil
}
