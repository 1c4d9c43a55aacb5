package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxConf is a careless CDN: it caches GET responses with status 200,
// 301, 302 and 303 for ten minutes when the origin says nothing, stores
// and replays Set-Cookie (proxy_ignore_headers Set-Cookie), keys the cache
// without the cookie, and honours Cache-Control and Vary (nginx's default).
const nginxConf = `# written by jwesession's e2e suite
{{USER}}
worker_processes 1;
pid {{DIR}}/nginx.pid;
error_log {{DIR}}/error.log warn;
events { worker_connections 256; }
http {
	access_log {{DIR}}/access.log;
	client_body_temp_path {{DIR}}/tmp/body;
	proxy_temp_path {{DIR}}/tmp/proxy;
	fastcgi_temp_path {{DIR}}/tmp/fastcgi;
	uwsgi_temp_path {{DIR}}/tmp/uwsgi;
	scgi_temp_path {{DIR}}/tmp/scgi;
	proxy_cache_path {{DIR}}/cache levels=1:2 keys_zone=e2e:1m max_size=64m inactive=60m use_temp_path=off;
	server {
		listen 127.0.0.1:{{PORT}};
		server_name localhost;
		location / {
			proxy_pass http://{{ORIGIN}};
			proxy_http_version 1.1;
			proxy_buffer_size 32k;
			proxy_buffers 8 32k;
			proxy_cache e2e;
			proxy_cache_key $scheme$proxy_host$request_uri;
			proxy_cache_valid 200 301 302 303 10m;
			proxy_ignore_headers Set-Cookie;
			add_header X-Cache $upstream_cache_status always;
		}
	}
}
`

// startNginx starts nginx as a careless caching proxy in front of origin
// (HOST:PORT) and returns its base URL. Everything it writes stays in a
// temporary directory; it is stopped when the test ends.
func startNginx(t *testing.T, origin string) string {
	t.Helper()
	bin := requireProgram(t, "nginx")
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		dir := t.TempDir()
		for _, d := range []string{"tmp", "cache"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		port := freePort(t, "127.0.0.1")
		user := ""
		if os.Geteuid() == 0 {
			// As root nginx would switch its worker to nobody, who cannot
			// enter the test's private temporary directory.
			user = "user root;"
		}
		conf := strings.NewReplacer("{{DIR}}", dir, "{{PORT}}", fmt.Sprint(port), "{{ORIGIN}}", origin, "{{USER}}", user).Replace(nginxConf)
		confPath := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("e2e: starting nginx: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			// nginx's master stops its worker on SIGTERM; the process
			// group (ours, from Setpgid) is killed if it does not.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				t.Logf("nginx output:\n%s\nnginx error.log:\n%s", out.String(), b)
			}
		})
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		ready := make(chan error, 1)
		go func() {
			c := &http.Client{Timeout: time.Second}
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				resp, err := c.Get(base + "/healthz")
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						ready <- nil
						return
					}
				}
				select {
				case <-exited:
					ready <- fmt.Errorf("nginx exited")
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
			ready <- fmt.Errorf("nginx not ready after 10s")
		}()
		if err := <-ready; err != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			lastErr = fmt.Sprintf("%v\n%s\n%s", err, out.String(), b)
			if strings.Contains(lastErr, "Address already in use") {
				continue // the free port was taken meanwhile: try another
			}
			t.Fatalf("e2e: %s", lastErr)
		}
		return base
	}
	t.Fatalf("e2e: nginx could not start: %s", lastErr)
	return ""
}

// hop is one HTTP exchange a scenario client made.
type hop struct {
	who, method, path string
	status            int
	xCache            string
	setCookies        []*http.Cookie
	body              string
}

func (h hop) String() string {
	var sc []string
	for _, c := range h.setCookies {
		v := c.Value
		if len(v) > 12 {
			v = v[:12] + "…"
		}
		sc = append(sc, fmt.Sprintf("%s=%s(max-age %d)", c.Name, v, c.MaxAge))
	}
	body := strings.Join(strings.Fields(h.body), " ")
	if len(body) > 80 {
		body = body[:80] + "…"
	}
	return fmt.Sprintf("%s %s %s -> %d X-Cache=%q Set-Cookie=%v body=%q", h.who, h.method, h.path, h.status, h.xCache, sc, body)
}

// proxyClient is one user agent with its own cookie jar. It follows
// redirects itself so that every hop is recorded.
type proxyClient struct {
	t      *testing.T
	name   string
	base   *url.URL
	jar    *cookiejar.Jar
	client *http.Client
	hops   []hop
}

