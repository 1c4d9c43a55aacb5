package jwesession

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/hkdf"
)

// Helpers of this file are prefixed rot; lifetime_test.go uses them too.

// rotToken returns the value of m's (bare) session cookie in a Cookie header.
func rotToken(t testing.TB, m *Manager[testData], cookie string) string {
	t.Helper()
	for _, p := range strings.Split(cookie, "; ") {
		if k, v, ok := strings.Cut(p, "="); ok && k == m.CookieName() {
			return v
		}
	}
	t.Fatalf("no %s cookie in %q", m.CookieName(), cookie)
	return ""
}

// rotKid returns the kid of a token's protected header, checking that the
// header is exactly alg, enc and kid.
func rotKid(t testing.TB, tok string) string {
	t.Helper()
	h, _, ok := strings.Cut(tok, ".")
	require.True(t, ok, "not a compact token")
	b, err := base64.RawURLEncoding.DecodeString(h)
	require.NoError(t, err)
	var hdr map[string]string
	require.NoError(t, json.Unmarshal(b, &hdr))
	require.Len(t, hdr, 3, "header %s", b)
	assert.Equal(t, "dir", hdr["alg"])
	assert.Equal(t, "A256GCM", hdr["enc"])
	return hdr["kid"]
}

// rotClaims decrypts tok with go-jose under the key its kid names in m's
// current keyring (retired keys included), without touching any counter.
func rotClaims(t testing.TB, m *Manager[testData], tok string) envelope {
	t.Helper()
	dk, ok := m.core.ring.Load().byID[rotKid(t, tok)]
	require.True(t, ok, "kid not in the keyring")
	obj, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	require.NoError(t, err)
	pt, err := obj.Decrypt(dk.raw)
	require.NoError(t, err)
	var env envelope
	require.NoError(t, json.Unmarshal(pt, &env))
	return env
}

// rotStats returns m's counters for key id.
func rotStats(t testing.TB, m *Manager[testData], id string) KeyStats {
	t.Helper()
	for _, s := range m.Stats() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no key %q in Stats", id)
	return KeyStats{}
}

// rotSessionCookie returns the one session-token Set-Cookie of rec, parsed.
// Besides it, rec may hold only a tombstone (a sign-in over another ends
// it) and deletions.
func rotSessionCookie(t testing.TB, m *Manager[testData], rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	var found []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		switch {
		case c.Name == m.CookieName():
			found = append(found, c)
		case c.Name != m.core.names.tombstone && c.MaxAge >= 0:
			t.Errorf("unexpected Set-Cookie %s", c.Name)
		}
	}
	require.Len(t, found, 1, "exactly one session token: %q", setCookies(rec))
	return found[0]
}

// rotUpdate runs a request that increments the session's N (a real write)
// and returns its response.
func rotUpdate(t testing.TB, m *Manager[testData], cookie string) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Update(func(d *testData) error { d.N++; return nil }))
	})
}

// rotNoTokenWritten fails if a read's response sets or deletes any form of
// the session token (a companion is allowed).
func rotNoTokenWritten(t testing.TB, m *Manager[testData], rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		assert.Equal(t, m.core.names.companion, c.Name, "%s: a read writes only a companion, got %q", what, setCookies(rec))
	}
}

// rotSameKeys fails unless a and b hold the same ids, states and secrets
// (Keys holding Secrets are never reflect.DeepEqual).
func rotSameKeys(t testing.TB, a, b []Key) {
	t.Helper()
	require.Equal(t, len(a), len(b))
	for i := range a {
		assert.Equal(t, a[i].ID, b[i].ID)
		assert.Equal(t, a[i].State, b[i].State)
		assert.Equal(t, a[i].Secret.bytes(), b[i].Secret.bytes(), "secret of %s", a[i].ID)
	}
}

// rotIssue signs user in on a manager of its own (same cookie name, same
// clock as m) whose keyring is kr, and returns the Cookie header: a token
// sealed under kr's primary, for a manager whose keyring holds that key in
// another state.
func rotIssue(t testing.TB, m *Manager[testData], kr *Keyring, user string) string {
	t.Helper()
	other, err := New[testData](m.core.cfg, kr) // same name, clock, chunks

	require.NoError(t, err)
	return signIn(t, other, user)
}

// rotLeakForms returns the forms in which a secret must never appear in
// output: the bytes themselves, hex, base64 (std and url, padded or not),
// and Go's decimal []byte rendering of a prefix.
func rotLeakForms(secret string) []string {
	b := []byte(secret)
	dec := strings.Trim(fmt.Sprint(b[:8]), "[]")
	return []string{
		secret,
		hex.EncodeToString(b),
		strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		dec,
	}
}

// rotFindSecret returns the first form in which out holds secret: the
// bytes, a hex or base64 form, Go's decimal rendering of its bytes, or any
// 8-byte piece of it.
func rotFindSecret(out, secret string) (form string, at int) {
	forms := rotLeakForms(secret)
	for i := 0; i+8 <= len(secret); i++ {
		forms = append(forms, secret[i:i+8])
	}
	for _, f := range forms {
		if i := strings.Index(out, f); i >= 0 {
			return f, i
		}
	}
	return "", -1
}

// rotAssertNoSecret fails if out holds secret in any form rotFindSecret
// knows.
func rotAssertNoSecret(t testing.TB, out, secret, what string) {
	t.Helper()
	if f, i := rotFindSecret(out, secret); i >= 0 {
		lo, hi := max(0, i-80), min(len(out), i+len(f)+40)
		t.Errorf("%s holds the secret (as %q): …%s…", what, f, out[lo:hi])
	}
}

// rotAssertHint checks that msg contains hint, or matches it when hint is
// "re:" and a regular expression.
func rotAssertHint(t testing.TB, msg, hint string) {
	t.Helper()
	if re, ok := strings.CutPrefix(hint, "re:"); ok {
		assert.Regexp(t, re, msg)
		return
	}
	assert.Contains(t, msg, hint)
}

// ---------------------------------------------------------------------------
// Construction errors

