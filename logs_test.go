package jwesession

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Logging: through the request's context, nothing per request at Info,
// no token or secret, and the response sent past the middleware's
// writer. Helpers are prefixed ob, as in metrics_test.go.

// obRecord is one log record: its level, message, attributes and the
// trace id its context carried.
type obRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
	trace string
}

// obHandler records log records with the trace id of their context.
type obHandler struct {
	mu   *sync.Mutex
	recs *[]obRecord
}

type obTraceKey struct{}

func newObHandler() obHandler { return obHandler{mu: &sync.Mutex{}, recs: &[]obRecord{}} }

func (h obHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h obHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h obHandler) WithGroup(string) slog.Handler            { return h }
func (h obHandler) Handle(ctx context.Context, r slog.Record) error {
	rec := obRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	rec.trace, _ = ctx.Value(obTraceKey{}).(string)
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, rec)
	return nil
}

func (h obHandler) records() []obRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*h.recs)
}

// obTraced runs one request through m's middleware inside a handler that
// puts trace into the request's context (as a tracing middleware does),
// writing the response to w.
func obTraced(m *Manager[testData], w http.ResponseWriter, cookie, trace string, fn func(w http.ResponseWriter, r *http.Request, s *Session[testData])) {
	inner := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		fn(w, r, s)
	}))
	req := newRequest(cookie)
	req = req.WithContext(context.WithValue(req.Context(), obTraceKey{}, trace))
	inner.ServeHTTP(w, req)
}

// Everything logged during a request goes through the request's context
// (so it carries the request's trace id); nothing is logged per request
// at Info or above for ordinary traffic, bad cookies included; no record
// holds a token or a secret.
func TestLogsThroughRequestContext(t *testing.T) {
	logs := newObHandler()
	m, clk := newTestManager(t, Config{Logger: slog.New(logs)}, nil)
	c := signIn(t, m, "alice")
	tok := strings.TrimPrefix(c, "__Host-session=")

	// Ordinary traffic, bad cookies included.
	n := 0
	ordinary := func(cookie string, fn func(w http.ResponseWriter, r *http.Request, s *Session[testData])) string {
		n++
		rec := httptest.NewRecorder()
		obTraced(m, rec, cookie, "trace-"+strconv.Itoa(n), fn)
		return cookieHeader(cookie, rec)
	}
	get := func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { _, _ = s.Get() }
	ordinary(c, get)
	c = ordinary(c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Update(func(d *testData) error { d.Note = "hello"; return nil }))
	})
	clk.Advance(6 * time.Minute)
	c = ordinary(c, get) // the refresh
	ordinary(obTamper(c), get)
	ordinary("__Host-session=garbage", get)
	out := ordinary(c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { require.NoError(t, s.Clear()) })
	ordinary(c+"; "+out, get) // signed out
	clk.Advance(time.Hour)
	ordinary(c, get) // expired
	for _, r := range logs.records() {
		assert.Less(t, r.level, slog.LevelInfo, "ordinary traffic logs below Info: %+v", r)
	}
	rejections := 0
	for _, r := range logs.records() {
		if strings.Contains(r.msg, "session cookie rejected") {
			rejections++
			assert.NotEmpty(t, r.attrs["reason"], "%+v", r)
			assert.NotEmpty(t, r.trace, "logged through the request's context: %+v", r)
		}
	}
	assert.Equal(t, 4, rejections, "one debug line per rejected cookie: %+v", logs.records())

	// The mistakes are logged at Warn or Error, with the request's trace.
	c = signIn(t, m, "alice")
	want := map[string]slog.Level{}
	rec := httptest.NewRecorder()
	obTraced(m, rec, c, "trace-late-change", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, _ = s.Get()
		_, _ = w.Write([]byte("x"))
		_ = s.Touch()
	})
	want["trace-late-change"] = slog.LevelError
	obTraced(m, httptest.NewRecorder(), c, "trace-late-read", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		w.WriteHeader(http.StatusNoContent)
		_, _ = s.Get()
	})
	want["trace-late-read"] = slog.LevelWarn
	obTraced(m, &obFrameworkWriter{ResponseWriter: httptest.NewRecorder()}, c, "trace-lost", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		_, _ = s.Get()
		_ = s.Touch()
		fw := w.(interface{ Unwrap() http.ResponseWriter }).Unwrap()
		_, _ = fw.Write([]byte("through the framework's writer"))
	})
	want["trace-lost"] = slog.LevelError
	got := map[string]slog.Level{}
	for _, r := range logs.records() {
		if r.level >= slog.LevelWarn {
			got[r.trace] = r.level
		}
	}
	assert.Equal(t, want, got)

	for _, r := range logs.records() {
		all := r.msg
		for k, v := range r.attrs {
			all += " " + k + "=" + v
		}
		assert.NotContains(t, all, secretA)
		for i := 0; i+16 <= len(tok); i += 8 {
			require.NotContains(t, all, tok[i:i+16], "no token bytes in a log record")
		}
		assert.NotContains(t, all, "alice", "no session data in a log record")
	}
}

// obFrameworkWriter is a framework's own writer (as gin's is): it knows
// whether it has written.
type obFrameworkWriter struct {
	http.ResponseWriter
	written bool
}

func (w *obFrameworkWriter) WriteHeader(code int) {
	w.written = true
	w.ResponseWriter.WriteHeader(code)
}
func (w *obFrameworkWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}
func (w *obFrameworkWriter) Written() bool { return w.written }

// A handler that writes through the framework's writer instead of the
// middleware's loses the session's cookie and cache headers: when that
// writer says it has written, it is counted and logged; a handler that
// writes through the middleware's writer, or never touches the session,
// is not.
func TestLostCommitDetected(t *testing.T) {
	logs := newObHandler()
	m, _ := newTestManager(t, Config{Logger: slog.New(logs)}, nil)
	// The framework runs its handler inside the middleware but keeps its
	// own writer: the handler writes through fw, not through the writer
	// the middleware gave it.
	run := func(touch, bypass bool) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		fw := &obFrameworkWriter{ResponseWriter: rec}
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if touch {
				s, _ := m.Session(r.Context())
				require.NoError(t, s.SignIn(testData{User: "alice"}))
			}
			out := w
			if bypass {
				out = fw
			}
			_, _ = out.Write([]byte(`{"ok":true}`))
		})).ServeHTTP(fw, newRequest(""))
		return rec
	}
	lost := func() uint64 { return m.Metrics().LostCommits }

	rec := run(true, true)
	assert.Empty(t, rec.Result().Header["Set-Cookie"], "the sign-in's cookie was lost (what the log is about)")
	assert.Equal(t, uint64(1), lost())
	var errs []obRecord
	for _, r := range logs.records() {
		if r.level >= slog.LevelError {
			errs = append(errs, r)
		}
	}
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].msg, "another writer")
	assert.Equal(t, "/", errs[0].attrs["path"])

	rec = run(true, false)
	assert.NotEmpty(t, rec.Result().Header["Set-Cookie"], "written through the middleware's writer")
	run(false, true) // the session untouched: nothing to lose
	assert.Equal(t, uint64(1), lost())
	assert.Len(t, logs.records(), 1)
}
