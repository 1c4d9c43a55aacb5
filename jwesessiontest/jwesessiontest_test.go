package jwesessiontest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

type user struct {
	Name string `json:"name"`
	N    int    `json:"n,omitempty"`
}

func newManager(t *testing.T, cfg jwesession.Config) *jwesession.Manager[user] {
	t.Helper()
	m, err := jwesession.New[user](cfg, Keyring())
	require.NoError(t, err)
	return m
}

// whoami reports the session's user, or 401.
func whoami(m *jwesession.Manager[user]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		u, ok := s.Get()
		if !ok {
			http.Error(w, "anonymous", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(u.Name))
	})
}

func TestSignedInServesWrappedAndUnwrapped(t *testing.T) {
	for _, dev := range []bool{false, true} {
		m := newManager(t, jwesession.Config{DevelopmentCookies: dev})
		base := httptest.NewRequest("GET", "/me", nil)
		base.Header.Set("Cookie", "theme=dark")
		req, err := SignedIn(m, base, user{Name: "alice"})
		require.NoError(t, err)
		assert.Contains(t, req.Header.Get("Cookie"), "theme=dark", "the request's other cookies are kept")
		assert.Contains(t, req.Header.Get("Cookie"), m.CookieName()+"=")
		assert.Equal(t, "theme=dark", base.Header.Get("Cookie"), "the given request is not changed")
		for name, h := range map[string]http.Handler{"unwrapped": whoami(m), "wrapped": m.Middleware(whoami(m))} {
			rec := Serve(m, h, req)
			assert.Equal(t, http.StatusOK, rec.Code, name)
			assert.Equal(t, "alice", rec.Body.String(), name)
		}
		rec := Serve(m, whoami(m), base)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "control: without the sign-in")
	}
}

func TestReadFollowsTheResponse(t *testing.T) {
	m := newManager(t, jwesession.Config{})
	req, err := SignedInRemembered(m, httptest.NewRequest("POST", "/", nil), user{Name: "alice"})
	require.NoError(t, err)
	st := Read(m, req, Serve(m, whoami(m), req).Result())
	require.NoError(t, st.Err)
	assert.True(t, st.SignedIn)
	assert.True(t, st.Remembered)
	assert.Equal(t, user{Name: "alice"}, st.Data)
	assert.NotEmpty(t, st.ID)
	assert.NotEmpty(t, st.SignInID)

	// An update, a renew, a sign-out with a flash: each read back.
	op := func(fn func(s *jwesession.Session[user])) *http.Response {
		return Serve(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := m.Session(r.Context())
			fn(s)
		}), req).Result()
	}
	resp := op(func(s *jwesession.Session[user]) {
		require.NoError(t, s.Update(func(u *user) error { u.N = 7; return nil }))
	})
	assert.Equal(t, 7, Read(m, req, resp).Data.N)
	resp = op(func(s *jwesession.Session[user]) { require.NoError(t, s.Renew()) })
	renewed := Read(m, req, resp)
	assert.NotEqual(t, st.ID, renewed.ID)
	assert.Equal(t, st.SignInID, renewed.SignInID)
	resp = op(func(s *jwesession.Session[user]) {
		require.NoError(t, s.Clear())
		require.NoError(t, s.AddFlash("signed out"))
	})
	out := Read(m, req, resp)
	assert.False(t, out.SignedIn)
	assert.Zero(t, out.Data)
	assert.Equal(t, []string{"signed out"}, out.Flashes)
	assert.NoError(t, out.Err)
	assert.NotContains(t, Cookies(req, resp), m.CookieName()+"=", "the deletion removed the token")

	// A response that writes nothing leaves the session as it was.
	same := Read(m, req, op(func(s *jwesession.Session[user]) { s.Get() }))
	assert.Equal(t, st.ID, same.ID)
}

func TestSignedInErrors(t *testing.T) {
	m := newManager(t, jwesession.Config{})
	_, err := SignedIn(m, httptest.NewRequest("GET", "/", nil), user{Name: strings.Repeat("x", 5000)})
	require.ErrorIs(t, err, jwesession.ErrTooLarge)
	assert.True(t, strings.HasPrefix(err.Error(), "jwesessiontest: failed to sign in: "), err.Error())
}

func TestNextKeepsTheRequest(t *testing.T) {
	r := httptest.NewRequest("POST", "https://app.example/a?b=c", nil)
	r.Header.Set("Cookie", "a=1; b=2")
	resp := &http.Response{Header: http.Header{"Set-Cookie": {"b=; Max-Age=0", "c=3; Path=/", "a=4"}}}
	next := Next(r, resp)
	assert.Equal(t, "POST", next.Method)
	assert.Equal(t, "https://app.example/a?b=c", next.URL.String())
	assert.Equal(t, "app.example", next.Host)
	assert.Equal(t, "a=4; c=3", next.Header.Get("Cookie"))
}