func TestKeyringConstructionErrors(t *testing.T) {
	a, b := mustSecret(t, secretA), mustSecret(t, secretB)
	strong31 := secretA[:31]
	cases := []struct {
		name  string
		build func() error
		want  error
		hints []string // what the message must say so the user can fix it
	}{
		{"no keys", func() error { _, err := NewKeyring(); return err }, ErrNoSecret, []string{"no keys", "JWESESSION_SECRET"}},
		{"key without secret", func() error {
			_, err := NewKeyring(Key{ID: "a", State: Primary})
			return err
		}, ErrNoSecret, []string{"key 1", "NewSecret"}},
		{"second key without secret", func() error {
			_, err := NewKeyring(Key{ID: "a", State: Primary, Secret: a}, Key{ID: "b", State: DecryptOnly})
			return err
		}, ErrNoSecret, []string{"key 2"}},
		{"empty secret", func() error { _, err := NewSecret(""); return err }, ErrNoSecret, nil},
		{"empty secret via KeyringFromSecret", func() error { _, err := KeyringFromSecret(""); return err }, ErrNoSecret, nil},
		{"31-byte secret", func() error { _, err := NewSecret(strong31); return err }, ErrWeakSecret, []string{"31", "32", "generate"}},
		{"40 times a", func() error { _, err := NewSecret(strings.Repeat("a", 40)); return err }, ErrWeakSecret, []string{"distinct", "generate"}},
		{"abab", func() error { _, err := NewSecret(strings.Repeat("ab", 20)); return err }, ErrWeakSecret, []string{"distinct"}},
		{"repeated word", func() error { _, err := NewSecret(strings.Repeat("password", 5)); return err }, ErrWeakSecret, []string{"distinct"}},
		{"repeated digits", func() error { _, err := NewSecret(strings.Repeat("0123456789", 4)); return err }, ErrWeakSecret, []string{"distinct"}},
		{"11 distinct bytes", func() error { _, err := NewSecret(strings.Repeat("abcdefghijk", 4)); return err }, ErrWeakSecret, []string{"11 distinct"}},
		{"weak via KeyringFromSecret", func() error { _, err := KeyringFromSecret(strings.Repeat("a", 40)); return err }, ErrWeakSecret, nil},
		{"duplicate ids", func() error {
			_, err := NewKeyring(Key{ID: "k", State: Primary, Secret: a}, Key{ID: "k", State: DecryptOnly, Secret: b})
			return err
		}, ErrInvalidKeyring, []string{"same id", `re:\b1 and (key |entry )?2\b`}},
		{"duplicate default ids", func() error {
			_, err := NewKeyring(Key{State: Primary, Secret: a}, Key{State: DecryptOnly, Secret: mustSecret(t, secretA)})
			return err
		}, ErrInvalidKeyring, []string{`re:\b1 and (key |entry )?2\b`}},
		{"same secret twice", func() error {
			_, err := NewKeyring(Key{ID: "k1", State: Primary, Secret: a}, Key{ID: "k2", State: DecryptOnly, Secret: mustSecret(t, secretA)})
			return err
		}, ErrInvalidKeyring, []string{"same secret", `re:\b1 and (key |entry )?2\b`}},
		{"zero primaries", func() error {
			_, err := NewKeyring(Key{ID: "k1", State: DecryptOnly, Secret: a}, Key{ID: "k2", State: Retired, Secret: b})
			return err
		}, ErrInvalidKeyring, []string{"0 primary", "exactly one"}},
		{"two primaries", func() error {
			_, err := NewKeyring(Key{ID: "k1", State: Primary, Secret: a}, Key{ID: "k2", State: Primary, Secret: b})
			return err
		}, ErrInvalidKeyring, []string{"2 primary", "exactly one"}},
		{"id with a space", func() error {
			_, err := NewKeyring(Key{ID: "k 1", State: Primary, Secret: a})
			return err
		}, ErrInvalidKeyring, []string{"1 to 32", "A-Za-z0-9._-"}},
		{"id with a colon", func() error {
			_, err := NewKeyring(Key{ID: "k:1", State: Primary, Secret: a})
			return err
		}, ErrInvalidKeyring, []string{"1 to 32"}},
		{"id with a quote", func() error {
			_, err := NewKeyring(Key{ID: `k"1`, State: Primary, Secret: a})
			return err
		}, ErrInvalidKeyring, []string{"1 to 32"}},
		{"non-ASCII id", func() error {
			_, err := NewKeyring(Key{ID: "schlüssel", State: Primary, Secret: a})
			return err
		}, ErrInvalidKeyring, []string{"1 to 32"}},
		{"33-char id", func() error {
			_, err := NewKeyring(Key{ID: strings.Repeat("k", 33), State: Primary, Secret: a})
			return err
		}, ErrInvalidKeyring, []string{"1 to 32"}},
		{"zero state", func() error {
			_, err := NewKeyring(Key{ID: "k1", Secret: a})
			return err
		}, ErrInvalidKeyring, []string{"state", "Primary"}},
		{"unknown state value", func() error {
			_, err := NewKeyring(Key{ID: "k1", State: KeyState(9), Secret: a})
			return err
		}, ErrInvalidKeyring, []string{"state"}},
		{"unknown state name", func() error { _, err := ParseKeyState("active"); return err }, ErrInvalidKeyring, []string{"primary, decrypt-only or retired"}},
		{"manager without keyring", func() error { _, err := New[testData](Config{}, nil); return err }, ErrNoSecret, []string{"KeyringFromEnv"}},
		{"SetKeyring nil", func() error {
			m, _ := newTestManager(t, Config{}, nil)
			return m.SetKeyring(nil)
		}, ErrInvalidKeyring, nil},
		{"SetKeyring zero Keyring", func() error {
			m, _ := newTestManager(t, Config{}, nil)
			return m.SetKeyring(&Keyring{})
		}, ErrInvalidKeyring, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.build()
			require.Error(t, err)
			assert.ErrorIs(t, err, c.want)
			msg := err.Error()
			assert.Contains(t, msg, "jwesession:")
			for _, h := range c.hints {
				rotAssertHint(t, msg, h)
			}
			for _, s := range []string{secretA, secretB, strong31} {
				rotAssertNoSecret(t, msg, s, "error")
			}
		})
	}
}

func TestKeyringConstructionBoundaries(t *testing.T) {
	// 32 bytes and 12 distinct byte values are enough.
	s := strings.Repeat("abcdefghijkl", 3)[:32]
	_, err := NewSecret(s)
	require.NoError(t, err)
	// 32-char id is the longest accepted; every allowed character works.
	kr, err := NewKeyring(
		Key{ID: strings.Repeat("k", 32), State: DecryptOnly, Secret: mustSecret(t, secretA)},
		Key{ID: "Az09._-", State: Primary, Secret: mustSecret(t, secretB)},
		Key{ID: "x", State: Retired, Secret: mustSecret(t, secretC)},
	)
	require.NoError(t, err)
	assert.Equal(t, "Az09._-", kr.Primary().ID)
	assert.Len(t, kr.Keys(), 3)

	// Keys returns a copy: changing it does not change the keyring.
	ks := kr.Keys()
	ks[1].State = Retired
	assert.Equal(t, Primary, kr.Keys()[1].State)
}

// ---------------------------------------------------------------------------
// ParseKeys, ParseKeysFile, KeyringFromLookup

func TestParseKeysValid(t *testing.T) {
	t.Run("three states, newest first", func(t *testing.T) {
		kr, err := ParseKeys("new:decrypt-only:" + secretC + ",cur:primary:" + secretB + ",old:retired:" + secretA)
		require.NoError(t, err)
		ks := kr.Keys()
		require.Len(t, ks, 3)
		assert.Equal(t, []string{"new", "cur", "old"}, []string{ks[0].ID, ks[1].ID, ks[2].ID})
		assert.Equal(t, []KeyState{DecryptOnly, Primary, Retired}, []KeyState{ks[0].State, ks[1].State, ks[2].State})
		assert.Equal(t, []byte(secretC), ks[0].Secret.bytes())
		assert.Equal(t, []byte(secretB), ks[1].Secret.bytes())
		assert.Equal(t, []byte(secretA), ks[2].Secret.bytes())
		assert.Equal(t, "cur", kr.Primary().ID)
		assert.Equal(t, "Keyring[new:decrypt-only cur:primary old:retired]", kr.String())
	})
	t.Run("dash is the default id", func(t *testing.T) {
		kr, err := ParseKeys("-:primary:" + secretA)
		require.NoError(t, err)
		assert.Equal(t, DefaultKeyID(mustSecret(t, secretA)), kr.Primary().ID)
	})
	t.Run("spaces around id and state", func(t *testing.T) {
		kr, err := ParseKeys("b : primary :" + secretB + ", a:decrypt-only:" + secretA)
		require.NoError(t, err)
		ks := kr.Keys()
		assert.Equal(t, "b", ks[0].ID)
		assert.Equal(t, "a", ks[1].ID)
		assert.Equal(t, []byte(secretB), ks[0].Secret.bytes())
	})
	t.Run("secret holding colons", func(t *testing.T) {
		sec := "colon:secret:0123456789:abcdefghijkl"
		kr, err := ParseKeys("k:primary:" + sec)
		require.NoError(t, err)
		assert.Equal(t, []byte(sec), kr.Primary().Secret.bytes())
	})
}

func TestParseKeysErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     error
		hints    []string
	}{
		{"empty", "", ErrNoSecret, []string{"empty"}},
		{"blank", "  ", ErrNoSecret, nil},
		{"no colons", "a", ErrInvalidKeyring, []string{"entry 1", "ID:STATE:SECRET"}},
		{"no secret part", "a:primary", ErrInvalidKeyring, []string{"entry 1", "ID:STATE:SECRET"}},
		{"empty secret", "a:primary:", ErrNoSecret, []string{"entry 1"}},
		{"trailing comma", "a:primary:" + secretA + ",", ErrInvalidKeyring, []string{"entry 2", "ID:STATE:SECRET"}},
		{"short secret", "a:primary:" + secretA + ",b:decrypt-only:short-secret", ErrWeakSecret, []string{"entry 2", "32"}},
		{"pattern secret", "a:primary:" + secretA + ",b:decrypt-only:" + strings.Repeat("xy", 20), ErrWeakSecret, []string{"entry 2", "distinct"}},
		{"bad id", "a:primary:" + secretA + ",b/1:decrypt-only:" + secretB, ErrInvalidKeyring, []string{"entry 2", "A-Za-z0-9._-"}},
		{"33-char id", strings.Repeat("k", 33) + ":primary:" + secretA, ErrInvalidKeyring, []string{"entry 1", "1 to 32"}},
		{"unknown state", "a:primary:" + secretA + ",b:active:" + secretB, ErrInvalidKeyring, []string{"entry 2", "primary, decrypt-only or retired"}},
		{"two primaries", "a:primary:" + secretA + ",b:primary:" + secretB, ErrInvalidKeyring, []string{"2 primary"}},
		{"no primary", "a:decrypt-only:" + secretA + ",b:retired:" + secretB, ErrInvalidKeyring, []string{"0 primary"}},
		{"duplicate id", "a:primary:" + secretA + ",a:decrypt-only:" + secretB, ErrInvalidKeyring, []string{"same id", `re:\b1 and (key |entry )?2\b`}},
		{"same secret", "a:primary:" + secretA + ",b:decrypt-only:" + secretA, ErrInvalidKeyring, []string{"same secret", `re:\b1 and (key |entry )?2\b`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kr, err := ParseKeys(c.in)
			require.Error(t, err)
			assert.Nil(t, kr)
			assert.ErrorIs(t, err, c.want)
			for _, h := range c.hints {
				rotAssertHint(t, err.Error(), h)
			}
			for _, s := range []string{secretA, secretB} {
				rotAssertNoSecret(t, err.Error(), s, "error")
			}
		})
	}
}

