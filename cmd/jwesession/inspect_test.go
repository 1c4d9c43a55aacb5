package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

func TestInspectValid(t *testing.T) {
	env := []string{"JWESESSION_KEYS", "b:primary:" + secret2 + ",a:decrypt-only:" + secret1}
	kr := keys(t, env[1])
	a := newApp(t, kr, jwesession.Config{})
	b := &browser{}
	a.signIn(b, userData{User: "alice"})
	_, sin, _, err := a.at(t0.Add(time.Minute)).read(b)
	require.NoError(t, err)
	tok := b.value(t, "__Host-session")

	r := runTool(t, tok+"\n", env, t0.Add(10*time.Minute), "inspect")
	require.Equal(t, 0, r.code, "%s%s", r.out, r.err)
	f := r.fields()
	assert.Equal(t, `{"alg":"dir","enc":"A256GCM","kid":"b"}`, f["header"])
	assert.Equal(t, "b (primary)", f["key"])
	assert.Equal(t, "b (primary)", f["origin key"], "signed in under b")
	assert.Len(t, f["session id"], 22)
	assert.Equal(t, sin, f["sign-in id"], "the sign-in id the application sees")
	assert.Equal(t, "2026-11-23T12:00:00Z (10m0s ago)", f["issued"])
	assert.Equal(t, "2026-11-23T12:30:00Z (in 20m0s)", f["expires"], "issued + IdleTimeout")
	assert.Equal(t, "2026-11-23T12:30:00Z (in 20m0s)", f["idle expiry"], "the token's own: no companion given")
	assert.Equal(t, "2026-11-23T12:00:00Z (10m0s ago)", f["signed in"])
	assert.Equal(t, "2026-11-23T20:00:00Z (in 7h50m0s)", f["absolute end"])
	assert.Equal(t, `{"user":"alice"}`, f["data"])
	assert.Equal(t, "valid", f["result"])
	assert.NotContains(t, f, "cookies", "a bare token: no cookie names")
	assert.NotContains(t, r.out, "re-key")
	assert.Empty(t, r.err)

	// The library's own reading agrees.
	m, err := jwesession.New[userData](jwesession.Config{Now: func() time.Time { return t0 }}, kr)
	require.NoError(t, err)
	info, err := m.Inspect(tok)
	require.NoError(t, err)
	assert.Equal(t, info.SessionID, f["session id"])

	// -absolute changes the absolute end, and caps the idle expiry.
	r = runTool(t, tok, env, t0, "inspect", "-absolute", "20m", "-idle", "15m")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, "2026-11-23T12:20:00Z (in 20m0s)", r.fields()["absolute end"])
	assert.Equal(t, "2026-11-23T12:15:30Z (in 15m30s)", r.fields()["idle expiry"], "issued + -idle + leeway: the clamp")
}

// A "remember me" token: its kind is shown, and its lifetimes are the
// Remember ones (-remember-idle, -remember-absolute), the browser-session
// ones ignored.
func TestInspectRemembered(t *testing.T) {
	env := []string{"JWESESSION_KEYS", "a:primary:" + secret1}
	kr := keys(t, env[1])
	b := &browser{}
	newApp(t, kr, jwesession.Config{}).signInRemembered(b, userData{User: "alice"})
	tok := b.value(t, "__Host-session")
	r := runTool(t, tok, env, t0, "inspect")
	require.Equal(t, 0, r.code, r.err)
	f := r.fields()
	assert.Contains(t, f["sign-in kind"], "remember me")
	assert.Equal(t, "2026-11-30T12:00:00Z (in 168h0m0s)", f["idle expiry"], "issued + the default RememberIdleTimeout")
	assert.Equal(t, "2026-12-23T12:00:00Z (in 720h0m0s)", f["absolute end"], "signed in + the default RememberAbsoluteTimeout")

	r = runTool(t, tok, env, t0, "inspect", "-remember-idle", "1h", "-remember-absolute", "2h", "-idle", "1m", "-absolute", "1m")
	require.Equal(t, 0, r.code, r.err)
	f = r.fields()
	assert.Equal(t, "2026-11-23T13:00:30Z (in 1h0m30s)", f["idle expiry"], "issued + -remember-idle + leeway: the clamp")
	assert.Contains(t, f["expires"], "treated as 2026-11-23T13:00:30Z (in 1h0m30s) (issued + idle 1h0m0s + leeway 30s)")
	assert.Equal(t, "2026-11-23T14:00:00Z (in 2h0m0s)", f["absolute end"])

	// A browser-session token says so.
	plain := &browser{}
	newApp(t, kr, jwesession.Config{}).signIn(plain, userData{User: "bob"})
	r = runTool(t, plain.value(t, "__Host-session"), env, t0, "inspect")
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.fields()["sign-in kind"], "browser session")

	r = runTool(t, tok, env, t0, "inspect", "-remember-idle", "3h", "-remember-absolute", "2h")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.err, "-remember-idle 3h0m0s exceeds -remember-absolute 2h0m0s")
}

