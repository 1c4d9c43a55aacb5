package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
)

// loadUser is the session data of the concurrency test: who, and a counter
// each client sets.
type loadUser struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// testClock is a clock the test advances by hand.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// loadServer is a real net/http server on loopback using the library
// directly, with a small set of handlers that all answer with the state of
// the session after the request: "user=NAME n=N" or "anon".
func loadServer(t *testing.T, m *jwesession.Manager[loadUser]) string {
	t.Helper()
	mux := http.NewServeMux()
	state := func(w http.ResponseWriter, s *jwesession.Session[loadUser]) {
		if u, ok := s.Get(); ok {
			fmt.Fprintf(w, "user=%s n=%d", u.Name, u.N)
			return
		}
		_, _ = io.WriteString(w, "anon")
	}
	sess := func(w http.ResponseWriter, r *http.Request) *jwesession.Session[loadUser] {
		s, err := m.Session(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return nil
		}
		return s
	}
	fail := func(w http.ResponseWriter, op string, err error) {
		http.Error(w, op+": "+err.Error(), http.StatusInternalServerError)
	}
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		if s := sess(w, r); s != nil {
			state(w, s)
		}
	})
	mux.HandleFunc("POST /update", func(w http.ResponseWriter, r *http.Request) {
		s := sess(w, r)
		if s == nil {
			return
		}
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		if _, ok := s.Get(); ok {
			if err := s.Update(func(u *loadUser) error { u.N = n; return nil }); err != nil {
				fail(w, "update", err)
				return
			}
		}
		state(w, s)
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		s := sess(w, r)
		if s == nil {
			return
		}
		if _, ok := s.Get(); ok {
			if err := s.Renew(); err != nil {
				fail(w, "renew", err)
				return
			}
		}
		state(w, s)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s := sess(w, r)
		if s == nil {
			return
		}
		if err := s.Clear(); err != nil {
			fail(w, "clear", err)
			return
		}
		state(w, s)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sess(w, r)
		if s == nil {
			return
		}
		if err := s.SignIn(loadUser{Name: r.URL.Query().Get("user")}); err != nil {
			fail(w, "sign in", err)
			return
		}
		state(w, s)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: m.Middleware(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// tokenKid returns the kid in the header of a compact JWE.
func tokenKid(tok string) (string, error) {
	h, _, ok := strings.Cut(tok, ".")
	if !ok {
		return "", errors.New("not a compact JWE")
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", err
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &hdr); err != nil {
		return "", err
	}
	return hdr.Kid, nil
}

// loadClient is one user agent of the concurrency test, with its own
// cookie jar and its own idea of what its session holds.
type loadClient struct {
	id     int
	base   *url.URL
	jar    *cookiejar.Jar
	http   *http.Client
	raw    *http.Client // no jar: the bursts set Cookie by hand
	rng    *rand.Rand
	user   string // "" when signed out
	n      int
	logins int
}

// failures collects the failures of many goroutines; the first 20 are
// reported.
type failures struct {
	mu   sync.Mutex
	n    int
	msgs []string
}

func (f *failures) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if len(f.msgs) < 20 {
		f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
	}
}

func (f *failures) report(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.msgs {
		t.Error(m)
	}
	if f.n > len(f.msgs) {
		t.Errorf("… and %d more failures", f.n-len(f.msgs))
	}
}

// send makes one request through the client's jar and returns the status,
// body and Set-Cookie lines.
func (c *loadClient) send(ctx context.Context, method, path string, q url.Values) (int, string, []*http.Cookie, error) {
	u := c.base.ResolveReference(&url.URL{Path: path, RawQuery: q.Encode()})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return 0, "", nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), resp.Cookies(), err
}

// cookie returns the session cookie in the client's jar, or "".
func (c *loadClient) cookie() string {
	for _, ck := range c.jar.Cookies(c.base) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	return ""
}

func (c *loadClient) want() string {
	if c.user == "" {
		return "anon"
	}
	return fmt.Sprintf("user=%s n=%d", c.user, c.n)
}

// TestConcurrentUsers runs hundreds of clients, each its own user with its
// own cookie jar, through thousands of mixed requests against a real server
// while the keyring is swapped: no response names another user, every
// update is visible on the client's next request, every session is
// re-keyed on its next read after the swap, and nothing answers 5xx.
// Then it races plain reads carrying the old cookie against an update.
func TestConcurrentUsers(t *testing.T) {
	t.Parallel()
	const (
		clients      = 200
		opsPerClient = 20
		burstReads   = 8
	)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	s1, err := jwesession.NewSecret("e2e-load-key-one-7Hq2Lw9Zp4Xv8Kc3Rm6Tb")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := jwesession.NewSecret("e2e-load-key-two-5Gf8Nd2Yj7Qs4Wa9Pe3Uc")
	if err != nil {
		t.Fatal(err)
	}
	kr1, err := jwesession.NewKeyring(jwesession.Key{ID: "k1", State: jwesession.Primary, Secret: s1})
	if err != nil {
		t.Fatal(err)
	}
	kr2, err := jwesession.NewKeyring(
		jwesession.Key{ID: "k2", State: jwesession.Primary, Secret: s2},
		jwesession.Key{ID: "k1", State: jwesession.DecryptOnly, Secret: s1},
	)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	clock.ns.Store(time.Now().UnixNano())
	const refreshAfter = 5 * time.Minute
	m, err := jwesession.New[loadUser](jwesession.Config{
		DevelopmentCookies: true,
		IdleTimeout:        30 * time.Minute,
		RefreshAfter:       refreshAfter,
		Now:                clock.Now,
		Logger:             slog.New(slog.DiscardHandler),
	}, kr1)
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(loadServer(t, m))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)

	cs := make([]*loadClient, clients)
	for i := range cs {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = &loadClient{
			id: i, base: base, jar: jar,
			http: &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second},
			raw:  &http.Client{Transport: tr, Timeout: 10 * time.Second},
			rng:  rand.New(rand.NewPCG(uint64(i), 42)),
		}
	}

	var (
		fails     failures
		requests  atomic.Int64
		swapped   atomic.Bool
		rekeyRead atomic.Int64 // reads that moved a k1 cookie to k2
		status5xx atomic.Int64
	)
	kidOf := func(c *loadClient) string {
		tok := c.cookie()
		if tok == "" {
			return ""
		}
		kid, err := tokenKid(tok)
		if err != nil {
			fails.add("client %d: session cookie is no JWE: %v", c.id, err)
		}
		return kid
	}
	// do sends one request, checks the status and that the body is exactly
	// the state the client expects afterwards.
	do := func(c *loadClient, op, method, path string, q url.Values) (string, []*http.Cookie, bool) {
		afterSwap := swapped.Load()
		status, body, set, err := c.send(ctx, method, path, q)
		requests.Add(1)
		if err != nil {
			fails.add("client %d %s: %v", c.id, op, err)
			return "", nil, false
		}
		if status >= 500 {
			status5xx.Add(1)
		}
		if status != http.StatusOK {
			fails.add("client %d %s: status %d: %s", c.id, op, status, body)
			return body, set, false
		}
		if body != c.want() {
			fails.add("client %d %s: got %q, want %q (another user's session, or a lost update)", c.id, op, body, c.want())
			return body, set, false
		}
		if c.user != "" && afterSwap {
			// Whatever the request did, a session it left is under the
			// new primary: sealed by it, or re-keyed on this read.
			if kid := kidOf(c); kid != "k2" {
				fails.add("client %d %s after the keyring swap: the session is under key %q, want k2", c.id, op, kid)
			}
		}
		return body, set, true
	}
	read := func(c *loadClient) {
		before := kidOf(c)
		if _, _, ok := do(c, "read", http.MethodGet, "/read", nil); ok && before == "k1" && kidOf(c) == "k2" {
			rekeyRead.Add(1)
		}
	}
	login := func(c *loadClient) {
		c.logins++
		c.user, c.n = fmt.Sprintf("c%03d-%d", c.id, c.logins), 0
		do(c, "login", http.MethodPost, "/login", url.Values{"user": {c.user}})
	}
	step := func(c *loadClient) {
		p := c.rng.IntN(100)
		if c.user == "" {
			if p < 80 {
				login(c)
			} else {
				read(c)
			}
			return
		}
		switch {
		case p < 45:
			read(c)
		case p < 75:
			c.n++
			do(c, "update", http.MethodPost, "/update", url.Values{"n": {strconv.Itoa(c.n)}})
		case p < 85:
			old := c.cookie()
			if _, _, ok := do(c, "renew", http.MethodPost, "/renew", nil); ok && c.cookie() == old {
				fails.add("client %d: renew did not re-issue the cookie", c.id)
			}
		case p < 90:
			c.user = ""
			if _, _, ok := do(c, "logout", http.MethodPost, "/logout", nil); ok && c.cookie() != "" {
				fails.add("client %d: sign-out left a session cookie in the jar", c.id)
			}
		default:
			login(c)
		}
	}

	// Phase 1: every client signs in, then mixed traffic; the keyring is
	// swapped while requests are in flight, once half of them are done.
	start := time.Now()
	total := int64(clients * (opsPerClient + 1))
	swapDone := make(chan struct{})
	go func() {
		defer close(swapDone)
		for requests.Load() < total/2 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
		if err := m.SetKeyring(kr2); err != nil {
			fails.add("SetKeyring: %v", err)
		}
		swapped.Store(true)
	}()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			login(c)
			sawSwap := false
			for range opsPerClient {
				if ctx.Err() != nil {
					return
				}
				if !sawSwap && swapped.Load() {
					// The first request after the swap is a read: the
					// session must come back re-keyed, data unchanged.
					sawSwap = true
					read(c)
					continue
				}
				step(c)
			}
		})
	}
	wg.Wait()
	<-swapDone
	if !swapped.Load() {
		t.Fatal("the keyring was never swapped")
	}
	// Every client reads once more: whatever it holds is under k2 now.
	for _, c := range cs {
		wg.Go(func() { read(c) })
	}
	wg.Wait()
	phase1 := time.Since(start)
	fails.report(t)
	if n := status5xx.Load(); n != 0 {
		t.Errorf("%d responses were 5xx", n)
	}
	var stats []string
	for _, s := range m.Stats() {
		stats = append(stats, fmt.Sprintf("%s(%s): sealed %d, opened %d, re-keyed %d", s.ID, s.State, s.Sealed, s.Opened, s.Rekeyed))
	}
	t.Logf("mixed traffic: %d clients, %d requests in %v; %d reads re-keyed a k1 session under k2; keys: %s",
		clients, requests.Load(), phase1.Round(time.Millisecond), rekeyRead.Load(), strings.Join(stats, "; "))
	if rekeyRead.Load() < clients/4 {
		t.Errorf("only %d reads re-keyed a session after the swap: the test did not exercise re-keying", rekeyRead.Load())
	}
	if t.Failed() {
		return
	}

	// Phase 2: per client, plain reads carrying the old cookie race an
	// update carrying the same cookie, as a browser's parallel requests
	// do; each response's Set-Cookie is applied to the jar in the order
	// the responses arrive. Then the client reads through its jar.
	burst := func(c *loadClient) (lost, readsSet bool) {
		if c.user == "" {
			login(c)
		}
		old := c.cookie()
		c.n++
		var (
			mu      sync.Mutex
			startGo = make(chan struct{})
			bw      sync.WaitGroup
		)
		one := func(method, path string, q url.Values, isRead bool) {
			defer bw.Done()
			<-startGo
			u := c.base.ResolveReference(&url.URL{Path: path, RawQuery: q.Encode()})
			req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
			if err != nil {
				fails.add("client %d: %v", c.id, err)
				return
			}
			req.Header.Set("Cookie", "session="+old)
			resp, err := c.raw.Do(req)
			requests.Add(1)
			if err != nil {
				fails.add("client %d burst %s: %v", c.id, path, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fails.add("client %d burst %s: status %d", c.id, path, resp.StatusCode)
			}
			mu.Lock()
			defer mu.Unlock()
			if set := resp.Cookies(); len(set) > 0 {
				c.jar.SetCookies(c.base, set)
				if isRead {
					readsSet = true
				}
			}
		}
		bw.Add(burstReads + 1)
		for range burstReads {
			go one(http.MethodGet, "/read", nil, true)
		}
		go one(http.MethodPost, "/update", url.Values{"n": {strconv.Itoa(c.n)}}, false)
		close(startGo)
		bw.Wait()
		status, body, _, err := c.send(ctx, http.MethodGet, "/read", nil)
		requests.Add(1)
		if err != nil || status != http.StatusOK {
			fails.add("client %d: read after the burst: %d %v", c.id, status, err)
			return false, readsSet
		}
		if body != c.want() {
			if !strings.HasPrefix(body, "user="+c.user+" ") {
				fails.add("client %d: after the burst got %q, want %q", c.id, body, c.want())
			}
			// The update was undone by a read's re-issued old cookie:
			// the client carries on from what it sees.
			if _, err := fmt.Sscanf(strings.TrimPrefix(body, "user="+c.user+" "), "n=%d", &c.n); err != nil {
				fails.add("client %d: after the burst got %q", c.id, body)
			}
			return true, readsSet
		}
		return false, readsSet
	}
	round := func(name string) (lost, readsSet int) {
		var mu sync.Mutex
		sem := make(chan struct{}, 40)
		for _, c := range cs {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				l, r := burst(c)
				mu.Lock()
				defer mu.Unlock()
				if l {
					lost++
				}
				if r {
					readsSet++
				}
			})
		}
		wg.Wait()
		fails.report(t)
		t.Logf("%s: %d clients, each %d reads racing 1 update with the same old cookie: %d updates lost, %d bursts had a read re-set the cookie",
			name, clients, burstReads, lost, readsSet)
		return lost, readsSet
	}

	// No refresh and no re-key due: reads send no Set-Cookie, so no update
	// can be lost.
	lost, readsSet := round("no refresh due")
	if lost != 0 || readsSet != 0 {
		t.Errorf("with no refresh or re-key due, %d updates were lost and %d bursts had a plain read re-set the cookie; want 0 and 0", lost, readsSet)
	}

	// The sliding refresh due on every read: each read re-issues the old
	// data, and the last response wins (the documented last-writer-wins
	// case). A figure for the README, not an assertion.
	clock.Advance(refreshAfter + time.Second)
	lost, readsSet = round("sliding refresh due")
	if readsSet == 0 {
		t.Errorf("with the sliding refresh due, no read re-set the cookie: the refresh was not exercised")
	}
	t.Logf("last-writer-wins with the refresh due: %d of %d updates lost (%.0f%%)", lost, clients, 100*float64(lost)/clients)
	t.Logf("total %d requests in %v", requests.Load(), time.Since(start).Round(time.Millisecond))
}