func TestParseKeysFile(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		content := "# jwesession keys, newest first\n" +
			"\n" +
			"b:primary:" + secretB + "\r\n" +
			"   # an indented comment\n" +
			"  \t\n" +
			"-:decrypt-only:" + secretA + "\n" +
			"c:retired:" + secretC // no final newline
		kr, err := ParseKeysFile(content)
		require.NoError(t, err)
		ks := kr.Keys()
		require.Len(t, ks, 3)
		assert.Equal(t, "b", ks[0].ID)
		assert.Equal(t, Primary, ks[0].State)
		assert.Equal(t, []byte(secretB), ks[0].Secret.bytes(), "CR of a CRLF line is not part of the secret")
		assert.Equal(t, DefaultKeyID(mustSecret(t, secretA)), ks[1].ID)
		assert.Equal(t, DecryptOnly, ks[1].State)
		assert.Equal(t, Retired, ks[2].State)
	})
	t.Run("same keys as ParseKeys", func(t *testing.T) {
		env := "b:primary:" + secretB + ",a:decrypt-only:" + secretA
		a, err := ParseKeys(env)
		require.NoError(t, err)
		b, err := ParseKeysFile(strings.ReplaceAll(env, ",", "\n") + "\n")
		require.NoError(t, err)
		rotSameKeys(t, a.Keys(), b.Keys())
		assert.True(t, a.equal(b))
	})
	errCases := []struct {
		name, in string
		want     error
		hints    []string
	}{
		{"empty", "", ErrNoSecret, nil},
		{"only comments", "# nothing yet\n\n# still nothing\n", ErrNoSecret, nil},
		{"bad line", "# keys\n\nb:primary:" + secretB + "\na-decrypt-only-" + secretA + "\n", ErrInvalidKeyring, []string{"line 4", "ID:STATE:SECRET"}},
		{"weak secret", "# keys\nb:primary:" + secretB + "\n\na:decrypt-only:" + strings.Repeat("a", 40) + "\n", ErrWeakSecret, []string{"line 4"}},
		{"unknown state", "b:primary:" + secretB + "\n# old\na:old:" + secretA + "\n", ErrInvalidKeyring, []string{"line 3"}},
		{"bad id", "\n\n\nb b:primary:" + secretB + "\n", ErrInvalidKeyring, []string{"line 4"}},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			kr, err := ParseKeysFile(c.in)
			require.Error(t, err)
			assert.Nil(t, kr)
			assert.ErrorIs(t, err, c.want)
			for _, h := range c.hints {
				rotAssertHint(t, err.Error(), h)
			}
			for _, s := range []string{secretA, secretB} {
				rotAssertNoSecret(t, err.Error(), s, "error")
			}
		})
	}
}

// ParseKeysFile documents "Errors name the line". Errors found while
// checking the keys against each other (duplicate id or secret, primary
// count) are reported by key position instead, which in a file with
// comments points at the wrong lines.
func TestParseKeysFileKeyringErrorsNameLines(t *testing.T) {
	content := "# production keys\n" + // line 1
		"# rotated 2026-11\n" + // line 2
		"k2:primary:" + secretB + "\n" + // line 3
		"\n" + // line 4
		"k2:decrypt-only:" + secretA + "\n" // line 5
	_, err := ParseKeysFile(content)
	require.ErrorIs(t, err, ErrInvalidKeyring)
	assert.Contains(t, err.Error(), "line 3", "the duplicate is on lines 3 and 5: %v", err)
	assert.Contains(t, err.Error(), "line 5", "the duplicate is on lines 3 and 5: %v", err)
}

func TestKeyringFromLookup(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	t.Run("both set", func(t *testing.T) {
		_, err := KeyringFromLookup(env(map[string]string{
			"JWESESSION_KEYS":   "a:primary:" + secretA,
			"JWESESSION_SECRET": secretB,
		}))
		require.ErrorIs(t, err, ErrInvalidKeyring)
		assert.Contains(t, err.Error(), "JWESESSION_KEYS")
		assert.Contains(t, err.Error(), "JWESESSION_SECRET")
		rotAssertNoSecret(t, err.Error(), secretA, "error")
		rotAssertNoSecret(t, err.Error(), secretB, "error")
	})
	t.Run("neither set", func(t *testing.T) {
		_, err := KeyringFromLookup(env(nil))
		require.ErrorIs(t, err, ErrNoSecret)
		assert.Contains(t, err.Error(), "JWESESSION_SECRET")
	})
	t.Run("other variables do not count", func(t *testing.T) {
		_, err := KeyringFromLookup(env(map[string]string{"AUTH_SECRET": secretA, "SESSION_SECRET": secretA}))
		require.ErrorIs(t, err, ErrNoSecret)
	})
	t.Run("weak JWESESSION_SECRET", func(t *testing.T) {
		weak := strings.Repeat("hunter2!", 5)
		_, err := KeyringFromLookup(env(map[string]string{"JWESESSION_SECRET": weak}))
		require.ErrorIs(t, err, ErrWeakSecret)
		assert.Contains(t, err.Error(), "JWESESSION_SECRET")
		rotAssertNoSecret(t, err.Error(), weak, "error")
	})
	t.Run("bad JWESESSION_KEYS", func(t *testing.T) {
		_, err := KeyringFromLookup(env(map[string]string{"JWESESSION_KEYS": "a:primary:" + secretA + ",b:prim:" + secretB}))
		require.ErrorIs(t, err, ErrInvalidKeyring)
		assert.Contains(t, err.Error(), "entry 2")
	})
	t.Run("JWESESSION_SECRET alone", func(t *testing.T) {
		kr, err := KeyringFromLookup(env(map[string]string{"JWESESSION_SECRET": secretA}))
		require.NoError(t, err)
		ks := kr.Keys()
		require.Len(t, ks, 1)
		assert.Equal(t, Primary, ks[0].State)
		assert.Equal(t, DefaultKeyID(mustSecret(t, secretA)), ks[0].ID)
	})
	t.Run("JWESESSION_KEYS alone", func(t *testing.T) {
		kr, err := KeyringFromLookup(env(map[string]string{"JWESESSION_KEYS": "b:primary:" + secretB + ",a:decrypt-only:" + secretA}))
		require.NoError(t, err)
		assert.Equal(t, "Keyring[b:primary a:decrypt-only]", kr.String())
	})
	t.Run("moving from one secret to a keyring logs nobody out", func(t *testing.T) {
		kr1, err := KeyringFromLookup(env(map[string]string{"JWESESSION_SECRET": secretA}))
		require.NoError(t, err)
		kr2, err := KeyringFromLookup(env(map[string]string{"JWESESSION_KEYS": "-:primary:" + secretA}))
		require.NoError(t, err)
		assert.Equal(t, kr1.Primary().ID, kr2.Primary().ID)

		m1, _ := newTestManager(t, Config{}, kr1)
		m2, _ := newTestManager(t, Config{}, kr2)
		c := signIn(t, m1, "alice")
		assert.Equal(t, kr1.Primary().ID, rotKid(t, rotToken(t, m1, c)))
		res := read(t, m2, c)
		require.NoError(t, res.Err)
		require.True(t, res.OK)
		assert.Equal(t, "alice", res.D.User)
		assert.Empty(t, setCookies(res.Rec), "same key: nothing to re-key")

		// And on into a rotation: the default-id key becomes decrypt-only.
		kr3, err := KeyringFromLookup(env(map[string]string{"JWESESSION_KEYS": "k2:primary:" + secretB + ",-:decrypt-only:" + secretA}))
		require.NoError(t, err)
		m3, _ := newTestManager(t, Config{}, kr3)
		res = read(t, m3, c)
		require.NoError(t, res.Err)
		require.True(t, res.OK)
		assert.Empty(t, setCookies(res.Rec), "a read never re-keys")
		// The next write seals under k2; the origin stays the default-id key.
		ck := rotSessionCookie(t, m3, rotUpdate(t, m3, c))
		assert.Equal(t, "k2", rotKid(t, ck.Value))
		assert.Equal(t, kr1.Primary().ID, rotClaims(t, m3, ck.Value).Org)
	})
}

