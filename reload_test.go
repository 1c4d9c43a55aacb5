package jwesession

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Keys files, promotion time, reload, file watching, the seal warning and
// Inspect. Helpers are prefixed rl.

// rlLog collects a manager's log records (JSON lines), safe for concurrent
// use.
type rlLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *rlLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *rlLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *rlLog) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records returns the records whose message contains msg.
func (l *rlLog) records(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if strings.Contains(rec["msg"].(string), msg) {
			out = append(out, rec)
		}
	}
	return out
}

// rlWrite replaces the file at path atomically (write, then rename), as
// editors and deploy tools do.
func rlWrite(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// rlEventually waits up to 5s for cond.
func rlEventually(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rlAllSecrets are the test secrets, none of which may appear in a log.
var rlAllSecrets = []string{secretA, secretB, secretC}

func TestKeysFilePromotedLine(t *testing.T) {
	t.Run("anywhere, once", func(t *testing.T) {
		for _, content := range []string{
			"promoted: 2026-11-23T12:00:00Z\nb:primary:" + secretB + "\na:decrypt-only:" + secretA + "\n",
			"# keys\nb:primary:" + secretB + "\n  promoted:2026-11-23T13:00:00+01:00  \r\na:decrypt-only:" + secretA,
			"b:primary:" + secretB + "\na:decrypt-only:" + secretA + "\n\npromoted: 2026-11-23T12:00:00.000Z\n",
		} {
			kr, err := ParseKeysFile(content)
			require.NoError(t, err, content)
			assert.True(t, kr.PromotedAt().Equal(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)), "%v", kr.PromotedAt())
			assert.Equal(t, "Keyring[b:primary a:decrypt-only; promoted "+kr.PromotedAt().Format(time.RFC3339)+"]", kr.String())
		}
	})
	t.Run("absent", func(t *testing.T) {
		kr, err := ParseKeysFile("b:primary:" + secretB + "\n")
		require.NoError(t, err)
		assert.True(t, kr.PromotedAt().IsZero())
		assert.Equal(t, "Keyring[b:primary]", kr.String())
	})
	t.Run("a key whose id is promoted", func(t *testing.T) {
		kr, err := ParseKeysFile("promoted:primary:" + secretB + "\npromoted: 2026-11-23T12:00:00Z\n")
		require.NoError(t, err)
		assert.Equal(t, "promoted", kr.Primary().ID)
		assert.Equal(t, []byte(secretB), kr.Primary().Secret.bytes())
		assert.False(t, kr.PromotedAt().IsZero())
	})
	t.Run("WithPromotedAt", func(t *testing.T) {
		kr := mustKeyring(t, "b:primary:"+secretB)
		at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		k2 := kr.WithPromotedAt(at)
		assert.True(t, kr.PromotedAt().IsZero(), "the original is unchanged")
		assert.Equal(t, at, k2.PromotedAt())
		rotSameKeys(t, kr.Keys(), k2.Keys())
		assert.True(t, k2.WithPromotedAt(time.Time{}).equal(kr))
	})
	errCases := []struct {
		name, in string
		hints    []string
	}{
		{"twice", "promoted: 2026-11-23T12:00:00Z\nb:primary:" + secretB + "\n# again\npromoted: 2026-11-24T12:00:00Z\n", []string{"line 4", "line 1", "second promoted"}},
		{"not RFC 3339", "b:primary:" + secretB + "\npromoted: 23.11.2026 12:00\n", []string{"line 2", "RFC 3339"}},
		{"no zone", "b:primary:" + secretB + "\npromoted: 2026-11-23T12:00:00\n", []string{"line 2", "RFC 3339"}},
		{"empty", "b:primary:" + secretB + "\npromoted:\n", []string{"line 2", "RFC 3339"}},
		{"mistyped state of a key named promoted", "promoted:primery:" + secretB + "\n", []string{"line 1", "ID:STATE:SECRET"}},
		{"a secret where the time goes", "b:primary:" + secretB + "\npromoted: " + secretA + "\n", []string{"line 2"}},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			kr, err := ParseKeysFile(c.in)
			require.Error(t, err)
			assert.Nil(t, kr)
			assert.ErrorIs(t, err, ErrInvalidKeyring)
			for _, h := range c.hints {
				rotAssertHint(t, err.Error(), h)
			}
			for _, s := range rlAllSecrets {
				rotAssertNoSecret(t, err.Error(), s, "error")
			}
		})
	}
	t.Run("not in JWESESSION_KEYS", func(t *testing.T) {
		_, err := ParseKeys("b:primary:" + secretB + ",promoted: 2026-11-23T12:00:00Z")
		require.ErrorIs(t, err, ErrInvalidKeyring)
		assert.Contains(t, err.Error(), "entry 2")
	})
}

