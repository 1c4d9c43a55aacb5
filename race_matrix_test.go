package jwesession

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The race matrix: every ordered pair of operations, served from the same
// cookies, both responses applied to a real cookie jar in both arrival
// orders, under each condition of the base session. It uses only the
// public API, so it survives rewrites of the internals.

// matrixData is the session data of the race matrix.
type matrixData struct {
	User string `json:"user"`
	Note string `json:"note,omitempty"`
}

var mxURL = &url.URL{Scheme: "https", Host: "example.test", Path: "/"}

// mxNote returns n hex characters of a sha256 chain seeded by seed: text
// that neither repeats nor compresses.
func mxNote(seed string, n int) string {
	var b strings.Builder
	h := sha256.Sum256([]byte(seed))
	for b.Len() < n {
		b.WriteString(hex.EncodeToString(h[:]))
		h = sha256.Sum256(h[:])
	}
	return b.String()[:n]
}

var (
	mxNoteBase   = mxNote("base", 4000)   // 2 chunks
	mxNoteUpdate = mxNote("update", 4000) // 2 chunks, other text
	mxNoteGrow   = mxNote("grow", 7000)   // 3 chunks
	mxNoteShrink = "short"                // the bare cookie
)

// mxNoteName names a note in messages.
func mxNoteName(n string) string {
	switch n {
	case mxNoteBase:
		return "base"
	case mxNoteUpdate:
		return "update"
	case mxNoteGrow:
		return "grow"
	case mxNoteShrink:
		return "shrink"
	case "":
		return "none"
	}
	return fmt.Sprintf("unknown(%d bytes)", len(n))
}

// mxKind is what an operation does to the session it finds.
type mxKind int

const (
	mxRead mxKind = iota
	mxData        // a data write of the current sign-in
	mxSignIn
	mxSignOut
)

// mxOp is one request's handler. Data writes act only on a session, as in
// the demo.
type mxOp struct {
	name string
	kind mxKind
	fn   func(s *Session[matrixData]) error
}

func mxSetNote(note string) func(s *Session[matrixData]) error {
	return func(s *Session[matrixData]) error {
		if _, ok := s.Get(); !ok {
			return nil
		}
		return s.Update(func(d *matrixData) error { d.Note = note; return nil })
	}
}

var mxOps = []mxOp{
	{"read", mxRead, func(s *Session[matrixData]) error { s.Get(); _ = s.Err(); return nil }},
	{"update", mxData, mxSetNote(mxNoteUpdate)},
	{"grow", mxData, mxSetNote(mxNoteGrow)},
	{"shrink", mxData, mxSetNote(mxNoteShrink)},
	{"renew", mxData, func(s *Session[matrixData]) error {
		if _, ok := s.Get(); !ok {
			return nil
		}
		return s.Renew()
	}},
	{"signout", mxSignOut, func(s *Session[matrixData]) error { return s.Clear() }},
	{"signin", mxSignIn, func(s *Session[matrixData]) error { return s.SignIn(matrixData{User: "bob"}) }},
}

// mxCond ages or alters the base state: it gets the manager, its clock and
// the base jar's cookies (the sign-in response's), and may change or
// replace them.
type mxCond struct {
	name     string
	rejected bool // the browser's cookie is refused
	alter    func(t *testing.T, m *Manager[matrixData], clk *testClock, base *[]*http.Cookie)
}

