package jwesession

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The secrets of testdata/authjs/vectors.json.
const (
	authjsSecret1 = "authjs-test-secret-1-0123456789abcdefghij"
	authjsSecret2 = "authjs-test-secret-2-KLMNOPQRSTUVWXYZklmnop"
	authjsSecret3 = "authjs-test-secret-3-!#$%&()*+,-./:;<=>?@[]"
)

// ajsClaims is a claims type of the tests: the standard claims and a note.
type ajsClaims struct {
	AuthJSClaims
	Note string `json:"note,omitempty"`
}

// newAuthJSTest returns an Auth.js manager on a test clock, with
// production cookies and secrets (default: authjsSecret1) unless cfg says
// otherwise.
func newAuthJSTest[T any](t testing.TB, cfg AuthJSConfig, secrets ...string) (*AuthJSManager[T], *testClock) {
	t.Helper()
	clk := newTestClock()
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if len(secrets) == 0 {
		secrets = []string{authjsSecret1}
	}
	s, err := NewAuthJSSecrets(secrets...)
	require.NoError(t, err)
	m, err := NewAuthJS[T](cfg, s)
	require.NoError(t, err)
	return m, clk
}

// serveAJS runs one request with the Cookie header through m's middleware
// around fn.
func serveAJS[T any](t testing.TB, m *AuthJSManager[T], cookie string, fn func(s *Session[T])) *httptest.ResponseRecorder {
	t.Helper()
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r.Context())
		require.NoError(t, err)
		fn(s)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newRequest(cookie))
	return rec
}

// ajsClaimsOf returns the claims of the token the cookie header holds.
func ajsClaimsOf[T any](t testing.TB, m *AuthJSManager[T], cookie string) map[string]json.RawMessage {
	t.Helper()
	info, err := m.InspectCookies(cookie)
	require.NoError(t, err)
	var c map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(info.Claims, &c))
	return c
}

