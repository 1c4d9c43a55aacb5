package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

// The tool is driven through tool.run, as main calls it, with a fake
// environment, standard input and clock; its output is parsed back.

const (
	secret1 = "tool-test-secret-1-0123456789abcdefghij"
	secret2 = "tool-test-secret-2-klmnopqrstuvwxyzABCD"
	secret3 = "tool-test-secret-3-EFGHIJKLMNOPQRSTUVWX"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// result is one run of the tool.
type result struct {
	out, err string
	code     int
}

// fields parses "name: value" lines; the first of each name wins.
func (r result) fields() map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(r.out, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			if _, dup := m[k]; !dup {
				m[k] = v
			}
		}
	}
	return m
}

// runTool runs the tool with env (name, value pairs) at now.
func runTool(t *testing.T, stdin string, env []string, now time.Time, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) {
		for i := 0; i+1 < len(env); i += 2 {
			if env[i] == k {
				return env[i+1], true
			}
		}
		return "", false
	}
	code := tool{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, lookup: lookup, now: func() time.Time { return now }}.run(args)
	r := result{out.String(), errOut.String(), code}
	// Whatever the command, standard error never shows a secret; standard
	// output only shows the secrets of a keys file it prints.
	for _, s := range []string{secret1, secret2, secret3} {
		assert.NotContains(t, r.err, s, "stderr of %q", args)
		if len(args) > 0 && args[0] == "inspect" {
			assert.NotContains(t, r.out, s, "stdout of %q", args)
		}
	}
	return r
}

// userData is the applications' session data in these tests.
type userData struct {
	User string `json:"user"`
	Note string `json:"note,omitempty"`
}

// issue signs user in on a manager with kr at now and returns the
// response's Set-Cookie cookies.
func issue(t *testing.T, kr *jwesession.Keyring, cfg jwesession.Config, now time.Time, d userData) []*http.Cookie {
	t.Helper()
	cfg.Now = func() time.Time { return now }
	cfg.Logger = slog.New(slog.DiscardHandler)
	m, err := jwesession.New[userData](cfg, kr)
	require.NoError(t, err)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		require.NoError(t, s.SignIn(d))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cs := rec.Result().Cookies()
	require.NotEmpty(t, cs)
	return cs
}

// token returns a token for user under kr's primary, cookie "session".
func token(t *testing.T, kr *jwesession.Keyring, now time.Time, user string) string {
	t.Helper()
	return issue(t, kr, jwesession.Config{}, now, userData{User: user})[0].Value
}

func keys(t *testing.T, s string) *jwesession.Keyring {
	t.Helper()
	kr, err := jwesession.ParseKeys(s)
	require.NoError(t, err)
	return kr
}

func TestKeygen(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		r := runTool(t, "", nil, t0, "keygen")
		require.Equal(t, 0, r.code)
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		require.Len(t, lines, 2)
		secret := lines[0]
		assert.Len(t, secret, 43, "32 bytes in unpadded base64url")
		assert.False(t, seen[secret], "secrets are random")
		seen[secret] = true

		// The secret is accepted as JWESESSION_SECRET, and the entry as
		// JWESESSION_KEYS with the same key id, so switching logs nobody out.
		one, err := jwesession.KeyringFromSecret(secret)
		require.NoError(t, err)
		entry := strings.Replace(lines[1], ":decrypt-only:", ":primary:", 1)
		kr, err := jwesession.ParseKeys(entry)
		require.NoError(t, err)
		assert.Equal(t, one.Primary().ID, kr.Primary().ID)
		assert.Empty(t, r.err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"keygen", "extra"}, {"rotate"}, {"rotate", "sideways"}, {"rotate", "add", "extra"},
		{"inspect", "TOKEN"}, {"inspect", "-nope"}, {"rotate", "add", "-nope"}} {
		r := runTool(t, "", nil, t0, args...)
		assert.Equal(t, 2, r.code, "%q", args)
		assert.Contains(t, r.err, "usage:", "%q", args)
	}
	r := runTool(t, "", nil, t0, "help")
	assert.Equal(t, 0, r.code)
	for _, cmd := range []string{"keygen", "inspect", "rotate add|promote|retire|remove|emergency"} {
		assert.Contains(t, r.out, cmd)
	}
}

