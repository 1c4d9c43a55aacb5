// Command quickstart is the README's quick start, verbatim (a test holds
// the README to it).
package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/jwesession/jwesession"
)

type User struct {
	Name string `json:"name"`
}

func main() {
	kr, err := jwesession.KeyringFromEnv() // JWESESSION_SECRET or JWESESSION_KEYS
	if err != nil {
		log.Fatal(err)
	}
	// DevelopmentCookies: this serves plain HTTP, over which a Secure
	// cookie (the default) comes back only from localhost or 127.0.0.1,
	// and not in every browser. Never set it in production (HTTPS).
	m, err := jwesession.New[User](jwesession.Config{DevelopmentCookies: true}, kr)
	if err != nil {
		log.Fatal(err)
	}
	log.Print("listening on http://127.0.0.1:8080")
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", newHandler(m)))
}

func newHandler(m *jwesession.Manager[User]) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if u, ok := s.Get(); ok {
			fmt.Fprintf(w, "hello %s\n", u.Name)
			return
		}
		fmt.Fprintln(w, "not signed in")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// … check the password first …
		s, _ := m.Session(r.Context())
		if err := s.SignIn(User{Name: r.PostFormValue("user")}); err != nil {
			http.Error(w, "sign-in failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if err := s.Clear(); err != nil {
			http.Error(w, "sign-out failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	// Cross-origin protection: SameSite=Lax does not stop a cross-site
	// POST to /login or /logout.
	return http.NewCrossOriginProtection().Handler(m.Middleware(mux))
}