func TestInspectInputForms(t *testing.T) {
	env := []string{"JWESESSION_SECRET", secret1}
	kr, err := jwesession.KeyringFromSecret(secret1)
	require.NoError(t, err)
	tok := token(t, kr, t0, "alice")
	big := &browser{}
	newApp(t, kr, jwesession.Config{MaxChunks: 3, DevelopmentCookies: true}).signIn(big, userData{User: "bob", Note: strings.Repeat("n", 5000)})
	require.Equal(t, []string{"session.0", "session.1"}, big.names, "a chunked session")
	chunks := big.header()
	for name, in := range map[string]string{
		"token":                  tok,
		"token with spaces":      "  " + tok + " \r\n",
		"name=value":             "session=" + tok,
		"__Host- cookie":         "__Host-session=" + tok,
		"__Secure- cookie":       "__Secure-session=" + tok,
		"Cookie header":          "Cookie: theme=dark; session=" + tok + "; _ga=GA1.2.3",
		"lower-case header":      "cookie: session=" + tok,
		"first of two wins":      "session=" + tok + "; session=other",
		"__Host- over bare":      "session=other; __Host-session=" + tok,
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
		assert.Contains(t, r.fields()["header"], `"kid":"`+kr.Primary().ID+`"`, name)
	}
	r := runTool(t, chunks, env, t0, "inspect")
	assert.Equal(t, "session.0, session.1", r.fields()["cookies"])

	// A request carrying a chunk without chunk 0 is refused by the library.
	r = runTool(t, "session.1="+big.value(t, "session.1"), env, t0, "inspect")
	assert.Equal(t, 1, r.code)
	assert.True(t, strings.HasPrefix(r.fields()["result"], "rejected: ErrMalformed: "), r.out)

	// Input that holds no session cookie is a usage error: exit 2.
	for name, in := range map[string]string{
		"empty":          "",
		"two lines":      tok + "\n" + tok,
		"other cookie":   "Cookie: theme=dark",
		"bad cookies":    "Cookie: =;=",
		"companion only": "~r.session=" + tok,
	} {
		r := runTool(t, in, env, t0, "inspect")
		assert.Equal(t, 2, r.code, name)
		assert.Empty(t, r.out, name)
		assert.Contains(t, r.err, "jwesession inspect:", name)
	}
	r = runTool(t, "Cookie: theme=dark", env, t0, "inspect", "-cookie-name", "sid")
	assert.Contains(t, r.err, "no cookie named sid, __Host-sid or __Secure-sid")
}

