package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

// The Auth.js formats of inspect and encode, on the tokens the real
// @auth/core and next-auth/jwt made (../../testdata/authjs/vectors.json).

// toolVector is what these tests use of a vector.
type toolVector struct {
	Name, Format, Token, Cookie, Expect string
	CookieName                          string   `json:"cookie_name"`
	Secrets                             []string `json:"secrets"`
	Now                                 int64    `json:"now"`
	ClaimsJSON                          string   `json:"claims_json"`
}

// toolVectors returns the vectors by name and a function writing a
// secrets file of a vector's secrets.
func toolVectors(t *testing.T) (map[string]toolVector, func(v toolVector) string) {
	t.Helper()
	b, err := os.ReadFile("../../testdata/authjs/vectors.json")
	require.NoError(t, err)
	var f struct {
		Secrets map[string]string `json:"secrets"`
		Vectors []toolVector      `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	out := map[string]toolVector{}
	for _, v := range f.Vectors {
		out[v.Name] = v
	}
	file := func(v toolVector) string {
		lines := "# newest first\n"
		for _, k := range v.Secrets {
			lines += f.Secrets[k] + "\n"
		}
		path := filepath.Join(t.TempDir(), "secrets")
		require.NoError(t, os.WriteFile(path, []byte(lines), 0o600))
		return path
	}
	return out, file
}

// compact returns JSON text without insignificant space.
func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, []byte(s)))
	return b.String()
}

func TestInspectAuthJS(t *testing.T) {
	vs, secretsFile := toolVectors(t)
	for _, name := range []string{"v5 profile", "v5 nested", "v5 unicode", "v5 large, chunked", "v5 A256GCM", "v5 no kid", "v4 nested", "v4 large, chunked", "v4 older secret, newest-first list"} {
		v := vs[name]
		now := time.Unix(v.Now, 0)
		args := []string{"inspect", "-format", v.Format, "-secrets-file", secretsFile(v), "-cookie-name", v.CookieName}
		// A bare token (chunks joined) and the Cookie header the app's
		// SessionStore wrote.
		for _, in := range []string{v.Cookie, "Cookie: theme=dark; " + v.Cookie} {
			r := runTool(t, in, nil, now, args...)
			require.Equal(t, 0, r.code, "%s: %s%s", name, r.out, r.err)
			f := r.fields()
			assert.Equal(t, "valid", f["result"], name)
			assert.Equal(t, compact(t, v.ClaimsJSON), f["claims"], name)
			assert.NotContains(t, f["cookies"], "theme")

			j := runTool(t, in, nil, now, append(args, "-json")...)
			require.Equal(t, 0, j.code, "%s: %s", name, j.err)
			assert.Equal(t, `{"claims":`+compact(t, v.ClaimsJSON)+"}\n", j.out, "%s: exactly the claims, numbers as written", name)
		}
		if !strings.Contains(v.Cookie, ";") {
			r := runTool(t, v.Token, nil, now, args...)
			require.Equal(t, 0, r.code, "%s: %s", name, r.err)
		}
	}

	v := vs["v5 profile"]
	f := runTool(t, v.Token, nil, time.Unix(v.Now, 0), "inspect", "-format", "authjs", "-secrets-file", secretsFile(v)).fields()
	assert.Equal(t, `{"alg":"dir","enc":"A256CBC-HS512","kid":"`+strings.SplitN(f["key"], "kid ", 2)[1][:86]+`"}`, f["header"])
	assert.True(t, strings.HasPrefix(f["key"], "secret 1 of 1 (kid "), f["key"])
	var claims map[string]any
	require.NoError(t, json.Unmarshal([]byte(v.ClaimsJSON), &claims))
	assert.Equal(t, claims["jti"], f["jti"])

	// A week-old token with a 30-day exp is valid: decode()'s rule, not
	// the library's native lifetimes.
	r := runTool(t, v.Token, nil, time.Unix(v.Now, 0).Add(7*24*time.Hour), "inspect", "-format", "authjs", "-secrets-file", secretsFile(v))
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.fields()["expires"], "(in 552h0m0s)")
	// Past exp + 15 s: rejected; within: accepted.
	exp := int64(claims["exp"].(float64))
	r = runTool(t, v.Token, nil, time.Unix(exp+14, 0), "inspect", "-format", "authjs", "-secrets-file", secretsFile(v))
	assert.Equal(t, 0, r.code, r.err)
	r = runTool(t, v.Token, nil, time.Unix(exp+15, 0), "inspect", "-format", "authjs", "-secrets-file", secretsFile(v), "-json")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.out)
	assert.Contains(t, r.err, "result: rejected: ErrExpired: ")
	r = runTool(t, v.Token, nil, time.Unix(exp+15, 0), "inspect", "-format", "authjs", "-secrets-file", secretsFile(v), "-leeway", "1m")
	assert.Equal(t, 0, r.code, "-leeway widens the tolerance: %s", r.err)
}

func TestInspectAuthJSRejections(t *testing.T) {
	vs, secretsFile := toolVectors(t)
	for _, name := range []string{"v5 wrong secret", "v5 another cookie name", "v5 no kid, second secret", "v5 expired", "v5 not yet valid", "v5 tampered tag", "v4 wrong secret", "v4 expired", "v5 token read as v4", "v4 token read as v5"} {
		v := vs[name]
		for _, asJSON := range []bool{false, true} {
			args := []string{"inspect", "-format", v.Format, "-secrets-file", secretsFile(v), "-cookie-name", v.CookieName}
			if asJSON {
				args = append(args, "-json")
			}
			r := runTool(t, v.Cookie, nil, time.Unix(v.Now, 0), args...)
			assert.Equal(t, 1, r.code, "%s: %s", name, r.err)
			assert.Empty(t, r.out, name)
			assert.Contains(t, r.err, "result: rejected: "+v.Expect+": ", name)
		}
	}
}

func TestInspectAuthJSSetup(t *testing.T) {
	vs, secretsFile := toolVectors(t)
	v5, v4 := vs["v5 profile, __Secure- name"], vs["v4 profile"]
	now5, now4 := time.Unix(v5.Now, 0), time.Unix(v4.Now, 0)
	s1 := "authjs-test-secret-1-0123456789abcdefghij"

	// The environment, as the app reads it.
	r := runTool(t, v5.Cookie, []string{"AUTH_SECRET", s1}, now5, "inspect", "-format", "authjs", "-cookie-name", v5.CookieName)
	assert.Equal(t, 0, r.code, r.err)
	assert.Empty(t, r.err)
	r = runTool(t, v4.Cookie, []string{"NEXTAUTH_SECRET", s1}, now4, "inspect", "-format", "nextauth4")
	assert.Equal(t, 0, r.code, r.err)
	r = runTool(t, v5.Cookie, []string{"AUTH_SECRET", s1, "AUTH_SECRET_1", "authjs-test-secret-4-abcdefghijklmnopqrstuv"}, now5, "inspect", "-format", "authjs", "-cookie-name", v5.CookieName)
	assert.Equal(t, 0, r.code, "AUTH_SECRET alone counts, as in next-auth 5: %s", r.err)
	assert.Contains(t, r.err, "warning: AUTH_SECRET_1 is set but ignored")

	for name, tc := range map[string]struct {
		env  []string
		args []string
		in   string
		want string
	}{
		"no secrets":                     {nil, []string{"-format", "authjs"}, v5.Cookie, "set AUTH_SECRET"},
		"secrets file and environment":   {[]string{"AUTH_SECRET", s1}, []string{"-format", "authjs", "-secrets-file", secretsFile(v5)}, v5.Cookie, "-secrets-file replaces"},
		"unreadable secrets file":        {nil, []string{"-format", "authjs", "-secrets-file", "/nonexistent/secrets"}, v5.Cookie, "no such file"},
		"weak secret in the environment": {[]string{"AUTH_SECRET", "short"}, []string{"-format", "authjs"}, v5.Cookie, "weak secret"},
		"keys file with authjs":          {[]string{"AUTH_SECRET", s1}, []string{"-format", "authjs", "-keys-file", "k"}, v5.Cookie, "does not take -keys-file"},
		"idle with nextauth4":            {[]string{"NEXTAUTH_SECRET", s1}, []string{"-format", "nextauth4", "-idle", "1m"}, v4.Cookie, "does not take -idle"},
		"secrets file with jwesession":   {nil, []string{"-secrets-file", "f"}, v5.Cookie, "does not take -secrets-file"},
		"unknown format":                 {nil, []string{"-format", "authjs5"}, v5.Cookie, "-format must be"},
		"prefix not guessed":             {[]string{"AUTH_SECRET", s1}, []string{"-format", "authjs"}, v5.Cookie, "the header holds __Secure-authjs.session-token"},
		"no input":                       {[]string{"AUTH_SECRET", s1}, []string{"-format", "authjs"}, "", "nothing on standard input"},
		"bad cookie name":                {[]string{"AUTH_SECRET", s1}, []string{"-format", "authjs", "-cookie-name", "a b"}, v5.Cookie, "CookieName"},
	} {
		r := runTool(t, tc.in, tc.env, now5, append([]string{"inspect"}, tc.args...)...)
		assert.Equal(t, 2, r.code, "%s: %s", name, r.err)
		assert.Empty(t, r.out, name)
		assert.Contains(t, r.err, tc.want, name)
	}
}

func TestInspectNativeJSON(t *testing.T) {
	env := []string{"JWESESSION_KEYS", "b:primary:" + secret2 + ",a:decrypt-only:" + secret1}
	kr := keys(t, env[1])
	a := newApp(t, kr, jwesession.Config{})
	b := &browser{}
	a.signIn(b, userData{User: "alice", Note: "<&>"})
	_, sin, _, err := a.read(b)
	require.NoError(t, err)
	tok := b.value(t, "__Host-session")
	r := runTool(t, tok, env, t0.Add(10*time.Minute), "inspect", "-json")
	require.Equal(t, 0, r.code, r.err)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.out), &got))
	assert.Equal(t, map[string]any{"user": "alice", "note": "<&>"}, got["claims"])
	assert.Equal(t, sin, got["sign_in_id"])
	assert.Len(t, got["session_id"], 22)
	assert.Equal(t, "2026-11-23T12:00:00Z", got["issued_at"])
	assert.Equal(t, "2026-11-23T12:30:00Z", got["expires_at"])
	assert.Equal(t, "2026-11-23T12:30:00Z", got["idle_expiry"])
	assert.Equal(t, "2026-11-23T12:00:00Z", got["signed_in_at"])
	assert.Equal(t, "2026-11-23T20:00:00Z", got["absolute_end"])
	assert.Equal(t, "b", got["key"])
	assert.Equal(t, "primary", got["key_state"])
	assert.Equal(t, "b", got["origin_key"])
	assert.Equal(t, "primary", got["origin_key_state"])
	assert.Contains(t, r.out, `"note":"\u003c\u0026\u003e"`, "the data as the token holds it")
	assert.Equal(t, 1, strings.Count(r.out, "\n"), "one line")

	r = runTool(t, tok, env, t0.Add(time.Hour), "inspect", "-json")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.out)
	assert.Equal(t, "result: rejected: ErrExpired: jwesession: session expired: idle timeout\n", r.err)
	r = runTool(t, tok, env, t0.Add(time.Hour), "inspect")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.err, "session id: ", "the report of a rejection goes to standard error")
}

func TestEncode(t *testing.T) {
	vs, secretsFile := toolVectors(t)
	v := vs["v5 profile"]
	file := secretsFile(v)
	claims := `{"name":"Ada <a@b>","n":1.50,"big":12345678901234567890,"jti":"x","iat":1}`
	r := runTool(t, claims, nil, t0, "encode", "-format", "authjs", "-secrets-file", file, "-max-age", "1h")
	require.Equal(t, 0, r.code, r.err)
	require.Equal(t, 1, strings.Count(r.out, "\n"))
	tok := strings.TrimSpace(r.out)
	assert.Equal(t, 5, len(strings.Split(tok, ".")))
	j := runTool(t, tok, nil, t0, "inspect", "-format", "authjs", "-secrets-file", file, "-json")
	require.Equal(t, 0, j.code, j.err)
	var got struct {
		Claims map[string]json.RawMessage `json:"claims"`
	}
	require.NoError(t, json.Unmarshal([]byte(j.out), &got))
	assert.Equal(t, `1.50`, string(got.Claims["n"]), "numbers as given")
	assert.Equal(t, `"Ada <a@b>"`, string(got.Claims["name"]), "no HTML escapes")
	assert.Equal(t, `12345678901234567890`, string(got.Claims["big"]))
	assert.Equal(t, strconv.FormatInt(t0.Unix(), 10), string(got.Claims["iat"]))
	assert.Equal(t, strconv.FormatInt(t0.Unix()+3600, 10), string(got.Claims["exp"]))
	assert.Regexp(t, `^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$`, string(got.Claims["jti"]))
	// The cookie name is the key's salt: under another name it does not open.
	o := runTool(t, tok, nil, t0, "inspect", "-format", "authjs", "-secrets-file", file, "-cookie-name", "__Secure-authjs.session-token")
	assert.Equal(t, 1, o.code)
	assert.Contains(t, o.err, "ErrUnknownKey")
	// NextAuth.js v4, the default 30 days.
	r = runTool(t, `{"sub":"1"}`, []string{"NEXTAUTH_SECRET", "authjs-test-secret-1-0123456789abcdefghij"}, t0, "encode", "-format", "nextauth4")
	require.Equal(t, 0, r.code, r.err)
	f := runTool(t, strings.TrimSpace(r.out), []string{"NEXTAUTH_SECRET", "authjs-test-secret-1-0123456789abcdefghij"}, t0, "inspect", "-format", "nextauth4").fields()
	assert.Equal(t, "2026-12-23T12:00:00Z (in 720h0m0s)", f["expires"])

	for name, tc := range map[string]struct {
		args []string
		in   string
		code int
	}{
		"no format":     {[]string{"-secrets-file", file}, claims, 2},
		"bad format":    {[]string{"-format", "jwesession", "-secrets-file", file}, claims, 2},
		"not an object": {[]string{"-format", "authjs", "-secrets-file", file}, `[1]`, 2},
		"not JSON":      {[]string{"-format", "authjs", "-secrets-file", file}, `{"a":`, 2},
		"no secrets":    {[]string{"-format", "authjs"}, claims, 2},
		"bad max-age":   {[]string{"-format", "authjs", "-secrets-file", file, "-max-age", "0s"}, claims, 2},
		"too large":     {[]string{"-format", "authjs", "-secrets-file", file}, `{"x":"` + strings.Repeat("x", 40000) + `"}`, 1},
	} {
		r := runTool(t, tc.in, nil, t0, append([]string{"encode"}, tc.args...)...)
		assert.Equal(t, tc.code, r.code, "%s: %s", name, r.err)
		assert.Empty(t, r.out, name)
		if name == "no format" {
			assert.Contains(t, r.err, "-format authjs or -format nextauth4 is required")
		}
	}
}