func TestSafeToRetireAt(t *testing.T) {
	p := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	t.Run("which keyrings have one", func(t *testing.T) {
		for _, c := range []struct {
			entries []string
			at      time.Time
			ok      bool
		}{
			{[]string{"b:primary:" + secretB, "a:decrypt-only:" + secretA}, p, true},
			{[]string{"c:decrypt-only:" + secretC, "b:primary:" + secretB, "a:decrypt-only:" + secretA}, p, true},
			{[]string{"b:primary:" + secretB, "c:retired:" + secretC, "a:decrypt-only:" + secretA}, p, true},
			{[]string{"b:primary:" + secretB, "a:decrypt-only:" + secretA}, time.Time{}, false}, // no promotion time
			{[]string{"b:primary:" + secretB}, p, false},                                        // nothing to retire
			{[]string{"b:primary:" + secretB, "a:retired:" + secretA}, p, false},                // already retired
			{[]string{"a:decrypt-only:" + secretA, "b:primary:" + secretB}, p, false},           // only a newer key
		} {
			kr := mustKeyring(t, c.entries...).WithPromotedAt(c.at)
			at, ok := kr.SafeToRetireAt(8*time.Hour, 30*time.Second)
			assert.Equal(t, c.ok, ok, "%v", kr)
			if c.ok {
				assert.Equal(t, p.Add(8*time.Hour+31*time.Second), at.UTC(), "%v", kr)
			} else {
				assert.True(t, at.IsZero())
			}
		}
	})
	t.Run("manager uses its lifetimes", func(t *testing.T) {
		kr := mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)
		// The longest absolute lifetime any sign-in can have, whichever
		// kind it is.
		for _, c := range []struct {
			abs, remAbs, want time.Duration
		}{
			{2 * time.Hour, 90 * time.Minute, 2 * time.Hour},
			{2 * time.Hour, 3 * time.Hour, 3 * time.Hour},
			{8 * time.Hour, 0, 30 * 24 * time.Hour}, // the default RememberAbsoluteTimeout
		} {
			m, _ := newTestManager(t, Config{AbsoluteTimeout: c.abs, RememberIdleTimeout: time.Hour, RememberAbsoluteTimeout: c.remAbs, Leeway: 5 * time.Second}, kr)
			_, ok := m.SafeToRetireAt()
			assert.False(t, ok, "no promotion time yet")
			require.NoError(t, m.SetKeyring(kr.WithPromotedAt(p.Add(500*time.Millisecond))))
			at, ok := m.SafeToRetireAt()
			require.True(t, ok)
			assert.Equal(t, p.Add(c.want+6*time.Second), at.UTC(), "rounded up to a whole second (%+v)", c)
		}
	})
	// The time is exact: a sign-in under the old primary at the promotion
	// time, kept alive, is still valid one second before SafeToRetireAt
	// and expired at it, with the old key still decrypt-only. So retiring
	// at SafeToRetireAt signs nobody out, and the bound is tight.
	t.Run("tight and safe", func(t *testing.T) {
		// Each kind of sign-in in turn has the longest absolute lifetime.
		for _, c := range []struct {
			cfg Config
			rem bool
		}{
			{Config{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 2 * time.Hour, RememberIdleTimeout: time.Hour, RememberAbsoluteTimeout: time.Hour, RefreshAfter: time.Minute}, false},
			{Config{IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour, RememberIdleTimeout: 2 * time.Hour, RememberAbsoluteTimeout: 2 * time.Hour, RefreshAfter: time.Minute}, true},
		} {
			for _, signInAt := range []time.Duration{0, -time.Nanosecond, -time.Hour / 2} {
				cfg := c.cfg
				old, clk := newTestManager(t, cfg, mustKeyring(t, "a:primary:"+secretA))
				clk.t = p.Add(signInAt)
				c := ltSignIn(t, old, "alice", c.rem)

				kr := mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA).WithPromotedAt(p)
				cfg.Now = clk.Now
				m, _ := newTestManager(t, cfg, kr)
				at, ok := m.SafeToRetireAt()
				require.True(t, ok)
				if signInAt == 0 { // the latest sign-in an old-key token can have
					clk.t = at.Add(-time.Second)
					res := read(t, m, c)
					require.NoError(t, res.Err, "sign-in at P: still valid a second before %v", at)
				}
				clk.t = at
				res := read(t, m, c)
				require.ErrorIs(t, res.Err, ErrExpired, "sign-in at P%+v: expired at %v", signInAt, at)
			}
		}
	})
}