// A read past RefreshAfter writes a companion with a later idle expiry;
// given with it, the token is judged by that expiry, as a request is.
func TestInspectCompanion(t *testing.T) {
	env := []string{"JWESESSION_SECRET", secret1}
	kr, err := jwesession.KeyringFromSecret(secret1)
	require.NoError(t, err)
	for _, dev := range []bool{false, true} {
		prefix := "__Host-"
		if dev {
			prefix = ""
		}
		t.Run(prefix+"session", func(t *testing.T) {
			a := newApp(t, kr, jwesession.Config{DevelopmentCookies: dev}) // IdleTimeout 30m, RefreshAfter 5m
			b := &browser{}
			a.signIn(b, userData{User: "alice"})
			tok := b.value(t, prefix+"session")
			// The refresh is due 10 minutes in: the read sets only the companion.
			_, _, set, err := a.at(t0.Add(10 * time.Minute)).read(b)
			require.NoError(t, err)
			require.Equal(t, []string{prefix + "~r.session"}, set)
			require.Equal(t, tok, b.value(t, prefix+"session"), "a read never writes the token")
			header := "Cookie: " + b.header()

			// 20 minutes in: valid either way; the companion's idle expiry
			// is 10m + 30m.
			r := runTool(t, header, env, t0.Add(20*time.Minute), "inspect")
			require.Equal(t, 0, r.code, "%s%s", r.out, r.err)
			f := r.fields()
			assert.Equal(t, prefix+"session, "+prefix+"~r.session (companion)", f["cookies"])
			assert.Equal(t, "2026-11-23T12:30:00Z (in 10m0s)", f["expires"], "the token's own")
			assert.Equal(t, "2026-11-23T12:40:00Z (in 20m0s)", f["idle expiry"], "the companion's")
			r = runTool(t, tok, env, t0.Add(20*time.Minute), "inspect")
			assert.Equal(t, "2026-11-23T12:30:00Z (in 10m0s)", r.fields()["idle expiry"], "the token alone")

			// 35 minutes in: the token alone has expired; with its companion
			// it is valid, and the application agrees.
			at := t0.Add(35 * time.Minute)
			r = runTool(t, header, env, at, "inspect")
			assert.Equal(t, 0, r.code, "%s%s", r.out, r.err)
			assert.Equal(t, "2026-11-23T12:40:00Z (in 5m0s)", r.fields()["idle expiry"])
			d, _, _, err := a.at(at).read(b.clone())
			assert.NoError(t, err)
			assert.Equal(t, "alice", d.User)
			r = runTool(t, tok, env, at, "inspect")
			assert.Equal(t, 1, r.code)
			assert.Equal(t, "rejected: ErrExpired: jwesession: session expired: idle timeout", r.fields()["result"])
			_, _, _, err = a.read(b.only(prefix + "session"))
			assert.ErrorIs(t, err, jwesession.ErrExpired)

			// Past the companion's expiry and the leeway: expired.
			r = runTool(t, header, env, t0.Add(40*time.Minute+31*time.Second), "inspect")
			assert.Equal(t, 1, r.code)
			assert.Equal(t, "rejected: ErrExpired: jwesession: session expired: idle timeout", r.fields()["result"])
			assert.NotContains(t, r.fields(), "idle expiry", "only when accepted")

			// The same cookies under __Secure- names: read alike.
			secure := strings.NewReplacer("Cookie: ", "Cookie: __Secure-", "; ", "; __Secure-").Replace(strings.ReplaceAll(header, "__Host-", ""))
			r = runTool(t, secure, env, at, "inspect")
			assert.Equal(t, 0, r.code, "%s: %s%s", secure[:40], r.out, r.err)
			assert.Equal(t, "__Secure-session, __Secure-~r.session (companion)", r.fields()["cookies"])
			assert.Equal(t, "2026-11-23T12:40:00Z (in 5m0s)", r.fields()["idle expiry"])

			// A companion under another prefix than the token's is not the
			// session's: ignored, as the application ignores it.
			other := "__Host-"
			if !dev {
				other = ""
			}
			mixed := prefix + "session=" + tok + "; " + other + "~r.session=" + b.value(t, prefix+"~r.session")
			r = runTool(t, mixed, env, at, "inspect")
			assert.Equal(t, 1, r.code, r.out)
			assert.Equal(t, prefix+"session", r.fields()["cookies"])
		})
	}
}

// An application with a shorter RefreshAfter than the library's default
// writes its companion sooner, and applies it sooner: the tool shows the
// same idle expiry as the application whatever its RefreshAfter.
func TestInspectCompanionEarlyRefresh(t *testing.T) {
	env := []string{"JWESESSION_SECRET", secret1}
	kr, err := jwesession.KeyringFromSecret(secret1)
	require.NoError(t, err)
	a := newApp(t, kr, jwesession.Config{RefreshAfter: time.Minute})
	b := &browser{}
	a.signIn(b, userData{User: "alice"})
	_, _, set, err := a.at(t0.Add(2 * time.Minute)).read(b)
	require.NoError(t, err)
	require.Equal(t, []string{"__Host-~r.session"}, set)
	at := t0.Add(3 * time.Minute)
	var exp time.Time
	a.at(at).serve(b.clone(), func(s *jwesession.Session[userData]) { exp = s.ExpiresAt() })
	require.True(t, t0.Add(32*time.Minute).Equal(exp), "the application applies the companion: %v", exp)
	r := runTool(t, b.header(), env, at, "inspect")
	require.Equal(t, 0, r.code, r.out)
	assert.Equal(t, "2026-11-23T12:32:00Z (in 29m0s)", r.fields()["idle expiry"])
}

