package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The demo's lifetimes in TestBrowserSignOutWinsOverHeldRefresh: the
// sliding refresh is due a second after the sign-in, and holdRefreshWait
// after it for sure.
var (
	holdDemoFlags   = []string{"-refresh-after", "1s", "-idle-timeout", "5s"}
	holdRefreshWait = 2 * time.Second
)

// holdProxy is a reverse proxy in front of the demo that can hold back the
// response to one GET /: it reads the demo's whole response (Set-Cookie
// included), reports its Set-Cookie lines on held, and passes it on only
// after releaseHeld.
type holdProxy struct {
	URL     string
	held    chan []string
	release chan struct{}

	mu    sync.Mutex
	armed bool
	once  sync.Once
}

// releaseHeld lets the held response go; idempotent.
func (p *holdProxy) releaseHeld() { p.once.Do(func() { close(p.release) }) }

// holdNext makes the proxy hold the response to the next GET /.
func (p *holdProxy) holdNext() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = true
}

func (p *holdProxy) take() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := p.armed
	p.armed = false
	return ok
}

// startHoldProxy serves, on 127.0.0.1, a reverse proxy to upstream
// (http://HOST:PORT). It keeps the browser's Host header, so the demo's
// cross-origin protection sees the origin the browser sees.
func startHoldProxy(t *testing.T, upstream string) *holdProxy {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{held: make(chan []string, 1), release: make(chan struct{})}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Method != http.MethodGet || resp.Request.URL.Path != "/" || !p.take() {
				return nil
			}
			// The demo has produced the whole response: read it, then
			// wait.
			b, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
			p.held <- resp.Header.Values("Set-Cookie")
			select {
			case <-p.release:
				return nil
			case <-resp.Request.Context().Done():
				return resp.Request.Context().Err()
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		p.releaseHeld()
		_ = srv.Close()
	})
	p.URL = "http://" + ln.Addr().String()
	return p
}

// cookieNamesOf returns the names of Set-Cookie lines.
func cookieNamesOf(lines []string) []string {
	var out []string
	for _, l := range lines {
		n, _, _ := strings.Cut(l, "=")
		out = append(out, n)
	}
	return out
}

// TestBrowserSignOutWinsOverHeldRefresh: a page load whose sliding refresh
// is due is held back by a proxy after the demo produced its response;
// meanwhile the same browser signs out in another tab, and that response
// arrives first. When the held response arrives last, the browser must stay
// signed out: no session cookie in its store, and / says "not signed in".
// A library whose refresh re-issues the session token on a read fails
// here: the held response puts the old token back.
func TestBrowserSignOutWinsOverHeldRefresh(t *testing.T) {
	requireProgram(t, "chromium")
	t.Parallel()
	d := startDemo(t, buildDemo(t, ""), holdDemoFlags...)
	px := startHoldProxy(t, d.URL)
	base := px.URL
	b := newBrowser(t, "alice's browser")

	b.expectPage(b.signIn(base, "alice"), base+"/", 200, "signed in as alice")
	if got := sessionCookieNames(b.cookies(), d.Cookie); !slices.Equal(got, []string{d.Cookie}) {
		t.Fatalf("after sign-in the store holds the session cookies %v, want [%s]", got, d.Cookie)
	}
	time.Sleep(holdRefreshWait) // the sliding refresh is due now

	// Tab 1 loads /; the proxy holds the demo's response back. (The URL
	// carries a query, which the demo ignores: Chromium's HTTP cache lets
	// only one load of a URL wait for its response at a time, and tab 2
	// is about to load / itself.)
	px.holdNext()
	navDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(b.ctx, 3*stepTimeout)
		defer cancel()
		navDone <- chromedp.Do(ctx, chromedp.Navigate(base+"/?tab=1"))
	}()
	var heldCookies []string
	select {
	case heldCookies = <-px.held:
	case err := <-navDone:
		t.Fatalf("the page load ended before the proxy held it: %v", err)
	case <-time.After(stepTimeout):
		t.Fatal("the proxy saw no GET / to hold within the step timeout")
	}
	t.Logf("held back: the response to GET /, which sets %v", cookieNamesOf(heldCookies))
	if len(heldCookies) == 0 {
		t.Fatal("the held read set no cookie: its sliding refresh was not due, and the test exercises nothing")
	}

	// Tab 2, same profile: sign out; its response reaches the browser.
	tab2, closeTab2 := chromedp.NewContext(b.ctx)
	defer closeTab2()
	func() {
		ctx, cancel := context.WithTimeout(tab2, stepTimeout)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"] button`))); err != nil {
			t.Fatalf("tab 2: opening /: %v", err)
		}
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
		if err != nil {
			t.Fatalf("tab 2: signing out: %v", err)
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err != nil || resp.Status != http.StatusOK || !strings.Contains(text, "not signed in") {
			t.Fatalf("tab 2 after sign-out: status %d, page %q, %v", resp.Status, text, err)
		}
	}()
	if got := sessionCookieNames(b.cookies(), d.Cookie); len(got) != 0 {
		t.Fatalf("after the sign-out (before the held response) the store still holds %v", got)
	}
	t.Logf("after the sign-out, before the held response: the store holds %v", b.cookieNames())

	// Only now does the held response reach tab 1.
	px.releaseHeld()
	if err := <-navDone; err != nil {
		t.Fatalf("tab 1: the held page load: %v", err)
	}
	all := b.cookies()
	t.Logf("after the held response landed: the store holds %v", b.cookieNames())
	if got := sessionCookieNames(all, d.Cookie); len(got) != 0 {
		t.Errorf("the held response landed after the sign-out and put the session back: the store holds %v", got)
	}
	b.do("tab 1 loads /", chromedp.Navigate(base+"/"))
	if text := b.text(); !strings.Contains(text, "not signed in") {
		t.Errorf("after the sign-out and the held response, / shows:\n%s", text)
	}
}
