package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

// rotateFile runs one rotate step on content and returns the result and
// the next file parsed (nil when refused).
func rotateFile(t *testing.T, content string, now time.Time, args ...string) (result, *jwesession.Keyring) {
	t.Helper()
	r := runTool(t, content, nil, now, append([]string{"rotate"}, args...)...)
	if r.code != 0 {
		assert.Empty(t, r.out, "nothing on stdout when refused")
		return r, nil
	}
	kr, err := jwesession.ParseKeysFile(r.out)
	require.NoError(t, err, "the printed keys file parses:\n%s", r.out)
	return r, kr
}

// states returns "id:state …" of kr.
func states(kr *jwesession.Keyring) string {
	var s []string
	for _, k := range kr.Keys() {
		s = append(s, k.ID+":"+k.State.String())
	}
	return strings.Join(s, " ")
}

// The whole procedure with the tool's files: add, promote, confirm (once
// every instance has loaded the promotion), retire (refused until safe),
// remove. The applications' sessions live their whole absolute lifetime
// without a write (8h, or 30 days for "remember me", the longest, which
// the tool's -absolute defaults to), so nothing but the rotation can end
// them early.
func TestRotateProcedure(t *testing.T) {
	cfg := jwesession.Config{IdleTimeout: 8 * time.Hour, RememberIdleTimeout: 30 * 24 * time.Hour}
	const longest = 30 * 24 * time.Hour
	start := "# production keys, newest first\n# rotated by jwesession rotate\nold:primary:" + secret1 + "\n"
	startKR, err := jwesession.ParseKeysFile(start)
	require.NoError(t, err)
	alice := &browser{}
	newApp(t, startKR, cfg).signIn(alice, userData{User: "alice"})

	// add
	r, addKR := rotateFile(t, start, t0, "add")
	require.Equal(t, 0, r.code, r.err)
	newID := addKR.Keys()[0].ID
	assert.Equal(t, newID+":decrypt-only old:primary", states(addKR))
	assert.True(t, strings.HasPrefix(r.out, "# production keys, newest first\n# rotated by jwesession rotate\n"+newID+":decrypt-only:"), "comments kept, new key newest:\n%s", r.out)
	assert.Contains(t, r.out, "old:primary:"+secret1+"\n", "old entries kept byte for byte")
	assert.Contains(t, r.err, "added key "+newID)
	assert.Contains(t, r.err, "rotate promote")
	newSecret := strings.Split(strings.Split(r.out, newID+":decrypt-only:")[1], "\n")[0]
	assert.Len(t, newSecret, 43)
	assert.NotContains(t, r.err, newSecret)
	d, _, _, err := newApp(t, addKR, cfg).at(t0.Add(time.Minute)).read(alice)
	require.NoError(t, err)
	assert.Equal(t, "alice", d.User)

	// add again before promoting: refused
	again, _ := rotateFile(t, r.out, t0, "add")
	assert.Equal(t, 1, again.code)
	assert.Contains(t, again.err, "rotate promote")

	// promote: no promotion time recorded
	tp := t0.Add(10 * time.Minute)
	r, promotedKR := rotateFile(t, r.out, tp, "promote")
	require.Equal(t, 0, r.code, r.err)
	promoted := r.out
	assert.Equal(t, newID+":primary old:decrypt-only", states(promotedKR))
	assert.True(t, promotedKR.PromotedAt().IsZero())
	assert.NotContains(t, promoted, "promoted:")
	assert.Contains(t, r.err, "promoted key "+newID+"; the previous primary old is decrypt-only")
	assert.Contains(t, r.err, "load this file on every instance")
	assert.Contains(t, r.err, "rotate confirm")
	assert.NotContains(t, r.err, "safe to retire", "not known before the confirmation")

	// The fleet loads it over a few minutes. Alice's session is rewritten
	// on an instance that has it (under the new key, its sign-in still of
	// the old one); Bob signs in on one that has not (under the old key);
	// Carol on one that has.
	a := newApp(t, promotedKR, cfg).at(tp.Add(time.Minute))
	a.serve(alice, func(s *jwesession.Session[userData]) { require.NoError(t, s.Set(userData{User: "alice", Note: "n"})) })
	bob := &browser{}
	newApp(t, addKR, cfg).at(tp.Add(2*time.Minute)).signInRemembered(bob, userData{User: "bob"})
	carol := &browser{}
	a.at(tp.Add(3*time.Minute)).signIn(carol, userData{User: "carol"})

	// retire before the confirmation: refused
	r, _ = rotateFile(t, promoted, tp.Add(4*time.Minute), "retire")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.err, "no promotion time")
	assert.Contains(t, r.err, "rotate confirm")

	// promote again: nothing to promote
	again, _ = rotateFile(t, promoted, tp, "promote")
	assert.Equal(t, 1, again.code)
	assert.Contains(t, again.err, "rotate add")

	// confirm, once the last instance has loaded the promotion
	tc := tp.Add(5 * time.Minute)
	r, confirmedKR := rotateFile(t, promoted, tc, "confirm")
	require.Equal(t, 0, r.code, r.err)
	confirmed := r.out
	assert.Equal(t, promoted+"promoted: 2026-11-23T12:15:00Z\n", confirmed, "the promoted line after the keys, nothing else changed")
	assert.Equal(t, tc, confirmedKR.PromotedAt())
	// Safe from the confirmation + the absolute lifetime + the leeway, to
	// the next whole second.
	const safeText = "2026-12-23T12:15:31Z"
	safe := tc.Add(longest + 31*time.Second)
	at, ok := confirmedKR.SafeToRetireAt(longest, 30*time.Second)
	require.True(t, ok)
	require.Equal(t, safe, at)
	assert.Contains(t, r.err, "recorded promoted: 2026-11-23T12:15:00Z")
	assert.Contains(t, r.err, "old is safe to retire from "+safeText+" (promoted + longest absolute lifetime 720h0m0s + leeway 30s)")
	assert.Contains(t, r.err, "rotate retire")
	assert.NotContains(t, r.err, "replaced")

	// Had the promotion been dated when promote wrote the file, retiring
	// would have been "safe" from tp + 720h30s + 1s, when Bob, signed in
	// ("remember me") on the lagging instance, is still signed in.
	promoteTime := tp.Add(longest + 31*time.Second)
	d, _, _, err = newApp(t, confirmedKR, cfg).at(promoteTime).read(bob.clone())
	require.NoError(t, err)
	assert.Equal(t, "bob", d.User)
	r, _ = rotateFile(t, confirmed, promoteTime, "retire")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.err, "not safe to retire before "+safeText)
	for _, at := range []time.Time{tc, tc.Add(8 * time.Hour), tc.Add(8*time.Hour + 31*time.Second), safe.Add(-time.Second)} {
		r, _ = rotateFile(t, confirmed, at, "retire")
		assert.Equal(t, 1, r.code, "at %v", at)
		assert.Contains(t, r.err, "not safe to retire before "+safeText)
		assert.Contains(t, r.err, "-force")
	}
	r, _ = rotateFile(t, confirmed, tc.Add(time.Hour+31*time.Second), "retire", "-absolute", "1h")
	assert.Equal(t, 0, r.code, "with the application's shorter absolute lifetime: %s", r.err)

	// At the safe time every sign-in of the old key has ended anyway.
	dave := &browser{}
	newApp(t, confirmedKR, cfg).at(tc.Add(time.Hour)).signInRemembered(dave, userData{User: "dave"})
	_, _, _, err = newApp(t, confirmedKR, cfg).at(safe).read(bob.clone())
	assert.ErrorIs(t, err, jwesession.ErrExpired)

	// retire at the safe time
	r, retiredKR := rotateFile(t, confirmed, safe, "retire")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, newID+":primary old:retired", states(retiredKR))
	assert.Contains(t, r.err, "retired old.")
	assert.Contains(t, r.err, "rotate remove")
	assert.NotContains(t, r.err, "forced")
	assert.Contains(t, r.out, "promoted: 2026-11-23T12:15:00Z", "the promotion time stays")
	d, _, _, err = newApp(t, retiredKR, cfg).at(safe).read(dave)
	require.NoError(t, err)
	assert.Equal(t, "dave", d.User)
	_, _, _, err = newApp(t, retiredKR, cfg).at(safe).read(bob.clone())
	assert.ErrorIs(t, err, jwesession.ErrRetiredKey)

	// Forced early (a leaked key): the sign-ins of the old key end at
	// once, also Alice's rewritten under the new key; Carol's lives on.
	forced, forcedKR := rotateFile(t, confirmed, tc, "retire", "-force")
	require.Equal(t, 0, forced.code, forced.err)
	assert.Contains(t, forced.err, "forced: sessions still under old are signed out")
	fa := newApp(t, forcedKR, cfg).at(tc.Add(time.Minute))
	_, _, _, err = fa.read(alice.clone())
	assert.ErrorIs(t, err, jwesession.ErrRetiredKey)
	d, _, _, err = fa.read(carol.clone())
	require.NoError(t, err)
	assert.Equal(t, "carol", d.User)

	// remove
	r, removedKR := rotateFile(t, r.out, safe, "remove")
	final := r.out
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, newID+":primary", states(removedKR))
	assert.NotContains(t, r.out, secret1)
	assert.Contains(t, r.out, "# production keys, newest first\n")
	assert.Contains(t, r.err, "removed old")
	_, _, _, err = newApp(t, removedKR, cfg).at(safe).read(dave)
	require.NoError(t, err)
	_, _, _, err = newApp(t, removedKR, cfg).at(safe).read(bob.clone())
	assert.ErrorIs(t, err, jwesession.ErrUnknownKey)

	// nothing left to confirm, retire or remove
	for _, step := range []string{"confirm", "retire", "remove"} {
		r, _ = rotateFile(t, final, safe, step)
		assert.Equal(t, 1, r.code, step)
		assert.Contains(t, r.err, "refused: n", step)
	}
}

