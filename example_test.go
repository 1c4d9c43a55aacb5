package jwesession_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/jwesession/jwesession"
)

type User struct {
	Name string `json:"name"`
}

// A handler signs a user in, another reads the session: the cookie the
// first response sets is all the second request needs.
func Example() {
	kr, err := jwesession.KeyringFromSecret("example-secret-0123456789abcdefghijklmnop")
	if err != nil {
		log.Fatal(err)
	}
	m, err := jwesession.New[User](jwesession.Config{}, kr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if err := s.SignIn(User{Name: "alice"}); err != nil {
			http.Error(w, "sign-in failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if u, ok := s.Get(); ok {
			fmt.Fprintf(w, "signed in as %s", u.Name)
			return
		}
		fmt.Fprint(w, "not signed in")
	})
	h := m.Middleware(mux)

	login := httptest.NewRecorder()
	h.ServeHTTP(login, httptest.NewRequest("POST", "https://example.test/login", nil))
	cookie := login.Result().Cookies()[0]
	fmt.Println(login.Code, cookie.Name, cookie.HttpOnly, cookie.Secure)
	fmt.Println(login.Header().Get("Cache-Control"))

	req := httptest.NewRequest("GET", "https://example.test/", nil)
	req.AddCookie(cookie)
	home := httptest.NewRecorder()
	h.ServeHTTP(home, req)
	body, _ := io.ReadAll(home.Body)
	fmt.Println(home.Code, string(body), len(home.Result().Cookies()))
	fmt.Println(home.Header().Get("Cache-Control"), "/", home.Header().Get("Vary"))
	// Output:
	// 303 __Host-session true true
	// no-store, private
	// 200 signed in as alice 0
	// private, no-cache / Cookie
}

// Keyrings come from JWESESSION_KEYS entries, newest first. Errors say what
// to fix and never echo a secret.
func ExampleParseKeys() {
	kr, err := jwesession.ParseKeys("k2:primary:second-secret-0123456789abcdefghijklm,k1:decrypt-only:first-secret-0123456789abcdefghijklmn")
	fmt.Println(kr, err)

	_, err = jwesession.ParseKeys("k1:primary:short")
	fmt.Println(errors.Is(err, jwesession.ErrWeakSecret), strings.Contains(err.Error(), "short"))
	// Output:
	// Keyring[k2:primary k1:decrypt-only] <nil>
	// true false
}

// A rejected cookie is no error page: the request is served as anonymous
// and the reason is available. Nothing is written: deleting the cookie could
// land after a concurrent sign-in's response and sign the user out again;
// the next write replaces it.
func ExampleSession_Err() {
	kr, _ := jwesession.KeyringFromSecret("example-secret-0123456789abcdefghijklmnop")
	m, _ := jwesession.New[User](jwesession.Config{}, kr)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		_, ok := s.Get()
		fmt.Println(ok, errors.Is(s.Err(), jwesession.ErrMalformed))
	}))
	req := httptest.NewRequest("GET", "https://example.test/", nil)
	req.Header.Set("Cookie", "__Host-session=not-a-token")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, len(rec.Result().Cookies()), rec.Header().Get("Cache-Control"))
	// Output:
	// false true
	// 200 0 private, no-cache
}
