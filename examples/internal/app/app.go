// Package app is the examples' application as net/http handlers: what is
// the same whatever the router. The examples differ only in how they wire
// it (net/http's ServeMux, chi, gorilla/mux), or write the same handlers
// in their framework's idiom (echo, gin). See the examples' README.
package app

import (
	"encoding/json"
	"errors"
	"log"
	"net/http"

	"github.com/jwesession/jwesession"
)

// Serve is every example's main: the keys from JWESESSION_SECRET or
// JWESESSION_KEYS, development cookies (plain HTTP on loopback), and
// newApp's handler on 127.0.0.1:8080.
func Serve(newApp func(*jwesession.Manager[User]) http.Handler) {
	kr, err := jwesession.KeyringFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	m, err := jwesession.New[User](jwesession.Config{DevelopmentCookies: true}, kr)
	if err != nil {
		log.Fatal(err)
	}
	log.Print("listening on http://127.0.0.1:8080")
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", newApp(m)))
}

// User is what the session holds.
type User struct {
	Name string `json:"name"`
	Note string `json:"note"`
}

// Login is the body of POST /login.
type Login struct {
	Name string `json:"name"`
}

// NoteUpdate is the body of POST /account/note.
type NoteUpdate struct {
	Note string `json:"note"`
}

// MaxBody bounds a request body.
const MaxBody = 8 << 10

// Error is the JSON of an error answer.
type Error struct {
	Error string `json:"error"`
}

// Messages of the error answers.
const (
	BadName     = "name must be 1 to 64 of A-Za-z0-9._-"
	BadBody     = "the body must be a JSON object"
	SignInFirst = "sign in first"
	TooLarge    = "the note does not fit in the session cookie"
	Failed      = "the session could not be changed"
)

// ValidName reports whether name is 1 to 64 of A-Za-z0-9._- .
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NotFound is the text of the 404 page: it says who is signed in, so it
// reads the session (error pages run inside the middleware too).
func NotFound(u User, signedIn bool) string {
	if signedIn {
		return "not found (signed in as " + u.Name + ")"
	}
	return "not found (not signed in)"
}

// UpdateStatus is the status of a failed session change: 413 for data too
// large for the cookie, else 500.
func UpdateStatus(err error) (int, string) {
	if errors.Is(err, jwesession.ErrTooLarge) {
		return http.StatusRequestEntityTooLarge, TooLarge
	}
	return http.StatusInternalServerError, Failed
}

// Handlers are the application's routes as net/http handlers.
type Handlers struct {
	M *jwesession.Manager[User]
}

func (h Handlers) session(r *http.Request) *jwesession.Session[User] {
	s, err := h.M.Session(r.Context())
	if err != nil {
		panic(err) // a route outside the middleware: a wiring mistake
	}
	return s
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v, or answers 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody)).Decode(v); err != nil {
		WriteJSON(w, http.StatusBadRequest, Error{BadBody})
		return false
	}
	return true
}

// Public is GET /public: it never touches the session, so its cache
// headers stay as they are.
func (h Handlers) Public(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write([]byte("the same page for everyone\n"))
}

// Login is POST /login: a new sign-in.
func (h Handlers) Login(w http.ResponseWriter, r *http.Request) {
	var in Login
	if !decode(w, r, &in) {
		return
	}
	if !ValidName(in.Name) {
		WriteJSON(w, http.StatusBadRequest, Error{BadName})
		return
	}
	// … check the password here …
	u := User{Name: in.Name}
	if err := h.session(r).SignIn(u); err != nil {
		status, msg := UpdateStatus(err)
		WriteJSON(w, status, Error{msg})
		return
	}
	WriteJSON(w, http.StatusOK, u)
}

// RequireUser lets only signed-in users through to next: the protected
// group.
func (h Handlers) RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := h.session(r).Get(); !ok {
			WriteJSON(w, http.StatusUnauthorized, Error{SignInFirst})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Profile is GET /account/profile (protected).
func (h Handlers) Profile(w http.ResponseWriter, r *http.Request) {
	u, _ := h.session(r).Get()
	WriteJSON(w, http.StatusOK, u)
}

// Note is POST /account/note (protected): the JSON update.
func (h Handlers) Note(w http.ResponseWriter, r *http.Request) {
	var in NoteUpdate
	if !decode(w, r, &in) {
		return
	}
	s := h.session(r)
	if err := s.Update(func(u *User) error { u.Note = in.Note; return nil }); err != nil {
		status, msg := UpdateStatus(err)
		WriteJSON(w, status, Error{msg})
		return
	}
	u, _ := s.Get()
	WriteJSON(w, http.StatusOK, u)
}

// Logout is POST /logout.
func (h Handlers) Logout(w http.ResponseWriter, r *http.Request) {
	if err := h.session(r).Clear(); err != nil {
		WriteJSON(w, http.StatusInternalServerError, Error{Failed})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// NotFound is the 404 page.
func (h Handlers) NotFound(w http.ResponseWriter, r *http.Request) {
	u, ok := h.session(r).Get()
	http.Error(w, NotFound(u, ok), http.StatusNotFound)
}
