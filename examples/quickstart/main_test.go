package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/examples/internal/apptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browse signs alice in on a loopback server of the quick start's handler
// with the config cfg, as a client with a cookie jar reaching it under the
// name host (":PORT" appended; "" for 127.0.0.1), and returns the home
// page after the sign-in and after the sign-out.
func browse(t *testing.T, cfg jwesession.Config, host string) (signedIn, signedOut string) {
	t.Helper()
	kr, err := jwesession.KeyringFromSecret(apptest.Secret)
	require.NoError(t, err)
	m, err := jwesession.New[User](cfg, kr)
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(m))
	defer srv.Close()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := srv.Client()
	c.Jar = jar
	base := srv.URL
	if host != "" {
		// Every connection goes to the loopback server, whatever the name.
		addr := srv.Listener.Addr().String()
		_, port, _ := net.SplitHostPort(addr)
		base = "http://" + host + ":" + port
		tr := c.Transport.(*http.Transport).Clone()
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		c.Transport = tr
	}
	page := func(resp *http.Response, err error) string {
		t.Helper()
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		return string(b)
	}
	signedIn = page(c.PostForm(base+"/login", url.Values{"user": {"alice"}})) // redirected to /
	signedOut = page(c.PostForm(base+"/logout", nil))
	return signedIn, signedOut
}

// The quick start works as written: sign in, the page greets the user,
// sign out. What its comment says of DevelopmentCookies is true of a
// cookie jar that behaves as browsers do (Go's): over plain HTTP the
// Secure __Host- cookie comes back from 127.0.0.1 and localhost, not from
// any other name.
func TestQuickStart(t *testing.T) {
	for _, host := range []string{"", "localhost", "app.test"} {
		in, out := browse(t, jwesession.Config{DevelopmentCookies: true}, host)
		assert.Equal(t, "hello alice\n", in, host)
		assert.Equal(t, "not signed in\n", out, host)
	}
	for host, want := range map[string]string{"": "hello alice\n", "localhost": "hello alice\n", "app.test": "not signed in\n"} {
		in, _ := browse(t, jwesession.Config{}, host)
		assert.Equal(t, want, in, "secure cookies, plain HTTP, host %q", host)
	}
}

// The README's quick start is this file from the type on, verbatim.
func TestREADMEQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	require.True(t, ok, "the README has a Quick start section")
	_, block, ok := strings.Cut(section, "```go\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```\n")
	require.True(t, ok)

	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	_, body, ok := strings.Cut(string(src), "\ntype User struct")
	require.True(t, ok)
	assert.Equal(t, "type User struct"+body, block, "README's quick start == examples/quickstart/main.go from `type User` on")
}