func TestDefaultKeyID(t *testing.T) {
	a := mustSecret(t, secretA)
	id := DefaultKeyID(a)

	// Stable: same secret, same id, also through another Secret value.
	assert.Equal(t, id, DefaultKeyID(a))
	assert.Equal(t, id, DefaultKeyID(mustSecret(t, secretA)))

	// 16 base64url characters (12 bytes), a valid key id.
	assert.Len(t, id, 16)
	raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
	require.NoError(t, err)
	assert.Len(t, raw, 12)
	assert.True(t, validKeyID(id))

	// The documented derivation: HKDF-SHA256(secret, "jwesession v1", "kid").
	want := make([]byte, 12)
	_, err = io.ReadFull(hkdf.New(sha256.New, []byte(secretA), []byte("jwesession v1"), []byte("kid")), want)
	require.NoError(t, err)
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(want), id)

	// Different secrets, different ids.
	ids := map[string]bool{id: true}
	for _, s := range []string{secretB, secretC, secretA + "x"} {
		other := DefaultKeyID(mustSecret(t, s))
		assert.False(t, ids[other], "id collision for %q", s)
		ids[other] = true
	}

	// Reveals nothing: no piece of the secret, not a plain hash of it, not
	// the AES key it derives.
	rotAssertNoSecret(t, id, secretA, "DefaultKeyID")
	for _, f := range rotLeakForms(secretA) {
		assert.NotContains(t, f, id)
	}
	sum := sha256.Sum256([]byte(secretA))
	assert.NotContains(t, base64.RawURLEncoding.EncodeToString(sum[:]), id)
	assert.NotContains(t, base64.RawURLEncoding.EncodeToString(deriveKey([]byte(secretA), "session")), id)

	// NewKeyring uses it for a key without id, whatever the cookie name.
	kr, err := NewKeyring(Key{State: Primary, Secret: a})
	require.NoError(t, err)
	assert.Equal(t, id, kr.Primary().ID)
	for _, name := range []string{"", "other"} {
		m, _ := newTestManager(t, Config{CookieName: name}, kr)
		assert.Equal(t, id, rotKid(t, rotToken(t, m, signIn(t, m, "alice"))))
	}
}

// ---------------------------------------------------------------------------
// Redaction

// rotPublic and rotPrivate are a user's structs that keep keys around, in
// exported and in unexported fields.
type rotPublic struct {
	Name    string
	Secret  Secret
	SecPtr  *Secret
	Key     Key
	Keys    []Key
	Ring    *Keyring
	Manager *Manager[testData]
}

type rotPrivate struct {
	name     string
	secret   Secret
	secPtr   *Secret
	key      Key
	keys     []Key
	ring     *Keyring
	anyValue any
}

func TestRedaction(t *testing.T) {
	const leak = "LEAK-9f8e7d6c5b4a-ZYXWVUTSRQPONMLK-0123"
	sec := mustSecret(t, leak)
	key := Key{ID: "k1", State: Primary, Secret: sec}
	kr, err := NewKeyring(key, Key{ID: "k0", State: DecryptOnly, Secret: mustSecret(t, secretA)})
	require.NoError(t, err)
	m, _ := newTestManager(t, Config{}, kr)
	pub := rotPublic{Name: "cfg", Secret: sec, SecPtr: &sec, Key: key, Keys: kr.Keys(), Ring: kr, Manager: m}
	priv := rotPrivate{name: "cfg", secret: sec, secPtr: &sec, key: key, keys: kr.Keys(), ring: kr, anyValue: sec}
	type nested struct {
		Pub  rotPublic
		priv rotPrivate
	}
	values := []struct {
		name string
		v    any
	}{
		{"Secret", sec}, {"*Secret", &sec}, {"zero Secret", Secret{}}, {"Key", key}, {"*Key", &key},
		{"[]Key", kr.Keys()}, {"map of Key", map[string]Key{"k": key}}, {"*Keyring", kr}, {"Manager", m},
		{"user struct, exported fields", pub}, {"*user struct, exported fields", &pub},
		// A Keyring value holds its keys in an unexported field, like the
		// user's own unexported fields: fmt cannot call Secret's methods
		// there and walks the value by reflection.
		{"Keyring value", *kr},
		{"user struct, unexported fields", priv}, {"*user struct, unexported fields", &priv},
		{"nested user structs", nested{pub, priv}},
	}
	check := func(t *testing.T, out, what string) {
		t.Helper()
		rotAssertNoSecret(t, out, leak, what)
		rotAssertNoSecret(t, out, secretA, what)
	}

	for _, c := range values {
		t.Run("fmt/"+c.name, func(t *testing.T) {
			var leaking []string
			sample := ""
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%c", "%U", "%e"} {
				out := fmt.Sprintf(verb, c.v)
				_, i := rotFindSecret(out, leak)
				_, j := rotFindSecret(out, secretA)
				if i >= 0 || j >= 0 {
					leaking = append(leaking, verb)
					sample = out
				}
			}
			if len(leaking) > 0 {
				if len(sample) > 300 {
					sample = sample[:300] + "…"
				}
				t.Errorf("the secret's bytes print with %v, e.g. %s", leaking, sample)
			}
			check(t, fmt.Sprint(c.v), "Sprint")
			check(t, fmt.Sprintln(c.v), "Sprintln")
		})
	}

	t.Run("fmt shows the redaction", func(t *testing.T) {
		assert.Equal(t, "[REDACTED]", fmt.Sprintf("%v", sec))
		assert.Equal(t, "[REDACTED]", fmt.Sprintf("%x", sec))
		assert.Equal(t, "[REDACTED]", sec.String())
		assert.Equal(t, "jwesession.Secret([REDACTED])", sec.GoString())
		assert.Equal(t, "{k1 primary [REDACTED]}", fmt.Sprintf("%v", key))
		assert.Contains(t, fmt.Sprintf("%+v", key), "Secret:[REDACTED]")
		assert.Contains(t, fmt.Sprintf("%+v", pub), "Secret:[REDACTED]")
		assert.Equal(t, "Keyring[k1:primary k0:decrypt-only]", fmt.Sprintf("%#v", kr))
		assert.Equal(t, "Keyring[k1:primary k0:decrypt-only]", fmt.Sprintf("%+v", kr))
	})

	t.Run("slog", func(t *testing.T) {
		var buf bytes.Buffer
		for _, hd := range []slog.Handler{
			slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}),
			slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}),
		} {
			l := slog.New(hd)
			var attrs []any
			for _, c := range values {
				attrs = append(attrs, slog.Any(c.name, c.v))
			}
			l.Info("values", attrs...)
			l.Info("group", slog.Group("g", attrs...))
			l.With(attrs...).WithGroup("wg").Warn("with", attrs...)
			l.Info("positional", "secret", sec, "key", key, "ring", kr, "pub", pub, "priv", priv)
		}
		require.NotEmpty(t, buf.String())
		check(t, buf.String(), "slog output")
		assert.Contains(t, buf.String(), "[REDACTED]")
	})

	t.Run("json", func(t *testing.T) {
		type cfg struct {
			Secret Secret   `json:"secret"`
			Ptr    *Secret  `json:"ptr"`
			Key    Key      `json:"key"`
			Ring   *Keyring `json:"ring"`
			Pub    rotPublic
			Priv   rotPrivate
		}
		b, err := json.Marshal(cfg{Secret: sec, Ptr: &sec, Key: key, Ring: kr, Pub: pub, Priv: priv})
		require.NoError(t, err)
		check(t, string(b), "json")
		assert.Contains(t, string(b), `"secret":"[REDACTED]"`)
		b, err = json.MarshalIndent(map[string]any{"s": sec, "k": kr.Keys()}, "", " ")
		require.NoError(t, err)
		check(t, string(b), "json map")
	})
}

