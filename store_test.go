package jwesession

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// note returns a note of n bytes.
func note(n int) string { return strings.Repeat("n", n) }

// noteResult is the outcome of setNote: Update's error, the Set-Cookie
// lines and the Cookie header a browser sends next.
type noteResult struct {
	Err    error
	Lines  []string
	Cookie string
}

// setNote stores a note of n bytes in the session of cookie.
func setNote(t *testing.T, m *Manager[testData], cookie string, n int) noteResult {
	t.Helper()
	var res noteResult
	rec := serve(t, m, cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		res.Err = s.Update(func(d *testData) error { d.Note = note(n); return nil })
	})
	res.Lines, res.Cookie = setCookies(rec), cookieHeader(cookie, rec)
	return res
}

// names returns the cookie names set (not deleted) and deleted by lines.
func names(lines []string) (set, deleted []string) {
	for _, l := range lines {
		name, _, _ := strings.Cut(l, "=")
		if strings.Contains(l, "Max-Age=0") {
			deleted = append(deleted, name)
		} else {
			set = append(set, name)
		}
	}
	return set, deleted
}

func TestChunkingGrowShrink(t *testing.T) {
	m, _ := newTestManager(t, Config{MaxChunks: 4}, nil)
	c := signIn(t, m, "alice")

	// Grow: a note needing three chunks. The bare cookie and the unused
	// chunk name are deleted.
	nr := setNote(t, m, c, 7000)
	require.NoError(t, nr.Err)
	lines, c2 := nr.Lines, nr.Cookie
	set, deleted := names(lines)
	assert.Equal(t, []string{"__Host-session.0", "__Host-session.1", "__Host-session.2"}, set)
	assert.Equal(t, []string{"__Host-session", "__Host-session.3"}, deleted)
	for _, l := range lines {
		name, rest, _ := strings.Cut(l, "=")
		value, _, _ := strings.Cut(rest, ";")
		assert.LessOrEqual(t, len(value), ChunkSize)
		assert.LessOrEqual(t, len(name)+len(value), 4096, "browsers drop a cookie over 4096 bytes")
		assert.Contains(t, l, "; Secure")
	}
	res := read(t, m, c2)
	require.NoError(t, res.Err)
	assert.Equal(t, note(7000), res.D.Note)
	assert.Empty(t, setCookies(res.Rec))

	// Shrink to two chunks: the bare name and chunks 2 and 3 deleted.
	nr = setNote(t, m, c2, 4000)
	require.NoError(t, nr.Err)
	c3 := nr.Cookie
	set, deleted = names(nr.Lines)
	assert.Equal(t, []string{"__Host-session.0", "__Host-session.1"}, set)
	assert.Equal(t, []string{"__Host-session", "__Host-session.2", "__Host-session.3"}, deleted)

	// Shrink to one cookie: the bare name, every chunk name deleted.
	nr = setNote(t, m, c3, 10)
	require.NoError(t, nr.Err)
	c4 := nr.Cookie
	set, deleted = names(nr.Lines)
	assert.Equal(t, []string{"__Host-session"}, set)
	assert.Equal(t, []string{"__Host-session.0", "__Host-session.1", "__Host-session.2", "__Host-session.3"}, deleted)
	res = read(t, m, c4)
	require.NoError(t, res.Err)
	assert.Equal(t, note(10), res.D.Note)

	// Sign-out, from a chunked or a bare session, deletes the bare name and
	// every chunk name, and writes the tombstone.
	for _, from := range []string{c3, c4} {
		rec := serve(t, m, from, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			require.NoError(t, s.Clear())
		})
		set, deleted = names(setCookies(rec))
		assert.Equal(t, []string{cpTombstone}, set)
		assert.ElementsMatch(t, []string{"__Host-session", "__Host-session.0", "__Host-session.1", "__Host-session.2", "__Host-session.3"}, deleted)
	}
}

func TestTooLargeKeepsOldCookie(t *testing.T) {
	for _, maxChunks := range []int{1, 4} {
		m, _ := newTestManager(t, Config{MaxChunks: maxChunks}, nil)
		c := signIn(t, m, "alice")
		nr := setNote(t, m, c, 100)
		require.NoError(t, nr.Err)
		c = nr.Cookie

		budget := maxChunks * ChunkSize
		nr = setNote(t, m, c, budget) // base64 makes it larger than the budget
		require.ErrorIs(t, nr.Err, ErrTooLarge, "MaxChunks %d", maxChunks)
		assert.Empty(t, nr.Lines, "nothing written, the old cookie stays")
		res := read(t, m, c)
		require.NoError(t, res.Err)
		assert.Equal(t, note(100), res.D.Note, "the session held its old value")

		// The largest note that fits is accepted, one more byte is not.
		lo, hi := 0, budget
		for lo < hi {
			mid := (lo + hi + 1) / 2
			var e error
			serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				e = s.Update(func(d *testData) error { d.Note = note(mid); return nil })
			})
			if e == nil {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		nr = setNote(t, m, c, lo)
		require.NoError(t, nr.Err)
		c2 := nr.Cookie
		total := 0
		for _, l := range nr.Lines {
			if !strings.Contains(l, "Max-Age=0") {
				_, rest, _ := strings.Cut(l, "=")
				v, _, _ := strings.Cut(rest, ";")
				total += len(v)
			}
		}
		assert.LessOrEqual(t, total, budget)
		// The check reserves room for the longest key id in the header and
		// as origin, and for a tombstone's IV segment (so a rewrite under
		// any primary, after any sign-out, fits), and is otherwise exact,
		// not a rough margin.
		claims := (32 - len("a")) + 16 // origin "a", tbs ""
		slack := maxHeaderLen - len(m.core.ring.Load().primary.header) + (claims*4+2)/3
		assert.Greater(t, total, budget-slack-4)
		assert.Equal(t, maxHeaderLen, len(headerSegment(strings.Repeat("k", 32))))
		res = read(t, m, c2)
		require.NoError(t, res.Err)
		assert.Len(t, res.D.Note, lo)
	}
}

