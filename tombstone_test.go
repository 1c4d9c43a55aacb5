package jwesession

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tombstone cookie (sign-out), in real cookie jars where arrival order
// matters. Helpers are prefixed tb; the cp helpers come from
// companion_test.go.

// tbEntry is one tombstone entry.
type tbEntry struct {
	Sin string `json:"sin"`
	End int64  `json:"end"`
}

// tbPT is a tombstone's plaintext in its one form.
func tbPT(out ...tbEntry) string {
	b, _ := json.Marshal(struct {
		V   int       `json:"v"`
		Out []tbEntry `json:"out"`
	}{1, out})
	return string(b)
}

// tbOpen returns the entries of the tombstone value, opened independently
// of the library (secretA, base name "session"), checking the one form.
func tbOpen(t testing.TB, value string) []tbEntry {
	t.Helper()
	pt, err := cpOpenAs(secretA, "A256GCM tombstone session", value)
	require.NoError(t, err)
	var ts struct {
		V   int       `json:"v"`
		Out []tbEntry `json:"out"`
	}
	require.NoError(t, json.Unmarshal(pt, &ts))
	require.Equal(t, tbPT(ts.Out...), string(pt), "the one form")
	return ts.Out
}

// tbDo runs fn on the cookie and returns the response (a request whose
// response has not arrived yet, unless the caller applies it).
func tbDo(t testing.TB, m *Manager[testData], cookie string, fn func(s *Session[testData]) error) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { require.NoError(t, fn(s)) })
}

func tbSignIn(user string) func(s *Session[testData]) error {
	return func(s *Session[testData]) error { return s.SignIn(testData{User: user}) }
}

func tbUpdate(s *Session[testData]) error {
	return s.Update(func(d *testData) error { d.N++; return nil })
}

// tbWithTombstone returns the session token cookies (bare or chunks) of
// the Cookie header tokenOf with the tombstone of withTomb: a late
// response of tokenOf's request landing in a jar that holds the tombstone.
func tbWithTombstone(t testing.TB, m *Manager[testData], tokenOf, withTomb string) string {
	t.Helper()
	var parts []string
	for _, p := range strings.Split(tokenOf, "; ") {
		if k, _, _ := strings.Cut(p, "="); k != "" {
			if _, ok := mxChunk(m.CookieName(), k); ok {
				parts = append(parts, p)
			}
		}
	}
	require.NotEmpty(t, parts, "no session token in %q", tokenOf)
	return strings.Join(append(parts, cpTombstone+"="+cpValue(t, withTomb, cpTombstone)), "; ")
}

// Sign-out: the tombstone, and the deletion of every name the session
// could use, whatever the request carried.
func TestSignOutWritesTombstoneDeletesEveryName(t *testing.T) {
	chunks := func(n int) (names []string) {
		for i := range n {
			names = append(names, "__Host-session."+strconv.Itoa(i))
		}
		return names
	}
	for _, c := range []struct {
		name      string
		maxChunks int
		carry     func(t *testing.T, m *Manager[testData], clk *testClock, cookie string) string
		deleted   []string // besides the bare name
	}{
		{"bare", 1, nil, nil},
		{"bare, MaxChunks 4", 4, nil, chunks(4)},
		{"bare, MaxChunks 10", 10, nil, chunks(10)},
		{"chunked", 4, func(t *testing.T, m *Manager[testData], _ *testClock, c string) string {
			return setNote(t, m, c, 5000).Cookie
		}, chunks(4)},
		{"with a companion", 1, func(t *testing.T, m *Manager[testData], clk *testClock, c string) string {
			clk.Advance(6 * time.Minute)
			return cookieHeader(c, read(t, m, c).Rec)
		}, []string{cpCompanion}},
		{"chunked with a companion", 3, func(t *testing.T, m *Manager[testData], clk *testClock, c string) string {
			c = setNote(t, m, c, 5000).Cookie
			clk.Advance(6 * time.Minute)
			return cookieHeader(c, read(t, m, c).Rec)
		}, append(chunks(3), cpCompanion)},
		{"a stray chunk past MaxChunks", 2, func(t *testing.T, m *Manager[testData], _ *testClock, c string) string {
			return c + "; __Host-session.5=x"
		}, append(chunks(2), "__Host-session.5")},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{MaxChunks: c.maxChunks}, nil)
			t0 := clk.Now().Unix()
			cookie := signIn(t, m, "alice")
			sin := read(t, m, cookie).SIN
			if c.carry != nil {
				cookie = c.carry(t, m, clk, cookie)
			}
			clk.Advance(10 * time.Minute)
			rec := tbDo(t, m, cookie, (*Session[testData]).Clear)
			set, deleted := names(setCookies(rec))
			assert.Equal(t, []string{cpTombstone}, set)
			assert.ElementsMatch(t, append([]string{"__Host-session"}, c.deleted...), deleted)
			for _, n := range deleted {
				assert.Equal(t, cpDeletion(n), cpLine(t, rec, n))
			}
			assert.Equal(t, "no-store, private", rec.Header().Get("Cache-Control"))
			_, value, attrs := cpSplit(cpLine(t, rec, cpTombstone))
			end := t0 + maxAbs(m) // the longest absolute lifetime any sign-in can have
			assert.Equal(t, []tbEntry{{sin, end}}, tbOpen(t, value))
			assert.Equal(t, cpAttrs(end+30-clk.Now().Unix(), false), attrs, "Max-Age = end + leeway - now")

			// The sign-in's token with the tombstone: refused, nothing written.
			ltAssertRejected(t, read(t, m, tbWithTombstone(t, m, cookie, cookieHeader(cookie, rec))), ErrSignedOut)
		})
	}
}

