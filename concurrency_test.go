package jwesession

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// No bleed between users
// ---------------------------------------------------------------------------

// bleedApp is a small app: every response body is "USER N SID" for the
// session the request ended with ("- 0 -" without one).
func bleedApp(m *Manager[testData]) http.Handler {
	errNotSignedIn := errors.New("not signed in")
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Some work before the session is asked for, so that requests
		// overlap: state shared between requests would show.
		_ = r.FormValue("user")
		runtime.Gosched()
		s, err := m.Session(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		switch r.URL.Path {
		case "/login":
			err = s.SignIn(testData{User: r.FormValue("user")})
		case "/inc":
			err = s.Update(func(d *testData) error {
				if d.User == "" {
					return errNotSignedIn
				}
				d.N++
				return nil
			})
		case "/renew":
			err = s.Renew()
		case "/logout":
			err = s.Clear()
		case "/read":
			// Several goroutines of one request share its session.
			var wg sync.WaitGroup
			seen := make([]string, 4)
			for i := range seen {
				wg.Go(func() {
					d, _ := s.Get()
					seen[i] = d.User + "/" + s.ID()
				})
			}
			wg.Wait()
			for _, v := range seen[1:] {
				if v != seen[0] {
					err = fmt.Errorf("goroutines of one request disagree: %q", seen)
				}
			}
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		d, ok := s.Get()
		if !ok {
			_, _ = io.WriteString(w, "- 0 -")
			return
		}
		_, _ = fmt.Fprintf(w, "%s %d %s", d.User, d.N, s.ID())
	}))
}

func TestNoBleedBetweenUsers(t *testing.T) {
	const (
		users = 100
		ops   = 8 // per user, after sign-in
	)
	m, _ := newTestManager(t, Config{DevelopmentCookies: true}, nil)
	srv := httptest.NewServer(bleedApp(m))
	defer srv.Close()
	// One transport for everyone, as behind a shared proxy: connections are
	// reused across users.
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	defer tr.CloseIdleConnections()

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	var requests, serverErrors atomic.Int64
	var sidOwner sync.Map // session id -> user
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			name := fmt.Sprintf("user%03d", i)
			jar, err := cookiejar.New(nil)
			if !assert.NoError(t, err) {
				return
			}
			client := &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}
			rng := rand.New(rand.NewPCG(seed, uint64(i)))

			// get runs one request and returns the body's user, counter and
			// session id.
			get := func(path string) (user string, n int, sid string, ok bool) {
				requests.Add(1)
				resp, err := client.Get(srv.URL + path)
				if !assert.NoError(t, err, "%s %s", name, path) {
					return "", 0, "", false
				}
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode >= 500 {
					serverErrors.Add(1)
				}
				if !assert.NoError(t, err) || !assert.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", name, path, body) {
					return "", 0, "", false
				}
				f := strings.Fields(string(body))
				if !assert.Len(t, f, 3, "%s %s: %q", name, path, body) {
					return "", 0, "", false
				}
				n, err = strconv.Atoi(f[1])
				if !assert.NoError(t, err) {
					return "", 0, "", false
				}
				if f[2] != "-" {
					if owner, _ := sidOwner.LoadOrStore(f[2], name); !assert.Equal(t, name, owner, "session id shared between users") {
						return "", 0, "", false
					}
				}
				return f[0], n, f[2], true
			}

			// Expected state.
			wantN, sid := 0, ""
			login := func() bool {
				u, n, s, ok := get("/login?user=" + name)
				if !ok || !assert.Equal(t, name, u) || !assert.Equal(t, 0, n) || !assert.NotEqual(t, sid, s, "%s: sign-in gives a new id", name) {
					return false
				}
				wantN, sid = 0, s
				return true
			}
			if !login() {
				return
			}
			for range ops {
				switch op := rng.IntN(10); {
				case op < 4: // read
					u, n, s, ok := get("/read")
					if !ok || !assert.Equal(t, name, u, "read") || !assert.Equal(t, wantN, n, "%s read", name) || !assert.Equal(t, sid, s, "%s read", name) {
						return
					}
				case op < 8: // update the counter
					u, n, s, ok := get("/inc")
					wantN++
					if !ok || !assert.Equal(t, name, u, "inc") || !assert.Equal(t, wantN, n, "%s inc", name) || !assert.Equal(t, sid, s, "%s inc", name) {
						return
					}
				case op < 9: // renew
					u, n, s, ok := get("/renew")
					if !ok || !assert.Equal(t, name, u, "renew") || !assert.Equal(t, wantN, n, "%s renew", name) || !assert.NotEqual(t, sid, s, "%s renew gives a new id", name) {
						return
					}
					sid = s
				default: // sign out, then in again
					u, n, s, ok := get("/logout")
					if !ok || !assert.Equal(t, "-", u, "%s signed out", name) || !assert.Equal(t, 0, n) || !assert.Equal(t, "-", s) {
						return
					}
					// Signed out for real: the next request has no session.
					if u, _, _, ok := get("/read"); !ok || !assert.Equal(t, "-", u, "%s after sign-out", name) {
						return
					}
					if !login() {
						return
					}
				}
			}
			// The final state, seen once more.
			u, n, s, ok := get("/read")
			if ok {
				assert.Equal(t, name, u)
				assert.Equal(t, wantN, n)
				assert.Equal(t, sid, s)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, serverErrors.Load(), "no 5xx")
	assert.GreaterOrEqual(t, requests.Load(), int64(users*(ops+2)))
	t.Logf("%d requests", requests.Load())
}

