package jwesession

import (
	"net/http"
	"strings"
	"testing"

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

	// Grow: a note needing three chunks. The bare cookie is deleted.
	nr := setNote(t, m, c, 7000)
	require.NoError(t, nr.Err)
	lines, c2 := nr.Lines, nr.Cookie
	set, deleted := names(lines)
	assert.Equal(t, []string{"__Host-session.0", "__Host-session.1", "__Host-session.2"}, set)
	assert.Equal(t, []string{"__Host-session"}, deleted)
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

	// Shrink to two chunks: chunk 2 deleted.
	nr = setNote(t, m, c2, 4000)
	require.NoError(t, nr.Err)
	c3 := nr.Cookie
	set, deleted = names(nr.Lines)
	assert.Equal(t, []string{"__Host-session.0", "__Host-session.1"}, set)
	assert.Equal(t, []string{"__Host-session.2"}, deleted)

	// Shrink to one cookie: the bare name, every carried chunk deleted.
	nr = setNote(t, m, c3, 10)
	require.NoError(t, nr.Err)
	c4 := nr.Cookie
	set, deleted = names(nr.Lines)
	assert.Equal(t, []string{"__Host-session"}, set)
	assert.Equal(t, []string{"__Host-session.0", "__Host-session.1"}, deleted)
	res = read(t, m, c4)
	require.NoError(t, res.Err)
	assert.Equal(t, note(10), res.D.Note)

	// Sign-out from a chunked session deletes every chunk and the bare name.
	rec := serve(t, m, c3, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.Clear())
	})
	set, deleted = names(setCookies(rec))
	assert.Empty(t, set)
	assert.ElementsMatch(t, []string{"__Host-session", "__Host-session.0", "__Host-session.1"}, deleted)
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
		// The check reserves room for the longest key id (so a re-key under
		// any primary fits), and is otherwise exact, not a rough margin.
		slack := maxHeaderLen - len(m.core.ring.Load().primary.header)
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
			res := read(t, m, tc.cookie)
			assert.False(t, res.OK)
			assert.ErrorIs(t, res.Err, tc.want)
			set, deleted := names(setCookies(res.Rec))
			assert.Empty(t, set)
			assert.Contains(t, deleted, "__Host-session", "the bad cookie is deleted")
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