// A concurrent request's response landing after the sign-out's cannot sign
// the user in again; a new sign-in can, and costs no tombstone decryption.
func TestTombstoneRefusesLateResponse(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	b := cpNewBrowser(t, m)
	b.Do(func(s *Session[testData]) { require.NoError(t, s.SignIn(testData{User: "alice"})) })
	slow := tbDo(t, m, b.Cookie(), tbUpdate) // in flight during the sign-out
	b.Arrive(tbDo(t, m, b.Cookie(), (*Session[testData]).Clear))
	b.Arrive(slow)
	res := read(t, m, b.Cookie())
	ltAssertRejected(t, res, ErrSignedOut)
	require.Contains(t, b.Cookie(), m.CookieName()+"=", "the late token is in the jar, refused")
	lateTok := rotToken(t, m, b.Cookie())

	// A new sign-in follows it: in steady state, its reads write nothing.
	rec := b.Do(func(s *Session[testData]) { require.NoError(t, s.SignIn(testData{User: "alice"})) })
	set, _ := names(setCookies(rec))
	assert.Equal(t, []string{"__Host-session"}, set, "no sign-in was valid: no new tombstone")
	tomb := cpValue(t, b.Cookie(), cpTombstone)
	assert.Equal(t, ivSegment(tomb), rotClaims(t, m, rotToken(t, m, b.Cookie())).Tbs, "the token records the tombstone it follows")
	for range 4 {
		clk.Advance(time.Minute)
		res := read(t, m, b.Cookie())
		require.NoError(t, res.Err)
		assert.True(t, res.OK)
		assert.Empty(t, setCookies(res.Rec))
	}
	newSin := read(t, m, b.Cookie()).SIN
	// The skip: a tombstone of the same IV is the one checked at the
	// write, so it is not opened again. Proof: one forged with that IV
	// naming the new sign-in is not seen; with a fresh IV it is.
	forged := func(iv string) string {
		dk := m.core.ring.Load().primary
		ivb, err := base64.RawURLEncoding.DecodeString(iv)
		require.NoError(t, err)
		sealed := dk.aead[purposeTombstone].Seal(nil, ivb, []byte(tbPT(tbEntry{newSin, clk.Now().Unix() + 3600})), dk.aad)
		enc := base64.RawURLEncoding.EncodeToString
		return dk.header + ".." + iv + "." + enc(sealed[:len(sealed)-tagLen]) + "." + enc(sealed[len(sealed)-tagLen:])
	}
	tok := m.CookieName() + "=" + rotToken(t, m, b.Cookie()) + "; " + cpTombstone + "="
	require.NoError(t, read(t, m, tok+forged(ivSegment(tomb))).Err)
	assert.ErrorIs(t, read(t, m, tok+forged("AAAAAAAAAAAAAAAA")).Err, ErrSignedOut)

	// The signed-out sign-in's late token is still refused.
	ltAssertRejected(t, read(t, m, m.CookieName()+"="+lateTok+"; "+cpTombstone+"="+tomb), ErrSignedOut)
}