// vectorByName returns the named vector.
func vectorByName(t testing.TB, f authjsVectorFile, name string) authjsVector {
	t.Helper()
	for _, v := range f.Vectors {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no vector %q", name)
	return authjsVector{}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestAuthJSReadWritesNothing: reading a valid, an expired and a damaged
// cookie writes no Set-Cookie (the Next.js app may be re-issuing its own
// at that moment), and the response is made cache-safe.
func TestAuthJSReadWritesNothing(t *testing.T) {
	f := readAuthJSVectors(t)
	for _, name := range []string{"v5 profile", "v5 expired", "v5 tampered tag", "v5 large, chunked"} {
		v := vectorByName(t, f, name)
		m := vectorManager[ajsClaims](t, f, v)
		rec := serveAJS(t, m, v.Cookie, func(s *Session[ajsClaims]) {
			c, ok := s.Get()
			require.Equal(t, v.Expect == "accept", ok, "%v", s.Err())
			if ok {
				require.Equal(t, "Ada Lovelace", c.Name)
			}
		})
		require.Empty(t, setCookies(rec), name)
		require.Equal(t, "private, no-cache", rec.Header().Get("Cache-Control"))
	}
}

// TestAuthJSUpdateKeepsUnknownClaims: a Go type that knows only the
// standard claims and a note updates the note of a token the real
// encode() made with a provider's account, roles and numbers: every claim
// it does not know survives byte for byte, iat and exp are new, the jti
// is kept.
func TestAuthJSUpdateKeepsUnknownClaims(t *testing.T) {
	m, v, before, rec, after := ajsOnNested(t, func(s *Session[ajsClaims]) {
		require.NoError(t, s.Update(func(c *ajsClaims) error { c.Note = "hello"; return nil }))
	})
	require.Equal(t, "no-store, private", rec.Header().Get("Cache-Control"))
	require.Equal(t, `"hello"`, string(after["note"]))
	for k, raw := range before {
		switch k {
		case "iat", "exp":
			require.Equal(t, []byte(jsonInt(v.Now+map[string]int64{"iat": 0, "exp": 30 * 24 * 3600}[k])), []byte(after[k]), k)
		default:
			require.Equal(t, string(raw), string(after[k]), "claim %s kept byte for byte", k)
		}
	}
	require.Len(t, after, len(before)+1)

	// Removing a claim the type owns removes it: it does not come back
	// from the token's claims.
	cookie := cookieHeader(v.Cookie, rec)
	rec = serveAJS(t, m, cookie, func(s *Session[ajsClaims]) {
		require.NoError(t, s.Update(func(c *ajsClaims) error { c.Note, c.Picture = "", ""; return nil }))
	})
	again := ajsClaimsOf(t, m, cookieHeader(cookie, rec))
	require.NotContains(t, again, "note")
	require.NotContains(t, again, "picture")
	require.Equal(t, string(before["account"]), string(again["account"]))
}

// ajsOnNested runs op on the session of the real "v5 nested" vector (a
// provider's account, roles, numbers) and returns the manager, the
// vector, its claims, the response and the claims of the cookie after it.
func ajsOnNested(t *testing.T, op func(*Session[ajsClaims])) (*AuthJSManager[ajsClaims], authjsVector, map[string]json.RawMessage, *httptest.ResponseRecorder, map[string]json.RawMessage) {
	t.Helper()
	f := readAuthJSVectors(t)
	v := vectorByName(t, f, "v5 nested")
	m := vectorManager[ajsClaims](t, f, v)
	before := ajsClaimsOf(t, m, v.Cookie)
	rec := serveAJS(t, m, v.Cookie, op)
	return m, v, before, rec, ajsClaimsOf(t, m, cookieHeader(v.Cookie, rec))
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestAuthJSWrites: what each operation writes.
func TestAuthJSWrites(t *testing.T) {
	m, clk := newAuthJSTest[ajsClaims](t, AuthJSConfig{})
	name := m.CookieName()
	rec := serveAJS(t, m, "", func(s *Session[ajsClaims]) {
		require.NoError(t, s.SignIn(ajsClaims{AuthJSClaims: AuthJSClaims{Name: "ada", Sub: "ada"}}))
		require.Regexp(t, uuidV4, s.ID())
		require.Equal(t, clk.Now().Add(30*24*time.Hour).Unix(), s.ExpiresAt().Unix())
		require.Empty(t, s.SignInID(), "the format has no sign-in id")
		require.True(t, s.SignedInAt().IsZero(), "nor a sign-in time")
	})
	lines := setCookies(rec)
	require.Len(t, lines, 5, "the token and the deletion of chunk names 0..3: %q", lines)
	require.Regexp(t, `^__Secure-authjs\.session-token=[^;]+; Path=/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax$`, lines[0])
	for i, l := range lines[1:] {
		require.Equal(t, name+"."+string(rune('0'+i))+"=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax", l)
	}
	cookie := cookieHeader("", rec)
	tok := strings.TrimPrefix(cookie, name+"=")
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.Equal(t, `{"alg":"dir","enc":"A256CBC-HS512","kid":"`+m.a.ring.write.kid+`"}`, string(hdr))
	c := ajsClaimsOf(t, m, cookie)
	now := clk.Now().Unix()
	require.Equal(t, map[string]string{"name": `"ada"`, "sub": `"ada"`, "iat": jsonInt(now), "exp": jsonInt(now + 30*24*3600), "jti": string(c["jti"])}, rawStrings(c))

	// An equal Set is no change; Get alone writes nothing.
	rec = serveAJS(t, m, cookie, func(s *Session[ajsClaims]) {
		d, ok := s.Get()
		require.True(t, ok)
		require.NoError(t, s.Set(d))
	})
	require.Empty(t, setCookies(rec))

	// Touch: re-issued, same jti, later exp.
	clk.Advance(time.Hour)
	rec = serveAJS(t, m, cookie, func(s *Session[ajsClaims]) { require.NoError(t, s.Touch()) })
	touched := ajsClaimsOf(t, m, cookieHeader(cookie, rec))
	require.Equal(t, c["jti"], touched["jti"])
	require.Equal(t, jsonInt(now+3600+30*24*3600), string(touched["exp"]))

	// Renew: a new jti, the claims kept.
	var renewed string
	rec = serveAJS(t, m, cookie, func(s *Session[ajsClaims]) {
		require.NoError(t, s.Renew())
		renewed = s.ID()
	})
	rc := ajsClaimsOf(t, m, cookieHeader(cookie, rec))
	require.Regexp(t, uuidV4, renewed)
	require.Equal(t, `"`+renewed+`"`, string(rc["jti"]))
	require.NotEqual(t, c["jti"], rc["jti"])
	require.Equal(t, `"ada"`, string(rc["name"]))

	// Clear: every name deleted, nothing else written (no companion, no
	// tombstone: the app joins every cookie starting with the name).
	rec = serveAJS(t, m, cookie+"; "+name+".7=x", func(s *Session[ajsClaims]) { require.NoError(t, s.Clear()) })
	var deleted []string
	for _, c := range rec.Result().Cookies() {
		require.Equal(t, -1, c.MaxAge, "only deletions: %q", setCookies(rec))
		deleted = append(deleted, c.Name)
	}
	require.ElementsMatch(t, []string{name, name + ".0", name + ".1", name + ".2", name + ".3", name + ".7"}, deleted)
	require.Equal(t, "no-store, private", rec.Header().Get("Cache-Control"))
}

func rawStrings(m map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// TestAuthJSSignInDropsClaims: SignIn over a session starts from the given
// claims alone: no claim of the previous user survives.
func TestAuthJSSignInDropsClaims(t *testing.T) {
	_, _, old, _, c := ajsOnNested(t, func(s *Session[ajsClaims]) {
		require.NoError(t, s.SignIn(ajsClaims{AuthJSClaims: AuthJSClaims{Name: "bob"}}))
	})
	require.ElementsMatch(t, []string{"name", "iat", "exp", "jti"}, keysOf(c))
	require.NotEqual(t, old["jti"], c["jti"])
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAuthJSChunks: growing into chunks deletes the bare name and the
// unused chunk names; shrinking back deletes every chunk, so the browser
// ends with the bare cookie alone; past MaxChunks, ErrTooLarge and the
// cookie is left as it was.
func TestAuthJSChunks(t *testing.T) {
	for _, format := range []AuthJSFormat{FormatAuthJS, FormatNextAuth4} {
		t.Run(format.String(), func(t *testing.T) {
			m, _ := newAuthJSTest[ajsClaims](t, AuthJSConfig{Format: format})
			// The chunk size of the real SessionStore: the first chunk of
			// the vector it chunked (3936 bytes for v5, 3933 for v4).
			vec := vectorByName(t, readAuthJSVectors(t), map[AuthJSFormat]string{FormatAuthJS: "v5 large, chunked", FormatNextAuth4: "v4 large, chunked"}[format])
			first, _, _ := strings.Cut(vec.Cookie, "; ")
			_, chunk0, _ := strings.Cut(first, "=")
			name, size := m.CookieName(), len(chunk0)
			require.Equal(t, map[AuthJSFormat]int{FormatAuthJS: 3936, FormatNextAuth4: 3933}[format], size)
			rec := serveAJS(t, m, "", func(s *Session[ajsClaims]) {
				require.NoError(t, s.SignIn(ajsClaims{AuthJSClaims: AuthJSClaims{Name: "ada"}}))
			})
			small := cookieHeader("", rec)
			rec = serveAJS(t, m, small, func(s *Session[ajsClaims]) {
				require.NoError(t, s.Update(func(c *ajsClaims) error { c.Note = strings.Repeat("n", 4000); return nil }))
			})
			big := cookieHeader(small, rec)
			var names []string
			for _, p := range strings.Split(big, "; ") {
				k, v, _ := strings.Cut(p, "=")
				names = append(names, k)
				if k == name+".0" {
					require.Len(t, v, size, "a full chunk is the format's chunk size")
				}
			}
			require.Equal(t, []string{name + ".0", name + ".1"}, names)
			require.Equal(t, strings.Repeat("n", 4000), ajsGet(t, m, big).Note)

			rec = serveAJS(t, m, big, func(s *Session[ajsClaims]) {
				require.ErrorIs(t, s.Update(func(c *ajsClaims) error { c.Note = strings.Repeat("n", 20000); return nil }), ErrTooLarge)
			})
			require.Empty(t, setCookies(rec), "the cookie is left as it was")

			rec = serveAJS(t, m, big, func(s *Session[ajsClaims]) {
				require.NoError(t, s.Update(func(c *ajsClaims) error { c.Note = "short"; return nil }))
			})
			shrunk := cookieHeader(big, rec)
			require.Equal(t, []string{name}, keysOf(ajsClaimsCookies(shrunk)))
			require.Equal(t, "short", ajsGet(t, m, shrunk).Note)
		})
	}
}

func ajsClaimsCookies(header string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(header, "; ") {
		if k, v, ok := strings.Cut(p, "="); ok {
			out[k] = v
		}
	}
	return out
}

// ajsGet reads the session of the cookie header, which must be valid.
func ajsGet[T any](t testing.TB, m *AuthJSManager[T], cookie string) T {
	t.Helper()
	var got T
	serveAJS(t, m, cookie, func(s *Session[T]) {
		var ok bool
		got, ok = s.Get()
		require.True(t, ok, "rejected: %v", s.Err())
	})
	return got
}

// TestAuthJSCookieJoin: the cookies are joined as the app joins them, and
// whatever that join would break is refused.
func TestAuthJSCookieJoin(t *testing.T) {
	f := readAuthJSVectors(t)
	v := vectorByName(t, f, "v5 large, chunked")
	m := vectorManager[ajsClaims](t, f, v)
	parts := strings.Split(v.Cookie, "; ")
	require.Len(t, parts, 3)
	name := v.CookieName
	for _, tc := range []struct {
		name   string
		cookie string
		want   error
	}{
		{"in order", v.Cookie, nil},
		{"out of order, among others", "a=b; " + parts[2] + "; " + parts[0] + "; authjs.csrf-token=x; " + parts[1], nil},
		{"empty values add nothing", parts[0] + "; " + name + "=; " + parts[1] + "; " + name + ".5=; " + parts[2], nil},
		{"the first of a repeated name", parts[0] + "; " + parts[1] + "; " + parts[2] + "; " + name + ".1=garbage", nil},
		{"a chunk missing", parts[0] + "; " + parts[2], ErrMalformed},
		{"a valid bare cookie next to chunks", parts[0] + "; " + parts[1] + "; " + parts[2] + "; " + name + "=" + vectorByName(t, f, "v5 profile, __Secure- name").Token, ErrMalformed},
		{"another cookie starting with the name", v.Cookie + "; " + name + "-extra=x", ErrMalformed},
		{"a non-canonical chunk index", v.Cookie + "; " + name + ".03=x", ErrMalformed},
		{"more chunks than MaxChunks", v.Cookie + "; " + name + ".4=x", ErrTooLarge},
	} {
		_, err := m.InspectCookies(tc.cookie)
		if tc.want == nil {
			require.NoError(t, err, tc.name)
		} else {
			require.ErrorIs(t, err, tc.want, tc.name)
		}
	}
}

// TestAuthJSRefresh: with RefreshAfter, a read of an older token
// re-issues it (claims kept); a younger one, or RefreshAfter unset, never.
func TestAuthJSRefresh(t *testing.T) {
	for _, after := range []time.Duration{0, time.Hour} {
		m, clk := newAuthJSTest[ajsClaims](t, AuthJSConfig{RefreshAfter: after})
		rec := serveAJS(t, m, "", func(s *Session[ajsClaims]) {
			require.NoError(t, s.SignIn(ajsClaims{AuthJSClaims: AuthJSClaims{Name: "ada"}}))
		})
		cookie := cookieHeader("", rec)
		clk.Advance(59 * time.Minute)
		require.Empty(t, setCookies(serveAJS(t, m, cookie, func(s *Session[ajsClaims]) { s.Get() })))
		clk.Advance(time.Minute)
		rec = serveAJS(t, m, cookie, func(s *Session[ajsClaims]) { s.Get() })
		if after == 0 {
			require.Empty(t, setCookies(rec))
			continue
		}
		require.NotEmpty(t, setCookies(rec))
		c := ajsClaimsOf(t, m, cookieHeader(cookie, rec))
		require.Equal(t, jsonInt(clk.Now().Unix()), string(c["iat"]))
		require.Equal(t, `"ada"`, string(c["name"]))
		require.Equal(t, ajsClaimsOf(t, m, cookie)["jti"], c["jti"])
	}
}

// TestAuthJSNoCompanionNames: no write of this mode ever sets a cookie
// whose name starts with "~" (the native companion and tombstone), and
// nothing but the session's own names.
func TestAuthJSNoCompanionNames(t *testing.T) {
	m, clk := newAuthJSTest[ajsClaims](t, AuthJSConfig{RefreshAfter: time.Minute})
	cookie := ""
	for _, op := range []func(*Session[ajsClaims]){
		func(s *Session[ajsClaims]) { _ = s.SignIn(ajsClaims{AuthJSClaims: AuthJSClaims{Name: "a"}}) },
		func(s *Session[ajsClaims]) { s.Get() },
		func(s *Session[ajsClaims]) { _ = s.Renew() },
		func(s *Session[ajsClaims]) { _ = s.Update(func(c *ajsClaims) error { c.Note = "x"; return nil }) },
		func(s *Session[ajsClaims]) { _ = s.Clear() },
		func(s *Session[ajsClaims]) { _ = s.SignIn(ajsClaims{}) },
		func(s *Session[ajsClaims]) { _ = s.SignIn(ajsClaims{Note: "y"}) },
	} {
		clk.Advance(2 * time.Minute)
		rec := serveAJS(t, m, cookie, op)
		for _, c := range rec.Result().Cookies() {
			require.True(t, strings.HasPrefix(c.Name, m.CookieName()), c.Name)
		}
		cookie = cookieHeader(cookie, rec)
	}
	require.Equal(t, "y", ajsGet(t, m, cookie).Note)
}

// TestAuthJSClaimOwner: which claims a type owns.
func TestAuthJSClaimOwner(t *testing.T) {
	type inner struct {
		Deep string `json:"deep"`
	}
	type withTags struct {
		AuthJSClaims
		*inner
		Tagged  inner  `json:"tagged"`
		Skipped string `json:"-"`
		Dash    string `json:"dash,omitempty"`
		Plain   int
		hidden  int
	}
	o, ok := newClaimOwner(reflect.TypeFor[withTags]())
	require.True(t, ok)
	require.ElementsMatch(t, []string{"name", "email", "picture", "sub", "deep", "tagged", "dash", "Plain"}, o.names)
	_ = withTags{hidden: 1} // an unexported field: no claim
	require.True(t, o.owns("NAME"), "encoding/json matches names without regard to case")
	require.False(t, o.owns("Skipped"))
	for _, all := range []any{map[string]any{}, json.RawMessage{}, new(any)} {
		o, ok := newClaimOwner(reflect.TypeOf(all))
		require.True(t, ok)
		require.True(t, o.all, "%T owns every claim", all)
	}
	_, ok = newClaimOwner(reflect.TypeFor[[]string]())
	require.False(t, ok)
	merged, err := o.mergeClaims([]byte(`{"name":"n","iat":1,"Plain":2}`), []byte(`{"iat":5,"exp":6,"jti":"j","x":{"a":[1, 2]},"NaMe":"old","tagged":1,"z":1e400}`))
	require.NoError(t, err)
	require.Equal(t, `{"name":"n","Plain":2,"x":{"a":[1, 2]},"z":1e400}`, string(merged))
	_, err = o.mergeClaims([]byte(`[1]`), nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.Equal(t, `{"iat":1,"exp":2,"jti":"j"}`, string(appendTokenClaims([]byte("{}"), 1, 2, "j")))
	require.Equal(t, `{"a":1,"iat":1,"exp":2,"jti":"j"}`, string(appendTokenClaims([]byte(`{"a":1}`), 1, 2, "j")))
}

// TestAuthJSEncode: Encode writes what the app's decode() reads (checked
// against the real one in TestAuthJSNodeDecodes), sets iat, exp and a new
// jti whatever the claims held, and keeps the other claims as given.
func TestAuthJSEncode(t *testing.T) {
	m, clk := newAuthJSTest[json.RawMessage](t, AuthJSConfig{MaxAge: time.Hour})
	tok, err := m.Encode(json.RawMessage(`{"iat":1,"n":1.50,"jti":"mine","u":"\u00e9"}`))
	require.NoError(t, err)
	info, err := m.Inspect(tok)
	require.NoError(t, err)
	now := clk.Now().Unix()
	require.Regexp(t, uuidV4, info.JTI)
	require.Equal(t, `{"n":1.50,"u":"\u00e9","iat":`+jsonInt(now)+`,"exp":`+jsonInt(now+3600)+`,"jti":"`+info.JTI+`"}`, string(info.Claims))
	require.Equal(t, 0, info.Secret)
	_, err = m.Encode(json.RawMessage(`"not an object"`))
	require.Error(t, err)
	_, err = m.Encode(json.RawMessage(`{"x":"` + strings.Repeat("x", 4*3936) + `"}`))
	require.ErrorIs(t, err, ErrTooLarge)
}

// TestAuthJSPrintsNoSecret: secrets and managers print no secret bytes.
func TestAuthJSPrintsNoSecret(t *testing.T) {
	s, err := NewAuthJSSecrets(authjsSecret1, authjsSecret2)
	require.NoError(t, err)
	m, err := NewAuthJS[ajsClaims](AuthJSConfig{Logger: quietLogger()}, s)
	require.NoError(t, err)
	var buf bytes.Buffer
	for _, v := range []any{s, *s, m, *m} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			buf.Reset()
			fmt.Fprintf(&buf, verb, v)
			require.NotContains(t, buf.String(), "authjs-test-secret", verb)
		}
	}
}