// ---------------------------------------------------------------------------
// inspect

func TestInspectValid(t *testing.T) {
	env := []string{"JWESESSION_KEYS", "b:primary:" + secret2 + ",a:decrypt-only:" + secret1}
	kr := keys(t, env[1])
	tok := token(t, kr, t0, "alice")
	r := runTool(t, tok+"\n", env, t0.Add(10*time.Minute), "inspect")
	require.Equal(t, 0, r.code, "%s%s", r.out, r.err)
	f := r.fields()
	assert.Equal(t, `{"alg":"dir","enc":"A256GCM","kid":"b"}`, f["header"])
	assert.Equal(t, "b (primary)", f["key"])
	assert.Len(t, f["session id"], 22)
	assert.Equal(t, "2026-11-23T12:00:00Z (10m0s ago)", f["issued"])
	assert.Equal(t, "2026-11-23T12:30:00Z (in 20m0s)", f["expires"])
	assert.Equal(t, "2026-11-23T12:00:00Z (10m0s ago)", f["signed in"])
	assert.Equal(t, "2026-11-23T20:00:00Z (in 7h50m0s)", f["absolute end"])
	assert.Equal(t, `{"user":"alice"}`, f["data"])
	assert.Equal(t, "valid", f["result"])

	// The library's own reading agrees.
	m, err := jwesession.New[userData](jwesession.Config{Now: func() time.Time { return t0 }}, kr)
	require.NoError(t, err)
	info, err := m.Inspect(tok)
	require.NoError(t, err)
	assert.Equal(t, info.SessionID, f["session id"])

	// -absolute changes the absolute end.
	r = runTool(t, tok, env, t0, "inspect", "-absolute", "2h")
	assert.Equal(t, "2026-11-23T14:00:00Z (in 2h0m0s)", r.fields()["absolute end"])
}

func TestInspectInputForms(t *testing.T) {
	env := []string{"JWESESSION_SECRET", secret1}
	kr, err := jwesession.KeyringFromSecret(secret1)
	require.NoError(t, err)
	tok := token(t, kr, t0, "alice")
	big := issue(t, kr, jwesession.Config{MaxChunks: 3, DevelopmentCookies: true}, t0, userData{User: "bob", Note: strings.Repeat("n", 5000)})
	require.Len(t, big, 2, "a chunked session")
	chunks := big[0].Name + "=" + big[0].Value + "; " + big[1].Name + "=" + big[1].Value
	for name, in := range map[string]string{
		"token":                  tok,
		"token with spaces":      "  " + tok + " \r\n",
		"name=value":             "session=" + tok,
		"__Host- cookie":         "__Host-session=" + tok,
		"__Secure- cookie":       "__Secure-session=" + tok,
		"Cookie header":          "Cookie: theme=dark; session=" + tok + "; _ga=GA1.2.3",
		"lower-case header":      "cookie: session=" + tok,
		"first of two wins":      "session=" + tok + "; session=other",
		"chunks":                 chunks,
		"chunks in a header":     "Cookie: x=1; " + chunks,
		"bare cookie over chunk": "session=" + tok + "; " + chunks,
	} {
		r := runTool(t, in, env, t0, "inspect")
		assert.Equal(t, 0, r.code, "%s: %s%s", name, r.out, r.err)
		assert.Equal(t, "valid", r.fields()["result"], name)
		want := "alice"
		if strings.HasPrefix(name, "chunks") {
			want = "bob"
		}
		assert.Contains(t, r.fields()["data"], `"user":"`+want+`"`, name)
	}
	for name, in := range map[string]string{
		"empty":        "",
		"two lines":    tok + "\n" + tok,
		"other cookie": "Cookie: theme=dark",
		"bad cookies":  "Cookie: =;=",
	} {
		r := runTool(t, in, env, t0, "inspect")
		assert.Equal(t, 1, r.code, name)
		assert.Empty(t, r.out, name)
		assert.Contains(t, r.err, "jwesession inspect:", name)
	}
	r := runTool(t, "Cookie: theme=dark", env, t0, "inspect", "-cookie-name", "sid")
	assert.Contains(t, r.err, "no cookie named sid, __Host-sid or __Secure-sid")
}