// Renew keeps the sign-in id: a renewed token landing after the sign-out
// of its sign-in is refused too.
func TestTombstoneRefusesRenewedToken(t *testing.T) {
	for _, renewLast := range []bool{false, true} {
		t.Run(fmt.Sprintf("renew last=%v", renewLast), func(t *testing.T) {
			m, _ := newTestManager(t, Config{}, nil)
			b := cpNewBrowser(t, m)
			b.Do(func(s *Session[testData]) { require.NoError(t, s.SignIn(testData{User: "alice"})) })
			before := read(t, m, b.Cookie())
			renew := tbDo(t, m, b.Cookie(), (*Session[testData]).Renew)
			out := tbDo(t, m, b.Cookie(), (*Session[testData]).Clear)
			renewed := read(t, m, cookieHeader(b.Cookie(), renew))
			require.NotEqual(t, before.SID, renewed.SID)
			require.Equal(t, before.SIN, renewed.SIN, "Renew keeps the sign-in")
			if renewLast {
				b.Arrive(out, renew)
			} else {
				b.Arrive(renew, out)
			}
			if renewLast {
				ltAssertRejected(t, read(t, m, b.Cookie()), ErrSignedOut)
				return
			}
			res := read(t, m, b.Cookie())
			assert.False(t, res.OK)
			assert.NoError(t, res.Err, "no token left")
		})
	}
}

// The tombstone keeps the newest 4 sign-outs.
func TestTombstoneKeepsNewestFour(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	b := cpNewBrowser(t, m)
	var slow []string // each cycle's token, as a late response would bring it back
	var want []tbEntry
	for i := range 5 {
		b.Do(func(s *Session[testData]) { require.NoError(t, s.SignIn(testData{User: fmt.Sprint("user", i)})) })
		slow = append(slow, b.Cookie())
		want = append(want, tbEntry{read(t, m, b.Cookie()).SIN, clk.Now().Unix() + maxAbs(m)})
		clk.Advance(time.Minute)
		rec := b.Do(func(s *Session[testData]) { require.NoError(t, s.Clear()) })
		_, value, attrs := cpSplit(cpLine(t, rec, cpTombstone))
		assert.Equal(t, want[max(0, len(want)-4):], tbOpen(t, value), "cycle %d", i+1)
		assert.Equal(t, cpAttrs(want[i].End+30-clk.Now().Unix(), false), attrs)
		clk.Advance(time.Minute)
	}
	for i, c := range slow {
		res := read(t, m, tbWithTombstone(t, m, c, b.Cookie()))
		if i == 0 {
			require.NoError(t, res.Err, "cycle 1 is no longer in the tombstone: its late token is accepted (the documented limit)")
			assert.Equal(t, "user0", res.D.User)
			continue
		}
		ltAssertRejected(t, res, ErrSignedOut)
	}
}

// A tombstone entry is dropped once its sign-in's absolute end + leeway has
// passed: nothing of that sign-in can be valid any more.
func TestTombstoneDropsEndedEntries(t *testing.T) {
	for _, late := range []int64{30, 31} { // seconds past the first end
		t.Run(fmt.Sprintf("end+%ds", late), func(t *testing.T) {
			m, clk := newTestManager(t, Config{AbsoluteTimeout: time.Hour, RememberIdleTimeout: time.Hour, RememberAbsoluteTimeout: time.Hour}, nil)
			t0 := clk.Now().Unix()
			b := cpNewBrowser(t, m)
			var sins []string
			cycle := func() *httptest.ResponseRecorder {
				b.Do(func(s *Session[testData]) { require.NoError(t, s.SignIn(testData{User: "alice"})) })
				sins = append(sins, read(t, m, b.Cookie()).SIN)
				return b.Do(func(s *Session[testData]) { require.NoError(t, s.Clear()) })
			}
			cycle()
			cpSetTo(clk, time.Unix(t0+50*60, 0))
			rec := cycle()
			_, value, attrs := cpSplit(cpLine(t, rec, cpTombstone))
			assert.Equal(t, []tbEntry{{sins[0], t0 + 3600}, {sins[1], t0 + 50*60 + 3600}}, tbOpen(t, value))
			assert.Equal(t, cpAttrs(3600+30, false), attrs, "Max-Age: the latest end + leeway - now")
			cpSetTo(clk, time.Unix(t0+3600+late, 0))
			_, value, _ = cpSplit(cpLine(t, cycle(), cpTombstone))
			want := []tbEntry{{sins[1], t0 + 50*60 + 3600}, {sins[2], t0 + 3600 + late + 3600}}
			if late <= 30 {
				want = append([]tbEntry{{sins[0], t0 + 3600}}, want...)
			}
			assert.Equal(t, want, tbOpen(t, value))
		})
	}
}