func newProxyClient(t *testing.T, name, base string) *proxyClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &proxyClient{
		t: t, name: name, base: u, jar: jar,
		client: &http.Client{
			Jar:           jar,
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// do sends one request and follows 303/302/301 redirects (as GET),
// returning every hop.
func (c *proxyClient) do(method, path string, form url.Values) []hop {
	c.t.Helper()
	var out []hop
	for range 5 {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, method, c.base.ResolveReference(&url.URL{Path: path}).String(), body)
		if err != nil {
			cancel()
			c.t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.client.Do(req)
		if err != nil {
			cancel()
			c.t.Fatalf("%s %s %s: %v", c.name, method, path, err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		cancel()
		h := hop{who: c.name, method: method, path: path, status: resp.StatusCode, xCache: resp.Header.Get("X-Cache"), setCookies: resp.Cookies(), body: string(b)}
		out = append(out, h)
		c.hops = append(c.hops, h)
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
			loc, err := resp.Location()
			if err != nil {
				c.t.Fatalf("%s %s %s: redirect without Location: %v", c.name, method, path, err)
			}
			method, path, form = http.MethodGet, loc.Path, nil
			continue
		}
		return out
	}
	c.t.Fatalf("%s: too many redirects", c.name)
	return nil
}

// sessionCookies returns the session token's cookies (bare or chunks) in
// the jar: not its companion or tombstone.
func (c *proxyClient) sessionCookies(name string) []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range c.jar.Cookies(c.base) {
		if isTokenName(ck.Name, name) {
			out = append(out, ck)
		}
	}
	return out
}

// violation is one way the scenario saw a session leak.
type violation struct {
	kind, detail string
}

// Kinds of violations.
const (
	vCrossUser     = "B received A's session (name or cookie)"
	vStaleAnon     = "a signed-in user was served a stale anonymous page"
	vBlink         = "A's sign-out blinked back (a response re-set the old cookie)"
	vCachedPrivate = "a personalised response was served from the cache"
	vPublicMiss    = "/public was not served from the cache"
	vStatus        = "unexpected status"
	vNoTombstone   = "A's sign-out left no tombstone"
)

// runCacheScenario runs the scenario through the proxy at base and
// returns every violation it saw, with the full log of hops.
func runCacheScenario(t *testing.T, base, cookieName string) ([]violation, []hop) {
	var vs []violation
	add := func(kind string, h hop, why string) {
		vs = append(vs, violation{kind, fmt.Sprintf("%s: %s", why, h)})
	}
	// A session cookie is the token (bare or a chunk); the tombstone a
	// sign-out leaves, or a refresh's companion, is not: a blink is the
	// token reappearing, or a signed-in page.
	isSession := func(name string) bool { return isTokenName(name, cookieName) }

	// 1. An anonymous visit primes the cache.
	anon := newProxyClient(t, "anon", base)
	for _, p := range []string{"/", "/public"} {
		for _, h := range anon.do(http.MethodGet, p, nil) {
			if h.status != http.StatusOK {
				add(vStatus, h, "anonymous priming")
			}
		}
	}

	// 2. A signs in through the proxy and visits /, /admin (twice each:
	// a second visit would be a cache hit if the first was stored) and
	// /public.
	a := newProxyClient(t, "A", base)
	aTokens := map[string]bool{}
	recordA := func(hs []hop) {
		for _, h := range hs {
			for _, ck := range h.setCookies {
				if isSession(ck.Name) && ck.Value != "" {
					aTokens[ck.Value] = true
				}
			}
		}
	}
	checkSignedIn := func(hs []hop, who, user string) {
		for _, h := range hs {
			switch {
			case h.status >= 500:
				add(vStatus, h, who+" signed in")
			case h.method == http.MethodGet && h.path == "/" && !strings.Contains(h.body, "signed in as "+user):
				add(vStaleAnon, h, who+" signed in as "+user+" but the page does not say so")
			case h.method == http.MethodGet && h.path == "/admin" && (h.status != http.StatusOK || !strings.Contains(h.body, "admin page for "+user)):
				add(vStaleAnon, h, who+" signed in as "+user+" but /admin is not theirs")
			}
			if (h.path == "/" || h.path == "/admin") && h.xCache == "HIT" {
				add(vCachedPrivate, h, who+"'s personalised page")
			}
		}
	}
	login := a.do(http.MethodPost, "/login", url.Values{"user": {"alice"}})
	recordA(login)
	if len(login) == 0 || login[0].status != http.StatusSeeOther {
		t.Fatalf("A's sign-in through the proxy failed: %v", login)
	}
	checkSignedIn(login[1:], "A", "alice")
	for _, p := range []string{"/", "/admin", "/", "/admin"} {
		hs := a.do(http.MethodGet, p, nil)
		recordA(hs)
		checkSignedIn(hs, "A", "alice")
	}
	for _, h := range a.do(http.MethodGet, "/public", nil) {
		if h.xCache != "HIT" {
			add(vPublicMiss, h, "A (signed in) on /public")
		}
	}
	if len(aTokens) == 0 {
		t.Fatal("A never received a session cookie")
	}

	// 3. B, a fresh client, visits the same pages and /public, then signs
	// in as bob and visits them again.
	b := newProxyClient(t, "B", base)
	checkB := func(hs []hop) {
		for _, h := range hs {
			if h.status >= 500 {
				add(vStatus, h, "B")
			}
			if strings.Contains(h.body, "alice") {
				add(vCrossUser, h, "B's page names alice")
			}
			for _, ck := range h.setCookies {
				if aTokens[ck.Value] {
					add(vCrossUser, h, "B was sent A's cookie "+ck.Name)
				}
			}
		}
		for _, ck := range b.jar.Cookies(b.base) {
			if aTokens[ck.Value] {
				add(vCrossUser, hop{who: "B", path: "(cookie jar)"}, "B's browser holds A's cookie "+ck.Name)
			}
		}
	}
	for _, p := range []string{"/", "/admin", "/public", "/", "/admin"} {
		hs := b.do(http.MethodGet, p, nil)
		checkB(hs)
		for _, h := range hs {
			if h.path == "/public" && h.xCache != "HIT" {
				add(vPublicMiss, h, "B (anonymous) on /public")
			}
		}
	}
	hs := b.do(http.MethodPost, "/login", url.Values{"user": {"bob"}})
	checkB(hs)
	checkSignedIn(hs[1:], "B", "bob")
	for _, p := range []string{"/", "/admin", "/public"} {
		hs := b.do(http.MethodGet, p, nil)
		checkB(hs)
		checkSignedIn(hs, "B", "bob")
		for _, h := range hs {
			if h.path == "/public" && h.xCache != "HIT" {
				add(vPublicMiss, h, "B (signed in) on /public")
			}
		}
	}

	// A, still signed in, must not see bob.
	for _, p := range []string{"/", "/admin"} {
		hs := a.do(http.MethodGet, p, nil)
		recordA(hs)
		checkSignedIn(hs, "A", "alice")
		for _, h := range hs {
			if strings.Contains(h.body, "bob") {
				add(vCrossUser, h, "A's page names bob")
			}
		}
	}

	// 4. A signs out and visits again: the sign-out must stick.
	logout := a.do(http.MethodPost, "/logout", nil)
	if len(logout) == 0 || logout[0].status != http.StatusSeeOther {
		t.Fatalf("A's sign-out through the proxy failed: %v", logout)
	}
	after := logout[1:]
	for _, p := range []string{"/", "/admin", "/public", "/", "/admin"} {
		after = append(after, a.do(http.MethodGet, p, nil)...)
	}
	for _, h := range after {
		if h.status >= 500 {
			add(vStatus, h, "A after sign-out")
		}
		for _, ck := range h.setCookies {
			if isSession(ck.Name) && ck.Value != "" && ck.MaxAge >= 0 {
				add(vBlink, h, "a response after sign-out sets a session cookie")
			}
		}
		if strings.Contains(h.body, "signed in as alice") || strings.Contains(h.body, "admin page for alice") {
			add(vBlink, h, "A is shown as signed in after sign-out")
		}
	}
	if left := a.sessionCookies(cookieName); len(left) > 0 {
		add(vBlink, hop{who: "A", path: "(cookie jar)"}, fmt.Sprintf("A's jar holds %d session cookie(s) after sign-out", len(left)))
	}
	tombstoned := false
	for _, ck := range a.jar.Cookies(a.base) {
		tombstoned = tombstoned || ck.Name == tombstoneName(cookieName)
	}
	if !tombstoned {
		add(vNoTombstone, hop{who: "A", path: "(cookie jar)"}, "A's jar holds no "+tombstoneName(cookieName)+" after sign-out")
	}

	var all []hop
	for _, c := range []*proxyClient{anon, a, b} {
		all = append(all, c.hops...)
	}
	return vs, all
}

// TestCachingProxy puts the demo behind nginx configured like a careless
// CDN and checks that no session leaks between users, a signed-in user
// never gets a stale page, sign-out sticks, and public pages still come
// from the cache.
func TestCachingProxy(t *testing.T) {
	requireProgram(t, "nginx")
	t.Parallel()
	d := startDemo(t, buildDemo(t, ""))
	base := startNginx(t, d.Addr)
	vs, hops := runCacheScenario(t, base, d.Cookie)
	for _, v := range vs {
		t.Errorf("%s: %s", v.kind, v.detail)
	}
	if t.Failed() {
		for _, h := range hops {
			t.Log(h)
		}
	}
}

// TestCachingProxySeesTheLeak runs the same scenario against the test-only
// unsafe build of the demo (it re-sets the session cookie on every read
// and drops Cache-Control and Vary, like the stacks that leaked) and
// asserts that the scenario does see the leak: proof that
// TestCachingProxy would catch it.
func TestCachingProxySeesTheLeak(t *testing.T) {
	requireProgram(t, "nginx")
	t.Parallel()
	d := startDemo(t, buildDemo(t, unsafeTag))
	base := startNginx(t, d.Addr)
	vs, hops := runCacheScenario(t, base, d.Cookie)
	seen := map[string]int{}
	for _, v := range vs {
		seen[v.kind]++
		t.Logf("leak seen (as expected): %s: %s", v.kind, v.detail)
	}
	for _, kind := range []string{vCrossUser, vBlink, vStaleAnon} {
		if seen[kind] == 0 {
			t.Errorf("the unsafe demo behind the careless proxy did not show %q: the scenario cannot see this leak", kind)
		}
	}
	if t.Failed() {
		for _, h := range hops {
			t.Log(h)
		}
	}
}

// TestCachingProxyChunkedSession: a session chunked across two cookies
// passes the careless proxy, is never served from its cache to another
// user, and sign-out deletes every chunk. It also records (a log line, not
// an assertion) what nginx's default 8 KB header line does to a larger
// session: every request of that browser is refused, sign-out included.
func TestCachingProxyChunkedSession(t *testing.T) {
	requireProgram(t, "nginx")
	t.Parallel()
	d := startDemo(t, buildDemo(t, ""))
	base := startNginx(t, d.Addr)
	rng := rand.New(rand.NewPCG(5, 6))

	a := newProxyClient(t, "A", base)
	a.do(http.MethodPost, "/login", url.Values{"user": {"alice"}})
	hs := a.do(http.MethodPost, "/update", url.Values{"note": {letters(rng, 5000)}})
	if last := hs[len(hs)-1]; last.status != http.StatusOK || !strings.Contains(last.body, "note: 5000 bytes") {
		t.Fatalf("saving a 5000-byte note through the proxy: %v", hs)
	}
	if got := a.sessionCookies(d.Cookie); len(got) != 2 {
		t.Fatalf("a 5000-byte note: A holds %d session cookies, want 2 chunks", len(got))
	}
	for _, p := range []string{"/", "/admin", "/", "/admin"} {
		for _, h := range a.do(http.MethodGet, p, nil) {
			if h.status != http.StatusOK || h.xCache == "HIT" || !strings.Contains(h.body, "alice") {
				t.Errorf("A with a chunked session: %v", h)
			}
		}
	}
	b := newProxyClient(t, "B", base)
	for _, p := range []string{"/", "/admin"} {
		for _, h := range b.do(http.MethodGet, p, nil) {
			if strings.Contains(h.body, "alice") || len(h.setCookies) > 0 {
				t.Errorf("B after A's chunked session: %v", h)
			}
		}
	}
	hs = a.do(http.MethodPost, "/logout", nil)
	if last := hs[len(hs)-1]; !strings.Contains(last.body, "not signed in") {
		t.Errorf("A's sign-out: %v", hs)
	}
	if left := a.sessionCookies(d.Cookie); len(left) != 0 {
		t.Errorf("A's sign-out left %d chunk(s)", len(left))
	}

	// Three chunks: the Cookie header passes 8 KB, nginx's default
	// large_client_header_buffers line.
	c := newProxyClient(t, "C", base)
	c.do(http.MethodPost, "/login", url.Values{"user": {"carol"}})
	c.do(http.MethodPost, "/update", url.Values{"note": {letters(rng, 7000)}})
	n := len(c.sessionCookies(d.Cookie))
	status := func(method, path string) int {
		return c.do(method, path, nil)[0].status
	}
	t.Logf("behind nginx's default header limit, a session in %d chunks: GET / -> %d, POST /logout -> %d (the browser is locked out until its cookies expire; the README's warning on chunking)",
		n, status(http.MethodGet, "/"), status(http.MethodPost, "/logout"))
}
