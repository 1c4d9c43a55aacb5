package jwesession_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/jwesession/jwesession"
)

// Claims are a Next.js app's session claims as the Go side knows them: the
// standard ones and a role the app's jwt callback adds.
type Claims struct {
	jwesession.AuthJSClaims
	Role string `json:"role,omitempty"`
}

// A Go API reads the session cookie a Next.js app (Auth.js v5) set, and
// changes one claim: the claims it does not know ("picture" here; a
// provider's tokens in real apps) survive, and the app reads the result.
func ExampleNewAuthJS() {
	// The app's AUTH_SECRET; in production AuthJSSecretsFromEnv reads the
	// environment exactly as next-auth does.
	secrets, err := jwesession.NewAuthJSSecrets("authjs-test-secret-1-0123456789abcdefghij")
	if err != nil {
		log.Fatal(err)
	}
	m, err := jwesession.NewAuthJS[Claims](jwesession.AuthJSConfig{
		CookieName:         "authjs.session-token", // the app on http://localhost; "__Secure-…" on https
		DevelopmentCookies: true,
		Now:                func() time.Time { return time.Unix(1796156436, 0) }, // when the app made the token below
	}, secrets)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		c, ok := s.Get()
		if !ok {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s <%s>, role %q", c.Name, c.Email, c.Role)
	})
	mux.HandleFunc("POST /api/role", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		_ = s.Update(func(c *Claims) error { c.Role = "admin"; return nil })
	})
	h := m.Middleware(mux)

	// The cookie the app's encode() wrote at sign-in (@auth/core 0.41.3).
	cookie := "authjs.session-token=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIiwia2lkIjoiTWVLYjMxdC0yVXpnTU5rdXZoNTV4d1I0Q2ViWWJnZ0JHaGs1NXJKRjRtVFl2ZnQxX1gteWhvSXp2M3ZZMHJEM1lfOTVZS2hRazRPSTU3cGhmTkdlNGcifQ..yptIMo8TnZ05nz7C8Holtw.LjD94EzxQVUjUj9lY0du00ylEo1AVPIf0weh4Hhy_HF-OqsYmjyJu9Tdqlsx0Yjk88WWLDn66lPi3pMjjFdXpat2q0kbLFgJApZwq6VLe__m8Uud4yakdbfS0OGunOktkWWJePRqg6c-J6wVlTeA5saALFoCtlLd2BfBCqFg1-0loV0iDH9TjbmK1MOrWiWYuTagvdCKxMj1Bf4coK1gE0Il-iwA5ZzMkW4ReTz-Fy0m_M5ghShIrrqqWqBykaZ55Sftc3tQtb0aCs46UT8fcQ.zvPdwLNoyqSUe5ygJIkdFVJqZa9GcfGhMzrWRWQa3zo"
	get := httptest.NewRequest("GET", "/api/me", nil)
	get.Header.Set("Cookie", cookie)
	me := httptest.NewRecorder()
	h.ServeHTTP(me, get)
	fmt.Println(me.Body.String())
	fmt.Println("a read sets cookies:", len(me.Result().Cookies()) > 0)

	post := httptest.NewRequest("POST", "/api/role", nil)
	post.Header.Set("Cookie", cookie)
	up := httptest.NewRecorder()
	h.ServeHTTP(up, post)
	c := up.Result().Cookies()[0]
	info, err := m.Inspect(c.Value)
	if err != nil {
		log.Fatal(err)
	}
	var claims map[string]any
	_ = json.Unmarshal(info.Claims, &claims)
	fmt.Println(c.Name, claims["role"], claims["picture"], claims["jti"])
	// Output:
	// Ada Lovelace <ada@example.com>, role ""
	// a read sets cookies: false
	// authjs.session-token admin https://avatars.example.com/u/1815?v=4 6e11ab16-9a10-40ce-b8ed-6d5071520d32
}