var mxConds = []mxCond{
	{"none", false, func(t *testing.T, m *Manager[matrixData], clk *testClock, _ *[]*http.Cookie) {
		clk.Advance(time.Minute)
	}},
	{"refresh-due", false, func(t *testing.T, m *Manager[matrixData], clk *testClock, _ *[]*http.Cookie) {
		clk.Advance(6 * time.Minute)
	}},
	{"older-key", false, func(t *testing.T, m *Manager[matrixData], clk *testClock, _ *[]*http.Cookie) {
		require.NoError(t, m.SetKeyring(mustKeyring(t, "k2:primary:"+secretB, "k1:decrypt-only:"+secretA)))
		clk.Advance(time.Minute)
	}},
	{"rejected-expired", true, func(t *testing.T, m *Manager[matrixData], clk *testClock, _ *[]*http.Cookie) {
		clk.Advance(31 * time.Minute)
	}},
	{"rejected-damaged", true, func(t *testing.T, m *Manager[matrixData], clk *testClock, bp *[]*http.Cookie) {
		base := *bp
		for i, c := range base {
			if c.Name != m.CookieName()+".1" {
				continue
			}
			v := []byte(c.Value)
			j := len(v) / 2
			for v[j] == '.' || v[j] == '-' || v[j] == '_' {
				j++
			}
			v[j] = map[bool]byte{true: 'B', false: 'A'}[v[j] == 'A']
			d := *c
			d.Value = string(v)
			base[i] = &d
			clk.Advance(time.Minute)
			return
		}
		t.Fatal("no chunk .1 to damage")
	}},
	// The jar holds the tombstone of an earlier sign-in of the same user:
	// sign out, sign in again (the base), with all the invariants of "none".
	{"tombstoned-earlier", false, func(t *testing.T, m *Manager[matrixData], clk *testClock, base *[]*http.Cookie) {
		clk.Advance(time.Minute)
		out, err := mxServe(m, mxHeader(mxJar(t, *base)), func(s *Session[matrixData]) error { return s.Clear() })
		require.NoError(t, err)
		var tomb []*http.Cookie
		for _, c := range out {
			if c.MaxAge > 0 {
				tomb = append(tomb, c)
			}
		}
		require.Len(t, tomb, 1, "the sign-out writes one cookie: the tombstone")
		require.ErrorIs(t, mxObserve(t, m, mxJar(t, *base, tomb)).Err, ErrSignedOut, "the tombstone names the first sign-in")
		clk.Advance(time.Minute)
		in, err := mxServe(m, mxHeader(mxJar(t, *base, out)), func(s *Session[matrixData]) error {
			return s.SignIn(matrixData{User: "alice", Note: mxNoteBase})
		})
		require.NoError(t, err)
		*base = append(tomb, in...)
		clk.Advance(time.Minute)
	}},
}

// mxObs is what a read sees of the session.
type mxObs struct {
	In         bool
	User, Note string
	ID         string
	Err        error
}

func (o mxObs) same(p mxObs) bool {
	return o.In == p.In && o.User == p.User && o.Note == p.Note && o.ID == p.ID
}

func (o mxObs) String() string {
	if !o.In {
		return "signed out"
	}
	return fmt.Sprintf("signed in as %s (note %s, sid %.6s)", o.User, mxNoteName(o.Note), o.ID)
}

// mxServe runs one request with the Cookie header through m's middleware
// and returns the Set-Cookie of the response.
func mxServe(m *Manager[matrixData], cookie string, fn func(s *Session[matrixData]) error) ([]*http.Cookie, error) {
	var err error
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, e := m.Session(r.Context())
		if e == nil {
			e = fn(s)
		}
		err = e
	}))
	req := httptest.NewRequest("POST", mxURL.String(), nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result().Cookies(), err
}

// mxJar returns a new jar holding base and then each response's cookies,
// in that order.
func mxJar(t *testing.T, base []*http.Cookie, responses ...[]*http.Cookie) *cookiejar.Jar {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	jar.SetCookies(mxURL, base)
	for _, r := range responses {
		jar.SetCookies(mxURL, r)
	}
	return jar
}

