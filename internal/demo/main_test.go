package demo

// These tests drive the demo as its users do: over a real loopback listener
// (127.0.0.1 only), through run with a fake environment, and once as the
// built binary. They check "The demo's contract" of DESIGN.md.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/hkdf"

	"github.com/jwesession/jwesession"
)

// Test secrets: 32+ bytes with enough distinct byte values.
const (
	secret1 = "demo-test-secret-1-0123456789abcdefghij"
	secret2 = "demo-test-secret-2-klmnopqrstuvwxyzABCD"
)

// startupRE matches the start-up line exactly.
var startupRE = regexp.MustCompile(`^jwesession-demo listening on (http://127\.0\.0\.1:[1-9][0-9]*) \(cookie ([^ ,()]+), (development|secure) cookies\)$`)

// devAnnouncement is a part of the line announcing a generated secret.
const devAnnouncement = "development-only"

// syncBuffer is an io.Writer safe for concurrent use, read by polling.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env returns a lookup function over the given name, value pairs.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// demo is one running instance of run.
type demo struct {
	base   string // http://127.0.0.1:PORT
	line   string // the start-up line
	cookie string // the cookie name from the start-up line
	stderr *syncBuffer
	stop   func() // cancels run and waits for it; idempotent
}

// startDemo runs the demo on 127.0.0.1:0 until the test ends (or stop).
func startDemo(t *testing.T, lookup func(string) (string, bool), args ...string) *demo {
	t.Helper()
	return startDemoWith(t, nil, lookup, args...)
}

// startDemoWith is startDemo with connect as the -redis connector.
func startDemoWith(t *testing.T, connect Connector, lookup func(string) (string, bool), args ...string) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // also when the test fails before d.stop exists
	buf := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), lookup, buf, connect)
	}()
	d := &demo{stderr: buf}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for d.line == "" {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run returned before listening: %v\nstderr:\n%s", err, buf)
		case <-deadline.C:
			cancel()
			t.Fatalf("no start-up line after 10s; stderr:\n%s", buf)
		case <-tick.C:
			if l, m := startupLine(t, buf.String()); m != nil {
				d.line, d.base, d.cookie = l, m[1], m[2]
			}
		}
	}
	var once sync.Once
	d.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err, "run after its context ended")
			case <-time.After(10 * time.Second):
				t.Errorf("run did not return within 10s of its context ending")
			}
		})
	}
	t.Cleanup(d.stop)
	return d
}

// startupLine returns the start-up line among the complete lines of
// stderr and its startupRE submatches, or nil if it is not there yet. A line
// that announces the listener in any other form fails the test at once.
func startupLine(t *testing.T, stderr string) (string, []string) {
	t.Helper()
	lines := strings.Split(stderr, "\n")
	for _, l := range lines[:len(lines)-1] { // the last is incomplete
		if m := startupRE.FindStringSubmatch(l); m != nil {
			return l, m
		}
		if strings.Contains(l, "listening on") {
			t.Fatalf("the start-up line %q is not in the contract's form %q", l, "jwesession-demo listening on http://HOST:PORT (cookie NAME, development cookies)")
		}
	}
	return "", nil
}

// runOnce runs the demo with a context that has already ended: a start-up
// error comes back as it is; a demo that would serve prints its start-up
// line, shuts down at once and returns nil.
func runOnce(t *testing.T, lookup func(string) (string, bool), args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	buf := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), lookup, buf)
	}()
	select {
	case err := <-errc:
		return buf.String(), err
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s with an ended context")
	}
	return "", nil
}

// client is a browser-like client: a cookie jar, no redirects followed.
// Unless flashes is set, it ignores the flash cookie (~f.session): its
// Set-Cookie lines are dropped from the responses it returns and from its
// jar, so the tests of the session's own cookies see exactly those; the
// flash tests set it.
type client struct {
	t       *testing.T
	base    string
	jar     *cookiejar.Jar
	hc      *http.Client
	flashes bool
}

// newFlashClient is newClient keeping the flash cookie.
func newFlashClient(t *testing.T, base string) *client {
	c := newClient(t, base)
	c.flashes = true
	return c
}

// dropFlashLines removes the Set-Cookie lines of the flash cookie from
// resp, and reports whether there were any.
func dropFlashLines(resp *http.Response) bool {
	lines := resp.Header.Values("Set-Cookie")
	resp.Header.Del("Set-Cookie")
	dropped := false
	for _, l := range lines {
		if isFlashCookie(l) {
			dropped = true
			continue
		}
		resp.Header.Add("Set-Cookie", l)
	}
	return dropped
}

// isFlashCookie reports whether a Set-Cookie line sets or deletes the
// demo's flash cookie.
func isFlashCookie(line string) bool {
	name, _, _ := strings.Cut(line, "=")
	return strings.TrimPrefix(name, "__Host-") == "~f.session"
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: base, jar: jar, hc: &http.Client{
		Jar:       jar,
		Transport: tr,
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// response is a response with its body read.
type response struct {
	*http.Response
	body string
}

// do sends one request; form, if not nil, is the urlencoded body; hdr holds
// header name, value pairs.
func (c *client) do(method, path string, form url.Values, hdr ...string) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err, "%s %s", method, path)
	if !c.flashes && dropFlashLines(resp) {
		u, err := url.Parse(c.base + "/")
		require.NoError(c.t, err)
		c.jar.SetCookies(u, []*http.Cookie{{Name: "~f.session", Path: "/", MaxAge: -1}})
	}
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	require.NoError(c.t, resp.Body.Close())
	return response{resp, string(b)}
}

func (c *client) get(path string, hdr ...string) response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, hdr...)
}

func (c *client) post(path string, form url.Values, hdr ...string) response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return c.do(http.MethodPost, path, form, hdr...)
}

// login signs in as user and checks the 303.
func (c *client) login(user string) response {
	c.t.Helper()
	r := c.post("/login", url.Values{"user": {user}})
	require.Equal(c.t, http.StatusSeeOther, r.StatusCode, "POST /login user=%q: %s", user, r.body)
	require.Equal(c.t, "/", r.Header.Get("Location"))
	return r
}

// setNote posts a note and checks the 303.
func (c *client) setNote(note string) response {
	c.t.Helper()
	r := c.post("/update", url.Values{"note": {note}})
	require.Equal(c.t, http.StatusSeeOther, r.StatusCode, "POST /update (%d bytes): %s", len(note), r.body)
	require.Equal(c.t, "/", r.Header.Get("Location"))
	return r
}

// home returns the body of GET /, checking the 200.
func (c *client) home() string {
	c.t.Helper()
	r := c.get("/")
	require.Equal(c.t, http.StatusOK, r.StatusCode)
	return r.body
}

// jarCookies returns the cookies the jar would send, by name.
func (c *client) jarCookies() map[string]string {
	u, err := url.Parse(c.base + "/")
	require.NoError(c.t, err)
	out := map[string]string{}
	for _, ck := range c.jar.Cookies(u) {
		out[ck.Name] = ck.Value
	}
	return out
}

