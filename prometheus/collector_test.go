package prometheus_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
	jwesessionprom "github.com/jwesession/jwesession/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	secretA = "test-secret-A-0123456789abcdefghijklmnop"
	secretB = "test-secret-B-qrstuvwxyzABCDEFGHIJKLMNOP"
)

type user struct {
	Name string `json:"name"`
	Note string `json:"note,omitempty"`
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newManager(t *testing.T, keys string, clk *clock) *jwesession.Manager[user] {
	t.Helper()
	kr, err := jwesession.ParseKeys(keys)
	require.NoError(t, err)
	m, err := jwesession.New[user](jwesession.Config{DevelopmentCookies: true, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)}, kr)
	require.NoError(t, err)
	return m
}

// app serves /login?name=N, /read, /note?note=N and /logout.
func app(m *jwesession.Manager[user]) http.Handler {
	mux := http.NewServeMux()
	session := func(r *http.Request) *jwesession.Session[user] {
		s, err := m.Session(r.Context())
		if err != nil {
			panic(err)
		}
		return s
	}
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = session(r).SignIn(user{Name: r.FormValue("name")})
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		u, _ := session(r).Get()
		_, _ = io.WriteString(w, u.Name)
	})
	mux.HandleFunc("POST /note", func(w http.ResponseWriter, r *http.Request) {
		_ = session(r).Update(func(u *user) error { u.Note = r.FormValue("note"); return nil })
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		_ = session(r).Clear()
	})
	return m.Middleware(mux)
}

// call sends one request over loopback with the Cookie header cookie and
// returns the cookies the response set (name -> value; deletions as "").
func call(t *testing.T, srv *httptest.Server, method, path, cookie string) map[string]string {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	require.NoError(t, err)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	set := map[string]string{}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			set[c.Name] = ""
		} else {
			set[c.Name] = c.Value
		}
	}
	return set
}