// A sign-out leaves a tombstone naming the sign-in: the token of a
// request in flight at sign-out is refused with it.
func TestInspectTombstone(t *testing.T) {
	env := []string{"JWESESSION_SECRET", secret1}
	kr, err := jwesession.KeyringFromSecret(secret1)
	require.NoError(t, err)
	a := newApp(t, kr, jwesession.Config{})
	b := &browser{}
	a.signIn(b, userData{User: "alice"})
	_, aliceSin, _, err := a.at(t0.Add(30 * time.Second)).read(b)
	require.NoError(t, err)
	old := b.value(t, "__Host-session")
	a.at(t0.Add(time.Minute)).serve(b, func(s *jwesession.Session[userData]) { require.NoError(t, s.Clear()) })
	tomb := b.value(t, "__Host-~t.session")
	require.Equal(t, []string{"__Host-~t.session"}, b.names, "signed out: the token deleted, the tombstone set")

	// The old token with the tombstone: signed out, claims still shown.
	at := t0.Add(2 * time.Minute)
	r := runTool(t, "Cookie: __Host-session="+old+"; __Host-~t.session="+tomb, env, at, "inspect")
	assert.Equal(t, 1, r.code, "%s%s", r.out, r.err)
	f := r.fields()
	assert.Equal(t, "__Host-session, __Host-~t.session (tombstone)", f["cookies"])
	assert.True(t, strings.HasPrefix(f["result"], "rejected: ErrSignedOut: jwesession: session signed out"), f["result"])
	assert.Equal(t, aliceSin, f["sign-in id"])
	assert.Equal(t, `{"user":"alice"}`, f["data"])
	assert.NotContains(t, f, "idle expiry")
	// The application agrees.
	late := &browser{names: []string{"__Host-session", "__Host-~t.session"}, values: map[string]string{"__Host-session": old, "__Host-~t.session": tomb}}
	_, _, _, err = a.at(at).read(late)
	assert.ErrorIs(t, err, jwesession.ErrSignedOut)

	// The token alone (a copy kept elsewhere) is still valid: no revocation.
	r = runTool(t, old, env, at, "inspect")
	assert.Equal(t, 0, r.code, r.out)

	// A new sign-in in the same browser is not named by the tombstone.
	a.at(t0.Add(3*time.Minute)).signIn(b, userData{User: "bob"})
	r = runTool(t, b.header(), env, t0.Add(4*time.Minute), "inspect")
	assert.Equal(t, 0, r.code, "%s%s", r.out, r.err)
	assert.Equal(t, `{"user":"bob"}`, r.fields()["data"])
	assert.NotEqual(t, aliceSin, r.fields()["sign-in id"])
	assert.Contains(t, r.fields()["cookies"], "__Host-~t.session (tombstone)")
}