func TestChunkReadErrors(t *testing.T) {
	m, _ := newTestManager(t, Config{MaxChunks: 3}, nil)
	c := signIn(t, m, "alice")
	nr := setNote(t, m, c, 5000) // two chunks
	require.NoError(t, nr.Err)
	chunked := nr.Cookie
	parts := strings.Split(chunked, "; ")
	require.Len(t, parts, 2)

	cases := []struct {
		name   string
		cookie string
		want   error
	}{
		{"missing chunk 0", parts[1], ErrMalformed},
		{"chunk beyond the maximum", chunked + "; __Host-session.3=" + note(10), ErrTooLarge},
		{"short first chunk", "__Host-session.0=" + note(10) + "; " + parts[1], ErrMalformed},
		{"oversized chunk", "__Host-session.0=" + note(ChunkSize+1), ErrTooLarge},
		{"oversized bare cookie", "__Host-session=" + note(ChunkSize+1), ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ltAssertRejected(t, read(t, m, tc.cookie), tc.want) // and not deleted
		})
	}

	// A chunk number no configuration writes is not ours: ignored.
	res := read(t, m, chunked+"; __Host-session.99=x")
	require.NoError(t, res.Err)
	assert.Empty(t, setCookies(res.Rec))

	// Chunks in any order in the header still read.
	res = read(t, m, parts[1]+"; "+parts[0])
	require.NoError(t, res.Err)
	assert.Equal(t, note(5000), res.D.Note)
}

func TestCookieScanning(t *testing.T) {
	m, _ := newTestManager(t, Config{}, nil)
	c := signIn(t, m, "alice")
	tok := strings.TrimPrefix(c, "__Host-session=")
	for _, hdr := range []string{
		"a=1; " + c + "; b=2",
		"__Host-session2=zzz; " + c,
		"__Host-session.x=zzz;" + c,
		"  " + c + "  ",
		c + "; __Host-session=garbage", // the first occurrence wins
	} {
		res := read(t, m, hdr)
		require.NoError(t, res.Err, hdr)
		assert.Equal(t, "alice", res.D.User)
	}
	// Several Cookie header lines (HTTP/2 may split them).
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		d, ok := s.Get()
		assert.True(t, ok)
		assert.Equal(t, "alice", d.User)
	}))
	req := newRequest("")
	req.Header.Add("Cookie", "a=1")
	req.Header.Add("Cookie", "__Host-session="+tok)
	h.ServeHTTP(newRecorder(), req)
	// A cookie named without the prefix is not ours in production settings.
	res := read(t, m, "session="+tok)
	assert.False(t, res.OK)
	assert.NoError(t, res.Err)
}

// The companion's and the tombstone's names can never be taken for the
// session token's: not by this library's reader, not by a reader joining
// every cookie whose name starts with the session cookie's (Auth.js), not
// by a proxy rule matching "name.*".
func TestCompanionAndTombstoneNeverChunks(t *testing.T) {
	for _, dev := range []bool{false, true} {
		t.Run(fmt.Sprintf("development=%v", dev), func(t *testing.T) {
			m, clk := newTestManager(t, Config{MaxChunks: 3, DevelopmentCookies: dev}, nil)
			own := m.CookieName()
			b := cpNewBrowser(t, m)
			written := map[string]bool{} // every name the library writes
			do := func(fn func(s *Session[testData])) {
				for _, c := range b.Do(fn).Result().Cookies() {
					written[c.Name] = true
				}
			}
			signIn := func(s *Session[testData]) { require.NoError(t, s.SignIn(testData{User: "alice", Note: note(5000)})) }
			do(signIn)
			do(func(s *Session[testData]) { require.NoError(t, s.Clear()) })
			do(signIn)
			clk.Advance(6 * time.Minute)
			do(func(s *Session[testData]) { s.Get() })
			hdr := b.Cookie()
			for _, n := range []string{own + ".0", own + ".1", cpName(m, "~r."), cpName(m, "~t.")} {
				require.Contains(t, hdr, n+"=", "the browser holds chunks, companion and tombstone")
			}

			// This library's reader, whatever the order of the cookies.
			parts := strings.Split(hdr, "; ")
			for range 2 {
				res := read(t, m, strings.Join(parts, "; "))
				require.NoError(t, res.Err)
				assert.Equal(t, note(5000), res.D.Note)
				slices.Reverse(parts)
			}
			// A reader joining every cookie whose name starts with the
			// session cookie's, in name order, gets the token and nothing
			// else.
			var joined []string
			slices.Sort(parts)
			for _, p := range parts {
				if strings.HasPrefix(p, own) {
					_, v, _ := strings.Cut(p, "=")
					joined = append(joined, v)
				}
			}
			tok := cpValue(t, hdr, own+".0") + cpValue(t, hdr, own+".1")
			assert.Equal(t, tok, strings.Join(joined, ""))
			_, _, err := m.core.ring.Load().open(tok, 3*ChunkSize)
			require.NoError(t, err)
			// No name the library writes besides the token's starts with it.
			for n := range written {
				if _, chunk := mxChunk(own, n); chunk {
					continue
				}
				assert.False(t, strings.HasPrefix(n, own), "%s starts with %s", n, own)
			}
			assert.Len(t, written, 1+3+2, "the bare name, 3 chunk names, companion and tombstone: %v", written)
		})
	}
}