// No error of any failing constructor holds the secret, even when the
// entry around a valid-length secret is wrong.
func TestConstructorErrorsNeverHoldTheSecret(t *testing.T) {
	const leak = "LEAK-9f8e7d6c5b4a-ZYXWVUTSRQPONMLK-0123"
	const colon = "LEAKfirsthalf9876:LEAKsecondhalf54321" // a valid secret with a colon
	weaks := []string{strings.Repeat("z", 40), strings.Repeat("qwerty", 7), "LEAKshort-0123456789"}
	cases := map[string]func() error{
		"state and secret swapped": func() error { _, err := ParseKeys("k1:" + leak + ":primary"); return err },
		"state missing, secret holds a colon": func() error {
			_, err := ParseKeys("k1:" + colon)
			return err
		},
		"state missing": func() error { _, err := ParseKeys("k1:" + leak); return err },
		"id missing":    func() error { _, err := ParseKeys("primary:" + leak); return err },
		"bad id":        func() error { _, err := ParseKeys("k 1:primary:" + leak); return err },
		"typo in state": func() error { _, err := ParseKeys("k1:primery:" + leak); return err },
		"two primaries": func() error { _, err := ParseKeys("k1:primary:" + leak + ",k0:primary:" + secretA); return err },
		"secret twice":  func() error { _, err := ParseKeys("k1:primary:" + leak + ",k0:decrypt-only:" + leak); return err },
		"file: swapped": func() error { _, err := ParseKeysFile("# keys\nk1:" + leak + ":primary\n"); return err },
		"file: secret twice": func() error {
			_, err := ParseKeysFile("k1:primary:" + leak + "\nk0:retired:" + leak + "\n")
			return err
		},
		"lookup: swapped": func() error {
			_, err := KeyringFromLookup(lookupOf("JWESESSION_KEYS", "k1:"+leak+":primary"))
			return err
		},
		"lookup: both": func() error {
			_, err := KeyringFromLookup(lookupOf("JWESESSION_KEYS", "k1:primary:"+leak, "JWESESSION_SECRET", leak))
			return err
		},
		"NewKeyring: dup": func() error {
			_, err := NewKeyring(Key{ID: "a", State: Primary, Secret: mustSecret(t, leak)}, Key{ID: "b", State: Retired, Secret: mustSecret(t, leak)})
			return err
		},
		"NewKeyring: state":   func() error { _, err := NewKeyring(Key{State: KeyState(7), Secret: mustSecret(t, leak)}); return err },
		"NewKeyring: no prim": func() error { _, err := NewKeyring(Key{State: DecryptOnly, Secret: mustSecret(t, leak)}); return err },
	}
	for i, w := range weaks {
		w := w
		cases[fmt.Sprintf("weak %d: NewSecret", i)] = func() error { _, err := NewSecret(w); return err }
		cases[fmt.Sprintf("weak %d: ParseKeys", i)] = func() error { _, err := ParseKeys("k1:primary:" + w); return err }
		cases[fmt.Sprintf("weak %d: file", i)] = func() error { _, err := ParseKeysFile("k1:primary:" + w + "\n"); return err }
		cases[fmt.Sprintf("weak %d: lookup", i)] = func() error { _, err := KeyringFromLookup(lookupOf("JWESESSION_SECRET", w)); return err }
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			err := build()
			require.Error(t, err)
			msg := err.Error()
			for _, s := range append([]string{leak, colon, secretA, secretB}, weaks...) {
				rotAssertNoSecret(t, msg, s, "error")
			}
			// The halves of a secret split at its colon count too.
			for _, half := range strings.Split(colon, ":") {
				assert.NotContains(t, msg, half)
			}
			assert.NotContains(t, msg, "LEAK")
		})
	}
}

// Whitespace around a secret is refused in every key source (it would be
// silently another key); the CR of a keys file's CRLF line is dropped
// first, so that one is fine.
func TestSecretWhitespace(t *testing.T) {
	newSecret := func(in string) error { _, err := NewSecret(in); return err }
	parseKeys := func(in string) error { _, err := ParseKeys(in); return err }
	parseFile := func(in string) error { _, err := ParseKeysFile(in); return err }
	lookup := func(name string) func(string) error {
		return func(in string) error { _, err := KeyringFromLookup(lookupOf(name, in)); return err }
	}
	cases := []struct {
		name  string
		parse func(string) error
		in    string
	}{
		{"NewSecret leading space", newSecret, " " + secretA},
		{"NewSecret trailing newline", newSecret, secretA + "\n"},
		{"NewSecret trailing tab", newSecret, secretA + "\t"},
		{"ParseKeys space after the colon", parseKeys, "k1:primary: " + secretA},
		{"ParseKeys trailing space", parseKeys, "k1:primary:" + secretA + " ,k0:decrypt-only:" + secretB},
		{"ParseKeysFile trailing space", parseFile, "# keys\nk1:primary:" + secretA + " \n"},
		{"ParseKeysFile trailing tab, CRLF", parseFile, "k1:primary:" + secretA + "\t\r\n"},
		{"JWESESSION_SECRET trailing newline", lookup("JWESESSION_SECRET"), secretA + "\n"},
		{"JWESESSION_KEYS trailing newline", lookup("JWESESSION_KEYS"), "k1:primary:" + secretA + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.parse(c.in)
			require.ErrorIs(t, err, ErrWeakSecret)
			assert.Contains(t, err.Error(), "whitespace")
			rotAssertNoSecret(t, err.Error(), secretA, "error")
			rotAssertNoSecret(t, err.Error(), secretB, "error")
		})
	}
	t.Run("CRLF keys file is fine", func(t *testing.T) {
		kr, err := ParseKeysFile("k1:primary:" + secretA + "\r\nk0:decrypt-only:" + secretB + "\r\n")
		require.NoError(t, err)
		rotSameKeys(t, mustKeyring(t, "k1:primary:"+secretA, "k0:decrypt-only:"+secretB).Keys(), kr.Keys())
	})
}

// rotFakeT records what testify reports, as a *testing.T would print it.
type rotFakeT struct{ msgs []string }

func (f *rotFakeT) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// Reflection-based printers cannot see a secret: testify's diff of two
// different Keys or Keyrings (spew with methods disabled), and fmt's
// %#v/%+v of a user's struct holding a Key in an unexported field.
func TestReflectionPrintersShowNoSecret(t *testing.T) {
	const leak1 = "LEAK-9f8e7d6c5b4a-ZYXWVUTSRQPONMLK-0123"
	const leak2 = "LEAK-0a1b2c3d4e5f-abcdefghijklmnop-4567"
	k1 := Key{ID: "k", State: Primary, Secret: mustSecret(t, leak1)}
	k2 := Key{ID: "k", State: Primary, Secret: mustSecret(t, leak2)}
	kr1, err := NewKeyring(k1)
	require.NoError(t, err)
	kr2, err := NewKeyring(k2)
	require.NoError(t, err)
	type holder struct {
		name string
		key  Key
		ring Keyring
	}
	h1, h2 := holder{"cfg", k1, *kr1}, holder{"cfg", k2, *kr2}
	check := func(t *testing.T, out string) {
		t.Helper()
		require.NotEmpty(t, out)
		for _, s := range []string{leak1, leak2} {
			rotAssertNoSecret(t, out, s, "output")
			b := []byte(s)
			assert.NotContains(t, out, fmt.Sprintf("% x", b[:8]), "hex dump of the secret") // spew's []byte
			assert.NotContains(t, out, strings.Trim(fmt.Sprintf("%#v", b[:4]), "[]byte{}"), "Go bytes of the secret")
		}
		assert.NotContains(t, out, "LEAK")
	}
	for _, c := range []struct {
		name string
		a, b any
	}{
		{"Key", k1, k2}, {"*Key", &k1, &k2}, {"[]Key", kr1.Keys(), kr2.Keys()},
		{"*Keyring", kr1, kr2}, {"Keyring", *kr1, *kr2}, {"user struct", h1, h2}, {"*user struct", &h1, &h2},
	} {
		t.Run("testify/"+c.name, func(t *testing.T) {
			var ft rotFakeT
			require.False(t, assert.Equal(&ft, c.a, c.b), "different secrets are not equal")
			require.Len(t, ft.msgs, 1)
			assert.Contains(t, ft.msgs[0], "Diff:", "testify printed its diff")
			check(t, ft.msgs[0])
		})
	}
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		t.Run("fmt "+verb, func(t *testing.T) { check(t, fmt.Sprintf(verb, h1)+fmt.Sprintf(verb, &h2)) })
	}
}

