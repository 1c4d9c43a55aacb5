package redis

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/stretchr/testify/require"
)

// user is the tests' session data; its subject is the name.
type user struct {
	Name string `json:"name"`
}

func (u user) SessionSubject() string { return u.Name }

const testSecret = "redis-test-secret-0123456789abcdefghijklmnop"

// instance is one application instance: a manager with its own store.
type instance struct {
	name string
	m    *jwesession.Manager[user]
	st   *Store
	h    http.Handler
}

// events records, in order, what happened across instances.
type events struct {
	mu   sync.Mutex
	list []string
	at   map[string]time.Time
	ch   chan string
}

func newEvents() *events { return &events{at: map[string]time.Time{}, ch: make(chan string, 1024)} }

func (e *events) add(ev string) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	if _, ok := e.at[ev]; !ok {
		e.at[ev] = time.Now()
	}
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
}

// index returns the position of the first event ev, or -1.
func (e *events) index(ev string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, x := range e.list {
		if x == ev {
			return i
		}
	}
	return -1
}

// when returns when ev first happened.
func (e *events) when(ev string) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.at[ev]
}

// wait waits until every event in evs has happened (bounded: 30 s, a
// failure, not a measurement).
func (e *events) wait(t testing.TB, evs ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		missing := []string{}
		for _, ev := range evs {
			if e.index(ev) < 0 {
				missing = append(missing, ev)
			}
		}
		if len(missing) == 0 {
			return
		}
		select {
		case <-e.ch:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("events %v did not happen; log: %v", missing, e.list)
		}
	}
}

// storeConfig is the tests' store settings on addrs.
func storeConfig(addrs []string, prefix string) Config {
	return Config{Addrs: addrs, KeyPrefix: prefix, SignIns: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// newInstance returns an instance on its own store, the revocations it
// applies recorded in ev as "applied KIND ID @NAME".
func newInstance(t testing.TB, name string, cfg Config, rc jwesession.Revocation, ev *events) *instance {
	t.Helper()
	if ev != nil {
		cfg.Applied = func(r Record) { ev.add("applied " + r.Kind + " " + r.ID + " @" + name) }
	}
	st, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	rc.Store = st
	kr, err := jwesession.KeyringFromSecret(testSecret)
	require.NoError(t, err)
	m, err := jwesession.New[user](jwesession.Config{DevelopmentCookies: true, Revocation: rc, Logger: cfg.Logger}, kr)
	require.NoError(t, err)
	in := &instance{name: name, m: m, st: st}
	mux := http.NewServeMux()
	sess := func(r *http.Request) *jwesession.Session[user] {
		s, err := m.Session(r.Context())
		if err != nil {
			panic(err)
		}
		return s
	}
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		if u, ok := s.Get(); ok {
			_, _ = io.WriteString(w, "signed in as "+u.Name)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, errName(s.Err()))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, sess(r).SignIn(user{Name: r.FormValue("user")}))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(r).Clear(); err != nil {
			http.Error(w, errName(err), http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /everywhere", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(r).ClearEverywhere(); err != nil {
			http.Error(w, errName(err), http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(r).Renew(); err != nil {
			http.Error(w, errName(err), http.StatusServiceUnavailable)
		}
	})
	in.h = m.Middleware(mux)
	return in
}

// errName names the library error err wraps.
func errName(err error) string {
	for _, e := range []struct {
		err  error
		name string
	}{
		{jwesession.ErrRevoked, "ErrRevoked"},
		{jwesession.ErrRevocationUnavailable, "ErrRevocationUnavailable"},
		{jwesession.ErrSignedOut, "ErrSignedOut"},
		{jwesession.ErrExpired, "ErrExpired"},
	} {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	if err == nil {
		return "none"
	}
	return err.Error()
}

// waitCurrent waits until every instance answers checks from its copy.
func waitCurrent(t testing.TB, ins ...*instance) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, in := range ins {
		for !in.st.Current() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: copy not current after 30s", in.name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// browser is a cookie jar of one device.
type browser struct {
	jar map[string]string
}

func newBrowser() *browser { return &browser{jar: map[string]string{}} }

// header returns the Cookie header the browser sends.
func (b *browser) header() string {
	var parts []string
	for k, v := range b.jar {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// copy returns another browser holding the same cookies (a copied cookie).
func (b *browser) copy() *browser {
	c := newBrowser()
	for k, v := range b.jar {
		c.jar[k] = v
	}
	return c
}

// do sends a request to in and applies the response's cookies; it
// returns the status and body.
func (b *browser) do(t testing.TB, in *instance, method, path string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, "http://example.test"+path, nil)
	if h := b.header(); h != "" {
		req.Header.Set("Cookie", h)
	}
	rec := httptest.NewRecorder()
	in.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c.Value
		}
	}
	return rec.Code, rec.Body.String()
}

// home is GET / on in: the body ("signed in as NAME" or the error name).
func (b *browser) home(t testing.TB, in *instance) string {
	t.Helper()
	_, body := b.do(t, in, "GET", "/")
	return body
}

// login signs user in through in.
func (b *browser) login(t testing.TB, in *instance, name string) {
	t.Helper()
	code, body := b.do(t, in, "POST", "/login?user="+name)
	require.Equal(t, 200, code, body)
}
