package jwesession

import (
	"encoding/base64"
	"encoding/json"
	"expvar"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Counters, the expvar, text marshalling and logging. Helpers are prefixed
// ob.

var _ expvar.Var = MetricsVar(nil)

// obRejected returns the manager's rejection counts as name -> count.
func obRejected[T any](m *Manager[T]) map[string]uint64 {
	out := map[string]uint64{}
	for r, n := range m.Metrics().Rejected {
		out[r.String()] = n
	}
	return out
}

// obCookie returns the value of the cookie name set in rec.
func obCookie(t testing.TB, rec *httptest.ResponseRecorder, name string) string {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.MaxAge >= 0 {
			return c.Value
		}
	}
	t.Fatalf("no cookie %s in %q", name, setCookies(rec))
	return ""
}

// obTamper changes one character inside the ciphertext of the first
// cookie of a Cookie header.
func obTamper(cookie string) string {
	end := strings.IndexByte(cookie, ';')
	if end < 0 {
		end = len(cookie)
	}
	i := strings.LastIndexByte(cookie[:end], '.') - 3 // inside the ciphertext, not its last character
	b := []byte(cookie)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// Each kind of refused cookie is counted under its own reason, exactly
// once per request, and nothing else is counted; a valid cookie and
// Inspect count no rejection.
func TestMetricsRejectedByReason(t *testing.T) {
	kr := mustKeyring(t, "a:primary:"+secretA)
	header := func(h string) string { return base64.RawURLEncoding.EncodeToString([]byte(h)) }
	// The shape of a token (12-byte IV, 16-byte tag) under a header the
	// library would not write.
	forged := func(h string) string {
		return header(h) + ".." + strings.Repeat("A", 16) + "." + strings.Repeat("A", 20) + "." + strings.Repeat("A", 22)
	}
	cases := []struct {
		name     string
		reason   string
		sentinel error
		// cookie returns the Cookie header of the request, made with m
		// (whose clock it may move) and the shared keyring.
		cookie func(t *testing.T, m *Manager[testData], clk *testClock) string
	}{
		{"garbage", "malformed", ErrMalformed, func(t *testing.T, m *Manager[testData], _ *testClock) string {
			return "__Host-session=not-a-token"
		}},
		{"oversized", "malformed", ErrTooLarge, func(t *testing.T, m *Manager[testData], _ *testClock) string {
			return "__Host-session=" + strings.Repeat("A", ChunkSize+1)
		}},
		{"other algorithm", "malformed", ErrUnsupported, func(t *testing.T, m *Manager[testData], _ *testClock) string {
			return "__Host-session=" + forged(`{"alg":"A128KW","enc":"A256GCM","kid":"a"}`)
		}},
		{"tampered", "decrypt", ErrDecrypt, func(t *testing.T, m *Manager[testData], _ *testClock) string {
			return obTamper(signIn(t, m, "alice"))
		}},
		{"unknown key", "unknown_key", ErrUnknownKey, func(t *testing.T, _ *Manager[testData], _ *testClock) string {
			other, _ := newTestManager(t, Config{}, mustKeyring(t, "b:primary:"+secretB))
			return signIn(t, other, "alice")
		}},
		{"retired key", "retired_key", ErrRetiredKey, func(t *testing.T, m *Manager[testData], _ *testClock) string {
			c := signIn(t, m, "alice")
			require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA)))
			return c
		}},
		{"expired", "expired", ErrExpired, func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			clk.Advance(31 * time.Minute)
			return c
		}},
		{"issued in the future", "not_yet_valid", ErrNotYetValid, func(t *testing.T, m *Manager[testData], _ *testClock) string {
			ahead, aclk := newTestManager(t, Config{}, kr)
			aclk.Advance(time.Hour)
			return signIn(t, ahead, "alice")
		}},
		{"signed out", "signed_out", ErrSignedOut, func(t *testing.T, m *Manager[testData], _ *testClock) string {
			c := signIn(t, m, "alice")
			out := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				require.NoError(t, s.Clear())
			})
			// The late response of a request in flight re-set the token.
			return c + "; __Host-~t.session=" + obCookie(t, out, "__Host-~t.session")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, kr)
			cookie := tc.cookie(t, m, clk)
			before := obRejected(m)
			for _, v := range before {
				require.Zero(t, v, "set-up requests count no rejection")
			}
			_, _ = m.InspectCookies(cookie)
			assert.Equal(t, before, obRejected(m), "Inspect counts nothing")
			for range 2 {
				res := read(t, m, cookie)
				require.ErrorIs(t, res.Err, tc.sentinel)
				require.False(t, res.OK)
			}
			want := map[string]uint64{}
			for k := range before {
				want[k] = 0
			}
			want[tc.reason] = 2
			assert.Equal(t, want, obRejected(m))
		})
	}

	t.Run("data that does not decode", func(t *testing.T) {
		m, _ := newTestManager(t, Config{}, kr)
		c := signIn(t, m, "alice")
		type otherData struct {
			User int `json:"user"`
		}
		other, err := New[otherData](Config{Now: m.core.cfg.Now, Logger: quietLogger()}, kr)
		require.NoError(t, err)
		var rejected error
		other.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := other.Session(r.Context())
			rejected = s.Err()
		})).ServeHTTP(httptest.NewRecorder(), newRequest(c))
		require.ErrorIs(t, rejected, ErrDataDecode)
		got := obRejected(other)
		assert.Equal(t, uint64(1), got["data_decode"])
		assert.Zero(t, got["malformed"], "counted once, as data_decode")
	})

	t.Run("valid and absent cookies", func(t *testing.T) {
		m, _ := newTestManager(t, Config{}, kr)
		c := signIn(t, m, "alice")
		require.NoError(t, read(t, m, c).Err)
		require.NoError(t, read(t, m, "").Err)
		require.NoError(t, read(t, m, "other=cookie").Err)
		for name, n := range obRejected(m) {
			assert.Zero(t, n, name)
		}
	})
}