func mxHeader(jar *cookiejar.Jar) string {
	var parts []string
	for _, c := range jar.Cookies(mxURL) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// mxObserve reads the session the jar's cookies carry.
func mxObserve(t *testing.T, m *Manager[matrixData], jar *cookiejar.Jar) mxObs {
	var o mxObs
	_, err := mxServe(m, mxHeader(jar), func(s *Session[matrixData]) error {
		var d matrixData
		d, o.In = s.Get()
		o.User, o.Note, o.ID, o.Err = d.User, d.Note, s.ID(), s.Err()
		return nil
	})
	require.NoError(t, err)
	return o
}

// mxChunk returns n when name is the data cookie's chunk n, or -1 for the
// bare name, or ok false for any other cookie.
func mxChunk(base, name string) (n int, ok bool) {
	if name == base {
		return -1, true
	}
	suffix, ok := strings.CutPrefix(name, base+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(suffix)
	if err != nil || n < 0 || strconv.Itoa(n) != suffix {
		return 0, false
	}
	return n, true
}

// mxWritten returns the data cookie names a response sets (not deletes).
func mxWritten(base string, cookies []*http.Cookie) []string {
	var names []string
	for _, c := range cookies {
		if _, ok := mxChunk(base, c.Name); ok && c.MaxAge >= 0 {
			names = append(names, c.Name)
		}
	}
	return names
}

// mxBroken describes the jar's data cookies unless they are one bare
// cookie, a contiguous run of chunks from 0, or nothing.
func mxBroken(base string, jar *cookiejar.Jar) string {
	bare, chunks, names := false, map[int]bool{}, []string{}
	for _, c := range jar.Cookies(mxURL) {
		n, ok := mxChunk(base, c.Name)
		if !ok {
			continue
		}
		names = append(names, c.Name)
		if n < 0 {
			bare = true
		} else {
			chunks[n] = true
		}
	}
	for i := range len(chunks) {
		if !chunks[i] {
			return fmt.Sprintf("chunk %d missing in %v", i, names)
		}
	}
	if bare && len(chunks) > 0 {
		return fmt.Sprintf("bare cookie and chunks together: %v", names)
	}
	return ""
}

func TestRaceMatrix(t *testing.T) {
	cases := 0
	for _, cond := range mxConds {
		t.Run(cond.name, func(t *testing.T) {
			clk := newTestClock()
			m, err := New[matrixData](Config{
				MaxChunks: 4, IdleTimeout: 30 * time.Minute, RefreshAfter: 5 * time.Minute,
				AbsoluteTimeout: 8 * time.Hour, Now: clk.Now, Logger: quietLogger(),
			}, mustKeyring(t, "k1:primary:"+secretA))
			require.NoError(t, err)
			name := m.CookieName()
			require.Equal(t, "__Host-session", name)

			base, err := mxServe(m, "", func(s *Session[matrixData]) error {
				return s.SignIn(matrixData{User: "alice", Note: mxNoteBase})
			})
			require.NoError(t, err)
			require.ElementsMatch(t, []string{name + ".0", name + ".1"}, mxWritten(name, base), "the base session must take exactly 2 chunks")
			for _, c := range base {
				if _, ok := mxChunk(name, c.Name); ok {
					require.True(t, c.Secure, "production cookies are Secure")
				}
			}
			cond.alter(t, m, clk, &base)
			baseObs := mxObserve(t, m, mxJar(t, base))
			if cond.rejected {
				require.False(t, baseObs.In, "the base cookie must be rejected")
				require.Error(t, baseObs.Err)
				require.False(t, errors.Is(baseObs.Err, ErrMalformed) || errors.Is(baseObs.Err, ErrTooLarge), "damage must fail authentication: %v", baseObs.Err)
			} else {
				require.Equal(t, mxObs{In: true, User: "alice", Note: mxNoteBase, ID: baseObs.ID}, baseObs)
			}
			hdr := mxHeader(mxJar(t, base))
			kind := func(op mxOp) mxKind {
				if op.kind == mxData && !baseObs.In {
					return mxRead // nothing to update: the handler only reads
				}
				return op.kind
			}

			// Sanity of the operations' own effects.
			for _, op := range mxOps {
				resp, err := mxServe(m, hdr, op.fn)
				if err != nil {
					t.Errorf("%s/%s: %v", cond.name, op.name, err)
					continue
				}
				eff := mxObserve(t, m, mxJar(t, base, resp))
				written := mxWritten(name, resp)
				chunks := len(written)
				bad := ""
				switch {
				case op.name == "signout" && eff.In:
					bad = "signed in"
				case op.name == "signin" && (!eff.In || eff.User != "bob" || eff.ID == baseObs.ID):
					bad = "not a new sign-in as bob"
				case kind(op) == mxRead && !eff.same(baseObs):
					bad = "changed by a read, want " + baseObs.String()
				case kind(op) != mxData:
				case op.name == "update" && (!eff.same(mxObs{true, "alice", mxNoteUpdate, baseObs.ID, nil}) || chunks != 2):
					bad = fmt.Sprintf("want note update in 2 chunks, wrote %d", chunks)
				case op.name == "grow" && (!eff.same(mxObs{true, "alice", mxNoteGrow, baseObs.ID, nil}) || chunks != 3):
					bad = fmt.Sprintf("want note grow in 3 chunks, wrote %d", chunks)
				case op.name == "shrink" && (!eff.same(mxObs{true, "alice", mxNoteShrink, baseObs.ID, nil}) || chunks != 1 || written[0] != name):
					bad = "want note shrink in the bare cookie"
				case op.name == "renew" && (!eff.In || eff.User != "alice" || eff.Note != mxNoteBase || eff.ID == baseObs.ID):
					bad = "want base data under a new id"
				}
				if bad != "" {
					t.Errorf("%s/effect(%s): %v: %s", cond.name, op.name, eff, bad)
				}
			}

			for i, a := range mxOps {
				for _, b := range mxOps[i:] {
					respA, errA := mxServe(m, hdr, a.fn)
					respB, errB := mxServe(m, hdr, b.fn)
					if err := errors.Join(errA, errB); err != nil {
						t.Errorf("%s/%s+%s: %v", cond.name, a.name, b.name, err)
						continue
					}
					eff := map[string]mxObs{"A": mxObserve(t, m, mxJar(t, base, respA)), "B": mxObserve(t, m, mxJar(t, base, respB))}
					ka, kb := kind(a), kind(b)
					for _, order := range []string{"A,B", "B,A"} {
						cases++
						jar := mxJar(t, base, respA, respB)
						last, lastOp := eff["B"], b
						if order == "B,A" {
							jar = mxJar(t, base, respB, respA)
							last, lastOp = eff["A"], a
						}
						where := fmt.Sprintf("%s/%s+%s/arrival %s", cond.name, a.name, b.name, order)
						if broken := mxBroken(name, jar); broken != "" {
							t.Errorf("%s: broken cookie set: %s", where, broken)
						}
						obs := mxObserve(t, m, jar)
						damagedLeft := cond.name == "rejected-damaged" && len(mxWritten(name, respA)) == 0 && len(mxWritten(name, respB)) == 0
						if (errors.Is(obs.Err, ErrMalformed) || errors.Is(obs.Err, ErrTooLarge)) && !damagedLeft {
							t.Errorf("%s: observed error %v", where, obs.Err)
						}
						want := func(inv int, ok bool, format string, args ...any) {
							if !ok {
								t.Errorf("%s: %v, want %s (invariant %d)", where, obs, fmt.Sprintf(format, args...), inv)
							}
						}
						// 1. A sign-out wins over the same sign-in's requests.
						if a.kind == mxSignOut && kb != mxSignIn || b.kind == mxSignOut && ka != mxSignIn {
							want(1, !obs.In, "signed out")
						}
						// 2. A write is never undone by a concurrent read.
						switch {
						case ka == mxRead && kb != mxRead:
							want(2, obs.same(eff["B"]), "effect(%s): %v", b.name, eff["B"])
						case kb == mxRead && ka != mxRead:
							want(2, obs.same(eff["A"]), "effect(%s): %v", a.name, eff["A"])
						}
						// 3. Two data writes: the last one to arrive, signed in.
						if ka == mxData && kb == mxData {
							want(3, obs.In && obs.same(last), "effect(%s) (arrived last): %v", lastOp.name, last)
						}
						// 4. Two reads change nothing.
						if ka == mxRead && kb == mxRead {
							want(4, obs.same(baseObs), "the base state: %v", baseObs)
						}
						// 5. A read with a rejected cookie never undoes a sign-in.
						if cond.rejected && (ka == mxRead && kb == mxSignIn || kb == mxRead && ka == mxSignIn) {
							want(5, obs.In && obs.User == "bob", "signed in as bob")
						}
						// 6. A sign-in and another write (not a sign-out): the
						// sign-in when it arrived last; else never the replaced
						// sign-in back (SignIn ends it as a sign-out does: its
						// tombstone refuses the old sign-in's late write).
						if (ka == mxSignIn || kb == mxSignIn) && ka != mxRead && kb != mxRead && ka != mxSignOut && kb != mxSignOut {
							switch {
							case lastOp.kind == mxSignIn:
								want(6, obs.same(last), "effect(%s) (arrived last): %v", lastOp.name, last)
							case ka == mxSignIn && kb == mxSignIn:
								want(6, obs.same(last), "effect(%s) (arrived last): %v", lastOp.name, last)
							default:
								want(6, !obs.In || obs.User == "bob", "signed out or bob, never the replaced sign-in back")
							}
						}
					}
				}
			}
		})
	}
	t.Logf("%d cases (condition, pair, arrival order)", cases)
}