// A tombstone that cannot be read signs nobody out.
func TestUnusableTombstoneIgnored(t *testing.T) {
	m, clk := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA, "z:retired:"+secretC))
	other, _ := newTestManager(t, Config{CookieName: "other"}, nil) // same key, another base name
	cookie := signIn(t, m, "alice")
	sin := read(t, m, cookie).SIN
	pt := tbPT(tbEntry{sin, clk.Now().Unix() + maxAbs(m)})
	for _, c := range []struct {
		name, value string
		want        error
	}{
		{"control: sealed for this cookie", cpSeal(t, m, "a", purposeTombstone, pt), ErrSignedOut},
		{"garbage", "garbage", nil},
		{"for another cookie name", cpSeal(t, other, "a", purposeTombstone, pt), nil},
		{"under the session key", cpSeal(t, m, "a", purposeData, pt), nil},
		{"under the companion key", cpSeal(t, m, "a", purposeCompanion, pt), nil},
		{"a session token", rotToken(t, m, cookie), nil},
		{"under a retired key", cpSeal(t, m, "z", purposeTombstone, pt), nil},
		{"format version 2", cpSeal(t, m, "a", purposeTombstone, strings.Replace(pt, `"v":1`, `"v":2`, 1)), nil},
		{"oversized", strings.Repeat("A", 2000), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := read(t, m, cookie+"; "+cpTombstone+"="+c.value)
			assert.Empty(t, setCookies(res.Rec))
			if c.want != nil {
				ltAssertRejected(t, res, c.want)
				return
			}
			require.NoError(t, res.Err)
			assert.Equal(t, "alice", res.D.User)
			// A sign-out over it writes a tombstone of its own sign-in only.
			rec := tbDo(t, m, cookie+"; "+cpTombstone+"="+c.value, (*Session[testData]).Clear)
			_, v, _ := cpSplit(cpLine(t, rec, cpTombstone))
			assert.Equal(t, []tbEntry{{sin, clk.Now().Unix() + maxAbs(m)}}, tbOpen(t, v))
		})
	}
	// The tombstone's value is no session token either.
	_, v, _ := cpSplit(cpLine(t, tbDo(t, m, cookie, (*Session[testData]).Clear), cpTombstone))
	assert.ErrorIs(t, read(t, m, m.CookieName()+"="+v).Err, ErrDecrypt)
}

// SignIn over a valid sign-in ends it as a sign-out does: a late write of
// the old sign-in cannot bring it back.
func TestSignInOverSignInTombstonesOld(t *testing.T) {
	for _, oldLast := range []bool{false, true} {
		t.Run(fmt.Sprintf("old write last=%v", oldLast), func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, nil)
			b := cpNewBrowser(t, m)
			b.Do(func(s *Session[testData]) { require.NoError(t, s.SignIn(testData{User: "alice"})) })
			alice := read(t, m, b.Cookie())
			clk.Advance(time.Minute)
			slow := tbDo(t, m, b.Cookie(), tbUpdate)
			bob := tbDo(t, m, b.Cookie(), tbSignIn("bob"))
			set, deleted := names(setCookies(bob))
			assert.ElementsMatch(t, []string{cpTombstone, "__Host-session"}, set)
			assert.Empty(t, deleted)
			_, v, _ := cpSplit(cpLine(t, bob, cpTombstone))
			assert.Equal(t, []tbEntry{{alice.SIN, clk.Now().Unix() - 60 + maxAbs(m)}}, tbOpen(t, v))
			if oldLast {
				b.Arrive(bob, slow)
			} else {
				b.Arrive(slow, bob)
			}
			res := read(t, m, b.Cookie())
			assert.NotEqual(t, "alice", res.D.User, "never the replaced sign-in back")
			if oldLast {
				ltAssertRejected(t, read(t, m, b.Cookie()), ErrSignedOut)
				return
			}
			require.NoError(t, res.Err)
			assert.Equal(t, "bob", res.D.User)
		})
	}
}