func TestReloadKeysFile(t *testing.T) {
	var logs rlLog
	m, _ := newTestManager(t, Config{Logger: logs.logger()}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")

	// Valid: swapped and logged at Info, with ids and states only.
	rlWrite(t, path, "# step 1\nb:decrypt-only:"+secretB+"\na:primary:"+secretA+"\n")
	require.NoError(t, m.ReloadKeysFile(path))
	assert.Equal(t, "Keyring[b:decrypt-only a:primary]", m.Keyring().String())
	recs := logs.records(t, "keyring replaced")
	require.Len(t, recs, 1)
	assert.Equal(t, "INFO", recs[0]["level"])
	assert.Equal(t, path, recs[0]["path"])
	assert.Equal(t, "Keyring[b:decrypt-only a:primary]", recs[0]["keyring"])
	assert.Equal(t, "a", recs[0]["primary"])

	// The same keys again: nothing logged.
	rlWrite(t, path, "# the same keys, other comments\nb:decrypt-only:"+secretB+"\n\na:primary:"+secretA+"\n")
	require.NoError(t, m.ReloadKeysFile(path))
	assert.Len(t, logs.records(t, "keyring replaced"), 1)

	// Invalid: refused, logged at Error, the old keyring keeps serving.
	before := m.Keyring()
	for _, bad := range []string{
		"b:primary:" + secretB + "\na:primary:" + secretA + "\n",           // two primaries
		"b:primary:" + secretB + "\na:decrypt-only:" + secretA[:20] + "\n", // weak
		"b:" + secretB + ":primary\n",                                      // swapped
		"",                                                                 // emptied
	} {
		rlWrite(t, path, bad)
		err := m.ReloadKeysFile(path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "jwesession: failed to reload keys file")
		assert.Same(t, before, m.Keyring())
		res := read(t, m, c)
		require.NoError(t, res.Err)
		assert.Equal(t, "alice", res.D.User)
	}
	require.Error(t, m.ReloadKeysFile(filepath.Join(dir, "missing")))
	assert.Same(t, before, m.Keyring())
	refused := logs.records(t, "keys file refused")
	require.Len(t, refused, 5)
	for _, r := range refused {
		assert.Equal(t, "ERROR", r["level"])
		assert.NotEmpty(t, r["err"])
	}
	assert.Contains(t, refused[0]["err"], "line 2")
	for _, s := range rlAllSecrets {
		rotAssertNoSecret(t, logs.String(), s, "log")
	}
}

// rlK8sVolume lays out a directory the way the kubelet mounts a secret or
// config map: keys -> ..data/keys, ..data -> ..<timestamp>/. It returns the
// path to read and a function that publishes new content the way the
// kubelet does: a new timestamped directory, a new symlink, renamed over
// ..data in one step. The old directory is removed afterwards, so a reader
// still holding the old file's inode sees nothing new.
func rlK8sVolume(t *testing.T, content string) (string, func(string)) {
	t.Helper()
	dir := t.TempDir()
	gen := 0
	publish := func(content string) {
		gen++
		ts := filepath.Join(dir, "..2026_v"+string(rune('0'+gen)))
		require.NoError(t, os.Mkdir(ts, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(ts, "keys"), []byte(content), 0o600))
		tmpLink := filepath.Join(dir, "..data_tmp")
		require.NoError(t, os.Symlink(filepath.Base(ts), tmpLink))
		old, _ := os.Readlink(filepath.Join(dir, "..data"))
		require.NoError(t, os.Rename(tmpLink, filepath.Join(dir, "..data")))
		if old != "" {
			require.NoError(t, os.RemoveAll(filepath.Join(dir, old)))
		}
	}
	publish(content)
	require.NoError(t, os.Symlink(filepath.Join("..data", "keys"), filepath.Join(dir, "keys")))
	return filepath.Join(dir, "keys"), publish
}

func TestWatchKeysFile(t *testing.T) {
	t.Run("kubernetes ..data swap, bad files, stop", func(t *testing.T) {
		var logs rlLog
		m, _ := newTestManager(t, Config{Logger: logs.logger()}, mustKeyring(t, "a:primary:"+secretA))
		c := signIn(t, m, "alice")
		path, publish := rlK8sVolume(t, "a:primary:"+secretA+"\n")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.WatchKeysFile(ctx, path, 5*time.Millisecond) }()

		keyring := func(want string) func() bool {
			return func() bool { return m.Keyring().String() == want }
		}
		publish("b:decrypt-only:" + secretB + "\na:primary:" + secretA + "\n")
		rlEventually(t, keyring("Keyring[b:decrypt-only a:primary]"), "step 1 loaded")
		publish("b:primary:" + secretB + "\na:decrypt-only:" + secretA + "\npromoted: 2026-11-23T12:00:00Z\n")
		rlEventually(t, keyring("Keyring[b:primary a:decrypt-only; promoted 2026-11-23T12:00:00Z]"), "step 2 loaded")

		// A bad file is refused once, however often it is read, and the
		// keyring keeps serving; the next good file loads.
		publish("b:primary:" + secretB + "\na:primary:" + secretA + "\n")
		rlEventually(t, func() bool { return len(logs.records(t, "keys file refused")) == 1 }, "the refusal")
		time.Sleep(50 * time.Millisecond) // ten more reads of the same bad file
		assert.Len(t, logs.records(t, "keys file refused"), 1, "a bad file is logged once")
		assert.Equal(t, "Keyring[b:primary a:decrypt-only; promoted 2026-11-23T12:00:00Z]", m.Keyring().String())
		res := read(t, m, c)
		require.NoError(t, res.Err)
		assert.Empty(t, setCookies(res.Rec), "a read never re-keys")
		c = cookieHeader(c, rotUpdate(t, m, c)) // written: under b, origin a
		bob := signIn(t, m, "bob")

		publish("b:primary:" + secretB + "\na:retired:" + secretA + "\n")
		rlEventually(t, keyring("Keyring[b:primary a:retired]"), "step 3 loaded")
		assert.ErrorIs(t, read(t, m, c).Err, ErrRetiredKey, "signed in under a, rewritten under b: ends with a")
		res = read(t, m, bob)
		require.NoError(t, res.Err)
		assert.Equal(t, "bob", res.D.User)

		cancel()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, context.Canceled)
		case <-time.After(5 * time.Second):
			t.Fatal("WatchKeysFile did not return after its context ended")
		}
		assert.Len(t, logs.records(t, "keyring replaced"), 3, "one Info line per change, none per read")
		for _, s := range rlAllSecrets {
			rotAssertNoSecret(t, logs.String(), s, "log")
		}
	})
	t.Run("loads at start; missing file logged once", func(t *testing.T) {
		var logs rlLog
		m, _ := newTestManager(t, Config{Logger: logs.logger()}, mustKeyring(t, "a:primary:"+secretA))
		path := filepath.Join(t.TempDir(), "keys")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = m.WatchKeysFile(ctx, path, 5*time.Millisecond) }()
		rlEventually(t, func() bool { return len(logs.records(t, "keys file refused")) == 1 }, "the missing file")
		time.Sleep(30 * time.Millisecond)
		assert.Len(t, logs.records(t, "keys file refused"), 1, "a missing file is logged once")
		assert.Equal(t, "Keyring[a:primary]", m.Keyring().String())
		rlWrite(t, path, "b:primary:"+secretB+"\na:decrypt-only:"+secretA+"\n")
		rlEventually(t, func() bool { return m.Keyring().Primary().ID == "b" }, "the file once it exists")
	})
	t.Run("negative interval", func(t *testing.T) {
		m, _ := newTestManager(t, Config{}, nil)
		err := m.WatchKeysFile(context.Background(), "keys", -time.Second)
		require.ErrorIs(t, err, ErrInvalidConfig)
	})
}