func TestInspectRejections(t *testing.T) {
	envKeys := "n:decrypt-only:" + secret3 + ",b:primary:" + secret2 + ",a:retired:" + secret1
	env := []string{"JWESESSION_KEYS", envKeys}
	kr := keys(t, envKeys)
	underB := token(t, kr, t0, "alice")
	underA := token(t, keys(t, "a:primary:"+secret1), t0, "old")
	underN := token(t, keys(t, "n:primary:"+secret3), t0, "new")
	underZ := token(t, keys(t, "z:primary:"+secret1), t0, "mallory")
	other := issue(t, kr, jwesession.Config{CookieName: "other"}, t0, userData{User: "x"})[0].Value
	for _, c := range []struct {
		name, in string
		now      time.Time
		args     []string
		code     int
		key      string
		result   string // prefix
		claims   bool
	}{
		{"newer decrypt-only", underN, t0, nil, 0, "n (decrypt-only)", "valid", true},
		{"retired", underA, t0, nil, 1, "a (retired)", `rejected: ErrRetiredKey: jwesession: retired key: key "a"`, true},
		{"unknown", underZ, t0, nil, 1, "z (not in the keyring Keyring[n:decrypt-only b:primary a:retired])", "rejected: ErrUnknownKey: ", false},
		{"other cookie name", other, t0, nil, 1, "b (primary)", "rejected: ErrDecrypt: ", false},
		{"right cookie name", other, t0, []string{"-cookie-name", "other"}, 0, "b (primary)", "valid", true},
		{"tampered", underB[:len(underB)-4] + "AAAA", t0, nil, 1, "b (primary)", "rejected: ErrDecrypt: ", false},
		{"idle expiry", underB, t0.Add(31 * time.Minute), nil, 1, "b (primary)", "rejected: ErrExpired: jwesession: session expired: idle timeout", true},
		{"not yet valid", underB, t0.Add(-time.Minute), nil, 1, "b (primary)", "rejected: ErrNotYetValid: ", true},
		{"garbage", "not-a-token", t0, nil, 1, "none (no readable kid)", "rejected: ErrMalformed: ", false},
		{"four segments", "a.b.c.d", t0, nil, 1, "none (no readable kid)", "rejected: ErrMalformed: ", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runTool(t, c.in, env, c.now, append([]string{"inspect"}, c.args...)...)
			assert.Equal(t, c.code, r.code, "%s%s", r.out, r.err)
			f := r.fields()
			assert.Equal(t, c.key, f["key"])
			assert.True(t, strings.HasPrefix(f["result"], c.result), "result %q, want %q…", f["result"], c.result)
			if c.claims {
				assert.NotEmpty(t, f["session id"])
				assert.NotEmpty(t, f["data"])
			} else {
				assert.NotContains(t, f, "session id")
			}
			if len(c.in) > 40 {
				assert.NotContains(t, r.out, c.in[20:40], "the token is not echoed")
			}
		})
	}
	t.Run("re-key", func(t *testing.T) {
		r := runTool(t, underB, []string{"JWESESSION_KEYS", "c:primary:" + secret3 + ",b:decrypt-only:" + secret2}, t0, "inspect")
		assert.Equal(t, 0, r.code)
		assert.Equal(t, "b (decrypt-only)", r.fields()["key"])
		assert.Equal(t, "valid; a read re-keys it under the primary c", r.fields()["result"])
	})
	t.Run("odd header", func(t *testing.T) {
		// A raw control byte (a terminal escape, say) is printed quoted.
		h := base64.RawURLEncoding.EncodeToString([]byte("{\"alg\":\"dir\x1b[2J\"}"))
		r := runTool(t, h+"..a.b.c", env, t0, "inspect")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, `"{\"alg\":\"dir\x1b[2J\"}"`, r.fields()["header"])
	})
}

