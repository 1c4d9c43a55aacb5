package jwesession

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Allocation budgets of the hot paths, per request and net of an empty
// httptest request (allocation counts are deterministic, times are not).
// .ci/run runs these once without -race. Each is what the test measures
// (Go 1.26, amd64): lower one when a change saves an allocation, never
// raise one without saying why. The hot path's 8, for benchData: the
// request state and the request's WithContext copy, the token's decode
// buffer, the response header map's first entry (the cache headers), the
// data's one string copy (its strings are pieces of it: see decode.go)
// and its one slice (the canonical decoder allocates each slice once, as
// it goes), and two of the benchmark's own request (its Cookie header),
// which the empty request has not.
const (
	allocBudgetHotPath          = 8  // a read of a valid session, nothing written
	allocBudgetHotPathCompanion = 9  // the same with a companion consulted (the token's refresh due): its decryption buffer
	allocBudgetHotPathTombstone = 8  // the same with the tombstone of an earlier sign-in (its IV in the token: not decrypted)
	allocBudgetNoCookie         = 2  // no cookie, session never touched: the request state and WithContext
	allocBudgetSignIn           = 11 // a new session sealed, Set-Cookie and cache headers (MaxChunks 1)
	allocBudgetSignInChunks     = 11 // the same with MaxChunks 4: the deletion lines of chunk names 0 to 3 fit the Set-Cookie slice grown once
)

func allocsPerRequest(h http.Handler, cookie string) float64 {
	return testing.AllocsPerRun(200, func() {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	})
}

// allocServe runs one request through h and returns the Cookie header the
// browser sends next (cookieHeader: deletions applied over prev).
func allocServe(h http.Handler, prev string) (string, *httptest.ResponseRecorder) {
	req := httptest.NewRequest("GET", "/", nil)
	if prev != "" {
		req.Header.Set("Cookie", prev)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return cookieHeader(prev, rec), rec
}

// allocHandlers are the handlers of the allocation test and the
// benchmarks for a manager of benchData: sign in, read (failing tb when
// there is no session), clear, and one that never touches the session.
type allocHandlers struct {
	signIn, read, clear, untouched http.Handler
}

func newAllocHandlers(tb testing.TB, m *Manager[benchData]) allocHandlers {
	return allocHandlers{
		signIn: m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := m.Session(r.Context())
			if err := s.SignIn(benchValue); err != nil {
				tb.Error(err)
			}
		})),
		read: m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := m.Session(r.Context())
			if d, ok := s.Get(); !ok || d.User != benchValue.User {
				tb.Errorf("session not read: %v", s.Err())
			}
		})),
		clear: m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := m.Session(r.Context())
			if err := s.Clear(); err != nil {
				tb.Error(err)
			}
		})),
		untouched: m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})),
	}
}

// hotPathCookies returns the Cookie headers of the three hot paths, and
// leaves the clock where they are all read without a write: a fresh token
// alone; a token whose refresh is due with the companion a read wrote
// (which is recent, so nothing more is due); a fresh token of a sign-in
// that followed a sign-out in the same browser, with that sign-out's
// tombstone (whose IV the token records).
func hotPathCookies(tb testing.TB, m *Manager[benchData], clk *testClock, h allocHandlers) (plain, companion, tombstone string) {
	tb.Helper()
	clk.Advance(-6 * time.Minute)
	old, _ := allocServe(h.signIn, "")
	clk.Advance(6 * time.Minute)
	companion, rec := allocServe(h.read, old)
	if len(rec.Result().Cookies()) != 1 || !strings.Contains(companion, m.core.names.companion+"=") {
		tb.Fatalf("a read whose refresh is due must write one companion: %q", setCookies(rec))
	}
	out, _ := allocServe(h.clear, old)
	if !strings.Contains(out, m.core.names.tombstone+"=") || strings.Contains(out, m.CookieName()+"=") {
		tb.Fatalf("a sign-out must leave a tombstone and no token: %q", out)
	}
	tombstone, _ = allocServe(h.signIn, out)
	if !strings.Contains(tombstone, m.core.names.tombstone+"=") || !strings.Contains(tombstone, m.CookieName()+"=") {
		tb.Fatalf("the sign-in after the sign-out: %q", tombstone)
	}
	plain, _ = allocServe(h.signIn, "")
	// Each is read without a write, and the tombstone is skipped, not
	// decrypted (see TestHotPathTombstoneNotDecrypted).
	for _, c := range []string{plain, companion, tombstone} {
		if _, rec := allocServe(h.read, c); len(rec.Result().Cookies()) != 0 {
			tb.Fatalf("a hot-path read wrote %q", setCookies(rec))
		}
	}
	return plain, companion, tombstone
}

