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

// rotSessionCookie returns the one session Set-Cookie of rec, parsed.
func rotSessionCookie(t testing.TB, m *Manager[testData], rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	cs := rec.Result().Cookies()
	require.Len(t, cs, 1, "exactly one Set-Cookie: %q", setCookies(rec))
	require.Equal(t, m.CookieName(), cs[0].Name)
	return cs[0]
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
		assert.Equal(t, a.Keys(), b.Keys())
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
		assert.Equal(t, "k2", rotKid(t, rotToken(t, m3, cookieHeader(c, res.Rec))))
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

func TestRekeyOlderDecryptOnly(t *testing.T) {
	m, clk := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	before := rotClaims(t, m, rotToken(t, m, c))
	require.Equal(t, "a", rotKid(t, rotToken(t, m, c)))

	clk.Advance(time.Minute) // well before RefreshAfter
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))

	res := read(t, m, c)
	require.NoError(t, res.Err)
	require.True(t, res.OK)
	assert.Equal(t, "alice", res.D.User)
	ck := rotSessionCookie(t, m, res.Rec)
	assert.Equal(t, "no-store, private", res.Rec.Header().Get("Cache-Control"))
	assert.Equal(t, "b", rotKid(t, ck.Value), "re-keyed under the primary")

	after := rotClaims(t, m, ck.Value)
	assert.Equal(t, before, after, "claims copied unchanged: sid, iat, exp, abs, data")
	assert.Equal(t, int(before.Exp-clk.Now().Unix()), ck.MaxAge, "Max-Age follows the unchanged exp")

	// The next read under this keyring owes nothing.
	c2 := cookieHeader(c, res.Rec)
	res2 := read(t, m, c2)
	require.NoError(t, res2.Err)
	require.True(t, res2.OK)
	assert.Empty(t, setCookies(res2.Rec))

	a, b := rotStats(t, m, "a"), rotStats(t, m, "b")
	assert.Equal(t, KeyStats{ID: "a", State: DecryptOnly, Sealed: 1, Opened: 1, Rewritten: 0}, a)
	assert.Equal(t, KeyStats{ID: "b", State: Primary, Sealed: 1, Opened: 1}, b)
}

func TestRekeyWhenRefreshDue(t *testing.T) {
	m, clk := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	before := rotClaims(t, m, rotToken(t, m, c))

	clk.Advance(6 * time.Minute) // past RefreshAfter
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
	res := read(t, m, c)
	require.NoError(t, res.Err)
	ck := rotSessionCookie(t, m, res.Rec)
	assert.Equal(t, "b", rotKid(t, ck.Value))
	after := rotClaims(t, m, ck.Value)
	now := clk.Now().Unix()
	assert.Equal(t, before.Sid, after.Sid)
	assert.Equal(t, before.Abs, after.Abs)
	assert.Equal(t, before.Data, after.Data)
	assert.Equal(t, now, after.Iat, "the refresh rules apply: new iat")
	assert.Equal(t, now+1800, after.Exp, "the refresh rules apply: new exp")
	assert.Equal(t, 1800, ck.MaxAge)
	assert.Equal(t, uint64(1), rotStats(t, m, "a").Rewritten)

	res2 := read(t, m, cookieHeader(c, res.Rec))
	require.NoError(t, res2.Err)
	assert.Empty(t, setCookies(res2.Rec))
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
// not yet. A browser bouncing between them gets at most one re-key, never a
// cookie on every read.
func TestRolloutNoPingPong(t *testing.T) {
	x, clk := newTestManager(t, Config{}, mustKeyring(t, "n:primary:"+secretC, "a:decrypt-only:"+secretA))
	y, _ := newTestManager(t, Config{Now: clk.Now}, mustKeyring(t, "n:decrypt-only:"+secretC, "a:primary:"+secretA))
	for _, start := range []*Manager[testData]{x, y} {
		c := signIn(t, start, "alice")
		writes := 0
		for i := 0; i < 10; i++ {
			m := x
			if i%2 == 1 {
				m = y
			}
			clk.Advance(10 * time.Second)
			res := read(t, m, c)
			require.NoError(t, res.Err, "read %d", i)
			require.True(t, res.OK)
			writes += len(setCookies(res.Rec))
			c = cookieHeader(c, res.Rec)
		}
		assert.LessOrEqual(t, writes, 1, "at most one re-key while both halves run")
		assert.Equal(t, "n", rotKid(t, rotToken(t, x, c)))
	}
}

func TestRetiredAndUnknownKeys(t *testing.T) {
	t.Run("retired", func(t *testing.T) {
		m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
		c := signIn(t, m, "alice")
		require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA)))
		res := read(t, m, c)
		assert.False(t, res.OK)
		assert.Empty(t, res.D.User)
		require.ErrorIs(t, res.Err, ErrRetiredKey)
		assert.NotErrorIs(t, res.Err, ErrUnknownKey)
		rotAssertNoSecret(t, res.Err.Error(), secretA, "error")
		assert.NotContains(t, res.Err.Error(), rotToken(t, m, c)[:20])
		ck := rotSessionCookie(t, m, res.Rec)
		assert.Equal(t, -1, ck.MaxAge, "cookie deleted (Max-Age=0)")
		assert.Empty(t, ck.Value)
		assert.Equal(t, "no-store, private", res.Rec.Header().Get("Cache-Control"))
		assert.Equal(t, uint64(1), rotStats(t, m, "a").Retired)
		assert.Zero(t, rotStats(t, m, "a").Opened, "a retired key opens nothing")
		read(t, m, c)
		assert.Equal(t, uint64(2), rotStats(t, m, "a").Retired)
	})
	t.Run("unknown", func(t *testing.T) {
		m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
		c := rotIssue(t, m, mustKeyring(t, "z:primary:"+secretC), "mallory")
		res := read(t, m, c)
		assert.False(t, res.OK)
		require.ErrorIs(t, res.Err, ErrUnknownKey)
		assert.NotErrorIs(t, res.Err, ErrRetiredKey)
		ck := rotSessionCookie(t, m, res.Rec)
		assert.Equal(t, -1, ck.MaxAge)
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
	})
	t.Run("kid of one key over another key's ciphertext", func(t *testing.T) {
		// Same id, other secret: looked up by kid, fails to decrypt, never
		// tried against another key.
		m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA, "b:decrypt-only:"+secretB))
		c := rotIssue(t, m, mustKeyring(t, "a:primary:"+secretC), "mallory")
		res := read(t, m, c)
		assert.False(t, res.OK)
		require.ErrorIs(t, res.Err, ErrDecrypt)
	})
}