func TestInspectKeySources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(file, []byte("# keys\nb:primary:"+secret2+"\na:decrypt-only:"+secret1+"\npromoted: 2026-11-23T11:00:00Z\n"), 0o600))
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("# keys\nb:primary:"+secret2+"\na:primary:"+secret1+"\n"), 0o600))
	tok := token(t, keys(t, "a:primary:"+secret1), t0, "alice")

	r := runTool(t, tok, nil, t0, "inspect", "-keys-file", file)
	assert.Equal(t, 0, r.code, r.err)
	assert.Equal(t, "a (decrypt-only)", r.fields()["key"])

	for name, c := range map[string]struct {
		env  []string
		args []string
		want string
	}{
		"no keys":             {nil, nil, "JWESESSION_SECRET"},
		"both variables":      {[]string{"JWESESSION_SECRET", secret1, "JWESESSION_KEYS", "a:primary:" + secret1}, nil, "both"},
		"file and a variable": {[]string{"JWESESSION_SECRET", secret1}, []string{"-keys-file", file}, "unset them"},
		"bad file":            {nil, []string{"-keys-file", bad}, "line 2, line 3"},
		"missing file":        {nil, []string{"-keys-file", filepath.Join(dir, "missing")}, "no such file"},
		"weak secret":         {[]string{"JWESESSION_SECRET", "short"}, nil, "weak secret"},
	} {
		r := runTool(t, tok, c.env, t0, append([]string{"inspect"}, c.args...)...)
		assert.Equal(t, 1, r.code, name)
		assert.Empty(t, r.out, name)
		assert.Contains(t, r.err, c.want, name)
	}
}

// ---------------------------------------------------------------------------
// rotate

// rotateFile runs one rotate step on content and returns the result and
// the next file parsed (nil when refused).
func rotateFile(t *testing.T, content string, now time.Time, args ...string) (result, *jwesession.Keyring) {
	t.Helper()
	r := runTool(t, content, nil, now, append([]string{"rotate"}, args...)...)
	if r.code != 0 {
		assert.Empty(t, r.out, "nothing on stdout when refused")
		return r, nil
	}
	kr, err := jwesession.ParseKeysFile(r.out)
	require.NoError(t, err, "the printed keys file parses:\n%s", r.out)
	return r, kr
}

// states returns "id:state …" of kr.
func states(kr *jwesession.Keyring) string {
	var s []string
	for _, k := range kr.Keys() {
		s = append(s, k.ID+":"+k.State.String())
	}
	return strings.Join(s, " ")
}

// readWith reads a Cookie header's session on a manager with kr at now,
// as an application would, and returns the user, the cookie to send next
// and the session's error.
func readWith(t *testing.T, kr *jwesession.Keyring, now time.Time, cookie string) (string, string, error) {
	t.Helper()
	m, err := jwesession.New[userData](jwesession.Config{DevelopmentCookies: true, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}, kr)
	require.NoError(t, err)
	var user string
	var rerr error
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		d, _ := s.Get()
		user, rerr = d.User, s.Err()
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge > 0 {
			cookie = c.Name + "=" + c.Value
		}
	}
	return user, cookie, rerr
}

