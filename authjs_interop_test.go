package jwesession

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Go-made tokens read by the real @auth/core and next-auth/jwt
// (testdata/authjs/check_go_tokens.mjs, the versions of
// testdata/authjs/package-lock.json). Without node the test skips, saying
// why, except under CI=true, where it fails: CI must check interop both
// ways. A missing testdata/authjs/node_modules is installed with `npm ci`
// when npm is present.

const (
	authjsDir        = "testdata/authjs"
	authjsCoreWant   = "0.41.3"
	authjsNextV4Want = "4.24.15"
)

// nodeUnavailable skips, or fails under CI=true.
func nodeUnavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (CI=true: failing instead of skipping)", msg)
	}
	tb.Skip(msg)
}

var authjsNPM sync.Mutex // one npm ci at a time in this process

// authjsNode returns the path of node with testdata/authjs/node_modules
// installed at the pinned versions.
func authjsNode(tb testing.TB) string {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		nodeUnavailable(tb, "interop with the real Auth.js skipped: node is not on PATH (install Node.js 20 or later)")
	}
	out, err := exec.Command(node, "--version").Output()
	require.NoError(tb, err)
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0]); major < 20 {
		nodeUnavailable(tb, "interop with the real Auth.js skipped: node %s is older than 20", v)
	}
	authjsNPM.Lock()
	defer authjsNPM.Unlock()
	if installedAuthJSPackages() {
		return node
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		nodeUnavailable(tb, "interop with the real Auth.js skipped: %s/node_modules is not installed and npm is not on PATH to run `npm ci` there", authjsDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = authjsDir
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("npm ci in %s: %v\n%s", authjsDir, err, out)
	}
	require.True(tb, installedAuthJSPackages(), "after npm ci, %s/node_modules lacks @auth/core %s or next-auth %s", authjsDir, authjsCoreWant, authjsNextV4Want)
	return node
}

// installedAuthJSPackages reports whether node_modules holds the pinned
// versions.
func installedAuthJSPackages() bool {
	version := func(pkg string) string {
		b, err := os.ReadFile(filepath.Join(authjsDir, "node_modules", pkg, "package.json"))
		if err != nil {
			return ""
		}
		var p struct {
			Version string `json:"version"`
		}
		_ = json.Unmarshal(b, &p)
		return p.Version
	}
	return version("@auth/core") == authjsCoreWant && version("next-auth") == authjsNextV4Want
}

// nodeCase is one Go-made cookie for check_go_tokens.mjs.
type nodeCase struct {
	Name       string   `json:"name"`
	Format     string   `json:"format"`
	CookieName string   `json:"cookie_name"`
	Secrets    []string `json:"secrets"`
	Cookie     string   `json:"cookie"`
	Reissue    bool     `json:"reissue"`
}

// nodeResult is what the real library made of it.
type nodeResult struct {
	Name       string          `json:"name"`
	Claims     json.RawMessage `json:"claims"`
	Error      string          `json:"error"`
	SetCookies []struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		MaxAge *int   `json:"max_age"`
	} `json:"set_cookies"`
}