// lookupOf returns a lookup function over name, value pairs.
func lookupOf(kv ...string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1], true
			}
		}
		return "", false
	}
}

// ---------------------------------------------------------------------------
// Rotation through the middleware

// A token under an older decrypt-only key is read as it is: no Set-Cookie,
// ever (a re-key from a read races a concurrent write). Its next real write
// seals it under the primary, keeping its sign-in, and names the key it was
// first sealed under as its origin.
func TestReadUnderDecryptOnlyWritesNothing(t *testing.T) {
	m, clk := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	before := rotClaims(t, m, rotToken(t, m, c))
	require.Equal(t, "a", before.Org)

	clk.Advance(time.Minute) // well before RefreshAfter
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
	for i := 0; i < 3; i++ {
		res := read(t, m, c)
		require.NoError(t, res.Err)
		require.True(t, res.OK)
		assert.Equal(t, "alice", res.D.User)
		assert.Empty(t, setCookies(res.Rec), "read %d: a read never re-keys", i)
		assert.Equal(t, "private, no-cache", res.Rec.Header().Get("Cache-Control"))
	}

	clk.Advance(time.Minute)
	rec := rotUpdate(t, m, c)
	ck := rotSessionCookie(t, m, rec)
	assert.Equal(t, "b", rotKid(t, ck.Value), "the write seals under the primary")
	after, now := rotClaims(t, m, ck.Value), clk.Now().Unix()
	assert.Equal(t, []string{before.Sid, before.Sin, "a"}, []string{after.Sid, after.Sin, after.Org}, "same session and sign-in, origin the old key")
	assert.Equal(t, []int64{before.Abs, now, now + 1800}, []int64{after.Abs, after.Iat, after.Exp})
	assert.JSONEq(t, `{"user":"alice","n":1}`, string(after.Data))
	assert.Equal(t, KeyStats{ID: "a", State: DecryptOnly, Sealed: 1, Opened: 4}, rotStats(t, m, "a"))

	// Read under b, it counts as rewritten on its origin a.
	res := read(t, m, cookieHeader(c, rec))
	require.NoError(t, res.Err)
	assert.Equal(t, 1, res.D.N)
	assert.Empty(t, setCookies(res.Rec))
	assert.Equal(t, KeyStats{ID: "a", State: DecryptOnly, Sealed: 1, Opened: 4, Rewritten: 1}, rotStats(t, m, "a"))
	assert.Equal(t, KeyStats{ID: "b", State: Primary, Sealed: 1, Opened: 1}, rotStats(t, m, "b"))
}

// A read whose refresh is due under a decrypt-only key writes only a
// companion (under the primary): the token stays as it is, and its idle
// expiry moves on through the companion.
func TestRefreshUnderDecryptOnlyWritesCompanion(t *testing.T) {
	m, clk := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	before := rotClaims(t, m, rotToken(t, m, c))

	clk.Advance(6 * time.Minute) // past RefreshAfter
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
	res := read(t, m, c)
	require.NoError(t, res.Err)
	cs := res.Rec.Result().Cookies()
	require.Len(t, cs, 1, "only the companion: %q", setCookies(res.Rec))
	assert.Equal(t, m.core.names.companion, cs[0].Name)
	assert.Equal(t, "b", rotKid(t, cs[0].Value), "the companion is sealed under the primary")
	assert.Equal(t, 0, cs[0].MaxAge, "a browser-session sign-in's companion")
	assert.Equal(t, "no-store, private", res.Rec.Header().Get("Cache-Control"))
	c2 := cookieHeader(c, res.Rec)
	assert.Equal(t, rotToken(t, m, c), rotToken(t, m, c2), "the token is untouched")

	// 36 minutes after sign-in: past the token's own idle expiry, within
	// the companion's.
	clk.Advance(30 * time.Minute)
	require.ErrorIs(t, read(t, m, c).Err, ErrExpired, "without the companion")
	res = read(t, m, c2)
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	c2 = cookieHeader(c2, res.Rec)

	// The next write: under b, same sign-in, origin a; the companion deleted.
	rec := rotUpdate(t, m, c2)
	after := rotClaims(t, m, rotSessionCookie(t, m, rec).Value)
	assert.Equal(t, []string{before.Sid, before.Sin, "a"}, []string{after.Sid, after.Sin, after.Org})
	assert.Contains(t, setCookies(rec), m.core.names.delCompanion)
	assert.Zero(t, rotStats(t, m, "a").Rewritten, "opened under its origin")
}

func TestNewerDecryptOnlyAcceptedAsIs(t *testing.T) {
	m, _ := newTestManager(t, Config{}, mustKeyring(t, "n:decrypt-only:"+secretC, "a:primary:"+secretA))
	c := rotIssue(t, m, mustKeyring(t, "n:primary:"+secretC), "alice")
	require.Equal(t, "n", rotKid(t, rotToken(t, m, c)))
	for i := 0; i < 3; i++ {
		res := read(t, m, c)
		require.NoError(t, res.Err)
		require.True(t, res.OK)
		assert.Equal(t, "alice", res.D.User)
		assert.Empty(t, setCookies(res.Rec), "a token under a newer key is not re-keyed back")
	}
	assert.Equal(t, KeyStats{ID: "n", State: DecryptOnly, Opened: 3}, rotStats(t, m, "n"))
	assert.Zero(t, rotStats(t, m, "a").Sealed)
}

// Two halves of a fleet during the promotion rollout: X has promoted n, Y
// not yet. A browser bouncing between them is never re-keyed by a read:
// no read sets or deletes its token (the sliding refresh sets only
// companions). A write on Y of a token under a moves it nowhere (a is Y's
// primary), one on X moves it to n; once under n, a write on Y keeps it
// under n (a rewrite never moves a token to an older key). Its origin only
// ever moves to the older key.
func TestRolloutNothingReKeyedByReads(t *testing.T) {
	x, clk := newTestManager(t, Config{}, mustKeyring(t, "n:primary:"+secretC, "a:decrypt-only:"+secretA))
	y, _ := newTestManager(t, Config{Now: clk.Now}, mustKeyring(t, "n:decrypt-only:"+secretC, "a:primary:"+secretA))
	for _, start := range []struct {
		m    *Manager[testData]
		kids []string // the token's key after writes on y, x, y
		org  string   // the origin throughout: the key of the sign-in
	}{{y, []string{"a", "n", "n"}, "a"}, {x, []string{"n", "n", "n"}, "n"}} {
		c := signIn(t, start.m, "alice")
		kid, companions := rotKid(t, rotToken(t, x, c)), 0
		for i := 0; i < 40; i++ {
			m := []*Manager[testData]{x, y}[i%2]
			clk.Advance(20 * time.Second)
			res := read(t, m, c)
			require.NoError(t, res.Err, "read %d", i)
			require.True(t, res.OK)
			rotNoTokenWritten(t, m, res.Rec, fmt.Sprintf("read %d", i))
			companions += len(setCookies(res.Rec))
			c = cookieHeader(c, res.Rec)
			assert.Equal(t, kid, rotKid(t, rotToken(t, x, c)), "read %d", i)
		}
		assert.Positive(t, companions, "the refresh goes on through companions")
		for i, m := range []*Manager[testData]{y, x, y} {
			ck := rotSessionCookie(t, m, rotUpdate(t, m, c))
			assert.Equal(t, start.kids[i], rotKid(t, ck.Value), "write %d", i)
			assert.Equal(t, start.org, rotClaims(t, x, ck.Value).Org, "write %d: the sign-in's origin is kept", i)
			c = m.CookieName() + "=" + ck.Value
		}
	}
}