// The whole procedure with the tool's files: add, promote, retire (refused
// until safe), remove. A session from before the rotation lives through
// it; one left alone under the old key ends when the key is retired.
func TestRotateProcedure(t *testing.T) {
	start := "# production keys, newest first\n# rotated by jwesession rotate\nold:primary:" + secret1 + "\n"
	startKR, err := jwesession.ParseKeysFile(start)
	require.NoError(t, err)
	active := "session=" + token(t, startKR, t0, "alice")
	idle := "session=" + token(t, startKR, t0, "idle")

	// add
	r, kr := rotateFile(t, start, t0, "add")
	require.Equal(t, 0, r.code, r.err)
	newID := kr.Keys()[0].ID
	assert.Equal(t, newID+":decrypt-only old:primary", states(kr))
	assert.True(t, strings.HasPrefix(r.out, "# production keys, newest first\n# rotated by jwesession rotate\n"+newID+":decrypt-only:"), "comments kept, new key newest:\n%s", r.out)
	assert.Contains(t, r.out, "old:primary:"+secret1+"\n", "old entries kept byte for byte")
	assert.Contains(t, r.err, "added key "+newID)
	assert.Contains(t, r.err, "rotate promote")
	newSecret := strings.Split(strings.Split(r.out, newID+":decrypt-only:")[1], "\n")[0]
	assert.Len(t, newSecret, 43)
	assert.NotContains(t, r.err, newSecret)
	user, active, err := readWith(t, kr, t0.Add(time.Minute), active)
	require.NoError(t, err)
	assert.Equal(t, "alice", user)

	// add again before promoting: refused
	again, _ := rotateFile(t, r.out, t0, "add")
	assert.Equal(t, 1, again.code)
	assert.Contains(t, again.err, "rotate promote")

	// promote
	tp := t0.Add(10 * time.Minute)
	r, kr = rotateFile(t, r.out, tp, "promote")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, newID+":primary old:decrypt-only", states(kr))
	assert.Equal(t, tp, kr.PromotedAt())
	assert.Contains(t, r.out, "\npromoted: 2026-11-23T12:10:00Z\n")
	safe, ok := kr.SafeToRetireAt(8*time.Hour, 30*time.Second)
	require.True(t, ok)
	assert.Contains(t, r.err, "safe to retire from "+safe.UTC().Format(time.RFC3339))
	user, active, err = readWith(t, kr, tp.Add(time.Minute), active)
	require.NoError(t, err)
	assert.Equal(t, "alice", user)
	_, _, _ = readWith(t, kr, tp.Add(time.Minute), idle) // read once, but its browser never got the re-keyed cookie

	// promote again: nothing to promote
	again, _ = rotateFile(t, r.out, tp, "promote")
	assert.Equal(t, 1, again.code)
	assert.Contains(t, again.err, "rotate add")

	// retire: refused before the safe time, allowed at it
	promoted := r.out
	for _, at := range []time.Time{tp, tp.Add(8 * time.Hour), safe.Add(-time.Second)} {
		r, _ = rotateFile(t, promoted, at, "retire")
		assert.Equal(t, 1, r.code, "at %v", at)
		assert.Contains(t, r.err, "not safe to retire before "+safe.UTC().Format(time.RFC3339))
		assert.Contains(t, r.err, "-force")
	}
	r, _ = rotateFile(t, promoted, tp.Add(time.Hour+31*time.Second), "retire", "-absolute", "1h")
	assert.Equal(t, 0, r.code, "with the application's shorter absolute lifetime: %s", r.err)
	r, kr = rotateFile(t, promoted, safe, "retire")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, newID+":primary old:retired", states(kr))
	assert.Contains(t, r.err, "rotate remove")
	assert.Contains(t, r.out, "promoted: 2026-11-23T12:10:00Z", "the promotion time stays")
	// Under the retired keyring the re-keyed session lives on; the idle
	// one, still under the old key, is rejected as retired (by the safe
	// time it has expired anyway).
	user, active, err = readWith(t, kr, tp.Add(5*time.Minute), active)
	require.NoError(t, err)
	assert.Equal(t, "alice", user)
	_, _, err = readWith(t, kr, tp.Add(5*time.Minute), idle)
	assert.ErrorIs(t, err, jwesession.ErrRetiredKey)

	// remove
	r, kr = rotateFile(t, r.out, safe, "remove")
	final := r.out
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, newID+":primary", states(kr))
	assert.NotContains(t, r.out, secret1)
	assert.Contains(t, r.out, "# production keys, newest first\n")
	_, _, err = readWith(t, kr, tp.Add(6*time.Minute), active)
	require.NoError(t, err)
	_, _, err = readWith(t, kr, tp.Add(6*time.Minute), idle)
	assert.ErrorIs(t, err, jwesession.ErrUnknownKey)

	// nothing left to retire or remove
	for _, step := range []string{"retire", "remove"} {
		r, _ = rotateFile(t, final, safe, step)
		assert.Equal(t, 1, r.code, step)
		assert.Contains(t, r.err, "refused: n", step)
	}
}