// -idle is the application's IdleTimeout: a token whose expiry lies past
// issue + idle + leeway is treated as expiring then.
func TestInspectIdle(t *testing.T) {
	env := []string{"JWESESSION_SECRET", secret1}
	kr, err := jwesession.KeyringFromSecret(secret1)
	require.NoError(t, err)
	tok := token(t, kr, t0, "alice") // issued with IdleTimeout 30m: exp at +30m
	at := t0.Add(10 * time.Minute)

	r := runTool(t, tok, env, at, "inspect")
	assert.Equal(t, 0, r.code, "the default -idle 30m: %s", r.out)
	assert.Equal(t, "2026-11-23T12:30:00Z (in 20m0s)", r.fields()["expires"])

	r = runTool(t, tok, env, at, "inspect", "-idle", "5m")
	assert.Equal(t, 1, r.code, r.out)
	assert.Equal(t, "rejected: ErrExpired: jwesession: session expired: idle timeout", r.fields()["result"])
	assert.Equal(t, "2026-11-23T12:30:00Z (in 20m0s); treated as 2026-11-23T12:05:30Z (4m30s ago) (issued + idle 5m0s + leeway 30s)", r.fields()["expires"])
	// An application with IdleTimeout 5m agrees.
	late := &browser{names: []string{"__Host-session"}, values: map[string]string{"__Host-session": tok}}
	_, _, _, err = newApp(t, kr, jwesession.Config{IdleTimeout: 5 * time.Minute}).at(at).read(late)
	assert.ErrorIs(t, err, jwesession.ErrExpired)

	// Exactly at the clamped expiry plus the leeway: still valid.
	r = runTool(t, tok, env, at, "inspect", "-idle", "9m30s")
	assert.Equal(t, 0, r.code, r.out)
	assert.Equal(t, "2026-11-23T12:10:00Z (now)", r.fields()["idle expiry"])
	r = runTool(t, tok, env, at.Add(time.Second), "inspect", "-idle", "9m", "-leeway", "30s")
	assert.Equal(t, 1, r.code, r.out)

	// IdleTimeout may not exceed AbsoluteTimeout: a set-up error.
	for _, args := range [][]string{{"-idle", "9h"}, {"-absolute", "10m"}} {
		r = runTool(t, tok, env, at, append([]string{"inspect"}, args...)...)
		assert.Equal(t, 2, r.code, "%q", args)
		assert.Contains(t, r.err, "exceeds -absolute", "%q", args)
		assert.Empty(t, r.out)
	}
	r = runTool(t, tok, env, at, "inspect", "-idle", "9h", "-absolute", "10h")
	assert.Equal(t, 0, r.code, r.err)
	r = runTool(t, tok, env, at, "inspect", "-idle", "10m", "-absolute", "10m")
	assert.Equal(t, 0, r.code, r.err)
	r = runTool(t, tok, env, at, "inspect", "-idle", "-1m")
	assert.Equal(t, 2, r.code, r.err)
}

// The origin key is the one the sign-in was first sealed under; retiring
// it ends the sign-in, whatever key its token is under now.
func TestInspectOrigin(t *testing.T) {
	b := &browser{}
	newApp(t, keys(t, "old:primary:"+secret1), jwesession.Config{}).signIn(b, userData{User: "alice"})
	a := newApp(t, keys(t, "new:primary:"+secret2+",old:decrypt-only:"+secret1), jwesession.Config{}).at(t0.Add(time.Minute))
	var sid0, sin0 string
	a.serve(b, func(s *jwesession.Session[userData]) {
		sid0, sin0 = s.ID(), s.SignInID()
		require.NoError(t, s.Set(userData{User: "alice", Note: "rewritten"}))
	})
	a.at(t0.Add(2*time.Minute)).serve(b, func(s *jwesession.Session[userData]) { require.NoError(t, s.Renew()) })
	header := b.header()
	at := t0.Add(3 * time.Minute)
	for _, c := range []struct {
		keys, key, origin, result string
		code                      int
	}{
		{"new:primary:" + secret2 + ",old:decrypt-only:" + secret1, "new (primary)", "old (decrypt-only)", "valid", 0},
		{"new:primary:" + secret2 + ",old:retired:" + secret1, "new (primary)", "old (retired)", `rejected: ErrRetiredKey: jwesession: retired key: the sign-in was first sealed under key "old"`, 1},
		{"new:primary:" + secret2, "new (primary)", "old (not in the keyring)", "rejected: ErrUnknownKey: ", 1},
	} {
		r := runTool(t, header, []string{"JWESESSION_KEYS", c.keys}, at, "inspect")
		assert.Equal(t, c.code, r.code, "%s: %s%s", c.keys, r.out, r.err)
		f := r.fields()
		assert.Equal(t, c.key, f["key"], c.keys)
		assert.Equal(t, c.origin, f["origin key"], c.keys)
		assert.True(t, strings.HasPrefix(f["result"], c.result), "%s: %q", c.keys, f["result"])
		// Renew: a new session id, the same sign-in.
		assert.Equal(t, sin0, f["sign-in id"], c.keys)
		assert.NotEqual(t, sid0, f["session id"], c.keys)
		assert.Contains(t, f["data"], "rewritten")
	}
}

