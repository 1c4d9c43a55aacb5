package jwesession

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Token confusion (THREATS.md: "A companion or tombstone opened as a
// session token, or the reverse"; CVE-2023-48309). Every kind of cookie is
// sealed under a key of its own (HKDF info "A256GCM <base>", "A256GCM
// companion <base>", "A256GCM tombstone <base>"), so a cookie of one kind
// or of another cookie name never opens as another: a session cookie that
// is not a session token is refused with ErrDecrypt, a companion or
// tombstone that is not one is ignored.
//
// The crafted cookies below are sealed with keys the test derives from the
// info strings spelled out, not through the library's purpose.info, each in
// the form of the slot it is put in, so that only the key can make the
// library refuse or ignore it.

// purposeSeal seals pt under secret's key for the HKDF info, with key id
// kid's exact header and a random IV.
func purposeSeal(t testing.TB, secret, info, kid string, pt []byte) string {
	t.Helper()
	iv := make([]byte, ivLen)
	_, _ = rand.Read(iv)
	return jweSealSeg(t, deriveKey([]byte(secret), info), jweB64([]byte(jweHeader(kid))), iv, pt).String()
}

// purposeSetup signs alice in at the test clock's start under key a and
// moves the clock 6 minutes on, past RefreshAfter: a read of her token
// consults a companion, and writes one when none extends it. It returns
// the manager, the clock and the token's claims.
func purposeSetup(t *testing.T) (*Manager[testData], *testClock, string, *envelope) {
	t.Helper()
	m, clk := newTestManager(t, Config{}, nil)
	cookie := signIn(t, m, "alice")
	tok := strings.TrimPrefix(cookie, "__Host-session=")
	_, env, err := m.core.ring.Load().open(tok, ChunkSize)
	require.NoError(t, err)
	clk.Advance(6 * time.Minute)
	// Short enough for the companion's and the tombstone's length limits:
	// put in their slots, it reaches decryption.
	require.Less(t, len(tok), min(maxCompanionLen, maxTombstoneLen))
	return m, clk, tok, env
}

// purposeRead reads the session with the Cookie header, and returns what
// the handler saw and its idle expiry.
func purposeRead(t *testing.T, m *Manager[testData], cookie string) (readResult, time.Time) {
	t.Helper()
	var res readResult
	var exp time.Time
	res.Rec = serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		res.D, res.OK = s.Get()
		res.Err, exp = s.Err(), s.ExpiresAt()
	})
	return res, exp
}

// purposeNames are the Set-Cookie names of a response.
func purposeNames(res readResult) []string {
	var names []string
	for _, c := range res.Rec.Result().Cookies() {
		names = append(names, c.Name)
	}
	return names
}

// TestCookiePurposeMatrix puts a cookie in the form of each slot (session
// token, companion, tombstone), sealed under each purpose's key of the
// cookie name and of another, in that slot: it takes effect only under
// the slot's own key for the manager's cookie name.
func TestCookiePurposeMatrix(t *testing.T) {
	infos := []string{
		"A256GCM session", "A256GCM companion session", "A256GCM tombstone session",
		"A256GCM other", "A256GCM companion other", "A256GCM tombstone other",
		"A256GCM  session", "A256GCM companion", "A256GCM tombstone", "companion session",
	}
	for _, slot := range []struct {
		name, info string
		// form returns the slot's plaintext for the session env at now
		form func(env *envelope, now int64) []byte
		// cookie returns the Cookie header with the crafted value c
		cookie func(tok, c string) string
		// check verifies the response: effect says the cookie was taken
		check func(t *testing.T, res readResult, exp time.Time, env *envelope, now int64, effect bool)
	}{
		{
			name: "session", info: "A256GCM session",
			form: func(env *envelope, now int64) []byte {
				e := *env
				e.Sid, e.Iat, e.Exp, e.Data = "c2Vzc2lvbi1zbG90LXNpZA", now, now+1800, json.RawMessage(`{"user":"mallory"}`)
				return appendEnvelope(nil, &e)
			},
			cookie: func(tok, c string) string { return "__Host-session=" + c },
			check: func(t *testing.T, res readResult, exp time.Time, env *envelope, now int64, effect bool) {
				if effect {
					require.NoError(t, res.Err)
					assert.Equal(t, "mallory", res.D.User)
					return
				}
				assert.ErrorIs(t, res.Err, ErrDecrypt)
				assert.False(t, res.OK)
				assert.Empty(t, setCookies(res.Rec))
			},
		},
		{
			name: "companion", info: "A256GCM companion session",
			form: func(env *envelope, now int64) []byte { return appendCompanion(nil, env.Sid, now, now+1800) },
			cookie: func(tok, c string) string {
				return "__Host-session=" + tok + "; __Host-~r.session=" + c
			},
			check: func(t *testing.T, res readResult, exp time.Time, env *envelope, now int64, effect bool) {
				require.NoError(t, res.Err)
				require.True(t, res.OK)
				if effect {
					assert.Equal(t, now+1800, exp.Unix(), "the companion's idle expiry")
					assert.Empty(t, setCookies(res.Rec), "a recent companion: no refresh due")
					return
				}
				assert.Equal(t, env.Exp, exp.Unix(), "ignored: the token's own idle expiry")
				assert.Equal(t, []string{"__Host-~r.session"}, purposeNames(res), "ignored: the refresh is still due")
			},
		},
		{
			name: "tombstone", info: "A256GCM tombstone session",
			form: func(env *envelope, now int64) []byte {
				return []byte(`{"v":1,"out":[{"sin":"` + env.Sin + `","end":` + purposeItoa(env.Abs+8*3600) + `}]}`)
			},
			cookie: func(tok, c string) string {
				return "__Host-session=" + tok + "; __Host-~t.session=" + c
			},
			check: func(t *testing.T, res readResult, exp time.Time, env *envelope, now int64, effect bool) {
				if effect {
					assert.ErrorIs(t, res.Err, ErrSignedOut)
					assert.False(t, res.OK)
					assert.Empty(t, setCookies(res.Rec))
					return
				}
				require.NoError(t, res.Err, "ignored: no ErrSignedOut")
				assert.True(t, res.OK)
				assert.Equal(t, "alice", res.D.User)
			},
		},
	} {
		for _, info := range infos {
			effect := info == slot.info
			t.Run(slot.name+" slot, key of "+info, func(t *testing.T) {
				m, clk, tok, env := purposeSetup(t)
				now := clk.Now().Unix()
				c := purposeSeal(t, secretA, info, "a", slot.form(env, now))
				res, exp := purposeRead(t, m, slot.cookie(tok, c))
				assert.Less(t, res.Rec.Code, 500)
				slot.check(t, res, exp, env, now, effect)
			})
		}
	}
}

func purposeItoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCompanionOrTombstoneAsSessionRefused: the companion and the
// tombstone the library writes, presented as the session cookie, are
// refused with ErrDecrypt, and nothing is written.
func TestCompanionOrTombstoneAsSessionRefused(t *testing.T) {
	m, _, tok, _ := purposeSetup(t)
	res, _ := purposeRead(t, m, "__Host-session="+tok)
	require.NoError(t, res.Err)
	companion := fuzzSetCookie(res.Rec, "__Host-~r.session")
	require.NotEmpty(t, companion, "a read whose refresh is due writes a companion")

	rec := serve(t, m, "__Host-session="+tok, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { require.NoError(t, s.Clear()) })
	tomb := fuzzSetCookie(rec, "__Host-~t.session")
	require.NotEmpty(t, tomb, "a sign-out writes a tombstone")

	for name, v := range map[string]string{"companion": companion, "tombstone": tomb} {
		t.Run(name, func(t *testing.T) {
			// The same key id and header as a session token: only the key
			// tells them apart.
			assert.Equal(t, jweSplit(t, tok).h, jweSplit(t, v).h)
			res := read(t, m, "__Host-session="+v)
			assert.ErrorIs(t, res.Err, ErrDecrypt)
			assert.False(t, res.OK)
			assert.Equal(t, testData{}, res.D)
			assert.Empty(t, setCookies(res.Rec))
			assert.Equal(t, "private, no-cache", res.Rec.Header().Get("Cache-Control"))
			// Also as the only chunk of a chunked session.
			m2, _ := newTestManager(t, Config{MaxChunks: 2}, nil)
			assert.ErrorIs(t, read(t, m2, "__Host-session.0="+v).Err, ErrDecrypt)
		})
	}
}

// TestSessionTokenAsCompanionOrTombstoneIgnored: the session token itself,
// presented as the companion or the tombstone (next to it), is ignored:
// the session stays valid, no ErrSignedOut, its idle expiry is its own.
func TestSessionTokenAsCompanionOrTombstoneIgnored(t *testing.T) {
	m, _, tok, env := purposeSetup(t)
	r := m.core.ring.Load()
	for _, p := range []purpose{purposeCompanion, purposeTombstone, purposeFlash} {
		_, _, err := r.openSealed(tok, min(maxCompanionLen, maxTombstoneLen, maxFlashLen), p)
		assert.ErrorIs(t, err, ErrDecrypt, "purpose %d", p)
	}

	res, exp := purposeRead(t, m, "__Host-session="+tok+"; __Host-~r.session="+tok)
	require.NoError(t, res.Err)
	assert.True(t, res.OK)
	assert.Equal(t, env.Exp, exp.Unix(), "not extended")
	assert.Equal(t, []string{"__Host-~r.session"}, purposeNames(res), "the refresh is still due: a real companion is written")

	res, _ = purposeRead(t, m, "__Host-session="+tok+"; __Host-~t.session="+tok)
	require.NoError(t, res.Err, "no ErrSignedOut")
	assert.True(t, res.OK)
	assert.Equal(t, "alice", res.D.User)

	res, _ = purposeRead(t, m, "__Host-~t.session="+tok+"; __Host-~r.session="+tok+"; __Host-session="+tok)
	require.NoError(t, res.Err)
	assert.True(t, res.OK)
}