func TestRotateConfirm(t *testing.T) {
	now := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)
	promoted := "b:primary:" + secret2 + "\na:decrypt-only:" + secret1 + "\n"
	for _, c := range []struct {
		name, in string
		args     []string
		code     int
		out      string // the promoted line written
		msg      []string
	}{
		{"now", promoted, nil, 0, "promoted: 2026-11-23T13:00:00Z",
			[]string{"recorded promoted: 2026-11-23T13:00:00Z", "a is safe to retire from 2026-12-23T13:00:31Z (promoted + longest absolute lifetime 720h0m0s + leeway 30s)"}},
		{"-at earlier", promoted, []string{"-at", "2026-11-23T12:30:00Z"}, 0, "promoted: 2026-11-23T12:30:00Z",
			[]string{"a is safe to retire from 2026-12-23T12:30:31Z"}},
		{"-at in another zone, fractional", promoted, []string{"-at", "2026-11-23T13:30:00.9+01:00"}, 0, "promoted: 2026-11-23T12:30:00Z", nil},
		{"-at now", promoted, []string{"-at", "2026-11-23T13:00:00Z"}, 0, "promoted: 2026-11-23T13:00:00Z", nil},
		{"the applications' lifetimes", promoted, []string{"-absolute", "1h", "-leeway", "10s"}, 0, "promoted: 2026-11-23T13:00:00Z",
			[]string{"from 2026-11-23T14:00:11Z (promoted + longest absolute lifetime 1h0m0s + leeway 10s)"}},
		{"two previous keys", "c:primary:" + secret3 + "\nb:decrypt-only:" + secret2 + "\na:decrypt-only:" + secret1 + "\n", nil, 0, "promoted: 2026-11-23T13:00:00Z",
			[]string{"b, a is safe to retire"}},
		{"a newer key waiting", "c:decrypt-only:" + secret3 + "\n" + promoted, nil, 0, "promoted: 2026-11-23T13:00:00Z", nil},
		{"again: the time replaced", promoted + "promoted: 2026-11-23T12:00:00Z\n", nil, 0, "promoted: 2026-11-23T13:00:00Z",
			[]string{"replaced the recorded promoted: 2026-11-23T12:00:00Z", "running confirm again replaces the time"}},
		{"no previous primary", "b:primary:" + secret2 + "\n", nil, 1, "", []string{"no previous primary to retire", "rotate promote"}},
		{"only a newer key", "c:decrypt-only:" + secret3 + "\nb:primary:" + secret2 + "\n", nil, 1, "", []string{"no previous primary"}},
		{"previous already retired", "b:primary:" + secret2 + "\na:retired:" + secret1 + "\npromoted: 2026-11-23T12:00:00Z\n", nil, 1, "", []string{"no previous primary"}},
		{"-at in the future", promoted, []string{"-at", "2026-11-23T13:00:01Z"}, 2, "", []string{"in the future"}},
		{"-at unreadable", promoted, []string{"-at", "yesterday"}, 2, "", []string{"RFC 3339"}},
		{"-at without a zone", promoted, []string{"-at", "2026-11-23T12:00:00"}, 2, "", []string{"RFC 3339"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, kr := rotateFile(t, c.in, now, append([]string{"confirm"}, c.args...)...)
			require.Equal(t, c.code, r.code, r.err)
			for _, m := range c.msg {
				assert.Contains(t, r.err, m)
			}
			if c.code != 0 {
				assert.True(t, strings.HasPrefix(r.err, "jwesession rotate confirm: "), r.err)
				return
			}
			assert.Equal(t, 1, strings.Count(r.out, "promoted:"), r.out)
			assert.Contains(t, r.out, "\n"+c.out+"\n")
			at, err := time.Parse(time.RFC3339, strings.TrimPrefix(c.out, "promoted: "))
			require.NoError(t, err)
			assert.True(t, at.Equal(kr.PromotedAt()))
			assert.Equal(t, states(keys(t, strings.Join(strings.Split(strings.TrimSpace(strings.Split(c.in, "promoted:")[0]), "\n"), ","))), states(kr), "no key changed")
		})
	}
}