func TestRotateRetireRules(t *testing.T) {
	promoted := "b:primary:" + secret2 + "\na:decrypt-only:" + secret1 + "\npromoted: 2026-11-23T12:00:00Z\n"
	noTime := "b:primary:" + secret2 + "\na:decrypt-only:" + secret1 + "\n"
	waiting := "c:decrypt-only:" + secret3 + "\nb:primary:" + secret2 + "\n"
	for _, c := range []struct {
		name, in string
		args     []string
		code     int
		states   string
		msg      string
	}{
		{"no promotion time", noTime, nil, 1, "", "no promotion time"},
		{"no promotion time, forced", noTime, []string{"-force"}, 0, "b:primary a:retired", "forced: sessions still under a are signed out"},
		{"leaked old key, forced early", promoted, []string{"-force", "-key", "a"}, 0, "b:primary a:retired", "forced"},
		{"old key by id, early", promoted, []string{"-key", "a"}, 1, "", "not safe to retire before 2026-11-23T20:00:31Z"},
		{"leaked newer key", waiting, []string{"-key", "c"}, 1, "", "-force retires it now"},
		{"leaked newer key, forced", waiting, []string{"-key", "c", "-force"}, 0, "c:retired b:primary", "retired c"},
		{"the primary", promoted, []string{"-key", "b", "-force"}, 1, "", "rotate emergency"},
		{"unknown key", promoted, []string{"-key", "zz", "-force"}, 1, "", "no key zz"},
		{"already retired", "b:primary:" + secret2 + "\na:retired:" + secret1 + "\n", []string{"-key", "a", "-force"}, 1, "", "already retired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, kr := rotateFile(t, c.in, time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC), append([]string{"retire"}, c.args...)...)
			assert.Equal(t, c.code, r.code, r.err)
			assert.Contains(t, r.err, c.msg)
			if c.code == 0 {
				assert.Equal(t, c.states, states(kr))
			}
		})
	}
}

func TestRotateEmergency(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("b:primary:"+secret2+"\na:decrypt-only:"+secret1+"\n"), 0o600))
	r, kr := rotateFile(t, "", t0, "emergency", "-keys-file", file)
	require.Equal(t, 0, r.code, r.err)
	require.Len(t, kr.Keys(), 1)
	assert.Equal(t, jwesession.Primary, kr.Keys()[0].State)
	assert.True(t, strings.HasPrefix(r.out, "# emergency replacement 2026-11-23T12:00:00Z"))
	for _, s := range []string{secret1, secret2} {
		assert.NotContains(t, r.out, s)
	}
	assert.Contains(t, r.err, "every session under an old key ends")
	// Nothing under an old key opens.
	old := "session=" + token(t, keys(t, "b:primary:"+secret2), t0, "alice")
	_, _, err := readWith(t, kr, t0, old)
	assert.ErrorIs(t, err, jwesession.ErrUnknownKey)

	r, kr = rotateFile(t, "", t0, "emergency", "-id", "k2026-11")
	require.Equal(t, 0, r.code)
	assert.Equal(t, "k2026-11:primary", states(kr))
	r2, _ := rotateFile(t, "", t0, "emergency")
	assert.NotEqual(t, r.out, r2.out, "a new secret each time")
}