func TestAllocBudgets(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not deterministic under the race detector; .ci/run runs this test without -race")
	}
	clk := newTestClock()
	m, err := New[benchData](Config{Now: clk.Now, Logger: quietLogger()}, mustKeyring(t, "a:primary:"+secretA))
	require.NoError(t, err)
	h := newAllocHandlers(t, m)
	plain, companion, tombstone := hotPathCookies(t, m, clk, h)
	require.Equal(t, 1, strings.Count(plain, "="), "one cookie: %q", plain)

	m4, err := New[benchData](Config{Now: clk.Now, Logger: quietLogger(), MaxChunks: 4}, mustKeyring(t, "a:primary:"+secretA))
	require.NoError(t, err)
	h4 := newAllocHandlers(t, m4)
	_, rec := allocServe(h4.signIn, "")
	require.Len(t, setCookies(rec), 5, "the token and the deletion of chunk names 0 to 3")

	empty := allocsPerRequest(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "")
	hot := allocsPerRequest(h.read, plain) - empty
	hotCompanion := allocsPerRequest(h.read, companion) - empty
	hotTombstone := allocsPerRequest(h.read, tombstone) - empty
	none := allocsPerRequest(h.untouched, "") - empty
	signIn := allocsPerRequest(h.signIn, "") - empty
	signInChunks := allocsPerRequest(h4.signIn, "") - empty
	t.Logf("net allocations per request: hot path %.0f (with companion %.0f, with tombstone %.0f), no cookie %.0f, sign-in %.0f (MaxChunks 4: %.0f)",
		hot, hotCompanion, hotTombstone, none, signIn, signInChunks)
	assert.LessOrEqual(t, hot, float64(allocBudgetHotPath), "hot path")
	assert.LessOrEqual(t, hotCompanion, float64(allocBudgetHotPathCompanion), "hot path with a companion")
	assert.LessOrEqual(t, hotTombstone, float64(allocBudgetHotPathTombstone), "hot path with a tombstone")
	assert.LessOrEqual(t, none, float64(allocBudgetNoCookie), "no cookie")
	assert.LessOrEqual(t, signIn, float64(allocBudgetSignIn), "sign-in")
	assert.LessOrEqual(t, signInChunks, float64(allocBudgetSignInChunks), "sign-in, MaxChunks 4")
}

// TestHotPathTombstoneNotDecrypted: a request whose tombstone is the one
// its token records (tbs) does not decrypt it. Shown by counting: the
// same request with a tombstone the token does not record (a copy
// sealed again, same plaintext, new IV) costs the decryption's
// allocations more, and is just as valid.
func TestHotPathTombstoneNotDecrypted(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not deterministic under the race detector")
	}
	clk := newTestClock()
	m, err := New[benchData](Config{Now: clk.Now, Logger: quietLogger()}, mustKeyring(t, "a:primary:"+secretA))
	require.NoError(t, err)
	h := newAllocHandlers(t, m)
	_, _, tombstone := hotPathCookies(t, m, clk, h)

	r := m.core.ring.Load()
	ck := scanCookies(http.Header{"Cookie": {tombstone}}, &m.core.names, 1)
	_, pt, err := r.openSealed(ck.tombstone, maxTombstoneLen, purposeTombstone)
	require.NoError(t, err)
	resealed := strings.Replace(tombstone, ck.tombstone, seal(r.primary, purposeTombstone, pt), 1)
	require.NotEqual(t, tombstone, resealed)
	_, rec := allocServe(h.read, resealed)
	require.Empty(t, setCookies(rec))

	skipped := allocsPerRequest(h.read, tombstone)
	decrypted := allocsPerRequest(h.read, resealed)
	t.Logf("allocations per read: tombstone recorded in the token %.0f, not recorded %.0f", skipped, decrypted)
	assert.Greater(t, decrypted, skipped, "a recorded tombstone must not be decrypted")
}

