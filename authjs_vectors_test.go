package jwesession

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// authjsVector is one vector of testdata/authjs/vectors.json, made by the
// real @auth/core and next-auth/jwt (testdata/authjs/make_vectors.mjs).
type authjsVector struct {
	Name       string   `json:"name"`
	Format     string   `json:"format"`
	CookieName string   `json:"cookie_name"`
	Secrets    []string `json:"secrets"`
	Now        int64    `json:"now"`
	Cookie     string   `json:"cookie"`
	Token      string   `json:"token"`
	Expect     string   `json:"expect"`
	ClaimsJSON string   `json:"claims_json"`
}

type authjsVectorFile struct {
	Versions map[string]string `json:"versions"`
	Secrets  map[string]string `json:"secrets"`
	Vectors  []authjsVector    `json:"vectors"`
}

func readAuthJSVectors(t testing.TB) authjsVectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/authjs/vectors.json")
	require.NoError(t, err)
	var f authjsVectorFile
	require.NoError(t, json.Unmarshal(b, &f))
	require.Equal(t, "0.41.3", f.Versions["@auth/core"])
	require.Equal(t, "4.24.15", f.Versions["next-auth"])
	require.NotEmpty(t, f.Vectors)
	return f
}

// vectorManager returns a manager of claims type T for the vector: its
// format, cookie name, secrets and time.
func vectorManager[T any](t testing.TB, f authjsVectorFile, v authjsVector) *AuthJSManager[T] {
	t.Helper()
	format, err := ParseAuthJSFormat(v.Format)
	require.NoError(t, err)
	var secrets []string
	for _, k := range v.Secrets {
		secrets = append(secrets, f.Secrets[k])
	}
	s, err := NewAuthJSSecrets(secrets...)
	require.NoError(t, err)
	now := time.Unix(v.Now, 0)
	m, err := NewAuthJS[T](AuthJSConfig{Format: format, CookieName: v.CookieName, Now: func() time.Time { return now }, Logger: quietLogger()}, s)
	require.NoError(t, err)
	return m
}

// sentinelByName maps the vectors' expectations to the library's errors.
var sentinelByName = map[string]error{
	"ErrDecrypt": ErrDecrypt, "ErrUnknownKey": ErrUnknownKey, "ErrExpired": ErrExpired,
	"ErrNotYetValid": ErrNotYetValid, "ErrMalformed": ErrMalformed, "ErrUnsupported": ErrUnsupported, "ErrTooLarge": ErrTooLarge,
}

// TestAuthJSVectors: every token the real encode() made decodes to exactly
// the claims the real decode() returned (byte for byte: numbers kept
// exact), read as a bare token and from the Cookie header the real
// SessionStore chunked it into, through the middleware; every rejected
// vector is rejected with its sentinel.
func TestAuthJSVectors(t *testing.T) {
	f := readAuthJSVectors(t)
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			m := vectorManager[json.RawMessage](t, f, v)
			info, err := m.Inspect(v.Token)
			if v.Expect != "accept" {
				want := sentinelByName[v.Expect]
				require.NotNil(t, want, "unknown expectation %q", v.Expect)
				require.ErrorIs(t, err, want)
				for name, other := range sentinelByName {
					if name != v.Expect && !errors.Is(want, other) {
						require.NotErrorIs(t, err, other)
					}
				}
				_, cerr := m.InspectCookies(v.Cookie)
				require.ErrorIs(t, cerr, want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, v.ClaimsJSON, string(info.Claims), "the claims, byte for byte")
			cinfo, err := m.InspectCookies(v.Cookie)
			require.NoError(t, err)
			require.Equal(t, info.Claims, cinfo.Claims)

			// Through the middleware, typed: the claims decode.
			tm := vectorManager[map[string]any](t, f, v)
			var got map[string]any
			var sid string
			h := tm.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := tm.Session(r.Context())
				require.NoError(t, err)
				var ok bool
				got, ok = s.Get()
				require.True(t, ok, "rejected: %v", s.Err())
				sid = s.ID()
			}))
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", v.Cookie)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var want map[string]any
			require.NoError(t, json.Unmarshal([]byte(v.ClaimsJSON), &want))
			require.Equal(t, want, got)
			require.Equal(t, want["jti"], sid)
			require.Empty(t, rec.Header().Values("Set-Cookie"), "a read writes nothing")
			require.Equal(t, "private, no-cache", rec.Header().Get("Cache-Control"))
		})
	}
}
