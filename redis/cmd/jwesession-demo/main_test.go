package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jwesession/jwesession/internal/demo"
	"github.com/jwesession/jwesession/redis/internal/redistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secret = "demo-redis-secret-0123456789abcdefghijklmnop"

var listening = regexp.MustCompile(`jwesession-demo listening on (http://\S+) `)

// startDemo runs this build of the demo with args until the test ends and
// returns its base URL.
func startDemo(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	lookup := func(k string) (string, bool) {
		if k == "JWESESSION_SECRET" {
			return secret, true
		}
		return "", false
	}
	go func() {
		done <- demo.Run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), lookup, pw, connect)
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		close(base)
	}()
	select {
	case b, ok := <-base:
		if !ok {
			t.Fatal("the demo ended before listening")
		}
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no start-up line in 10s")
	}
	return ""
}

// device is a browser: one cookie jar for every demo instance (they share
// the keys, as a fleet behind one host name).
type device struct {
	t   *testing.T
	jar *cookiejar.Jar
	hc  *http.Client
}

func newDevice(t *testing.T) *device {
	jar, _ := cookiejar.New(nil)
	return &device{t: t, jar: jar, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request to base+path; the cookies are kept under one host.
func (d *device) do(method, base, path string, form url.Values) (*http.Response, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
	require.NoError(d.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// One jar per device across instances: copy the cookies over by hand.
	for _, c := range d.jar.Cookies(&url.URL{Scheme: "http", Host: "fleet.test", Path: "/"}) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(d.t, err)
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	d.jar.SetCookies(&url.URL{Scheme: "http", Host: "fleet.test", Path: "/"}, resp.Cookies())
	return resp, body.String()
}

func (d *device) home(base string) string {
	_, body := d.do("GET", base, "/", nil)
	return body
}

// The demo with -redis: two instances on one Redis; a user on two devices
// signs out everywhere on one: 303 to /, this browser signed out, the
// other device signed out on both instances (once the revocation has
// arrived); not signed in, it is 303 and changes nothing.
func TestLogoutEverywhere(t *testing.T) {
	srv := redistest.StartServer(t)
	a := startDemo(t, "-redis", srv.Addr())
	b := startDemo(t, "-redis", srv.Addr())
	phone, laptop := newDevice(t), newDevice(t)
	phone.do("POST", a, "/login", url.Values{"user": {"alice"}})
	laptop.do("POST", b, "/login", url.Values{"user": {"alice"}})
	require.Contains(t, phone.home(b), "signed in as alice")
	require.Contains(t, laptop.home(a), "signed in as alice")

	resp, _ := laptop.do("POST", a, "/logout-everywhere", url.Values{})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/", resp.Header.Get("Location"))
	assert.Contains(t, laptop.home(a), "not signed in")
	for _, base := range []string{a, b} {
		var body string
		deadline := time.Now().Add(10 * time.Second)
		for body = phone.home(base); strings.Contains(body, "signed in as") && time.Now().Before(deadline); body = phone.home(base) {
			time.Sleep(20 * time.Millisecond)
		}
		assert.Contains(t, body, "not signed in", base)
		assert.Contains(t, body, "session revoked", base)
	}

	anon := newDevice(t)
	resp, _ = anon.do("POST", b, "/logout-everywhere", url.Values{})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Empty(t, resp.Header.Values("Set-Cookie"))
	resp, _ = anon.do("GET", b, "/logout-everywhere", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// -redis-fail open with Redis down: the session is served; closed (the
// default): signed out for the request, the cookie kept, back once Redis
// is.
func TestRedisFail(t *testing.T) {
	srv := redistest.StartServer(t)
	closed := startDemo(t, "-redis", srv.Addr())
	open := startDemo(t, "-redis", srv.Addr(), "-redis-fail", "open")
	d := newDevice(t)
	d.do("POST", closed, "/login", url.Values{"user": {"alice"}})
	require.Contains(t, d.home(open), "signed in as alice")
	srv.Stop()
	deadline := time.Now().Add(30 * time.Second)
	var body string
	for body = d.home(closed); strings.Contains(body, "signed in as") && time.Now().Before(deadline); body = d.home(closed) {
		time.Sleep(50 * time.Millisecond)
	}
	assert.Contains(t, body, "revocation store unavailable")
	assert.Contains(t, d.home(open), "signed in as alice")
	srv.Start()
	deadline = time.Now().Add(30 * time.Second)
	for body = d.home(closed); !strings.Contains(body, "signed in as") && time.Now().Before(deadline); body = d.home(closed) {
		time.Sleep(50 * time.Millisecond)
	}
	assert.Contains(t, body, "signed in as alice", "the same cookie, back with Redis")
}