// TestCookiesOfAnotherNameIgnored: a companion and a tombstone written by
// a manager of another cookie base name, with the same keys, for the same
// session and sign-in, presented under this manager's names, are ignored;
// and this manager's own, under the other manager's names, are not read.
func TestCookiesOfAnotherNameIgnored(t *testing.T) {
	m, clk, tok, env := purposeSetup(t)
	other, err := New[testData](Config{CookieName: "other", Now: clk.Now, Logger: quietLogger()}, m.Keyring())
	require.NoError(t, err)
	or := other.core.ring.Load()
	now := clk.Now().Unix()
	comp := string(appendCompanion(nil, env.Sid, now, now+1800))
	tomb := `{"v":1,"out":[{"sin":"` + env.Sin + `","end":` + purposeItoa(env.Abs+8*3600) + `}]}`

	// The other name's companion for this session id: not extended.
	res, exp := purposeRead(t, m, "__Host-session="+tok+"; __Host-~r.session="+seal(or.primary, purposeCompanion, []byte(comp)))
	require.NoError(t, res.Err)
	assert.Equal(t, env.Exp, exp.Unix())
	assert.Equal(t, []string{"__Host-~r.session"}, purposeNames(res))
	// The other name's tombstone naming this sign-in: not signed out.
	res, _ = purposeRead(t, m, "__Host-session="+tok+"; __Host-~t.session="+seal(or.primary, purposeTombstone, []byte(tomb)))
	require.NoError(t, res.Err)
	assert.True(t, res.OK)

	// Control: the same plaintexts under this name's keys take effect,
	// and under the other manager's cookie names they are not read.
	r := m.core.ring.Load()
	mine := seal(r.primary, purposeCompanion, []byte(comp))
	res, exp = purposeRead(t, m, "__Host-session="+tok+"; __Host-~r.other="+mine)
	require.NoError(t, res.Err)
	assert.Equal(t, env.Exp, exp.Unix(), "another name's slot is not read")
	res, exp = purposeRead(t, m, "__Host-session="+tok+"; __Host-~r.session="+mine)
	require.NoError(t, res.Err)
	assert.Equal(t, now+1800, exp.Unix(), "control: this name's companion")
	res, _ = purposeRead(t, m, "__Host-session="+tok+"; __Host-~t.session="+seal(r.primary, purposeTombstone, []byte(tomb)))
	assert.ErrorIs(t, res.Err, ErrSignedOut, "control: this name's tombstone")

	// A real companion of the other manager (its own session).
	orec := serve(t, other, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "olga"}))
	})
	clk.Advance(6 * time.Minute)
	orec = serve(t, other, cookieHeader("", orec), func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { s.Get() })
	ocomp := fuzzSetCookie(orec, "__Host-~r.other")
	require.NotEmpty(t, ocomp)
	res, exp = purposeRead(t, m, "__Host-session="+tok+"; __Host-~r.session="+ocomp)
	require.NoError(t, res.Err)
	assert.Equal(t, env.Exp, exp.Unix())
}

// TestCompanionOfAnotherSessionIgnored: a companion under this cookie
// name's own key but for another session id (another session of the same
// browser, or the session before a Renew) is ignored; tombstones name
// sign-ins, so one naming another sign-in signs nobody out.
func TestCompanionOfAnotherSessionIgnored(t *testing.T) {
	m, clk, tok, env := purposeSetup(t)
	r := m.core.ring.Load()
	now := clk.Now().Unix()
	other := seal(r.primary, purposeCompanion, appendCompanion(nil, "b3RoZXItc2Vzc2lvbi1pZA", now, now+1800))
	res, exp := purposeRead(t, m, "__Host-session="+tok+"; __Host-~r.session="+other)
	require.NoError(t, res.Err)
	assert.Equal(t, env.Exp, exp.Unix(), "another session id: not extended")
	assert.Equal(t, []string{"__Host-~r.session"}, purposeNames(res))

	tomb := seal(r.primary, purposeTombstone, []byte(`{"v":1,"out":[{"sin":"b3RoZXItc2lnbi1pbi1pZA","end":`+purposeItoa(env.Abs+8*3600)+`}]}`))
	res, _ = purposeRead(t, m, "__Host-session="+tok+"; __Host-~t.session="+tomb)
	require.NoError(t, res.Err)
	assert.True(t, res.OK)
}