// Writes, sign-outs, refreshes and the changes and reads refused after
// the headers went out are each counted on their own.
func TestMetricsWritesDeletesRefreshes(t *testing.T) {
	m, clk := newTestManager(t, Config{}, nil)
	type counts struct{ written, deleted, refreshes, lateChanges, lateReads uint64 }
	get := func() counts {
		x := m.Metrics()
		return counts{x.SessionsWritten, x.SessionsDeleted, x.Refreshes, x.ChangesAfterCommit, x.ReadsAfterCommit}
	}
	step := func(name string, cookie string, want counts, fn func(w http.ResponseWriter, r *http.Request, s *Session[testData])) string {
		t.Helper()
		rec := serve(t, m, cookie, fn)
		assert.Equal(t, want, get(), name)
		return cookieHeader(cookie, rec)
	}
	c := step("sign-in", "", counts{written: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "alice"}))
	})
	c = step("read", c, counts{written: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { _, _ = s.Get() })
	c = step("equal set", c, counts{written: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Set(testData{User: "alice"}))
	})
	c = step("update", c, counts{written: 2}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Update(func(d *testData) error { d.N++; return nil }))
	})
	clk.Advance(6 * time.Minute)
	c = step("read, refresh due", c, counts{written: 2, refreshes: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { _, _ = s.Get() })
	c = step("renew", c, counts{written: 3, refreshes: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Renew())
	})
	c = step("touch", c, counts{written: 4, refreshes: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Touch())
	})
	c = step("sign-in over a sign-in", c, counts{written: 5, refreshes: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "bob"}))
	})
	_ = step("change after the headers", c, counts{written: 5, refreshes: 1, lateChanges: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, _ = s.Get()
		w.WriteHeader(http.StatusOK)
		require.ErrorIs(t, s.Set(testData{User: "mallory"}), ErrCommitted)
	})
	_ = step("first read after the headers", c, counts{written: 5, refreshes: 1, lateChanges: 1, lateReads: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, _ = w.Write([]byte("body"))
		_, ok := s.Get()
		require.False(t, ok)
	})
	_ = step("sign-out", c, counts{written: 5, deleted: 1, refreshes: 1, lateChanges: 1, lateReads: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Clear())
	})
	_ = step("untouched", c, counts{written: 5, deleted: 1, refreshes: 1, lateChanges: 1, lateReads: 1}, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {})
}