func TestOnlyPrimarySeals(t *testing.T) {
	ring := func(t *testing.T) *Keyring {
		return mustKeyring(t, "new:decrypt-only:"+secretC, "cur:primary:"+secretB, "old:decrypt-only:"+secretA)
	}
	underNew := func(t *testing.T, m *Manager[testData], clk *testClock) string {
		return rotIssue(t, m, mustKeyring(t, "new:primary:"+secretC), "alice")
	}
	underCur := func(t *testing.T, m *Manager[testData], clk *testClock) string { return signIn(t, m, "alice") }
	underOld := func(t *testing.T, m *Manager[testData], clk *testClock) string {
		return rotIssue(t, m, mustKeyring(t, "old:primary:"+secretA), "alice")
	}
	type tc struct {
		name  string
		start func(t *testing.T, m *Manager[testData], clk *testClock) string
		op    func(t *testing.T, s *Session[testData], clk *testClock)
	}
	get := func(t *testing.T, s *Session[testData], clk *testClock) { _, ok := s.Get(); require.True(t, ok) }
	var cases []tc
	for _, st := range []struct {
		name  string
		start func(t *testing.T, m *Manager[testData], clk *testClock) string
	}{{"from new", underNew}, {"from cur", underCur}, {"from old", underOld}, {"from none", nil}} {
		cases = append(cases,
			tc{"sign-in " + st.name, st.start, func(t *testing.T, s *Session[testData], clk *testClock) {
				require.NoError(t, s.SignIn(testData{User: "bob"}))
			}},
			tc{"set " + st.name, st.start, func(t *testing.T, s *Session[testData], clk *testClock) {
				require.NoError(t, s.Set(testData{User: "alice", N: 1}))
			}},
		)
		if st.start == nil {
			continue
		}
		cases = append(cases,
			tc{"update " + st.name, st.start, func(t *testing.T, s *Session[testData], clk *testClock) {
				require.NoError(t, s.Update(func(d *testData) error { d.N = 2; return nil }))
			}},
			tc{"renew " + st.name, st.start, func(t *testing.T, s *Session[testData], clk *testClock) { require.NoError(t, s.Renew()) }},
			tc{"touch " + st.name, st.start, func(t *testing.T, s *Session[testData], clk *testClock) { require.NoError(t, s.Touch()) }},
			tc{"refresh " + st.name, func(t *testing.T, m *Manager[testData], clk *testClock) string {
				c := st.start(t, m, clk)
				clk.Advance(5 * time.Minute)
				return c
			}, get},
		)
	}
	cases = append(cases, tc{"re-key from old", underOld, get})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, ring(t))
			cookie := ""
			if c.start != nil {
				cookie = c.start(t, m, clk)
			}
			rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { c.op(t, s, clk) })
			ck := rotSessionCookie(t, m, rec)
			assert.Equal(t, "cur", rotKid(t, ck.Value))
			assert.Zero(t, rotStats(t, m, "new").Sealed)
			assert.Zero(t, rotStats(t, m, "old").Sealed)
			assert.NotZero(t, rotStats(t, m, "cur").Sealed)
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