// jarNames returns the sorted names of the jar's cookies.
func (c *client) jarNames() []string {
	var names []string
	for n := range c.jarCookies() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// token returns the session token the jar holds (the bare cookie, or the
// chunks joined), or "".
func (c *client) token(name string) string {
	jc := c.jarCookies()
	if v, ok := jc[name]; ok {
		return v
	}
	var b strings.Builder
	for i := 0; ; i++ {
		v, ok := jc[fmt.Sprintf("%s.%d", name, i)]
		if !ok {
			return b.String()
		}
		b.WriteString(v)
	}
}

// setCookie puts a raw cookie into the jar, as a browser holding it would.
func (c *client) setCookie(name, value string) {
	u, err := url.Parse(c.base + "/")
	require.NoError(c.t, err)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// written returns the cookies a response sets (not deletions: Max-Age
// absent for a browser-session cookie, or positive), by name.
func written(r response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, ck := range r.Cookies() {
		if ck.MaxAge >= 0 {
			out[ck.Name] = ck
		}
	}
	return out
}

// deletions returns the sorted names of the cookies a response deletes.
func deletions(r response) []string {
	var out []string
	for _, ck := range r.Cookies() {
		if ck.MaxAge < 0 {
			out = append(out, ck.Name)
		}
	}
	sort.Strings(out)
	return out
}

// fingerprint summarises cookies by name, length and SHA-256 prefix, so
// that a failed comparison prints a readable diff instead of 16 KB.
func fingerprint(cookies map[string]string) map[string]string {
	out := map[string]string{}
	for n, v := range cookies {
		out[n] = fmt.Sprintf("%d bytes, sha256 %x", len(v), sha256.Sum256([]byte(v)))
	}
	return out
}

// names returns the sorted keys of m.
func names(m map[string]*http.Cookie) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// assertDeletionsRaw checks that every Set-Cookie deletion of r says
// Max-Age=0 literally, with the session cookie's attributes.
func assertDeletionsRaw(t *testing.T, r response) {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		require.NoError(t, err, line)
		if ck.MaxAge < 0 {
			assert.Contains(t, line, "Max-Age=0", line)
			assert.Equal(t, "/", ck.Path, line)
		}
	}
}

// assertSessionCookie checks the attributes of a session cookie written by
// the demo in development mode.
func assertSessionCookie(t *testing.T, ck *http.Cookie) {
	t.Helper()
	assert.NotEmpty(t, ck.Value, ck.Name)
	assert.True(t, ck.HttpOnly, "%s: HttpOnly", ck.Name)
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite, "%s: SameSite", ck.Name)
	assert.Equal(t, "/", ck.Path, "%s: Path", ck.Name)
	assert.Empty(t, ck.Domain, "%s: Domain", ck.Name)
	assert.False(t, ck.Secure, "%s: development cookies are not Secure", ck.Name)
	assert.GreaterOrEqual(t, ck.MaxAge, 0, "%s: set, not deleted", ck.Name)
}

// maxAbsolute is the demo's longest absolute lifetime with the library's
// defaults (RememberAbsoluteTimeout, 30 days): what a tombstone's entries
// last.
const maxAbsolute = 30 * 24 * 60 * 60

// assertBrowserSession checks that the Set-Cookie line of r for name
// carries neither Max-Age nor Expires: the browser drops it when it
// closes.
func assertBrowserSession(t *testing.T, r response, name string) {
	t.Helper()
	found := false
	for _, line := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			found = true
			assert.NotContains(t, line, "Max-Age", line)
			assert.NotContains(t, line, "Expires", line)
		}
	}
	assert.True(t, found, "no %s cookie set: %v", name, summary(r))
}

// assertNoSetCookie checks that r changes no cookie.
func assertNoSetCookie(t *testing.T, r response, msgAndArgs ...any) {
	t.Helper()
	assert.Empty(t, summary(r), msgAndArgs...)
}

// summary lists a response's Set-Cookie headers without their values.
func summary(r response) []string {
	var out []string
	for _, line := range r.Header.Values("Set-Cookie") {
		name, rest, _ := strings.Cut(line, "=")
		value, attrs, _ := strings.Cut(rest, ";")
		out = append(out, fmt.Sprintf("%s=<%d bytes>;%s", name, len(value), attrs))
	}
	return out
}

// assertRead checks the cache headers of a response that read the session
// and wrote no cookie.
func assertRead(t *testing.T, r response) {
	t.Helper()
	assertNoSetCookie(t, r)
	assert.Equal(t, []string{"private, no-cache"}, r.Header.Values("Cache-Control"))
	assert.Equal(t, []string{"Cookie"}, r.Header.Values("Vary"))
}

// assertWrote checks the cache headers of a response that wrote a session
// cookie or a deletion.
func assertWrote(t *testing.T, r response) {
	t.Helper()
	assert.NotEmpty(t, summary(r))
	assert.Equal(t, []string{"no-store, private"}, r.Header.Values("Cache-Control"))
	assert.Equal(t, []string{"Cookie"}, r.Header.Values("Vary"))
}

// assertUntouched checks that a response shows no sign of the session.
func assertUntouched(t *testing.T, r response) {
	t.Helper()
	assertNoSetCookie(t, r)
	assert.Empty(t, r.Header.Values("Vary"))
}

// claims is the plaintext of a session token (format version 2, the form
// DESIGN.md pins): session id, sign-in id, origin key id, issue time,
// expiry, sign-in time, the tombstone it was checked against, the data.
type claims struct {
	V    int         `json:"v"`
	Sid  string      `json:"sid"`
	Sin  string      `json:"sin"`
	Org  string      `json:"org"`
	Iat  int64       `json:"iat"`
	Exp  int64       `json:"exp"`
	Abs  int64       `json:"abs"`
	Rem  bool        `json:"rem"`
	Tbs  string      `json:"tbs"`
	Data demoSession `json:"data"`
}

