package jwesession

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Allocation budgets of the hot paths, per request and net of an empty
// httptest request (allocation counts are deterministic, times are not).
// .ci/run runs these once without -race.
const (
	allocBudgetHotPath  = 25 // a read of a valid session, nothing written
	allocBudgetNoCookie = 2  // no cookie, session never touched
	allocBudgetSignIn   = 12 // a new session sealed, Set-Cookie and cache headers
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

func TestAllocBudgets(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not deterministic under the race detector; .ci/run runs this test without -race")
	}
	m, err := New[benchData](Config{Now: newTestClock().Now, Logger: quietLogger()}, mustKeyring(t, "a:primary:"+secretA))
	require.NoError(t, err)
	signInH := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if err := s.SignIn(benchValue); err != nil {
			t.Error(err)
		}
	}))
	rec := httptest.NewRecorder()
	signInH.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	c := rec.Result().Cookies()
	require.Len(t, c, 1)
	cookie := c[0].Name + "=" + c[0].Value

	readH := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if d, ok := s.Get(); !ok || d.User != benchValue.User {
			t.Error("session not read")
		}
	}))
	untouched := m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	empty := allocsPerRequest(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "")

	hot := allocsPerRequest(readH, cookie) - empty
	none := allocsPerRequest(untouched, "") - empty
	signIn := allocsPerRequest(signInH, "") - empty
	t.Logf("net allocations per request: hot path %.0f, no cookie %.0f, sign-in %.0f", hot, none, signIn)
	assert.LessOrEqual(t, hot, float64(allocBudgetHotPath), "hot path")
	assert.LessOrEqual(t, none, float64(allocBudgetNoCookie), "no cookie")
	assert.LessOrEqual(t, signIn, float64(allocBudgetSignIn), "sign-in")
}

// The one form of the claims appendEnvelope writes is what encoding/json
// writes for the envelope struct (the form the vectors pin), envelopeLen
// measures it exactly, and parseEnvelope reads it back.
func TestEnvelopeForm(t *testing.T) {
	datas := []string{`{}`, `null`, `{"user":"alice","roles":["a","b"]}`, `"x"`, `[1,2,3]`, `{"s":"\u003cb\u003e \"q\""}`}
	times := []int64{1, 9, 10, 1_764_000_000, 99_999_999_999, math.MaxInt32 + 1}
	for _, d := range datas {
		for _, n := range times {
			for _, tbs := range []string{"", "AAECAwQFBgcICQoL"} {
				env := envelope{V: formatVersion, Sid: newID(), Sin: newID(), Org: "2026-11.k_1", Iat: n, Exp: n + 1800, Abs: n, Tbs: tbs, Data: json.RawMessage(d)}
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
		good = pre + `"iat":100,"exp":200,"abs":100,"tbs":"","data":{"a":1}}`
	)
	var env envelope
	require.NoError(t, parseEnvelope([]byte(good), &env))
	require.NoError(t, parseEnvelope([]byte(pre+`"iat":100,"exp":200,"abs":100,"tbs":"AAECAwQFBgcICQoL","data":{}}`), &env))
	for _, bad := range []string{
		``, `{}`, `null`,
		`{"v":1,"sid":"abc","iat":100,"exp":200,"abs":100,"data":{}}`, // version 1 is refused
		`{"v":3,"sid":"abc","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2, "sid":"abc","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"a\"b","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"a b","sin":"SIN","org":"k1","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"","org":"k1","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"S.N","org":"k1","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","org":"k1","sin":"SIN","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"SIN","org":"","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"SIN","org":"k 1","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		`{"v":2,"sid":"abc","sin":"SIN","org":"012345678901234567890123456789012","iat":100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		pre + `"exp":200,"iat":100,"abs":100,"tbs":"","data":{}}`,
		pre + `"iat":0100,"exp":200,"abs":100,"tbs":"","data":{}}`,
		pre + `"iat":0,"exp":200,"abs":100,"tbs":"","data":{}}`,
		pre + `"iat":-1,"exp":200,"abs":100,"tbs":"","data":{}}`,
		pre + `"iat":1e3,"exp":200,"abs":100,"tbs":"","data":{}}`,
		pre + `"iat":1234567890123456,"exp":200,"abs":100,"tbs":"","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"tbs":"AAEC","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"tbs":"AAECAwQFBgcICQo=","data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"data":{}}`,
		pre + `"iat":100,"exp":200,"abs":100,"tbs":"","data":}`,
		pre + `"iat":100,"exp":200,"abs":100,"tbs":""}`,
		pre + `"iat":100,"exp":200,"abs":100,"tbs":"","data":{},"x":1}x`,
	} {
		err := parseEnvelope([]byte(bad), &env)
		assert.ErrorIs(t, err, ErrMalformed, "%s", bad)
	}
	// Trailing content after the data is the data's problem: open checks
	// it is JSON, and a session load fails decoding it.
	r := deriveRing(mustKeyring(t, "a:primary:"+secretA), "session", nil)
	for _, pt := range []string{
		pre + `"iat":100,"exp":200,"abs":100,"tbs":"","data":{},"x":1}`,
		pre + `"iat":100,"exp":200,"abs":100,"tbs":"","data":{}`,
	} {
		tok := seal(r.primary, purposeData, []byte(pt))
		_, _, err := r.open(tok, ChunkSize)
		assert.ErrorIs(t, err, ErrMalformed, pt)
		assert.False(t, bytes.Contains([]byte(err.Error()), []byte(tok)))
	}
}
