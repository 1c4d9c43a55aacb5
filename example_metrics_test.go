package jwesession_test

import (
	"expvar"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/jwesession/jwesession"
)

// Counting why cookies were rejected: two requests, one with a damaged
// cookie, and the counts by reason.
func ExampleManager_Metrics() {
	kr, err := jwesession.KeyringFromSecret("example-secret-0123456789abcdefghijklmnop")
	if err != nil {
		log.Fatal(err)
	}
	m, err := jwesession.New[User](jwesession.Config{}, kr)
	if err != nil {
		log.Fatal(err)
	}
	// An application publishes its counters once, under a name of its
	// choice (expvar.Publish panics on a name already taken):
	//
	//	expvar.Publish("sessions", m.MetricsVar())
	var _ expvar.Var = m.MetricsVar()
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if _, ok := s.Get(); !ok && s.Err() != nil {
			fmt.Println("served as anonymous:", s.Err())
		}
	}))
	for _, cookie := range []string{"", "__Host-session=damaged"} {
		req := httptest.NewRequest("GET", "https://example.com/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	met := m.Metrics()
	fmt.Println("malformed:", met.Rejected[jwesession.RejectMalformed], "expired:", met.Rejected[jwesession.RejectExpired])
	fmt.Println("the only key is", met.Keys[0].State)
	// Output:
	// served as anonymous: jwesession: malformed token: the token has 1 segments, want 5
	// malformed: 1 expired: 0
	// the only key is primary
}