func TestRotateFileDetails(t *testing.T) {
	t.Run("flags before or after the step, file or stdin", func(t *testing.T) {
		content := "-:primary:" + secret1 + "\n"
		file := filepath.Join(t.TempDir(), "keys")
		require.NoError(t, os.WriteFile(file, []byte(content), 0o600))
		for _, args := range [][]string{{"add", "-keys-file", file, "-id", "k2"}, {"-keys-file", file, "-id", "k2", "add"}, {"add", "-id", "k2"}} {
			r, kr := rotateFile(t, content, t0, args...)
			require.Equal(t, 0, r.code, "%q: %s", args, r.err)
			assert.Equal(t, "k2:decrypt-only", states(kr)[:len("k2:decrypt-only")], "%q", args)
		}
	})
	t.Run("a - id stays -", func(t *testing.T) {
		content := "k2:decrypt-only:" + secret2 + "\r\n-:primary:" + secret1 + "\r\n"
		r, kr := rotateFile(t, content, t0, "promote")
		require.Equal(t, 0, r.code, r.err)
		s, err := jwesession.NewSecret(secret1)
		require.NoError(t, err)
		assert.Equal(t, "k2:primary "+jwesession.DefaultKeyID(s)+":decrypt-only", states(kr))
		assert.Contains(t, r.out, "\n-:decrypt-only:"+secret1+"\n")
		assert.Contains(t, r.err, jwesession.DefaultKeyID(s)+" is decrypt-only")
	})
	t.Run("promoted line replaced in place", func(t *testing.T) {
		content := "# keys\npromoted: 2026-01-01T00:00:00Z\nk2:decrypt-only:" + secret2 + "\nk1:primary:" + secret1 + "\n# end\n"
		r, _ := rotateFile(t, content, t0, "promote")
		require.Equal(t, 0, r.code, r.err)
		assert.Equal(t, "# keys\npromoted: 2026-11-23T12:00:00Z\nk2:primary:"+secret2+"\nk1:decrypt-only:"+secret1+"\n# end\n", r.out)
	})
	t.Run("promoted line added after the keys", func(t *testing.T) {
		content := "k2:decrypt-only:" + secret2 + "\nk1:primary:" + secret1 + "\n# end\n"
		r, _ := rotateFile(t, content, t0.Add(1500*time.Millisecond), "promote")
		require.Equal(t, 0, r.code, r.err)
		assert.Equal(t, "k2:primary:"+secret2+"\nk1:decrypt-only:"+secret1+"\npromoted: 2026-11-23T12:00:01Z\n# end\n", r.out)
	})
	t.Run("an invalid file is refused, naming the line", func(t *testing.T) {
		r, _ := rotateFile(t, "k2:primary:"+secret2+"\nk1:primary:"+secret1+"\n", t0, "add")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.err, "line 1, line 2")
	})
	t.Run("an id already in use", func(t *testing.T) {
		r, _ := rotateFile(t, "k1:primary:"+secret1+"\n", t0, "add", "-id", "k1")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.err, "already has a key k1")
	})
	t.Run("flags for the wrong step", func(t *testing.T) {
		for _, args := range [][]string{{"add", "-key", "k1"}, {"promote", "-id", "x"}} {
			r, _ := rotateFile(t, "k1:primary:"+secret1+"\n", t0, args...)
			assert.Equal(t, 1, r.code, "%q", args)
		}
	})
}

// The data line is the session data as JSON, one line, whatever it holds.
func TestInspectDataIsCompactJSON(t *testing.T) {
	kr, err := jwesession.KeyringFromSecret(secret1)
	require.NoError(t, err)
	tok := token(t, kr, t0, "a \"quoted\" name")
	r := runTool(t, tok, []string{"JWESESSION_SECRET", secret1}, t0, "inspect")
	var d userData
	require.NoError(t, json.Unmarshal([]byte(r.fields()["data"]), &d))
	assert.Equal(t, "a \"quoted\" name", d.User)
}