// scrape fetches /metrics over loopback and parses the text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value returns the value of the sample of family name whose labels are
// exactly labels (name=value pairs), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if !match {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// A real application's traffic, over loopback, then a real scrape of
// /metrics: every counter holds what the traffic did, the names pass
// Prometheus' linter, and every rejection reason is there at zero before
// it happens.
func TestCollectorScrape(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	m := newManager(t, "k2:primary:"+secretB+",k1:decrypt-only:"+secretA, clk)
	old := newManager(t, "k1:primary:"+secretA, clk) // an instance before the rotation
	srv := httptest.NewServer(app(m))
	defer srv.Close()
	reg := prom.NewPedanticRegistry()
	reg.MustRegister(jwesessionprom.NewCollector(m.Metrics))
	metrics := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer metrics.Close()

	fams := scrape(t, metrics.URL)
	for _, reason := range []string{"malformed", "decrypt", "unknown_key", "retired_key", "expired", "not_yet_valid", "signed_out", "data_decode"} {
		v, ok := value(fams, "jwesession_cookies_rejected_total", "reason", reason)
		assert.True(t, ok, "reason %s exported before it happens", reason)
		assert.Zero(t, v, reason)
	}

	// alice signs in here (sealed under k2) and reads twice.
	alice := "session=" + call(t, srv, "POST", "/login?name=alice", "")["session"]
	call(t, srv, "GET", "/read", alice)
	call(t, srv, "GET", "/read", alice)
	// bob signed in on an old instance (under k1), reads, writes a note
	// (now under k2, his sign-in still from k1), reads again.
	oldSrv := httptest.NewServer(app(old))
	defer oldSrv.Close()
	bob := "session=" + call(t, oldSrv, "POST", "/login?name=bob", "")["session"]
	call(t, srv, "GET", "/read", bob)
	bob = "session=" + call(t, srv, "POST", "/note?note=hi", bob)["session"]
	call(t, srv, "GET", "/read", bob)
	// Garbage.
	call(t, srv, "GET", "/read", "session=garbage")
	// Six minutes on, alice's read refreshes; she signs out; a late
	// response had re-set her old token next to the tombstone.
	clk.Advance(6 * time.Minute)
	require.Contains(t, call(t, srv, "GET", "/read", alice), "~r.session", "the companion")
	out := call(t, srv, "POST", "/logout", alice)
	call(t, srv, "GET", "/read", alice+"; ~t.session="+out["~t.session"])
	// An hour on, bob's session has expired.
	clk.Advance(time.Hour)
	call(t, srv, "GET", "/read", bob)

	fams = scrape(t, metrics.URL)
	want := []struct {
		name   string
		labels []string
		v      float64
	}{
		{"jwesession_cookies_rejected_total", []string{"reason", "malformed"}, 1},
		{"jwesession_cookies_rejected_total", []string{"reason", "signed_out"}, 1},
		{"jwesession_cookies_rejected_total", []string{"reason", "expired"}, 1},
		{"jwesession_cookies_rejected_total", []string{"reason", "decrypt"}, 0},
		{"jwesession_sessions_written_total", nil, 2},  // alice's sign-in, bob's note
		{"jwesession_sessions_deleted_total", nil, 1},  // alice's sign-out
		{"jwesession_session_refreshes_total", nil, 1}, // alice's read at six minutes
		{"jwesession_changes_after_commit_total", nil, 0},
		{"jwesession_reads_after_commit_total", nil, 0},
		{"jwesession_lost_commits_total", nil, 0},
		// k2 sealed alice's token, bob's note, the companion, the tombstone.
		{"jwesession_key_sealed_total", []string{"key", "k2"}, 4},
		// Opened with k2: alice ×2, bob after his note, alice's refresh,
		// her sign-out, her late token, bob's expired one.
		{"jwesession_key_opened_total", []string{"key", "k2"}, 7},
		{"jwesession_key_opened_total", []string{"key", "k1"}, 2}, // bob's read and note
		// Opened with k2, first sealed under k1: bob after his note, and his
		// expired token.
		{"jwesession_key_rewritten_total", []string{"key", "k1"}, 2},
		{"jwesession_key_rewritten_total", []string{"key", "k2"}, 0},
		{"jwesession_key_sealed_total", []string{"key", "k1"}, 0}, // only the old instance sealed under k1
		{"jwesession_key_retired_rejections_total", []string{"key", "k1"}, 0},
		{"jwesession_key_info", []string{"key", "k2", "state", "primary"}, 1},
		{"jwesession_key_info", []string{"key", "k1", "state", "decrypt-only"}, 1},
	}
	for _, w := range want {
		v, ok := value(fams, w.name, w.labels...)
		if assert.True(t, ok, "%s%v scraped", w.name, w.labels) {
			assert.Equal(t, w.v, v, "%s%v", w.name, w.labels)
		}
	}
	for name, f := range fams {
		require.True(t, strings.HasPrefix(name, "jwesession_"), name)
		assert.NotEmpty(t, f.GetHelp(), name)
		if strings.HasSuffix(name, "_total") {
			assert.Equal(t, dto.MetricType_COUNTER, f.GetType(), name)
		} else {
			assert.Equal(t, dto.MetricType_GAUGE, f.GetType(), name)
		}
	}
	assert.Len(t, fams, 12, "every metric family is scraped")

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems, "Prometheus naming conventions")

	// Retiring k1 (early: bob is signed out) shows in the state and in
	// the retired counter of the key his sign-in started under.
	kr, err := jwesession.ParseKeys("k2:primary:" + secretB + ",k1:retired:" + secretA)
	require.NoError(t, err)
	require.NoError(t, m.SetKeyring(kr))
	clk.Advance(-time.Hour)
	call(t, srv, "GET", "/read", bob)
	fams = scrape(t, metrics.URL)
	for _, w := range []struct {
		name   string
		labels []string
		v      float64
	}{
		{"jwesession_key_info", []string{"key", "k1", "state", "retired"}, 1},
		{"jwesession_key_retired_rejections_total", []string{"key", "k1"}, 1},
		{"jwesession_cookies_rejected_total", []string{"reason", "retired_key"}, 1},
		{"jwesession_key_opened_total", []string{"key", "k1"}, 2}, // kept across the reload
	} {
		v, ok := value(fams, w.name, w.labels...)
		if assert.True(t, ok, "%s%v scraped", w.name, w.labels) {
			assert.Equal(t, w.v, v, "%s%v", w.name, w.labels)
		}
	}
	_, ok := value(fams, "jwesession_key_info", "key", "k1", "state", "decrypt-only")
	assert.False(t, ok, "the old state is gone")
}

// Two managers in one registry: each through a registerer with a label of
// its own, as the package documents; without one, the second is refused.
func TestCollectorTwoManagers(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	a := newManager(t, "k1:primary:"+secretA, clk)
	b := newManager(t, "k1:primary:"+secretB, clk)
	reg := prom.NewPedanticRegistry()
	require.NoError(t, prom.WrapRegistererWith(prom.Labels{"cookie": "a"}, reg).Register(jwesessionprom.NewCollector(a.Metrics)))
	require.NoError(t, prom.WrapRegistererWith(prom.Labels{"cookie": "b"}, reg).Register(jwesessionprom.NewCollector(b.Metrics)))
	assert.Error(t, reg.Register(jwesessionprom.NewCollector(b.Metrics)), "the same names without a label of its own")

	srv := httptest.NewServer(app(a))
	defer srv.Close()
	call(t, srv, "POST", "/login?name=alice", "")
	n, err := testutil.GatherAndCount(reg, "jwesession_sessions_written_total")
	require.NoError(t, err)
	assert.Equal(t, 2, n, "one series per manager")
	fams, err := reg.Gather()
	require.NoError(t, err)
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	v, ok := value(byName, "jwesession_sessions_written_total", "cookie", "a")
	require.True(t, ok)
	assert.Equal(t, 1.0, v)
	v, ok = value(byName, "jwesession_sessions_written_total", "cookie", "b")
	require.True(t, ok)
	assert.Equal(t, 0.0, v)
}