// companionClaims is the plaintext of a companion cookie (the sliding
// refresh): exactly {"v":1,"sid":"…","iat":N,"exp":N}.
type companionClaims struct {
	V   int    `json:"v"`
	Sid string `json:"sid"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

// tombstoneClaims is the plaintext of a tombstone cookie (a sign-out).
type tombstoneClaims struct {
	V   int `json:"v"`
	Out []struct {
		Sin string `json:"sin"`
		End int64  `json:"end"`
	} `json:"out"`
}

// kidOf returns the kid of a token's protected header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _, ok := strings.Cut(tok, ".")
	require.True(t, ok, "not a compact JWE")
	b, err := base64.RawURLEncoding.DecodeString(h)
	require.NoError(t, err)
	var hdr struct {
		Alg string `json:"alg"`
		Enc string `json:"enc"`
		Kid string `json:"kid"`
	}
	require.NoError(t, json.Unmarshal(b, &hdr))
	require.Equal(t, "dir", hdr.Alg)
	require.Equal(t, "A256GCM", hdr.Enc)
	return hdr.Kid
}

// gcmFor returns AES-256-GCM under HKDF-SHA256(secret, "jwesession v1",
// info): the library's key for one purpose of one cookie base name.
func gcmFor(t *testing.T, secret, info string) cipher.AEAD {
	t.Helper()
	key := make([]byte, 32)
	_, err := io.ReadFull(hkdf.New(sha256.New, []byte(secret), []byte("jwesession v1"), []byte(info)), key)
	require.NoError(t, err)
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	return gcm
}

// Key infos of the cookie base name "session", one per purpose.
const (
	infoToken     = "A256GCM session"
	infoCompanion = "A256GCM companion session"
	infoTombstone = "A256GCM tombstone session"
)

// openSealed decrypts a compact JWE sealed under secret for the purpose
// info: AES-256-GCM with the protected header as AAD.
func openSealed(t *testing.T, secret, info, tok string) []byte {
	t.Helper()
	seg := strings.Split(tok, ".")
	require.Len(t, seg, 5)
	require.Empty(t, seg[1], "encrypted-key segment")
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	pt, err := gcmFor(t, secret, info).Open(nil, dec(seg[2]), append(dec(seg[3]), dec(seg[4])...), []byte(seg[0]))
	require.NoError(t, err, "decrypting the %s cookie", info)
	return pt
}

// seal is openSealed's inverse: it seals pt under secret for the purpose
// info with the protected header hdr (a segment copied from a token the
// demo wrote) and a fresh IV, as the library does.
func seal(t *testing.T, secret, info, hdr string, pt []byte) string {
	t.Helper()
	gcm := gcmFor(t, secret, info)
	iv := make([]byte, gcm.NonceSize())
	_, err := io.ReadFull(rand.Reader, iv)
	require.NoError(t, err)
	ct := gcm.Seal(nil, iv, pt, []byte(hdr))
	n := len(ct) - gcm.Overhead()
	enc := base64.RawURLEncoding.EncodeToString
	return hdr + ".." + enc(iv) + "." + enc(ct[:n]) + "." + enc(ct[n:])
}

// openToken decrypts a session token of the cookie base name "session"
// sealed under secret (key HKDF-SHA256(secret, "jwesession v1", "A256GCM
// session")) and checks its format version.
func openToken(t *testing.T, secret, tok string) claims {
	t.Helper()
	var c claims
	require.NoError(t, json.Unmarshal(openSealed(t, secret, infoToken, tok), &c))
	require.Equal(t, 2, c.V, "token format version")
	return c
}

// openCompanion decrypts a companion cookie and checks it has exactly the
// documented form.
func openCompanion(t *testing.T, secret, value string) companionClaims {
	t.Helper()
	pt := openSealed(t, secret, infoCompanion, value)
	var c companionClaims
	require.NoError(t, json.Unmarshal(pt, &c))
	require.Equal(t, fmt.Sprintf(`{"v":1,"sid":%q,"iat":%d,"exp":%d}`, c.Sid, c.Iat, c.Exp), string(pt), "the companion's one form")
	return c
}

// openTombstone decrypts a tombstone cookie.
func openTombstone(t *testing.T, secret, value string) tombstoneClaims {
	t.Helper()
	var c tombstoneClaims
	require.NoError(t, json.Unmarshal(openSealed(t, secret, infoTombstone, value), &c))
	require.Equal(t, 1, c.V, "tombstone format version")
	return c
}

// signedInDemo starts a demo under secret1 and a client signed in as alice.
func signedInDemo(t *testing.T) (*demo, *client) {
	t.Helper()
	d := startDemo(t, env("JWESESSION_SECRET", secret1))
	c := newClient(t, d.base)
	c.login("alice")
	return d, c
}

// chunkNames returns session.0 … session.n-1.
func chunkNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("session.%d", i)
	}
	return out
}

// Names of the demo's other cookies (development cookies): the companion
// of the sliding refresh and the tombstone of a sign-out. Under -secure
// they carry the __Host- prefix.
const (
	companionName = "~r.session"
	tombstoneName = "~t.session"
)

// everyTokenName is every name the demo's session token can use, sorted:
// the bare name and the chunk names of its 4 chunks.
var everyTokenName = append([]string{"session"}, chunkNames(maxChunks)...)

// tokenNames returns the names among names that hold the session token
// (session or session.N): not the companion, not the tombstone.
func tokenNames(names []string) []string {
	var out []string
	for _, n := range names {
		if n == "session" || strings.HasPrefix(n, "session.") {
			out = append(out, n)
		}
	}
	return out
}

// ivOf returns the IV segment of a compact JWE.
func ivOf(t *testing.T, tok string) string {
	t.Helper()
	seg := strings.Split(tok, ".")
	require.Len(t, seg, 5)
	return seg[2]
}

// sidRE finds the session id on the demo's page.
var sidRE = regexp.MustCompile(`session id: ([A-Za-z0-9_-]+)`)

// pageSID returns the session id the page shows, or "" when it shows none.
func pageSID(body string) string {
	if m := sidRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

func TestStartupLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, cookie, mode string
		args               []string
		secure             bool
	}{
		{"default", "session", "development", nil, false},
		{"secure", "__Host-session", "secure", []string{"-secure"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDemo(t, env("JWESESSION_SECRET", secret1), tc.args...)
			assert.Equal(t, fmt.Sprintf("jwesession-demo listening on %s (cookie %s, %s cookies)", d.base, tc.cookie, tc.mode), d.line)
			assert.Equal(t, d.line+"\n", d.stderr.String(), "with a secret set, the start-up line is all of stderr")

			c := newClient(t, d.base)
			r := c.login("alice")
			w := written(r)
			require.Contains(t, w, tc.cookie, "Set-Cookie: %v", summary(r))
			ck := w[tc.cookie]
			assert.Equal(t, tc.secure, ck.Secure, "Secure")
			assert.True(t, ck.HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
			assert.Equal(t, "/", ck.Path)
			assert.Empty(t, ck.Domain)
			if !tc.secure {
				assert.Contains(t, c.home(), "signed in as alice")
			}
		})
	}
}

func TestKeyConfigurationErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(keysFile, []byte("k1:primary:"+secret1+"\n"), 0o600))
	weakFile := filepath.Join(dir, "weak")
	require.NoError(t, os.WriteFile(weakFile, []byte("k1:primary:too-short\n"), 0o600))

	for _, tc := range []struct {
		name   string
		lookup func(string) (string, bool)
		args   []string
		is     error // the sentinel the error wraps, if any
	}{
		{"both variables", env("JWESESSION_SECRET", secret1, "JWESESSION_KEYS", "k2:primary:"+secret2), nil, nil},
		{"both variables, same key", env("JWESESSION_SECRET", secret1, "JWESESSION_KEYS", "-:primary:"+secret1), nil, nil},
		{"short secret", env("JWESESSION_SECRET", "short-but-not-32-bytes-long"), nil, jwesession.ErrWeakSecret},
		{"patterned secret", env("JWESESSION_SECRET", strings.Repeat("abc", 16)), nil, jwesession.ErrWeakSecret},
		{"weak secret in keys", env("JWESESSION_KEYS", "k1:primary:"+strings.Repeat("x", 40)), nil, jwesession.ErrWeakSecret},
		{"keys without primary", env("JWESESSION_KEYS", "k1:decrypt-only:"+secret1), nil, jwesession.ErrInvalidKeyring},
		{"keys with two primaries", env("JWESESSION_KEYS", "k2:primary:"+secret2+",k1:primary:"+secret1), nil, jwesession.ErrInvalidKeyring},
		{"keys with a bad id", env("JWESESSION_KEYS", "k 1:primary:"+secret1), nil, jwesession.ErrInvalidKeyring},
		{"keys with a bad state", env("JWESESSION_KEYS", "k1:active:"+secret1), nil, jwesession.ErrInvalidKeyring},
		{"keys-file with JWESESSION_SECRET", env("JWESESSION_SECRET", secret2), []string{"-keys-file", keysFile}, nil},
		{"keys-file with JWESESSION_KEYS", env("JWESESSION_KEYS", "k2:primary:"+secret2), []string{"-keys-file", keysFile}, nil},
		{"keys-file missing", env(), []string{"-keys-file", filepath.Join(dir, "missing")}, nil},
		{"keys-file weak", env(), []string{"-keys-file", weakFile}, jwesession.ErrWeakSecret},
		{"extra argument", env("JWESESSION_SECRET", secret1), []string{"serve"}, nil},
		{"unknown flag", env("JWESESSION_SECRET", secret1), []string{"-insecure"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr, err := runOnce(t, tc.lookup, tc.args...)
			require.Error(t, err, "run must refuse to start; stderr:\n%s", stderr)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NotContains(t, stderr, "listening on", "a start-up error must come before listening")
			assert.NotContains(t, stderr, devAnnouncement, "a misconfiguration must not fall back to a random secret")
			for _, s := range []string{secret1, secret2} {
				assert.NotContains(t, err.Error(), s, "the error shows a secret")
				assert.NotContains(t, stderr, s, "stderr shows a secret")
			}
		})
	}
}

func TestKeyConfigurations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(keysFile, []byte(
		"# jwesession keyring, newest first\n"+
			"\n"+
			"k2:primary:"+secret2+"\r\n"+
			"   # the previous key, until every cookie is re-keyed\n"+
			"k1:decrypt-only:"+secret1+"\n"), 0o600))
	s1, err := jwesession.NewSecret(secret1)
	require.NoError(t, err)
	defaultID := jwesession.DefaultKeyID(s1)

	for _, tc := range []struct {
		name   string
		lookup func(string) (string, bool)
		args   []string
		kid    string // the kid new tokens carry; "" when unknown (random secret)
	}{
		{"JWESESSION_SECRET", env("JWESESSION_SECRET", secret1), nil, defaultID},
		{"JWESESSION_KEYS", env("JWESESSION_KEYS", "k2:primary:"+secret2+",k1:decrypt-only:"+secret1), nil, "k2"},
		{"JWESESSION_KEYS with - id", env("JWESESSION_KEYS", "-:primary:"+secret1), nil, defaultID},
		{"keys-file", env(), []string{"-keys-file", keysFile}, "k2"},
		{"neither", env(), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDemo(t, tc.lookup, tc.args...)
			stderr := d.stderr.String()
			if tc.kid == "" {
				assert.Contains(t, stderr, devAnnouncement, "a generated secret must be announced as development-only")
				assert.Contains(t, stderr, "JWESESSION_SECRET")
			} else {
				assert.NotContains(t, stderr, devAnnouncement)
			}
			assert.NotContains(t, stderr, secret1)
			assert.NotContains(t, stderr, secret2)

			c := newClient(t, d.base)
			c.login("alice")
			assert.Contains(t, c.home(), "signed in as alice")
			if tc.kid != "" {
				assert.Equal(t, tc.kid, kidOf(t, c.token("session")))
				return
			}
			// A generated secret is new on every start: the old cookie is
			// rejected by the next instance (a read deletes nothing; the
			// next sign-in replaces it).
			d.stop()
			c.base = startDemo(t, env()).base
			r := c.get("/")
			assert.Contains(t, r.body, "not signed in")
			assert.Contains(t, r.body, "previous cookie rejected: "+jwesession.ErrUnknownKey.Error())
			assertRead(t, r)
			assert.Equal(t, []string{"session"}, c.jarNames())
		})
	}
}

func TestSecretMovedIntoKeyringLogsNobodyOut(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1))
	c := newClient(t, d.base)
	c.login("alice")
	c.setNote("hello")
	d.stop()

	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("# moved from JWESESSION_SECRET\n-:primary:"+secret1+"\n"), 0o600))
	for _, tc := range []struct {
		name   string
		lookup func(string) (string, bool)
		args   []string
	}{
		{"JWESESSION_KEYS=-:primary:S", env("JWESESSION_KEYS", "-:primary:"+secret1), nil},
		{"-keys-file with -:primary:S", env(), []string{"-keys-file", file}},
	} {
		d := startDemo(t, tc.lookup, tc.args...)
		c.base = d.base
		r := c.get("/")
		assert.Equal(t, http.StatusOK, r.StatusCode, tc.name)
		assert.Contains(t, r.body, "signed in as alice", tc.name)
		assert.Contains(t, r.body, "note: 5 bytes", tc.name)
		assertNoSetCookie(t, r, "%s: same key, nothing to re-key", tc.name)
		d.stop()
	}
}

func TestKeyRotationLogsNobodyOut(t *testing.T) {
	t.Parallel()
	k1 := "k1:primary:" + secret1
	d := startDemo(t, env("JWESESSION_KEYS", k1))
	c := newClient(t, d.base)
	c.login("alice")
	oldTok := c.token("session")
	require.Equal(t, "k1", kidOf(t, oldTok))
	reader := newClient(t, d.base) // only reads, from here on
	reader.login("carol")
	readerTok := reader.token("session")
	d.stop()

	// Step 1: the new key is added, newest, decrypt-only: nothing changes.
	d = startDemo(t, env("JWESESSION_KEYS", "k2:decrypt-only:"+secret2+","+k1))
	c.base = d.base
	r := c.get("/")
	assert.Contains(t, r.body, "signed in as alice")
	assertNoSetCookie(t, r, "step 1 must not re-key")
	d.stop()

	// Step 2: promoted. A read does not re-key (its response could undo a
	// concurrent write); the next write seals under k2, keeping k1 as the
	// sign-in's origin.
	d = startDemo(t, env("JWESESSION_KEYS", "k2:primary:"+secret2+",k1:decrypt-only:"+secret1))
	c.base, reader.base = d.base, d.base
	r = c.get("/")
	assert.Contains(t, r.body, "signed in as alice")
	assertRead(t, r)
	assert.Equal(t, oldTok, c.token("session"), "no re-key on read")
	r = c.setNote("hello")
	require.Contains(t, written(r), "session")
	assert.Equal(t, "k2", kidOf(t, c.token("session")), "a write seals under the new primary")
	rewritten := openToken(t, secret2, c.token("session"))
	assert.Equal(t, openToken(t, secret1, oldTok).Sid, rewritten.Sid, "the same session")
	assert.Equal(t, "k1", rewritten.Org, "the sign-in's origin stays k1")
	r = reader.get("/")
	assert.Contains(t, r.body, "signed in as carol")
	assertRead(t, r)
	assert.Equal(t, readerTok, reader.token("session"), "a session only read stays under k1")
	late := newClient(t, d.base) // signs in after the promotion
	late.login("dave")
	assert.Equal(t, "k2", openToken(t, secret2, late.token("session")).Org)
	d.stop()

	// Step 3: the old key retired (here at once; in production once the
	// absolute lifetime has passed since every instance loaded the
	// promotion, when every sign-in begun under k1 has ended anyway). A
	// sign-in begun under k1 ends, rewritten under k2 or not; one begun
	// under k2 lives on. Nothing is deleted by a read.
	d = startDemo(t, env("JWESESSION_KEYS", "k2:primary:"+secret2+",k1:retired:"+secret1))
	for _, tc := range []struct {
		name string
		c    *client
	}{{"rewritten under k2", c}, {"only read", reader}} {
		tc.c.base = d.base
		r = tc.c.get("/")
		assert.Contains(t, r.body, "not signed in", tc.name)
		assert.Contains(t, r.body, jwesession.ErrRetiredKey.Error(), tc.name)
		assertRead(t, r)
		assert.NotEmpty(t, tc.c.token("session"), "%s: a read deletes nothing", tc.name)
	}
	late.base = d.base
	r = late.get("/")
	assert.Contains(t, r.body, "signed in as dave")
	assertRead(t, r)
}

func TestHealthzAndPublicNeverTouchTheSession(t *testing.T) {
	t.Parallel()
	d, alice := signedInDemo(t)
	anon := newClient(t, d.base)
	garbage := newClient(t, d.base)
	garbage.setCookie("session", "not-a-token")

	for name, c := range map[string]*client{"anonymous": anon, "signed in": alice, "bad cookie": garbage} {
		r := c.get("/healthz")
		assert.Equal(t, http.StatusOK, r.StatusCode, name)
		assert.True(t, strings.HasPrefix(r.body, "ok"), "%s: /healthz body %q", name, r.body)
		assertUntouched(t, r)

		r = c.get("/public")
		assert.Equal(t, http.StatusOK, r.StatusCode, name)
		assert.Equal(t, []string{"public, max-age=600"}, r.Header.Values("Cache-Control"), name)
		assertUntouched(t, r)
		assert.NotContains(t, r.body, "alice", name)

		r = c.do(http.MethodHead, "/public", nil)
		assert.Equal(t, http.StatusOK, r.StatusCode, name)
		assert.Equal(t, []string{"public, max-age=600"}, r.Header.Values("Cache-Control"), name)
		assertUntouched(t, r)
	}
	assert.Equal(t, []string{"session"}, garbage.jarNames(), "an untouched bad cookie is not deleted")
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1))
	c := newClient(t, d.base)

	r := c.get("/")
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.Contains(t, r.Header.Get("Content-Type"), "text/html")
	assert.Contains(t, r.body, "not signed in")
	assert.NotContains(t, r.body, "signed in as")
	assert.NotContains(t, r.body, "session id:", "no session, no id")
	assert.Contains(t, r.body, `action="/login"`)
	assertRead(t, r)

	r = c.login("alice")
	assertWrote(t, r)
	w := written(r)
	require.Equal(t, []string{"session"}, names(w), "a first sign-in writes the token and no tombstone; Set-Cookie: %v", summary(r))
	assertSessionCookie(t, w["session"])
	assert.Equal(t, chunkNames(4), deletions(r), "every chunk name is deleted, carried or not: a concurrent response may have set them")
	assertDeletionsRaw(t, r)
	first := openToken(t, secret1, w["session"].Value)
	assert.Equal(t, demoSession{User: "alice"}, first.Data)
	assert.NotEmpty(t, first.Sid)
	assert.NotEmpty(t, first.Sin, "a sign-in id")
	assert.NotEqual(t, first.Sid, first.Sin)
	assert.Equal(t, kidOf(t, w["session"].Value), first.Org, "the origin is the key the sign-in was sealed under")
	assert.Equal(t, first.Iat, first.Abs)
	assert.Equal(t, int64(30*60), first.Exp-first.Iat, "the library's default idle timeout")
	assert.Empty(t, first.Tbs, "no tombstone was carried")
	assertBrowserSession(t, r, "session") // without remember=on
	assert.False(t, first.Rem)

	r = c.get("/")
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.Contains(t, r.body, "signed in as alice")
	assert.NotContains(t, r.body, "not signed in")
	assert.NotContains(t, r.body, "note:", "no note yet")
	assert.Equal(t, first.Sid, pageSID(r.body), "the page shows the session id")
	for _, action := range []string{`action="/update"`, `action="/renew"`, `action="/logout"`} {
		assert.Contains(t, r.body, action)
	}
	assertRead(t, r)

	r = c.get("/admin")
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.Contains(t, r.body, "alice")
	assertRead(t, r)

	// Signing in again, as someone else: a new sign-in (new session id,
	// new sign-in id), and alice's sign-in ends as with a sign-out: the
	// response's tombstone names it.
	aliceTok := c.token("session")
	r = c.login("bob.smith_2-x")
	assertWrote(t, r)
	w = written(r)
	require.Equal(t, []string{"session", tombstoneName}, names(w), "Set-Cookie: %v", summary(r))
	assertSessionCookie(t, w[tombstoneName])
	assert.Equal(t, chunkNames(4), deletions(r))
	ts := openTombstone(t, secret1, w[tombstoneName].Value)
	require.Len(t, ts.Out, 1, "the tombstone names the ended sign-in")
	assert.Equal(t, first.Sin, ts.Out[0].Sin)
	assert.Equal(t, first.Abs+maxAbsolute, ts.Out[0].End, "until the longest absolute end a sign-in can have")
	second := openToken(t, secret1, c.token("session"))
	assert.Equal(t, "bob.smith_2-x", second.Data.User)
	assert.NotEqual(t, first.Sid, second.Sid, "a new sign-in gets a new session id")
	assert.NotEqual(t, first.Sin, second.Sin, "and a new sign-in id")
	assert.GreaterOrEqual(t, second.Abs, first.Abs)
	assert.Equal(t, ivOf(t, w[tombstoneName].Value), second.Tbs, "the new token records the tombstone it follows")
	body := c.home()
	assert.Contains(t, body, "signed in as bob.smith_2-x")
	assert.NotContains(t, body, "alice")
	assert.Equal(t, second.Sid, pageSID(body))

	// alice's token landing late, next to that tombstone: refused as
	// signed out, and a read deletes nothing.
	late := newClient(t, d.base)
	late.setCookie(tombstoneName, c.jarCookies()[tombstoneName])
	late.setCookie("session", aliceTok)
	r = late.get("/")
	assert.Contains(t, r.body, "not signed in")
	assert.Contains(t, r.body, jwesession.ErrSignedOut.Error())
	assertRead(t, r)

	long := strings.Repeat("u", 64)
	c.login(long)
	assert.Contains(t, c.home(), "signed in as "+long)

	anon := newClient(t, d.base)
	r = anon.get("/admin")
	assert.Equal(t, http.StatusSeeOther, r.StatusCode)
	assert.Equal(t, "/", r.Header.Get("Location"))
	assertRead(t, r)
}

func TestInvalidUsers(t *testing.T) {
	t.Parallel()
	d, alice := signedInDemo(t)
	anon := newClient(t, d.base)
	before := alice.token("session")
	for _, user := range []string{"", strings.Repeat("u", 65), "a b", "<script>", "al/ice", "ali:ce", "é"} {
		for name, c := range map[string]*client{"signed in": alice, "anonymous": anon} {
			r := c.post("/login", url.Values{"user": {user}})
			assert.Equal(t, http.StatusBadRequest, r.StatusCode, "%s: user %q", name, user)
			assertNoSetCookie(t, r, "%s: user %q", name, user)
			assert.NotContains(t, r.body, "<script>", "the name is not echoed")
		}
	}
	r := anon.post("/login", url.Values{})
	assert.Equal(t, http.StatusBadRequest, r.StatusCode, "no user field")
	assertNoSetCookie(t, r)

	assert.Equal(t, before, alice.token("session"), "the cookie is unchanged")
	assert.Contains(t, alice.home(), "signed in as alice")
	assert.Contains(t, anon.home(), "not signed in")
	assert.Empty(t, anon.jarNames())
}

func TestUpdateNote(t *testing.T) {
	t.Parallel()
	d, c := signedInDemo(t)
	loginTok := openToken(t, secret1, c.token("session"))

	r := c.setNote("hello")
	assertWrote(t, r)
	w := written(r)
	require.Equal(t, []string{"session"}, names(w))
	assertSessionCookie(t, w["session"])
	cl := openToken(t, secret1, w["session"].Value)
	assert.Equal(t, demoSession{User: "alice", Note: "hello"}, cl.Data)
	assert.Equal(t, loginTok.Sid, cl.Sid, "an update keeps the session id")
	assert.Equal(t, loginTok.Sin, cl.Sin, "an update keeps the sign-in id")
	assert.Equal(t, loginTok.Org, cl.Org, "an update keeps the origin key")
	assert.Equal(t, loginTok.Abs, cl.Abs, "an update keeps the sign-in time")
	assert.Equal(t, chunkNames(4), deletions(r), "every chunk name is deleted")

	body := c.home()
	assert.Contains(t, body, "signed in as alice")
	assert.Contains(t, body, "note: 5 bytes")

	r = c.setNote("hello")
	assertNoSetCookie(t, r, "the same note again is no change")

	c.setNote("héllo")
	assert.Contains(t, c.home(), "note: 6 bytes", "the length is counted in bytes")

	r = c.setNote("")
	assertWrote(t, r)
	body = c.home()
	assert.Contains(t, body, "signed in as alice")
	assert.NotContains(t, body, "note:", "an empty note removes it")
	assert.Equal(t, demoSession{User: "alice"}, openToken(t, secret1, c.token("session")).Data)

	anon := newClient(t, d.base)
	r = anon.setNote("hello")
	assertNoSetCookie(t, r, "not signed in: nothing changes")
	assert.Contains(t, anon.home(), "not signed in")
	assert.Empty(t, anon.jarNames())
}

func TestChunkedSession(t *testing.T) {
	t.Parallel()
	_, c := signedInDemo(t)
	c.setNote("hello")

	// About 9 KB: four chunks, the bare cookie deleted.
	big := strings.Repeat("n", 9000)
	r := c.setNote(big)
	assertWrote(t, r)
	w := written(r)
	require.Equal(t, chunkNames(4), names(w), "Set-Cookie: %v", summary(r))
	for i, n := range chunkNames(4) {
		assertSessionCookie(t, w[n])
		assert.LessOrEqual(t, len(w[n].Value), jwesession.ChunkSize, n)
		if i < 3 {
			assert.Len(t, w[n].Value, jwesession.ChunkSize, "%s: every chunk but the last is full", n)
		}
	}
	assert.Equal(t, []string{"session"}, deletions(r), "the bare cookie is deleted (all four chunk names are written)")
	assertDeletionsRaw(t, r)
	assert.Equal(t, chunkNames(4), c.jarNames(), "no bare session cookie left")
	assert.True(t, big == openToken(t, secret1, c.token("session")).Data.Note, "the chunks hold the note")

	r = c.get("/")
	assert.Contains(t, r.body, "signed in as alice")
	assert.Contains(t, r.body, "note: 9000 bytes")
	assertRead(t, r)

	// About 5 KB: two chunks; the stale chunks 2 and 3 are deleted.
	r = c.setNote(strings.Repeat("m", 5000))
	assert.Equal(t, chunkNames(2), names(written(r)))
	assert.Equal(t, []string{"session", "session.2", "session.3"}, deletions(r), "the bare name and the unused chunk names")
	assertDeletionsRaw(t, r)
	assert.Equal(t, chunkNames(2), c.jarNames())
	assert.Contains(t, c.home(), "note: 5000 bytes")

	// Short again: the bare cookie, every chunk deleted.
	r = c.setNote("short")
	assertWrote(t, r)
	assert.Equal(t, []string{"session"}, names(written(r)))
	assertSessionCookie(t, written(r)["session"])
	assert.Equal(t, chunkNames(4), deletions(r), "every chunk name, also those the request did not carry")
	assertDeletionsRaw(t, r)
	assert.Equal(t, []string{"session"}, c.jarNames())
	body := c.home()
	assert.Contains(t, body, "signed in as alice")
	assert.Contains(t, body, "note: 5 bytes")
}

func TestNoteTooLarge(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1))
	for _, tc := range []struct {
		name string
		size int
	}{
		{"over 16 KB", 16<<10 + 1},
		{"far over 16 KB", 100 << 10},
		{"over the 1 MB body limit", 1<<20 + 1},
		{"exactly 16 KB, over the cookie budget", 16 << 10},
		{"under 16 KB, over the cookie budget", 12000},
		{"over the cookie budget", 11700},
		{"just over the cookie budget", 11500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, d.base)
			c.login("alice")
			c.setNote(strings.Repeat("n", 9000))
			require.Equal(t, chunkNames(4), c.jarNames())
			before := fingerprint(c.jarCookies())

			r := c.post("/update", url.Values{"note": {strings.Repeat("x", tc.size)}})
			assert.Equal(t, http.StatusRequestEntityTooLarge, r.StatusCode, "a %d-byte note", tc.size)
			assertNoSetCookie(t, r, "the existing cookie is left untouched")
			assert.Equal(t, before, fingerprint(c.jarCookies()), "the jar's cookies changed")
			body := c.home()
			assert.Contains(t, body, "signed in as alice")
			assert.Contains(t, body, "note: 9000 bytes", "the old note is still there")
		})
	}

	// The largest notes that fit four chunks are accepted: 11,474 bytes
	// need under 15.8 KB of token (format version 2, measured with the
	// longest key id, sign-in id and tombstone IV a rewrite may add).
	c := newClient(t, d.base)
	c.login("alice")
	c.setNote(strings.Repeat("y", 11474))
	assert.Equal(t, chunkNames(4), c.jarNames())
	assert.Contains(t, c.home(), "note: 11474 bytes")
}

func TestRenew(t *testing.T) {
	t.Parallel()
	d, c := signedInDemo(t)
	c.setNote("hello")
	oldTok := c.token("session")
	old := openToken(t, secret1, oldTok)

	r := c.post("/renew", nil)
	assert.Equal(t, http.StatusSeeOther, r.StatusCode)
	assert.Equal(t, "/", r.Header.Get("Location"))
	assertWrote(t, r)
	w := written(r)
	require.Equal(t, []string{"session"}, names(w))
	assertSessionCookie(t, w["session"])
	assert.NotEqual(t, oldTok, w["session"].Value)
	renewed := openToken(t, secret1, w["session"].Value)
	assert.NotEqual(t, old.Sid, renewed.Sid, "a new session id")
	assert.Equal(t, old.Sin, renewed.Sin, "the same sign-in")
	assert.Equal(t, old.Abs, renewed.Abs, "the same sign-in time")
	assert.Equal(t, old.Data, renewed.Data, "the same data")
	assert.Equal(t, chunkNames(4), deletions(r))

	body := c.home()
	assert.Contains(t, body, "signed in as alice")
	assert.Contains(t, body, "note: 5 bytes")
	assert.Equal(t, renewed.Sid, pageSID(body), "the page shows the new session id")

	// Stateless: a copy of the old cookie stays valid until it expires.
	copyHolder := newClient(t, d.base)
	copyHolder.setCookie("session", oldTok)
	r = copyHolder.get("/")
	assert.Contains(t, r.body, "signed in as alice", "the pre-renew cookie still opens (stateless sessions cannot revoke)")
	assertNoSetCookie(t, r)

	anon := newClient(t, d.base)
	r = anon.post("/renew", nil)
	assert.Equal(t, http.StatusSeeOther, r.StatusCode)
	assert.Equal(t, "/", r.Header.Get("Location"))
	assertNoSetCookie(t, r, "not signed in: nothing changes")
	assert.Empty(t, anon.jarNames())
}

func TestLogout(t *testing.T) {
	t.Parallel()
	d, c := signedInDemo(t)
	c.setNote(strings.Repeat("n", 9000))
	require.Equal(t, chunkNames(4), c.jarNames())
	chunked := c.jarCookies()
	alice := openToken(t, secret1, c.token("session"))

	r := c.post("/logout", nil)
	assert.Equal(t, http.StatusSeeOther, r.StatusCode)
	assert.Equal(t, "/", r.Header.Get("Location"))
	assertWrote(t, r)
	w := written(r)
	require.Equal(t, []string{tombstoneName}, names(w), "sign-out writes the tombstone and no session; Set-Cookie: %v", summary(r))
	assertSessionCookie(t, w[tombstoneName])
	ts := openTombstone(t, secret1, w[tombstoneName].Value)
	require.Len(t, ts.Out, 1)
	assert.Equal(t, alice.Sin, ts.Out[0].Sin, "the tombstone names the sign-in")
	assert.Equal(t, alice.Abs+maxAbsolute, ts.Out[0].End)
	assert.InDelta(t, alice.Abs+maxAbsolute+30-time.Now().Unix(), w[tombstoneName].MaxAge, 2, "it lasts until the longest absolute end a sign-in can have plus the leeway")
	assert.Equal(t, everyTokenName, deletions(r), "the bare name and every chunk name up to 4 are deleted")
	assertDeletionsRaw(t, r)
	assert.Equal(t, []string{tombstoneName}, c.jarNames(), "only the tombstone is left")
	r = c.get("/")
	assert.Contains(t, r.body, "not signed in")
	assert.NotContains(t, r.body, "previous cookie rejected", "a tombstone alone is no rejected cookie")
	assertRead(t, r)
	assert.Equal(t, http.StatusSeeOther, c.get("/admin").StatusCode)

	// A concurrent response of that sign-in landing after the sign-out
	// puts the chunks back: the tombstone refuses them, and the read
	// deletes nothing.
	for n, v := range chunked {
		c.setCookie(n, v)
	}
	r = c.get("/")
	assert.Contains(t, r.body, "not signed in")
	assert.Contains(t, r.body, jwesession.ErrSignedOut.Error())
	assertRead(t, r)
	assert.Equal(t, append(chunkNames(4), tombstoneName), c.jarNames())
	// A copy of the cookie without the tombstone (another browser) still
	// opens: stateless sessions cannot be revoked.
	copyHolder := newClient(t, d.base)
	for n, v := range chunked {
		copyHolder.setCookie(n, v)
	}
	assert.Contains(t, copyHolder.home(), "signed in as alice")

	// Signing in after a sign-out writes no tombstone (no sign-in ends);
	// the next sign-out keeps the carried tombstone's entries.
	c.login("bob")
	require.Equal(t, []string{"session", tombstoneName}, c.jarNames(), "the login deleted the stale chunks")
	bob := openToken(t, secret1, c.token("session"))
	assert.Equal(t, ivOf(t, c.jarCookies()[tombstoneName]), bob.Tbs)
	assert.Contains(t, c.home(), "signed in as bob")
	r = c.post("/logout", nil)
	assert.Equal(t, http.StatusSeeOther, r.StatusCode)
	assert.Equal(t, everyTokenName, deletions(r))
	assert.Equal(t, []string{tombstoneName}, names(written(r)))
	var sins []string
	for _, e := range openTombstone(t, secret1, written(r)[tombstoneName].Value).Out {
		sins = append(sins, e.Sin)
	}
	assert.ElementsMatch(t, []string{alice.Sin, bob.Sin}, sins, "both sign-outs are remembered")
	assert.Equal(t, []string{tombstoneName}, c.jarNames())
	assert.Contains(t, c.home(), "not signed in")

	// Not signed in: 303, every token name deleted, no tombstone.
	anon := newClient(t, d.base)
	r = anon.post("/logout", nil)
	assert.Equal(t, http.StatusSeeOther, r.StatusCode)
	assert.Empty(t, written(r))
	assert.Equal(t, everyTokenName, deletions(r))
	assert.Empty(t, anon.jarNames())
}

// TestLogoutSecure: under -secure every name carries the __Host- prefix
// and Secure: the tombstone __Host-~t.session is written, and the bare
// name and every chunk name up to 4 deleted. Go's jar sends no Secure
// cookie over http, so the cookies are carried by hand.
func TestLogoutSecure(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1), "-secure")
	c := newClient(t, d.base)
	c.hc.Jar = nil
	cookieHeader := func(r response) string {
		var parts []string
		for _, ck := range r.Cookies() {
			if ck.MaxAge >= 0 {
				parts = append(parts, ck.Name+"="+ck.Value)
			}
		}
		return strings.Join(parts, "; ")
	}
	r := c.login("carol")
	require.Equal(t, []string{"__Host-session"}, names(written(r)))
	r = c.post("/update", url.Values{"note": {strings.Repeat("n", 7000)}}, "Cookie", cookieHeader(r))
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, []string{"__Host-session.0", "__Host-session.1", "__Host-session.2"}, names(written(r)))
	r = c.post("/logout", nil, "Cookie", cookieHeader(r))
	assert.Equal(t, http.StatusSeeOther, r.StatusCode)
	w := written(r)
	require.Equal(t, []string{"__Host-~t.session"}, names(w), "Set-Cookie: %v", summary(r))
	tomb := w["__Host-~t.session"]
	assert.True(t, tomb.Secure)
	assert.True(t, tomb.HttpOnly)
	assert.Equal(t, "/", tomb.Path)
	assert.Empty(t, tomb.Domain)
	assert.Equal(t, []string{"__Host-session", "__Host-session.0", "__Host-session.1", "__Host-session.2", "__Host-session.3"}, deletions(r))
	for _, line := range r.Header.Values("Set-Cookie") {
		assert.Contains(t, line, "; Secure", line)
	}
	assertDeletionsRaw(t, r)
}

func TestRejectedCookie(t *testing.T) {
	t.Parallel()
	d, alice := signedInDemo(t)
	tok := alice.token("session")
	seg := strings.Split(tok, ".")
	require.Len(t, seg, 5)
	ct, err := base64.RawURLEncoding.DecodeString(seg[3])
	require.NoError(t, err)
	ct[len(ct)/2] ^= 1 // one bit of ciphertext, still canonical base64url
	seg[3] = base64.RawURLEncoding.EncodeToString(ct)
	tampered := strings.Join(seg, ".")
	require.NotEqual(t, tok, tampered)
	seg = strings.Split(tok, ".")

	other := startDemo(t, env("JWESESSION_SECRET", secret2))
	oc := newClient(t, other.base)
	oc.login("mallory")
	foreign := oc.token("session")

	// Issued 100s ago with a 30 min idle timeout: expired (past the 30s
	// leeway too).
	cl := openToken(t, secret1, tok)
	past := time.Now().Unix() - 31*60 - 100
	expired := seal(t, secret1, infoToken, seg[0], fmt.Appendf(nil, `{"v":2,"sid":%q,"sin":%q,"org":%q,"iat":%d,"exp":%d,"abs":%d,"rem":false,"tbs":"","data":{"user":"alice"}}`,
		cl.Sid, cl.Sin, cl.Org, past, past+30*60, past))
	require.Equal(t, "alice", openToken(t, secret1, expired).Data.User)

	for _, tc := range []struct {
		name, value string
		err         error
	}{
		{"garbage", "not-a-token", jwesession.ErrMalformed},
		{"tampered", tampered, jwesession.ErrDecrypt},
		{"other secret", foreign, jwesession.ErrUnknownKey},
		{"expired", expired, jwesession.ErrExpired},
	} {
		c := newClient(t, d.base)
		c.setCookie("session", tc.value)
		r := c.get("/")
		assert.Equal(t, http.StatusOK, r.StatusCode, "%s: a bad cookie is served as anonymous, not an error", tc.name)
		assert.Contains(t, r.body, "not signed in", tc.name)
		assert.Contains(t, r.body, "previous cookie rejected: "+tc.err.Error(), tc.name)
		assert.NotContains(t, r.body, "mallory", tc.name)
		assert.NotContains(t, r.body, "session id:", tc.name)
		assertNoSetCookie(t, r, "%s: a read never deletes the rejected cookie (it could land after a concurrent sign-in's)", tc.name)
		assert.Equal(t, []string{"private, no-cache"}, r.Header.Values("Cache-Control"), tc.name)
		assert.Equal(t, map[string]string{"session": tc.value}, c.jarCookies(), tc.name)

		// The next write replaces it.
		r = c.login("bob")
		assert.Equal(t, chunkNames(4), deletions(r), tc.name)
		assert.Equal(t, []string{"session"}, c.jarNames(), tc.name)
		assert.NotEqual(t, tc.value, c.token("session"), tc.name)
		body := c.home()
		assert.Contains(t, body, "signed in as bob", tc.name)
		assert.NotContains(t, body, "previous cookie rejected", tc.name)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	t.Parallel()
	_, c := signedInDemo(t)
	c.setNote("hello")

	get := c.get("/")
	head := c.do(http.MethodHead, "/", nil)
	assert.Equal(t, http.StatusOK, head.StatusCode)
	assert.Empty(t, head.body)
	assert.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"))
	assertRead(t, head)

	head = c.do(http.MethodHead, "/healthz", nil)
	assert.Equal(t, http.StatusOK, head.StatusCode)
	assertUntouched(t, head)
	head = c.do(http.MethodHead, "/admin", nil)
	assert.Equal(t, http.StatusOK, head.StatusCode)
	assert.Empty(t, head.body)

	for _, tc := range []struct{ method, path string }{
		{http.MethodPut, "/"},
		{http.MethodPost, "/"},
		{http.MethodDelete, "/"},
		{http.MethodGet, "/login"},
		{http.MethodHead, "/login"},
		{http.MethodGet, "/update"},
		{http.MethodPut, "/update"},
		{http.MethodGet, "/renew"},
		{http.MethodGet, "/logout"},
		{http.MethodDelete, "/logout"},
		{http.MethodPost, "/admin"},
		{http.MethodPost, "/public"},
		{http.MethodPost, "/healthz"},
		{http.MethodPatch, "/healthz"},
	} {
		r := c.do(tc.method, tc.path, url.Values{})
		assert.Equal(t, http.StatusMethodNotAllowed, r.StatusCode, "%s %s", tc.method, tc.path)
		assert.NotEmpty(t, r.Header.Get("Allow"), "%s %s: Allow", tc.method, tc.path)
		assertNoSetCookie(t, r, "%s %s", tc.method, tc.path)
	}

	for _, path := range []string{"/nope", "/index.html", "/admin/x", "/admin/", "/healthz/", "/public/x", "/login/x"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			r := c.do(method, path, url.Values{})
			assert.Equal(t, http.StatusNotFound, r.StatusCode, "%s %s", method, path)
			assertNoSetCookie(t, r, "%s %s", method, path)
		}
	}
	assert.Contains(t, c.home(), "note: 5 bytes", "nothing above changed the session")
}

func TestCrossOriginProtection(t *testing.T) {
	t.Parallel()
	d, c := signedInDemo(t)
	c.setNote("hello")
	before := c.token("session")

	crossSite := []string{"Sec-Fetch-Site", "cross-site"}
	otherOrigin := []string{"Origin", "http://127.0.0.2:9999"}
	for _, hdr := range [][]string{crossSite, otherOrigin} {
		for _, tc := range []struct {
			path string
			form url.Values
		}{
			{"/update", url.Values{"note": {"forged"}}},
			{"/logout", url.Values{}},
			{"/login", url.Values{"user": {"mallory"}}},
			{"/renew", url.Values{}},
		} {
			r := c.post(tc.path, tc.form, hdr...)
			assert.Equal(t, http.StatusForbidden, r.StatusCode, "POST %s with %s: %s", tc.path, hdr[0], hdr[1])
			assertNoSetCookie(t, r, "POST %s with %s", tc.path, hdr[0])
		}
		// A cross-site GET (a top-level navigation) is served.
		r := c.get("/", hdr...)
		assert.Equal(t, http.StatusOK, r.StatusCode)
		assert.Contains(t, r.body, "signed in as alice")
	}
	assert.Equal(t, before, c.token("session"), "the session is unchanged")
	body := c.home()
	assert.Contains(t, body, "signed in as alice")
	assert.Contains(t, body, "note: 5 bytes")

	// Same-origin browsers and clients without those headers (curl) pass.
	c.setNote("no headers")
	assert.Contains(t, c.home(), "note: 10 bytes")
	r := c.post("/update", url.Values{"note": {"same-origin too"}}, "Sec-Fetch-Site", "same-origin")
	assert.Equal(t, http.StatusSeeOther, r.StatusCode, "Sec-Fetch-Site: same-origin")
	assert.Contains(t, c.home(), "note: 15 bytes")
	r = c.post("/update", url.Values{"note": {"matching origin!"}}, "Origin", d.base)
	assert.Equal(t, http.StatusSeeOther, r.StatusCode, "Origin: %s", d.base)
	assert.Contains(t, c.home(), "note: 16 bytes")
	r = c.post("/logout", nil)
	assert.Equal(t, http.StatusSeeOther, r.StatusCode)
	assert.Contains(t, c.home(), "not signed in")
}

func TestClientsAreIsolated(t *testing.T) {
	t.Parallel()
	d := startDemo(t, env("JWESESSION_SECRET", secret1))
	users := []string{"alice", "bob", "carol", "dave"}
	var wg sync.WaitGroup
	for i, user := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Error(err)
				return
			}
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}
			fetch := func(method, path string, form url.Values) (string, error) {
				var resp *http.Response
				var err error
				if method == http.MethodPost {
					resp, err = hc.PostForm(d.base+path, form)
				} else {
					resp, err = hc.Get(d.base + path)
				}
				if err != nil {
					return "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					return "", fmt.Errorf("%s %s as %s: status %d", method, path, user, resp.StatusCode)
				}
				return string(b), err
			}
			note := strings.Repeat("z", i+1)
			steps := []struct {
				method, path string
				form         url.Values
				wantNote     bool
			}{
				{http.MethodPost, "/login", url.Values{"user": {user}}, false}, // follows the 303 to /
				{http.MethodGet, "/", nil, false},
				{http.MethodPost, "/update", url.Values{"note": {note}}, true},
				{http.MethodGet, "/admin", nil, false},
				{http.MethodPost, "/renew", nil, true},
				{http.MethodGet, "/", nil, true},
			}
			for round := 0; round < 3; round++ {
				for _, s := range steps {
					body, err := fetch(s.method, s.path, s.form)
					if err != nil {
						t.Error(err)
						return
					}
					if !strings.Contains(body, user) {
						t.Errorf("%s %s as %s: own name missing", s.method, s.path, user)
					}
					for _, other := range users {
						if other != user && strings.Contains(body, other) {
							t.Errorf("%s %s as %s: saw %s", s.method, s.path, user, other)
						}
					}
					if hasNote := strings.Contains(body, fmt.Sprintf("note: %d bytes", len(note))); s.path != "/admin" && hasNote != s.wantNote {
						t.Errorf("%s %s as %s: note of %d bytes shown: %v, want %v", s.method, s.path, user, len(note), hasNote, s.wantNote)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestBinary builds the command and runs it as a user would.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "demo")
	out, err := exec.Command(goTool, "build", "-o", bin, "../../cmd/jwesession-demo").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	// -h prints the flags and exits 0; a flag that does not exist, 1.
	help, err := exec.Command(bin, "-h").CombinedOutput()
	assert.NoError(t, err, "-h exits 0: %s", help)
	assert.Contains(t, string(help), "-addr")
	err = exec.Command(bin, "-no-such-flag").Run()
	if exitErr, ok := errors.AsType[*exec.ExitError](err); assert.True(t, ok, "%v", err) {
		assert.Equal(t, 1, exitErr.ExitCode())
	}

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JWESESSION_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	base := ""
	deadline := time.Now().Add(10 * time.Second)
	for base == "" {
		if _, m := startupLine(t, stderr.String()); m != nil {
			base = m[1]
			assert.Equal(t, "session", m[2])
			assert.Equal(t, "development", m[3])
		}
		select {
		case <-exited:
			t.Fatalf("the demo exited before listening: %v; stderr:\n%s", waitErr, stderr)
		default:
		}
		if base == "" {
			require.True(t, time.Now().Before(deadline), "no start-up line within 10s; stderr:\n%s", stderr)
			time.Sleep(5 * time.Millisecond)
		}
	}
	assert.Contains(t, stderr.String(), devAnnouncement, "the generated secret is announced")

	c := newClient(t, base)
	r := c.get("/healthz")
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.True(t, strings.HasPrefix(r.body, "ok"), "body %q", r.body)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
		assert.NoError(t, waitErr, "exit after SIGTERM; stderr:\n%s", stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not exit within 10s of SIGTERM")
	}
}