// A request in flight while the keys file is reloaded finishes on the
// keyring it started with (SetKeyring's snapshot, here through a file).
func TestReloadKeysFileInFlight(t *testing.T) {
	m, _ := newTestManager(t, Config{}, mustKeyring(t, "a:primary:"+secretA))
	c := signIn(t, m, "alice")
	path := filepath.Join(t.TempDir(), "keys")
	rlWrite(t, path, "b:primary:"+secretB+"\na:retired:"+secretA+"\n")
	rec := serve(t, m, c, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, m.ReloadKeysFile(path))
		d, ok := s.Get()
		require.NoError(t, s.Err())
		require.True(t, ok)
		assert.Equal(t, "alice", d.User)
		require.NoError(t, s.Touch())
	})
	assert.Equal(t, "a", rotKid(t, rotSessionCookie(t, m, rec).Value), "sealed under the snapshot's primary")
	assert.ErrorIs(t, read(t, m, c).Err, ErrRetiredKey, "the next request uses the new keyring")
}

func TestSealWarning(t *testing.T) {
	var logs rlLog
	m, _ := newTestManager(t, Config{Logger: logs.logger()}, mustKeyring(t, "a:primary:"+secretA))
	m.core.sealWarnAt = 5
	warnings := func() []map[string]any { return logs.records(t, "sealed many tokens") }
	for i := 0; i < 4; i++ {
		signIn(t, m, "u")
	}
	assert.Empty(t, warnings(), "below the threshold")
	signIn(t, m, "u")
	require.Len(t, warnings(), 1, "the seal that reaches the threshold warns")
	w := warnings()[0]
	assert.Equal(t, "WARN", w["level"])
	assert.Equal(t, "a", w["key"])
	assert.EqualValues(t, 5, w["sealed"])
	assert.Contains(t, w["msg"], "2^32")
	assert.Contains(t, w["msg"], "per process")

	// Once per key: more seals, concurrent ones, and a reload that keeps
	// the key do not warn again.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				signIn(t, m, "u")
			}
		}()
	}
	wg.Wait()
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:decrypt-only:"+secretB, "a:primary:"+secretA)))
	signIn(t, m, "u")
	assert.Len(t, warnings(), 1)
	assert.Equal(t, uint64(26), rotStats(t, m, "a").Sealed)

	// A new key has its own count and its own warning.
	require.NoError(t, m.SetKeyring(mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)))
	for i := 0; i < 5; i++ {
		signIn(t, m, "u")
	}
	require.Len(t, warnings(), 2)
	assert.Equal(t, "b", warnings()[1]["key"])

	// The default threshold is 2^28: a sixteenth of the fleet-wide limit.
	other, _ := newTestManager(t, Config{}, nil)
	assert.Equal(t, uint64(1<<28), other.core.sealWarnAt)
	for _, s := range rlAllSecrets {
		rotAssertNoSecret(t, logs.String(), s, "log")
	}
}