// ---------------------------------------------------------------------------
// The "updateSession does not stick" race
// ---------------------------------------------------------------------------

// raceApp serves /update?n=N (sets the counter) and / (a plain read). With
// touchOnRead, every read re-sets the cookie: the unsafe behaviour of the
// auth libraries that lost updates, kept here to prove the test notices it.
func raceApp(m *Manager[testData], touchOnRead bool) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r.Context())
		if err == nil {
			if r.URL.Path == "/update" {
				n, _ := strconv.Atoi(r.FormValue("n"))
				err = s.Update(func(d *testData) error { d.N = n; return nil })
			} else if _, ok := s.Get(); !ok {
				err = errors.New("no session")
			} else if touchOnRead {
				err = s.Touch()
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
}

// raceRound runs one update and reads plain reads concurrently, all carrying
// cookie, and returns the update's response and the reads'.
func raceRound(t *testing.T, h http.Handler, cookie string, n, reads int) (*httptest.ResponseRecorder, []*httptest.ResponseRecorder) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	upd := httptest.NewRecorder()
	rs := make([]*httptest.ResponseRecorder, reads)
	run := func(rec *httptest.ResponseRecorder, target string) {
		req := httptest.NewRequest("GET", "https://example.test"+target, nil)
		req.Header.Set("Cookie", cookie)
		<-start
		h.ServeHTTP(rec, req)
	}
	wg.Go(func() { run(upd, "/update?n="+strconv.Itoa(n)) })
	for i := range rs {
		rs[i] = httptest.NewRecorder()
		wg.Go(func() { run(rs[i], "/") })
	}
	close(start)
	wg.Wait()
	require.Equal(t, http.StatusOK, upd.Code, upd.Body.String())
	require.Len(t, setCookies(upd), 1, "the update sets the cookie")
	for _, r := range rs {
		require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	}
	return upd, rs
}

// raceApply applies responses in order to a browser's cookie jar holding
// cookie, and returns the jar's Cookie header.
func raceApply(cookie string, order []*httptest.ResponseRecorder) string {
	for _, rec := range order {
		cookie = cookieHeader(cookie, rec)
	}
	return cookie
}

func TestUpdateSticksAgainstConcurrentReads(t *testing.T) {
	const (
		rounds   = 40
		shuffles = 24
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	// run plays the rounds and returns how many (round, order) pairs lost
	// the update, and the counter a browser would hold after the first
	// round if the update's response arrived first. With due, every round
	// starts with the sliding refresh due, so the reads write companions.
	run := func(t *testing.T, touchOnRead, due bool) (lost int, updateFirst testData) {
		m, clk := newTestManager(t, Config{}, nil)
		h := raceApp(m, touchOnRead)
		rng := rand.New(rand.NewPCG(seed, 1))
		cookie := signIn(t, m, "alice")
		for round := 1; round <= rounds; round++ {
			if due {
				clk.Advance(6 * time.Minute)
			}
			reads := 1 + rng.IntN(6)
			upd, rs := raceRound(t, h, cookie, round, reads)
			want := cookieHeader(cookie, upd) // the jar after the update alone
			if !touchOnRead {
				for _, r := range rs {
					set, deleted := names(setCookies(r))
					if due {
						require.Equal(t, []string{cpCompanion}, set, "a read due for the refresh sets the companion alone")
					} else {
						require.Empty(t, set, "a plain read sets no cookie")
					}
					require.Empty(t, deleted)
				}
			}
			if round == 1 {
				res := read(t, m, raceApply(cookie, append([]*httptest.ResponseRecorder{upd}, rs...)))
				require.NoError(t, res.Err)
				updateFirst = res.D
			}
			for range shuffles {
				order := append([]*httptest.ResponseRecorder{upd}, rs...)
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				if res := read(t, m, raceApply(cookie, order)); res.Err != nil || res.D.N != round {
					lost++
				}
			}
			res := read(t, m, want)
			require.NoError(t, res.Err)
			require.Equal(t, round, res.D.N, "the update's cookie holds the update")
			cookie = want
		}
		return lost, updateFirst
	}

	for _, due := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain reads, refresh due=%v", due), func(t *testing.T) {
			lost, first := run(t, false, due)
			assert.Zero(t, lost, "no interleaving undoes the update")
			assert.Equal(t, 1, first.N, "the update survives the reads' responses arriving after it")
		})
	}
	t.Run("unsafe control: touch on every read", func(t *testing.T) {
		lost, first := run(t, true, false)
		assert.Positive(t, lost, "re-setting the cookie on reads loses updates: the test can see the bug")
		assert.Equal(t, 0, first.N, "a read's response arriving after the update restores the old value")
	})
}