func TestRotateRetireRules(t *testing.T) {
	promoted := "b:primary:" + secret2 + "\na:decrypt-only:" + secret1 + "\npromoted: 2026-11-23T12:00:00Z\n"
	noTime := "b:primary:" + secret2 + "\na:decrypt-only:" + secret1 + "\n"
	waiting := "c:decrypt-only:" + secret3 + "\nb:primary:" + secret2 + "\n"
	for _, c := range []struct {
		name, in string
		args     []string
		code     int
		states   string
		msg      string
	}{
		{"no promotion time", noTime, nil, 1, "", "run `jwesession rotate confirm`"},
		{"no promotion time, by id", noTime, []string{"-key", "a"}, 1, "", "no promotion time"},
		{"no promotion time, forced", noTime, []string{"-force"}, 0, "b:primary a:retired", "forced: sessions still under a are signed out"},
		{"leaked old key, forced early", promoted, []string{"-force", "-key", "a"}, 0, "b:primary a:retired", "forced"},
		{"old key by id, early", promoted, []string{"-key", "a"}, 1, "", "not safe to retire before 2026-12-23T12:00:31Z"},
		{"leaked newer key", waiting, []string{"-key", "c"}, 1, "", "-force retires it now"},
		{"leaked newer key, forced", waiting, []string{"-key", "c", "-force"}, 0, "c:retired b:primary", "retired c"},
		{"the primary", promoted, []string{"-key", "b", "-force"}, 1, "", "rotate emergency"},
		{"unknown key", promoted, []string{"-key", "zz", "-force"}, 1, "", "no key zz"},
		{"already retired", "b:primary:" + secret2 + "\na:retired:" + secret1 + "\n", []string{"-key", "a", "-force"}, 1, "", "already retired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, kr := rotateFile(t, c.in, time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC), append([]string{"retire"}, c.args...)...)
			assert.Equal(t, c.code, r.code, r.err)
			assert.Contains(t, r.err, c.msg)
			if c.code == 0 {
				assert.Equal(t, c.states, states(kr))
			}
		})
	}
}