// The one form of the claims appendEnvelope writes is what encoding/json
// writes for the envelope struct (the form the vectors pin), envelopeLen
// measures it exactly, and parseEnvelope reads it back.
func TestEnvelopeForm(t *testing.T) {
	datas := []string{`{}`, `null`, `{"user":"alice","roles":["a","b"]}`, `"x"`, `[1,2,3]`, `{"s":"\u003cb\u003e \"q\""}`}
	times := []int64{1, 9, 10, 1_764_000_000, 99_999_999_999, math.MaxInt32 + 1}
	for _, d := range datas {
		for _, n := range times {
			for k, tbs := range []string{"", "AAECAwQFBgcICQoL", "", "AAECAwQFBgcICQoL"} {
				env := envelope{V: formatVersion, Sid: newID(), Sin: newID(), Org: "2026-11.k_1", Iat: n, Exp: n + 1800, Abs: n, Rem: k >= 2, Tbs: tbs, Data: json.RawMessage(d)}
				want, err := json.Marshal(env)
				require.NoError(t, err)
				got := appendEnvelope(nil, &env)
				require.Equal(t, string(want), string(got))
				require.Equal(t, len(got), envelopeLen(&env))
				var back envelope
				require.NoError(t, parseEnvelope(got, &back))
				require.Equal(t, env, back)
			}
		}
	}
}

// parseEnvelope reads the one form and nothing else.
func TestParseEnvelopeRefusesOtherForms(t *testing.T) {
	const (
		pre  = `{"v":2,"sid":"abc_-09","sin":"SIN","org":"k1",`
		good = pre + `"iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{"a":1}}`
	)
	var env envelope
	require.NoError(t, parseEnvelope([]byte(good), &env))
	require.NoError(t, parseEnvelope([]byte(pre+`"iat":100,"exp":200,"abs":100,"rem":false,"tbs":"AAECAwQFBgcICQoL","data":{}}`), &env))
	require.False(t, env.Rem)
	require.NoError(t, parseEnvelope([]byte(pre+`"iat":100,"exp":200,"abs":100,"rem":true,"tbs":"","data":{}}`), &env))
	require.True(t, env.Rem)
	for _, bad := range []string{
		``, `{}`, `null`,
		`{"v":1,"sid":"abc","iat":100,"exp":200,"abs":100,"data":{}}`, // version 1 is refused
		`{"v":3,"sid":"abc","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2, "sid":"abc","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"a\"b","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"a b","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"","org":"k1","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"S.N","org":"k1","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","org":"k1","sin":"SIN","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"SIN","org":"","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"SIN","org":"k 1","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"SIN","org":"012345678901234567890123456789012","iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		pre + `"exp":200,"iat":100,"abs":100,"rem":false,"tbs":"","data":{}}`,
		pre + `"iat":0100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		pre + `"iat":0,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		pre + `"iat":-1,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		pre + `"iat":1e3,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		pre + `"iat":1234567890123456,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":false,"tbs":"AAEC","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":false,"tbs":"AAECAwQFBgcICQo=","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`, // without rem
		pre + `"iat":100,"exp":200,"abs":100,"rem":1,"tbs":"","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":"true","tbs":"","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":tru,"tbs":"","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":null,"tbs":"","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":True,"tbs":"","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"tbs":"","rem":true,"data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":false,"tbs":""}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{},"x":1}x`,
	} {
		err := parseEnvelope([]byte(bad), &env)
		assert.ErrorIs(t, err, ErrMalformed, "%s", bad)
	}
	// Trailing content after the data is the data's problem: open checks
	// it is JSON, and a session load fails decoding it.
	r := deriveRing(mustKeyring(t, "a:primary:"+secretA), "session", nil)
	for _, pt := range []string{
		pre + `"iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{},"x":1}`,
		pre + `"iat":100,"exp":200,"abs":100,"rem":false,"tbs":"","data":{}`,
	} {
		tok := seal(r.primary, purposeData, []byte(pt))
		_, _, err := r.open(tok, ChunkSize)
		assert.ErrorIs(t, err, ErrMalformed, pt)
		assert.False(t, bytes.Contains([]byte(err.Error()), []byte(tok)))
	}
}
