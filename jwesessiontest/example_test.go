package jwesessiontest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/jwesessiontest"
)

type User struct {
	Name string `json:"name"`
	Note string `json:"note,omitempty"`
}

// saveNote is the handler under test: it stores a note in a signed-in
// user's session and leaves a flash message for the next page.
func saveNote(m *jwesession.Manager[User]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r.Context())
		if err != nil {
			http.Error(w, "no session", http.StatusInternalServerError)
			return
		}
		if _, ok := s.Get(); !ok {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		_ = s.Update(func(u *User) error { u.Note = r.FormValue("note"); return nil })
		_ = s.AddFlash("note saved")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

// A handler test: a request signed in as alice, the handler (not wrapped
// in the middleware: Serve wraps it), and the session its response left.
func Example() {
	m, err := jwesession.New[User](jwesession.Config{}, jwesessiontest.Keyring())
	if err != nil {
		panic(err)
	}
	req, err := jwesessiontest.SignedIn(m, httptest.NewRequest("POST", "/note?note=hello", nil), User{Name: "alice"})
	if err != nil {
		panic(err)
	}
	rec := jwesessiontest.Serve(m, saveNote(m), req)
	st := jwesessiontest.Read(m, req, rec.Result())
	fmt.Println(rec.Code, st.SignedIn, st.Data.Name, st.Data.Note, st.Flashes)

	// Not signed in: refused, and no session appears.
	anon := httptest.NewRequest("POST", "/note?note=x", nil)
	rec = jwesessiontest.Serve(m, saveNote(m), anon)
	st = jwesessiontest.Read(m, anon, rec.Result())
	fmt.Println(rec.Code, st.SignedIn, st.Flashes)
	// Output:
	// 303 true alice hello [note saved]
	// 401 false []
}