func TestRetiredAndUnknownKeys(t *testing.T) {
	// A refused cookie is not deleted by the read: that deletion could land
	// after a concurrent sign-in's cookie.
	refused := func(t *testing.T, res readResult) {
		t.Helper()
		assert.False(t, res.OK)
		assert.Empty(t, res.D.User)
		assert.Empty(t, setCookies(res.Rec), "a refused cookie is not deleted by a read")
		assert.Equal(t, "private, no-cache", res.Rec.Header().Get("Cache-Control"))
	}
	t.Run("retired", func(t *testing.T) {
		m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
		c := signIn(t, m, "alice")
		require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA)))
		res := read(t, m, c)
		require.ErrorIs(t, res.Err, ErrRetiredKey)
		assert.NotErrorIs(t, res.Err, ErrUnknownKey)
		refused(t, res)
		rotAssertNoSecret(t, res.Err.Error(), secretA, "error")
		assert.NotContains(t, res.Err.Error(), rotToken(t, m, c)[:20])
		assert.Equal(t, uint64(1), rotStats(t, m, "a").Retired)
		assert.Zero(t, rotStats(t, m, "a").Opened, "a retired key opens nothing")
		read(t, m, c)
		assert.Equal(t, uint64(2), rotStats(t, m, "a").Retired)
	})
	t.Run("unknown", func(t *testing.T) {
		m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
		c := rotIssue(t, m, mustKeyring(t, "z:primary:"+secretC), "mallory")
		res := read(t, m, c)
		require.ErrorIs(t, res.Err, ErrUnknownKey)
		assert.NotErrorIs(t, res.Err, ErrRetiredKey)
		refused(t, res)
		for _, s := range m.Stats() {
			assert.Zero(t, s.Retired)
			assert.Zero(t, s.Opened)
		}
	})
	t.Run("removed key is unknown", func(t *testing.T) {
		m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
		c := signIn(t, m, "alice")
		require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB)))
		res := read(t, m, c)
		require.ErrorIs(t, res.Err, ErrUnknownKey)
		refused(t, res)
	})
	t.Run("kid of one key over another key's ciphertext", func(t *testing.T) {
		// Same id, other secret: looked up by kid, fails to decrypt, never
		// tried against another key.
		m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA, "b:decrypt-only:"+secretB))
		c := rotIssue(t, m, mustKeyring(t, "a:primary:"+secretC), "mallory")
		res := read(t, m, c)
		require.ErrorIs(t, res.Err, ErrDecrypt)
		refused(t, res)
	})
}

// Which key seals: a sign-in, a companion and a tombstone are always under
// the primary cur; a rewrite of a token under an older key (old) moves it
// to cur, but a rewrite never moves a token to an older key: one under the
// newer decrypt-only key new (promoted elsewhere in a rollout, or leaked)
// stays under new. A write keeps the origin of the token it rewrites (the
// key it was under: each was signed in under that key).
func TestWhichKeySeals(t *testing.T) {
	ring := func(t *testing.T) *Keyring {
		return mustKeyring(t, "new:decrypt-only:"+secretC, "cur:primary:"+secretB, "old:decrypt-only:"+secretA)
	}
	under := func(entry string) func(t *testing.T, m *Manager[testData]) string {
		return func(t *testing.T, m *Manager[testData]) string { return rotIssue(t, m, mustKeyring(t, entry), "alice") }
	}
	type tc struct {
		name  string
		start func(t *testing.T, m *Manager[testData]) string
		op    func(t *testing.T, s *Session[testData])
		write string // the cookie the request writes: "token", "companion" or "" (none)
		org   string // the written token's origin
		kid   string // the written token's key
	}
	get := func(t *testing.T, s *Session[testData]) { _, ok := s.Get(); require.True(t, ok) }
	var cases []tc
	for _, st := range []struct {
		name  string
		start func(t *testing.T, m *Manager[testData]) string
	}{{"new", under("new:primary:" + secretC)}, {"cur", under("cur:primary:" + secretB)}, {"old", under("old:primary:" + secretA)}, {"none", nil}} {
		org, kid := st.name, "cur"
		switch st.name {
		case "none":
			org = "cur" // Set without a session signs in
		case "new":
			kid = "new" // never moved to an older key
		}
		cases = append(cases,
			tc{"sign-in from " + st.name, st.start, func(t *testing.T, s *Session[testData]) {
				require.NoError(t, s.SignIn(testData{User: "bob"}))
			}, "token", "cur", "cur"},
			tc{"set from " + st.name, st.start, func(t *testing.T, s *Session[testData]) {
				require.NoError(t, s.Set(testData{User: "alice", N: 1}))
			}, "token", org, kid},
		)
		if st.start == nil {
			continue
		}
		cases = append(cases,
			tc{"update from " + st.name, st.start, func(t *testing.T, s *Session[testData]) {
				require.NoError(t, s.Update(func(d *testData) error { d.N = 2; return nil }))
			}, "token", org, kid},
			tc{"renew from " + st.name, st.start, func(t *testing.T, s *Session[testData]) { require.NoError(t, s.Renew()) }, "token", org, kid},
			tc{"touch from " + st.name, st.start, func(t *testing.T, s *Session[testData]) { require.NoError(t, s.Touch()) }, "token", org, kid},
			tc{"refresh from " + st.name, st.start, get, "companion", "", "cur"},
			tc{"read from " + st.name, st.start, get, "", "", ""},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, ring(t))
			cookie := ""
			if c.start != nil {
				cookie = c.start(t, m)
			}
			if strings.HasPrefix(c.name, "refresh") {
				clk.Advance(5 * time.Minute)
			}
			rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { c.op(t, s) })
			written := map[string]bool{}
			for _, ck := range rec.Result().Cookies() {
				if ck.MaxAge >= 0 { // set, not deleted
					written[ck.Name] = true
					assert.Equal(t, c.kid, rotKid(t, ck.Value), ck.Name)
				}
			}
			switch c.write {
			case "token":
				ck := rotSessionCookie(t, m, rec)
				assert.Equal(t, c.org, rotClaims(t, m, ck.Value).Org)
			case "companion":
				assert.Equal(t, map[string]bool{m.core.names.companion: true}, written)
			default:
				assert.Empty(t, setCookies(rec))
			}
			assert.Equal(t, c.kid == "new", rotStats(t, m, "new").Sealed > 0)
			assert.Zero(t, rotStats(t, m, "old").Sealed)
			assert.Equal(t, c.kid == "cur", rotStats(t, m, "cur").Sealed > 0)
		})
	}
}

// A request in flight finishes on the keyring it started with.
func TestSetKeyringInFlightSnapshot(t *testing.T) {
	m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	next := mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA)
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, m.SetKeyring(next))
		assert.Same(t, next, m.Keyring(), "the manager has the new keyring")
		d, ok := s.Get()
		require.NoError(t, s.Err())
		require.True(t, ok, "still valid on the request's snapshot")
		assert.Equal(t, "alice", d.User)
		require.NoError(t, s.SignIn(testData{User: "bob"}))
	})
	ck := rotSessionCookie(t, m, rec)
	assert.Equal(t, "a", rotKid(t, ck.Value), "sealed under the snapshot's primary")

	// The next request uses the new keyring, where a is retired.
	for _, cookie := range []string{c, cookieHeader(c, rec)} {
		res := read(t, m, cookie)
		assert.ErrorIs(t, res.Err, ErrRetiredKey)
		assert.False(t, res.OK)
	}
	assert.Equal(t, "b", rotKid(t, rotToken(t, m, signIn(t, m, "carol"))))
}