// runNodeChecks runs check_go_tokens.mjs on the cases.
func runNodeChecks(t *testing.T, cases []nodeCase) map[string]nodeResult {
	t.Helper()
	node := authjsNode(t)
	in, err := json.Marshal(map[string]any{"cases": cases})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "cases.json")
	require.NoError(t, os.WriteFile(path, in, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check_go_tokens.mjs", path)
	cmd.Dir = authjsDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node check_go_tokens.mjs: %s", stderr.String())
	var res struct {
		Versions map[string]string `json:"versions"`
		Results  []nodeResult      `json:"results"`
	}
	require.NoError(t, json.Unmarshal(out, &res))
	require.Equal(t, authjsCoreWant, res.Versions["@auth/core"])
	require.Equal(t, authjsNextV4Want, res.Versions["next-auth"])
	t.Logf("checked with @auth/core %s, next-auth %s, node %s", res.Versions["@auth/core"], res.Versions["next-auth"], res.Versions["node"])
	byName := map[string]nodeResult{}
	for _, r := range res.Results {
		byName[r.Name] = r
	}
	require.Len(t, byName, len(cases))
	return byName
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	require.NoError(t, json.Unmarshal(want, &w))
	require.NoError(t, json.Unmarshal(got, &g))
	require.Equal(t, w, g)
}

// TestAuthJSNodeDecodes: cookies the Go side wrote (single and chunked,
// each format, rotated secrets, an update that keeps claims the Go type
// does not know, a shrink from chunks to one cookie) are read by the real
// libraries as the app reads a request, to exactly the claims the Go side
// sealed; and what the app re-issues from them (its session route) reads
// back in Go with every claim.
func TestAuthJSNodeDecodes(t *testing.T) {
	f := readAuthJSVectors(t)
	type goCase struct {
		nodeCase
		m     *AuthJSManager[ajsClaims]
		want  []byte // the claims the Go side sealed
		fails bool   // the real library must refuse it
	}
	var cases []goCase
	add := func(name string, format AuthJSFormat, goSecrets, nodeSecrets []string, start string, op func(*Session[ajsClaims]), fails bool) string {
		cfg := AuthJSConfig{Format: format}
		if start != "" {
			// A vector's cookie name and time, so that its token is valid.
			v := vectorByName(t, f, start)
			now := time.Unix(v.Now, 0)
			cfg.CookieName, cfg.Now, start = v.CookieName, func() time.Time { return now }, v.Cookie
		}
		m, _ := newAuthJSTest[ajsClaims](t, cfg, goSecrets...)
		if start != "" {
			_, err := m.InspectCookies(start)
			require.NoError(t, err, "%s: the vector must be valid", name)
		}
		rec := serveAJS(t, m, start, op)
		cookie := cookieHeader(start, rec)
		info, err := m.InspectCookies(cookie)
		require.NoError(t, err, name)
		require.Equal(t, strings.Contains(name, "chunked") || strings.Contains(name, "before shrink"), strings.Contains(cookie, m.CookieName()+".1="), "%s: %.80q", name, cookie)
		cases = append(cases, goCase{
			nodeCase: nodeCase{Name: name, Format: format.String(), CookieName: m.CookieName(), Secrets: nodeSecrets, Cookie: cookie, Reissue: !fails},
			m:        m, want: info.Claims, fails: fails,
		})
		return cookie
	}
	signIn := func(note string) func(*Session[ajsClaims]) {
		return func(s *Session[ajsClaims]) {
			require.NoError(t, s.SignIn(ajsClaims{AuthJSClaims: AuthJSClaims{Name: "Zoë 🦊", Email: "zoe@example.com", Sub: "42"}, Note: note}))
		}
	}
	big := strings.Repeat("chunked ", 1200)
	s1, s2 := []string{authjsSecret1}, []string{authjsSecret2, authjsSecret1}
	add("v5 single", FormatAuthJS, s1, s1, "", signIn("π ≈ 3.14159"), false)
	add("v5 chunked", FormatAuthJS, s1, s1, "", signIn(big), false)
	add("v4 single", FormatNextAuth4, s1, s1, "", signIn("π"), false)
	add("v4 chunked", FormatNextAuth4, s1, s1, "", signIn(big), false)
	add("v5 rotated: sealed under the newest", FormatAuthJS, s2, s2, "", signIn("r"), false)
	add("v5 rotated: the app without the new secret refuses it", FormatAuthJS, s2, s1, "", signIn("r"), true)
	add("v4 rotated: sealed under the newest", FormatNextAuth4, s2, []string{authjsSecret2}, "", signIn("r"), false)
	add("v4 rotated: the old secret refuses it", FormatNextAuth4, s2, s1, "", signIn("r"), true)
	add("v5 update keeps unknown claims", FormatAuthJS, s1, s1, "v5 nested", func(s *Session[ajsClaims]) {
		require.NoError(t, s.Update(func(c *ajsClaims) error { c.Note = "updated in Go"; return nil }))
	}, false)
	add("v4 update keeps unknown claims", FormatNextAuth4, s1, s1, "v4 nested", func(s *Session[ajsClaims]) {
		require.NoError(t, s.Update(func(c *ajsClaims) error { c.Note = "updated in Go"; return nil }))
	}, false)
	for _, format := range []AuthJSFormat{FormatAuthJS, FormatNextAuth4} {
		// Chunked, then shrunk by the Go side: the stale chunks must be
		// gone, or the app's join breaks the token.
		chunked := add(format.String()+" before shrink", format, s1, s1, "", signIn(big), false)
		m := cases[len(cases)-1].m
		rec := serveAJS(t, m, chunked, func(s *Session[ajsClaims]) {
			require.NoError(t, s.Update(func(c *ajsClaims) error { c.Note = "small"; return nil }))
		})
		shrunk := cookieHeader(chunked, rec)
		require.NotContains(t, shrunk, m.CookieName()+".")
		info, err := m.InspectCookies(shrunk)
		require.NoError(t, err)
		cases = append(cases, goCase{nodeCase: nodeCase{Name: format.String() + " shrunk", Format: format.String(), CookieName: m.CookieName(), Secrets: s1, Cookie: shrunk, Reissue: true}, m: m, want: info.Claims})
	}

	for _, format := range []AuthJSFormat{FormatAuthJS, FormatNextAuth4} {
		// Encode, the key tool's encode: a bare token as encode() makes it.
		m, _ := newAuthJSTest[ajsClaims](t, AuthJSConfig{Format: format}, s1...)
		tok, err := m.Encode(ajsClaims{AuthJSClaims: AuthJSClaims{Name: "enc"}, Note: "by Encode"})
		require.NoError(t, err)
		info, err := m.Inspect(tok)
		require.NoError(t, err)
		cases = append(cases, goCase{nodeCase: nodeCase{Name: format.String() + " Encode", Format: format.String(), CookieName: m.CookieName(), Secrets: s1, Cookie: m.CookieName() + "=" + tok, Reissue: true}, m: m, want: info.Claims})
	}

	var nc []nodeCase
	for _, c := range cases {
		nc = append(nc, c.nodeCase)
	}
	results := runNodeChecks(t, nc)
	for _, c := range cases {
		r := results[c.Name]
		if c.fails {
			require.NotEmpty(t, r.Error, "%s: the real library must refuse it", c.Name)
			require.Nil(t, r.Claims)
			continue
		}
		require.Empty(t, r.Error, c.Name)
		jsonEqual(t, c.want, r.Claims)
		// The app's re-issue, applied to the browser's cookies, reads back
		// in Go with every claim (times and jti as the app set them).
		jar := ajsClaimsCookies(c.Cookie)
		for _, sc := range r.SetCookies {
			if sc.MaxAge != nil && *sc.MaxAge == 0 {
				delete(jar, sc.Name)
			} else {
				jar[sc.Name] = sc.Value
			}
		}
		var parts []string
		for k, v := range jar {
			parts = append(parts, k+"="+v)
		}
		back, err := c.m.InspectCookies(strings.Join(parts, "; "))
		require.NoError(t, err, "%s: the app's re-issue", c.Name)
		var want, got map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(c.want, &want))
		require.NoError(t, json.Unmarshal(back.Claims, &got))
		for k := range want {
			if k != "iat" && k != "exp" && k != "jti" {
				jsonEqual(t, want[k], got[k])
			}
		}
		require.Len(t, got, len(want), c.Name)
	}
	// The update kept the claims of the real token the Go type knows
	// nothing of.
	var claims map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(results["v5 update keeps unknown claims"].Claims, &claims))
	require.Contains(t, claims, "account")
	require.Contains(t, claims, "numbers")
	require.Equal(t, `"updated in Go"`, string(claims["note"]))
}
