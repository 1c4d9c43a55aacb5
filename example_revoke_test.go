package jwesession_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/jwesession/jwesession"
)

// Member is session data that names its user for revocation.
type Member struct {
	ID string `json:"id"`
}

// SessionSubject is the user id revocation goes by.
func (m Member) SessionSubject() string { return m.ID }

// banList rejects the sessions of banned users from the application's own
// state, and asks the shared store about everything else.
type banList struct {
	jwesession.RevocationStore
	banned map[string]bool
}

func (b banList) Revoked(ctx context.Context, ref jwesession.SessionRef) (bool, error) {
	if b.banned[ref.Subject] {
		return true, nil
	}
	return b.RevocationStore.Revoked(ctx, ref)
}

// Revocation with a store of the application's own making: a banned
// user's session is refused, and signing a user out everywhere refuses
// every cookie of theirs, a copy kept elsewhere included. A fleet uses the
// redis module's store instead of MemoryRevocations.
func Example_revocation() {
	kr, err := jwesession.KeyringFromSecret("example-secret-0123456789abcdefghijklmnop")
	if err != nil {
		log.Fatal(err)
	}
	store := banList{RevocationStore: &jwesession.MemoryRevocations{}, banned: map[string]bool{"mallory": true}}
	m, err := jwesession.New[Member](jwesession.Config{Revocation: jwesession.Revocation{Store: store}}, kr)
	if err != nil {
		log.Fatal(err)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if id := r.URL.Query().Get("signin"); id != "" {
			_ = s.SignIn(Member{ID: id})
			return
		}
		if u, ok := s.Get(); ok {
			fmt.Fprint(w, "signed in as "+u.ID)
			return
		}
		fmt.Fprint(w, "not signed in: revoked ", errors.Is(s.Err(), jwesession.ErrRevoked))
	}))
	request := func(url, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "https://example.test"+url, nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	cookie := func(id string) string {
		c := request("/?signin="+id, "").Result().Cookies()[0]
		return c.Name + "=" + c.Value
	}
	alice, mallory := cookie("alice"), cookie("mallory")
	fmt.Println(request("/", alice).Body)
	fmt.Println(request("/", mallory).Body)
	if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(request("/", alice).Body)
	// Output:
	// signed in as alice
	// not signed in: revoked true
	// not signed in: revoked true
}