func TestSetKeyringConcurrent(t *testing.T) {
	ringAB := mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)
	ringBA := mustKeyring(t, "b:decrypt-only:"+secretB, "a:primary:"+secretA)
	m, _ := newTestManager(t, Config{}, ringBA)
	ca := signIn(t, m, "alice")
	require.NoError(t, m.SetKeyring(ringAB))
	cb := signIn(t, m, "bob")
	require.Equal(t, "a", rotKid(t, rotToken(t, m, ca)))
	require.Equal(t, "b", rotKid(t, rotToken(t, m, cb)))

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
				if i%10 == 0 {
					rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
						assert.NoError(t, s.Update(func(d *testData) error { d.N++; return nil }))
					})
					assert.Len(t, setCookies(rec), 1)
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	assert.Positive(t, <-swapped)
}

// The whole fleet rotation on one manager: add, promote, retire, remove.
func TestFleetRotationSequence(t *testing.T) {
	m, clk := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	signOuts := 0
	type sess struct {
		user, cookie string
	}
	var live []*sess
	readAll := func(t *testing.T, wantKidAfter string) {
		t.Helper()
		for _, s := range live {
			res := read(t, m, s.cookie)
			if res.Err != nil || !res.OK {
				signOuts++
				t.Errorf("%s signed out: %v", s.user, res.Err)
				continue
			}
			assert.Equal(t, s.user, res.D.User)
			s.cookie = cookieHeader(s.cookie, res.Rec)
			if wantKidAfter != "" {
				assert.Equal(t, wantKidAfter, rotKid(t, rotToken(t, m, s.cookie)), s.user)
			}
		}
	}
	live = append(live, &sess{"u0", signIn(t, m, "u0")})
	lagging := &sess{"lag", signIn(t, m, "lag")} // never read again until the old key is retired

	// 1. Add b, newest, decrypt-only. a still seals; nobody is re-keyed.
	clk.Advance(time.Minute)
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:decrypt-only:"+secretB, "a:primary:"+secretA)))
	live = append(live, &sess{"u1", signIn(t, m, "u1")})
	readAll(t, "a")

	// 2. Promote b. a becomes decrypt-only; tokens under a are re-keyed on
	// their next read, new ones are sealed under b.
	clk.Advance(time.Minute)
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
	live = append(live, &sess{"u2", signIn(t, m, "u2")})
	readAll(t, "b")
	readAll(t, "b")
	assert.Equal(t, uint64(2), rotStats(t, m, "a").Rewritten, "u0 and u1 re-keyed once each")

	// 3. Retire a. Re-keyed and new sessions stay; the lagging token is
	// rejected with its own error.
	clk.Advance(time.Minute)
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA)))
	readAll(t, "b")
	assert.Zero(t, signOuts, "no sign-out before the old key was retired")
	res := read(t, m, lagging.cookie)
	assert.ErrorIs(t, res.Err, ErrRetiredKey)
	assert.False(t, res.OK)
	assert.Equal(t, uint64(1), rotStats(t, m, "a").Retired)

	// 4. Remove a: its tokens are now unknown, everyone else is fine.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB)))
	readAll(t, "b")
	assert.Zero(t, signOuts)
	res = read(t, m, lagging.cookie)
	assert.ErrorIs(t, res.Err, ErrUnknownKey)
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
	read(t, m, c) // re-keyed to b
	assert.Equal(t, uint64(2), rotStats(t, m, "a").Opened)
	assert.Equal(t, uint64(1), rotStats(t, m, "a").Rewritten)
	assert.Equal(t, uint64(1), rotStats(t, m, "b").Sealed)

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