func TestRetiringEarlyWarns(t *testing.T) {
	p := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	promoted := mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA).WithPromotedAt(p)
	retired := mustKeyring(t, "b:primary:"+secretB, "a:retired:"+secretA).WithPromotedAt(p)
	for _, c := range []struct {
		name  string
		now   time.Time
		warns bool
	}{
		{"before the safe time", p.Add(time.Hour), true},
		// The longest absolute lifetime any sign-in can have: the default
		// RememberAbsoluteTimeout.
		{"a second before", p.Add(30*24*time.Hour + 30*time.Second), true},
		{"at the safe time", p.Add(30*24*time.Hour + 31*time.Second), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs rlLog
			m, clk := newTestManager(t, Config{Logger: logs.logger()}, promoted)
			clk.t = c.now
			require.NoError(t, m.SetKeyring(retired))
			recs := logs.records(t, "retired before it was safe")
			if !c.warns {
				assert.Empty(t, recs)
				return
			}
			require.Len(t, recs, 1)
			assert.Equal(t, "WARN", recs[0]["level"])
			assert.Equal(t, "a", recs[0]["key"])
			assert.Equal(t, "2026-12-23T12:00:31Z", recs[0]["safe_to_retire_at"])
		})
	}
}

// rlInspectCase is a token and the manager state to inspect it in.
type rlInspectCase struct {
	name   string
	cookie func(t *testing.T, m *Manager[testData], clk *testClock) string
	want   error
	org    string // the origin Inspect reports when accepted; "" is the token's key
}