// The expvar: JSON with names, not numbers, read afresh on every String;
// two managers publish under names of their own (no package state).
func TestMetricsVar(t *testing.T) {
	m1, clk := newTestManager(t, Config{}, mustKeyring(t, "k2:primary:"+secretB, "k1:decrypt-only:"+secretA))
	m2, _ := newTestManager(t, Config{CookieName: "other"}, nil)
	// Names of this run's own: expvar's registry lives as long as the test
	// binary (go test -count=N runs this N times).
	name1, name2 := "jwesession-test-"+newID(), "jwesession-test-"+newID()
	expvar.Publish(name1, m1.MetricsVar())
	expvar.Publish(name2, m2.MetricsVar())

	c := signIn(t, m1, "alice")
	clk.Advance(time.Hour)
	require.ErrorIs(t, read(t, m1, c).Err, ErrExpired)

	var got struct {
		Rejected        map[string]uint64
		SessionsWritten uint64
		Keys            []struct {
			ID, State      string
			Sealed, Opened uint64
		}
	}
	require.NoError(t, json.Unmarshal([]byte(expvar.Get(name1).String()), &got), expvar.Get(name1).String())
	assert.Equal(t, uint64(1), got.Rejected["expired"])
	assert.Len(t, got.Rejected, int(numRejectReasons)-1, "every reason present: %v", got.Rejected)
	assert.Equal(t, uint64(1), got.SessionsWritten)
	require.Len(t, got.Keys, 2)
	assert.Equal(t, "k2", got.Keys[0].ID)
	assert.Equal(t, "primary", got.Keys[0].State)
	assert.Equal(t, "decrypt-only", got.Keys[1].State)
	assert.Equal(t, uint64(1), got.Keys[0].Sealed)

	require.NoError(t, json.Unmarshal([]byte(expvar.Get(name2).String()), &got))
	assert.Zero(t, got.SessionsWritten, "the other manager's counters are its own")
	assert.Zero(t, got.Rejected["expired"])
}

// The root package never imports expvar: importing it serves /debug/vars
// (the command line, memory statistics) on http.DefaultServeMux of every
// application that uses the library.
func TestNoExpvarImport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			assert.NotEqual(t, "expvar", p, "%s imports expvar", f)
		}
		checked++
	}
	require.Greater(t, checked, 10)
}

// KeyState and RejectReason marshal as their names and back; what is no
// state or reason is an error, never a number.
func TestStateAndReasonText(t *testing.T) {
	for _, st := range []KeyState{Primary, DecryptOnly, Retired, 0} {
		b, err := st.MarshalText()
		require.NoError(t, err)
		want := map[KeyState]string{Primary: "primary", DecryptOnly: "decrypt-only", Retired: "retired", 0: ""}[st]
		assert.Equal(t, want, string(b))
		var back KeyState = 99
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, st, back)
	}
	_, err := KeyState(7).MarshalText()
	assert.Error(t, err)
	var st KeyState
	err = st.UnmarshalText([]byte("s3cret-looking-word"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret", "the word may be a secret: not echoed")

	b, err := json.Marshal(KeyStats{ID: "k1", State: DecryptOnly})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"State":"decrypt-only"`)
	var ks KeyStats
	require.NoError(t, json.Unmarshal(b, &ks))
	assert.Equal(t, DecryptOnly, ks.State)

	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "state", Retired, "reason", RejectSignedOut)
	assert.Contains(t, buf.String(), "state=retired")
	assert.Contains(t, buf.String(), "reason=signed_out")

	seen := map[string]bool{}
	for r := RejectMalformed; r < numRejectReasons; r++ {
		b, err := r.MarshalText()
		require.NoError(t, err)
		name := string(b)
		assert.Regexp(t, `^[a-z]+(_[a-z]+)*$`, name, "a Prometheus-style label value")
		assert.False(t, seen[name], "names are distinct: %s", name)
		seen[name] = true
		assert.Equal(t, name, r.String())
		var back RejectReason
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, r, back)
	}
	for _, bad := range []RejectReason{0, numRejectReasons, 200} {
		_, err := bad.MarshalText()
		assert.Error(t, err, "%d", bad)
		assert.Contains(t, bad.String(), "RejectReason(")
	}
	var r RejectReason
	assert.Error(t, r.UnmarshalText([]byte("Expired")))
	assert.Error(t, r.UnmarshalText(nil))
}