// Rotation during load: keyrings swapped back and forth while users read
// and write. Reads never write the token; writes seal under the primary of
// their request's snapshot, keeping the sign-in.
func TestSetKeyringConcurrent(t *testing.T) {
	ringAB := mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)
	ringBA := mustKeyring(t, "b:decrypt-only:"+secretB, "a:primary:"+secretA)
	m, _ := newTestManager(t, Config{}, ringBA)
	ca := signIn(t, m, "alice")
	require.NoError(t, m.SetKeyring(ringAB))
	cb := signIn(t, m, "bob")
	require.Equal(t, "a", rotKid(t, rotToken(t, m, ca)))
	require.Equal(t, "b", rotKid(t, rotToken(t, m, cb)))
	sins := map[string]string{"alice": rotClaims(t, m, rotToken(t, m, ca)).Sin, "bob": rotClaims(t, m, rotToken(t, m, cb)).Sin}

	const workers, reads = 8, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	swapped := make(chan int)
	go func() {
		n := 0
		defer func() { swapped <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			kr := ringAB
			if n%2 == 1 {
				kr = ringBA
			}
			if err := m.SetKeyring(kr); err != nil {
				t.Errorf("SetKeyring: %v", err)
				return
			}
			_ = m.Stats()
			n++
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < reads; i++ {
				c, want := ca, "alice"
				if (w+i)%2 == 1 {
					c, want = cb, "bob"
				}
				res := read(t, m, c)
				if !assert.NoError(t, res.Err) || !assert.True(t, res.OK) {
					return
				}
				assert.Equal(t, want, res.D.User)
				assert.Empty(t, setCookies(res.Rec), "a read writes nothing")
				if i%10 == 0 {
					rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
						assert.NoError(t, s.Update(func(d *testData) error { d.N++; return nil }))
					})
					if assert.Len(t, setCookies(rec), 1) {
						env := rotClaims(t, m, rotToken(t, m, cookieHeader("", rec)))
						assert.Equal(t, sins[want], env.Sin)
						assert.Equal(t, map[string]string{"alice": "a", "bob": "b"}[want], env.Org, "the origin is kept")
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	assert.Positive(t, <-swapped)
}

// The whole rotation on one manager (a fleet of one): add, promote, wait
// until safe, retire, remove. Reads never re-key; writes move sessions to
// the new key keeping their origin, so retiring the old key early would
// sign them out: the retirement waits for SafeToRetireAt.
func TestFleetRotationSequence(t *testing.T) {
	cfg := Config{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour, RememberIdleTimeout: 10 * time.Minute, RememberAbsoluteTimeout: time.Hour, RefreshAfter: 2 * time.Minute}
	m, clk := newTestManager(t, cfg, mustKeyring(t, "a:primary:"+secretA))
	type sess struct{ user, cookie string }
	var live []*sess
	readAll := func(t *testing.T) {
		t.Helper()
		for _, s := range live {
			kid := rotKid(t, rotToken(t, m, s.cookie))
			res := read(t, m, s.cookie)
			require.NoError(t, res.Err, s.user)
			require.True(t, res.OK)
			assert.Equal(t, s.user, res.D.User)
			rotNoTokenWritten(t, m, res.Rec, s.user)
			s.cookie = cookieHeader(s.cookie, res.Rec)
			assert.Equal(t, kid, rotKid(t, rotToken(t, m, s.cookie)), "%s: not re-keyed by a read", s.user)
		}
	}
	is := func(t *testing.T, s *sess, kid, org string) {
		t.Helper()
		tok := rotToken(t, m, s.cookie)
		assert.Equal(t, []string{kid, org}, []string{rotKid(t, tok), rotClaims(t, m, tok).Org}, s.user)
	}
	u0 := &sess{"u0", signIn(t, m, "u0")}
	lag := signIn(t, m, "lag") // never read again
	live = append(live, u0)

	// 1. Add b, newest, decrypt-only. a still seals.
	clk.Advance(time.Minute)
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:decrypt-only:"+secretB, "a:primary:"+secretA)))
	u1 := &sess{"u1", signIn(t, m, "u1")}
	live = append(live, u1)
	readAll(t)

	// 2. Promote b (this manager is the whole fleet: it loaded the
	// promotion at p). Reads leave u0 and u1 under a; their next write
	// moves them to b, origin a.
	clk.Advance(time.Minute)
	p := clk.Now()
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA).WithPromotedAt(p)))
	u2 := &sess{"u2", signIn(t, m, "u2")}
	live = append(live, u2)
	readAll(t)
	is(t, u0, "a", "a")
	is(t, u1, "a", "a")
	is(t, u2, "b", "b")
	for _, s := range live {
		rec := rotUpdate(t, m, s.cookie)
		rotSessionCookie(t, m, rec)
		s.cookie = cookieHeader(s.cookie, rec)
	}
	is(t, u0, "b", "a")
	is(t, u1, "b", "a")
	is(t, u2, "b", "b")
	readAll(t)
	assert.Equal(t, uint64(2), rotStats(t, m, "a").Rewritten, "u0 and u1, read under b")
	rewritten := u0.cookie

	// Retiring a now would sign out u0 and u1, although under b.
	early, err := New[testData](m.core.cfg, mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA))
	require.NoError(t, err)
	require.ErrorIs(t, read(t, early, u0.cookie).Err, ErrRetiredKey)
	require.ErrorIs(t, read(t, early, u1.cookie).Err, ErrRetiredKey)
	require.NoError(t, read(t, early, u2.cookie).Err)

	// 3. Wait for SafeToRetireAt, reading every session every 2 minutes
	// (companions keep them alive); each sign-in ends with its absolute
	// lifetime, and signs in again, under b.
	safe, ok := m.SafeToRetireAt()
	require.True(t, ok)
	assert.Equal(t, p.Add(time.Hour+31*time.Second), safe)
	ends := 0
	for clk.Now().Before(safe) {
		clk.Advance(2 * time.Minute)
		for _, s := range live {
			abs := rotClaims(t, m, rotToken(t, m, s.cookie)).Abs
			res := read(t, m, s.cookie)
			if !res.OK {
				require.ErrorIs(t, res.Err, ErrExpired, s.user)
				require.Greater(t, clk.Now().Unix(), abs+3600+30, "%s: ended within its lifetime", s.user)
				s.cookie, ends = signIn(t, m, s.user), ends+1
				continue
			}
			rotNoTokenWritten(t, m, res.Rec, s.user)
			s.cookie = cookieHeader(s.cookie, res.Rec)
		}
	}
	assert.Equal(t, 3, ends, "every sign-in begun before the promotion ended")

	// 4. Retire a: nobody live is signed out; the lagging token and the
	// rewritten one are refused, as is everything of a's sign-ins.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA).WithPromotedAt(p)))
	readAll(t)
	for _, c := range []string{lag, rewritten} {
		res := read(t, m, c)
		assert.ErrorIs(t, res.Err, ErrRetiredKey)
		assert.Empty(t, setCookies(res.Rec))
	}
	assert.Equal(t, uint64(2), rotStats(t, m, "a").Retired)

	// 5. Remove a: its sign-ins are now unknown, everyone else is fine.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB)))
	readAll(t)
	for _, c := range []string{lag, rewritten} {
		assert.ErrorIs(t, read(t, m, c).Err, ErrUnknownKey)
	}
}

func TestCountersAcrossReload(t *testing.T) {
	m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	signIn(t, m, "bob")
	read(t, m, c)
	want := KeyStats{ID: "a", State: Primary, Sealed: 2, Opened: 1}
	require.Equal(t, want, rotStats(t, m, "a"))

	// Same keyring again: counters kept.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "a:primary:"+secretA)))
	assert.Equal(t, want, rotStats(t, m, "a"))

	// Key kept (same id and secret) in another state: counters kept.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
	want.State = DecryptOnly
	assert.Equal(t, want, rotStats(t, m, "a"))
	assert.Equal(t, KeyStats{ID: "b", State: Primary}, rotStats(t, m, "b"))
	read(t, m, c) // read as it is: nothing sealed
	assert.Equal(t, uint64(2), rotStats(t, m, "a").Opened)
	assert.Zero(t, rotStats(t, m, "b").Sealed)
	c = cookieHeader(c, rotUpdate(t, m, c)) // written: under b, origin a
	assert.Equal(t, uint64(3), rotStats(t, m, "a").Opened)
	assert.Equal(t, uint64(1), rotStats(t, m, "b").Sealed)
	read(t, m, c)
	assert.Equal(t, KeyStats{ID: "b", State: Primary, Sealed: 1, Opened: 1}, rotStats(t, m, "b"))
	assert.Equal(t, uint64(1), rotStats(t, m, "a").Rewritten)

	// Same id, new secret: a different key, its counters start at zero;
	// b's are kept.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretC)))
	assert.Equal(t, KeyStats{ID: "a", State: DecryptOnly}, rotStats(t, m, "a"))
	assert.Equal(t, uint64(1), rotStats(t, m, "b").Sealed)

	// Same secret under a new id: a new key as well.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b2:primary:"+secretB)))
	assert.Equal(t, KeyStats{ID: "b2", State: Primary}, rotStats(t, m, "b2"))

	// Counters are per manager.
	other, _ := newTestManager(t, Config{}, mustKeyring(t, "b2:primary:"+secretB))
	signIn(t, other, "x")
	assert.Zero(t, rotStats(t, m, "b2").Sealed)
}