func TestRotateEmergency(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("b:primary:"+secret2+"\na:decrypt-only:"+secret1+"\n"), 0o600))
	r, kr := rotateFile(t, "", t0, "emergency", "-keys-file", file)
	require.Equal(t, 0, r.code, r.err)
	require.Len(t, kr.Keys(), 1)
	assert.Equal(t, jwesession.Primary, kr.Keys()[0].State)
	assert.True(t, strings.HasPrefix(r.out, "# emergency replacement 2026-11-23T12:00:00Z"))
	for _, s := range []string{secret1, secret2} {
		assert.NotContains(t, r.out, s)
	}
	assert.Contains(t, r.err, "every session under an old key ends")
	// Nothing under an old key opens.
	old := &browser{}
	newApp(t, keys(t, "b:primary:"+secret2), jwesession.Config{}).signIn(old, userData{User: "alice"})
	_, _, _, err := newApp(t, kr, jwesession.Config{}).read(old)
	assert.ErrorIs(t, err, jwesession.ErrUnknownKey)

	r, kr = rotateFile(t, "", t0, "emergency", "-id", "k2026-11")
	require.Equal(t, 0, r.code)
	assert.Equal(t, "k2026-11:primary", states(kr))
	r2, _ := rotateFile(t, "", t0, "emergency")
	assert.NotEqual(t, r.out, r2.out, "a new secret each time")
}