func TestInspectAgreesWithMiddleware(t *testing.T) {
	ring := func(t *testing.T) *Keyring {
		return mustKeyring(t, "n:decrypt-only:"+secretC, "b:primary:"+secretB, "a:decrypt-only:"+secretA, "r:retired:"+test32("r"))
	}
	under := func(entry string) func(t *testing.T, m *Manager[testData], clk *testClock) string {
		return func(t *testing.T, m *Manager[testData], clk *testClock) string {
			return rotIssue(t, m, mustKeyring(t, entry), "alice")
		}
	}
	forged := func(kid, org string) func(t *testing.T, m *Manager[testData], clk *testClock) string {
		return func(t *testing.T, m *Manager[testData], clk *testClock) string {
			return orForge(t, m, kid, envelope{Org: org})
		}
	}
	cases := []rlInspectCase{
		{"primary", under("b:primary:" + secretB), nil, ""},
		{"older decrypt-only", under("a:primary:" + secretA), nil, ""},
		{"newer decrypt-only", under("n:primary:" + secretC), nil, ""},
		{"retired", under("r:primary:" + test32("r")), ErrRetiredKey, ""},
		{"unknown", under("z:primary:" + test32("z")), ErrUnknownKey, ""},
		{"kid over another key", under("b:primary:" + test32("z")), ErrDecrypt, ""},
		{"tampered", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			return c[:len(c)-3] + "AAA"
		}, ErrDecrypt, ""},
		{"malformed", func(t *testing.T, m *Manager[testData], clk *testClock) string { return m.CookieName() + "=abc.def" }, ErrMalformed, ""},
		{"idle expiry", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			c := signIn(t, m, "alice")
			clk.Advance(31 * time.Minute)
			return c
		}, ErrExpired, ""},
		{"absolute expiry", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			return orForge(t, m, "b", envelope{Abs: clk.Now().Unix() - 9*3600})
		}, ErrExpired, ""},
		{"not yet valid", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			return orForge(t, m, "b", envelope{Iat: clk.Now().Unix() + 120})
		}, ErrNotYetValid, ""},
		{"data not of the type", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			return orForge(t, m, "b", envelope{Data: json.RawMessage(`{"user":7}`)})
		}, ErrDataDecode, ""},
		{"format version 1", func(t *testing.T, m *Manager[testData], clk *testClock) string {
			now := clk.Now().Unix()
			pt := fmt.Sprintf(`{"v":1,"sid":"c2lk","iat":%d,"exp":%d,"abs":%d,"data":{"user":"alice"}}`, now, now+600, now)
			return m.CookieName() + "=" + seal(m.core.ring.Load().detached(false).primary, purposeData, []byte(pt))
		}, ErrMalformed, ""},
		{"rewritten: origin older", forged("b", "a"), nil, "a"},
		{"claims a newer origin", forged("a", "b"), nil, "b"}, // as claimed; a rewrite carries a
		{"origin retired", forged("b", "r"), ErrRetiredKey, ""},
		{"origin unknown", forged("b", "z"), ErrUnknownKey, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, ring(t))
			cookie := c.cookie(t, m, clk)
			tok := rotToken(t, m, cookie)
			stats := m.Stats()
			info, err := m.Inspect(tok)
			assert.Equal(t, stats, m.Stats(), "Inspect counts nothing")
			res := read(t, m, cookie)
			if c.want == nil {
				require.NoError(t, err)
				require.NoError(t, res.Err)
			} else {
				require.ErrorIs(t, err, c.want)
				require.ErrorIs(t, res.Err, c.want)
				assert.Equal(t, res.Err.Error(), err.Error(), "the request's error, word for word")
			}
			if c.want == nil || errors.Is(c.want, ErrRetiredKey) || errors.Is(c.want, ErrExpired) || errors.Is(c.want, ErrNotYetValid) {
				// Decrypted: the claims are there, as go-jose reads them.
				env := rotClaims(t, m, tok)
				assert.Equal(t, env.Sid, info.SessionID)
				assert.Equal(t, env.Iat, info.IssuedAt.Unix())
				assert.Equal(t, env.Exp, info.ExpiresAt.Unix())
				assert.Equal(t, env.Abs, info.SignedInAt.Unix())
				assert.Equal(t, env.Abs+8*3600, info.AbsoluteEnd.Unix())
				assert.JSONEq(t, string(env.Data), string(info.Data))
			}
			if c.want == nil {
				assert.Equal(t, res.D.User, "alice")
				assert.Empty(t, setCookies(res.Rec), "a read writes no session token, whatever its key")
				org := c.org
				if org == "" {
					org = info.KeyID // signed in under the key it is under
				}
				assert.Equal(t, org, info.OriginKeyID)
				assert.Equal(t, rotClaims(t, m, tok).Sin, info.SignInID)
			}
		})
	}
	t.Run("key id and state", func(t *testing.T) {
		m, clk := newTestManager(t, Config{}, ring(t))
		for _, c := range []struct {
			i     int
			kid   string
			state KeyState
		}{{0, "b", Primary}, {1, "a", DecryptOnly}, {2, "n", DecryptOnly}, {3, "r", Retired}, {4, "z", 0}} {
			info, _ := m.Inspect(rotToken(t, m, cases[c.i].cookie(t, m, clk)))
			assert.Equal(t, c.kid, info.KeyID)
			assert.Equal(t, c.state, info.KeyState, c.kid)
		}
		info, err := m.Inspect("garbage")
		require.ErrorIs(t, err, ErrMalformed)
		assert.Equal(t, TokenInfo{}, info)
	})
}

// test32 returns a valid secret derived from a tag.
func test32(tag string) string { return "test-secret-" + tag + "-0123456789abcdefghijklmnopq" }