func TestInspectRejections(t *testing.T) {
	envKeys := "n:decrypt-only:" + secret3 + ",b:primary:" + secret2 + ",a:retired:" + secret1
	env := []string{"JWESESSION_KEYS", envKeys}
	kr := keys(t, envKeys)
	underB := token(t, kr, t0, "alice")
	underA := token(t, keys(t, "a:primary:"+secret1), t0, "old")
	underN := token(t, keys(t, "n:primary:"+secret3), t0, "new")
	underZ := token(t, keys(t, "z:primary:"+secret1), t0, "mallory")
	ob := &browser{}
	newApp(t, kr, jwesession.Config{CookieName: "other"}).signIn(ob, userData{User: "x"})
	other := ob.value(t, "__Host-other")
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
		{"right cookie name, prefixed", other, t0, []string{"-cookie-name", "__Host-other"}, 0, "b (primary)", "valid", true},
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
				assert.NotEmpty(t, f["sign-in id"])
				assert.NotEmpty(t, f["origin key"])
				assert.NotEmpty(t, f["data"])
			} else {
				assert.NotContains(t, f, "session id")
			}
			assert.Equal(t, c.code == 0, f["idle expiry"] != "", "idle expiry only when accepted")
			if len(c.in) > 40 {
				assert.NotContains(t, r.out, c.in[20:40], "the token is not echoed")
			}
		})
	}
	t.Run("under a decrypt-only key: valid, as it is", func(t *testing.T) {
		r := runTool(t, underB, []string{"JWESESSION_KEYS", "c:primary:" + secret3 + ",b:decrypt-only:" + secret2}, t0, "inspect")
		assert.Equal(t, 0, r.code)
		assert.Equal(t, "b (decrypt-only)", r.fields()["key"])
		assert.Equal(t, "valid", r.fields()["result"])
	})
	t.Run("odd header", func(t *testing.T) {
		// A raw control byte (a terminal escape, say) is printed quoted.
		h := base64.RawURLEncoding.EncodeToString([]byte("{\"alg\":\"dir\x1b[2J\"}"))
		r := runTool(t, h+"..a.b.c", env, t0, "inspect")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, `"{\"alg\":\"dir\x1b[2J\"}"`, r.fields()["header"])
	})
}

// Keys that cannot be read are a set-up error: exit 2, never 1.
func TestInspectKeySources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(file, []byte("# keys\nb:primary:"+secret2+"\na:decrypt-only:"+secret1+"\npromoted: 2026-11-23T11:00:00Z\n"), 0o600))
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("# keys\nb:primary:"+secret2+"\na:primary:"+secret1+"\n"), 0o600))
	spaced := filepath.Join(dir, "spaced")
	require.NoError(t, os.WriteFile(spaced, []byte("b:primary:"+secret2+" \n"), 0o600))
	tok := token(t, keys(t, "a:primary:"+secret1), t0, "alice")

	r := runTool(t, tok, nil, t0, "inspect", "-keys-file", file)
	assert.Equal(t, 0, r.code, r.err)
	assert.Equal(t, "a (decrypt-only)", r.fields()["key"])

	for name, c := range map[string]struct {
		env  []string
		args []string
		want string
	}{
		"no keys":              {nil, nil, "JWESESSION_SECRET"},
		"both variables":       {[]string{"JWESESSION_SECRET", secret1, "JWESESSION_KEYS", "a:primary:" + secret1}, nil, "both"},
		"file and a variable":  {[]string{"JWESESSION_SECRET", secret1}, []string{"-keys-file", file}, "unset them"},
		"bad file":             {nil, []string{"-keys-file", bad}, "line 2, line 3"},
		"missing file":         {nil, []string{"-keys-file", filepath.Join(dir, "missing")}, "no such file"},
		"weak secret":          {[]string{"JWESESSION_SECRET", "short"}, nil, "weak secret"},
		"secret with newline":  {[]string{"JWESESSION_SECRET", secret1 + "\n"}, nil, "whitespace"},
		"secret with a space":  {[]string{"JWESESSION_SECRET", " " + secret1}, nil, "whitespace"},
		"entry with a space":   {[]string{"JWESESSION_KEYS", "a:primary: " + secret1}, nil, "whitespace"},
		"file line with space": {nil, []string{"-keys-file", spaced}, "whitespace"},
		"bad cookie name":      {[]string{"JWESESSION_SECRET", secret1}, []string{"-cookie-name", "a b"}, "CookieName"},
	} {
		r := runTool(t, tok, c.env, t0, append([]string{"inspect"}, c.args...)...)
		assert.Equal(t, 2, r.code, name)
		assert.Empty(t, r.out, name)
		assert.Contains(t, r.err, c.want, name)
		assert.True(t, strings.HasPrefix(r.err, "jwesession inspect: "), name)
	}
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