func TestRotateFileDetails(t *testing.T) {
	t.Run("flags before or after the step, file or stdin", func(t *testing.T) {
		content := "-:primary:" + secret1 + "\n"
		file := filepath.Join(t.TempDir(), "keys")
		require.NoError(t, os.WriteFile(file, []byte(content), 0o600))
		for _, args := range [][]string{{"add", "-keys-file", file, "-id", "k2"}, {"-keys-file", file, "-id", "k2", "add"}, {"add", "-id", "k2"}} {
			r, kr := rotateFile(t, content, t0, args...)
			require.Equal(t, 0, r.code, "%q: %s", args, r.err)
			assert.Equal(t, "k2:decrypt-only", states(kr)[:len("k2:decrypt-only")], "%q", args)
		}
	})
	t.Run("a - id stays -", func(t *testing.T) {
		content := "k2:decrypt-only:" + secret2 + "\r\n-:primary:" + secret1 + "\r\n"
		r, kr := rotateFile(t, content, t0, "promote")
		require.Equal(t, 0, r.code, r.err)
		s, err := jwesession.NewSecret(secret1)
		require.NoError(t, err)
		assert.Equal(t, "k2:primary "+jwesession.DefaultKeyID(s)+":decrypt-only", states(kr))
		assert.Contains(t, r.out, "\n-:decrypt-only:"+secret1+"\n")
		assert.Contains(t, r.err, jwesession.DefaultKeyID(s)+" is decrypt-only")
	})
	t.Run("promote removes the promoted line of the previous promotion", func(t *testing.T) {
		content := "# keys\npromoted: 2026-01-01T00:00:00Z\nk2:decrypt-only:" + secret2 + "\nk1:primary:" + secret1 + "\n# end\n"
		r, kr := rotateFile(t, content, t0, "promote")
		require.Equal(t, 0, r.code, r.err)
		assert.Equal(t, "# keys\nk2:primary:"+secret2+"\nk1:decrypt-only:"+secret1+"\n# end\n", r.out)
		assert.True(t, kr.PromotedAt().IsZero())
		assert.Contains(t, r.err, `removed the line "promoted: 2026-01-01T00:00:00Z"`)
		assert.Contains(t, r.err, "rotate confirm")
	})
	t.Run("confirm replaces the promoted line in place", func(t *testing.T) {
		content := "# keys\npromoted: 2026-01-01T00:00:00Z\nk2:primary:" + secret2 + "\nk1:decrypt-only:" + secret1 + "\n# end\n"
		r, _ := rotateFile(t, content, t0, "confirm")
		require.Equal(t, 0, r.code, r.err)
		assert.Equal(t, "# keys\npromoted: 2026-11-23T12:00:00Z\nk2:primary:"+secret2+"\nk1:decrypt-only:"+secret1+"\n# end\n", r.out)
	})
	t.Run("confirm adds the promoted line after the keys", func(t *testing.T) {
		content := "k2:primary:" + secret2 + "\nk1:decrypt-only:" + secret1 + "\n# end\n"
		r, _ := rotateFile(t, content, t0.Add(1500*time.Millisecond), "confirm")
		require.Equal(t, 0, r.code, r.err)
		assert.Equal(t, "k2:primary:"+secret2+"\nk1:decrypt-only:"+secret1+"\npromoted: 2026-11-23T12:00:01Z\n# end\n", r.out)
	})
	t.Run("a key named promoted is a key", func(t *testing.T) {
		content := "promoted:primary:" + secret2 + "\nk1:decrypt-only:" + secret1 + "\n"
		r, kr := rotateFile(t, content, t0, "confirm")
		require.Equal(t, 0, r.code, r.err)
		assert.Equal(t, "promoted:primary:"+secret2+"\nk1:decrypt-only:"+secret1+"\npromoted: 2026-11-23T12:00:00Z\n", r.out)
		assert.Equal(t, t0, kr.PromotedAt())
	})
	// A keys file that cannot be read is a set-up error: exit 2.
	t.Run("an invalid file is refused, naming the line", func(t *testing.T) {
		for _, step := range []string{"add", "promote", "confirm", "retire", "remove"} {
			r, _ := rotateFile(t, "k2:primary:"+secret2+"\nk1:primary:"+secret1+"\n", t0, step)
			assert.Equal(t, 2, r.code, step)
			assert.Contains(t, r.err, "line 1, line 2", step)
		}
		r, _ := rotateFile(t, "k2:primary:"+secret2+" \n", t0, "add")
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.err, "whitespace")
		r, _ = rotateFile(t, "", t0, "add")
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.err, "JWESESSION_SECRET")
	})
	t.Run("a missing file", func(t *testing.T) {
		r, _ := rotateFile(t, "", t0, "add", "-keys-file", filepath.Join(t.TempDir(), "missing"))
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.err, "no such file")
	})
	t.Run("an id already in use", func(t *testing.T) {
		r, _ := rotateFile(t, "k1:primary:"+secret1+"\n", t0, "add", "-id", "k1")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.err, "already has a key k1")
	})
	t.Run("flags for the wrong step", func(t *testing.T) {
		for _, args := range [][]string{{"add", "-key", "k1"}, {"promote", "-id", "x"}, {"retire", "-at", "2026-11-23T12:00:00Z"}, {"promote", "-at", "2026-11-23T12:00:00Z"}} {
			r, _ := rotateFile(t, "k1:primary:"+secret1+"\n", t0, args...)
			assert.Equal(t, 2, r.code, "%q", args)
			assert.Contains(t, r.err, "is for", "%q", args)
		}
	})
}
