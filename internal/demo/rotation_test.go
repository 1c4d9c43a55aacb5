package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rotation walked through on the running demo, as DESIGN.md's
// procedure says and an operator would do it by hand: rewrite the
// -keys-file (add, promote, retire, remove) and watch the demo reload it.

// writeKeys replaces the keys file atomically, as `mv next keys` does.
func writeKeys(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".next"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// waitStderr waits up to 5s for the demo's stderr to contain s, and
// returns it.
func waitStderr(t *testing.T, d *demo, s string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := d.stderr.String()
		if strings.Contains(out, s) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not log %q within 5s; stderr:\n%s", s, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRotationOnTheRunningDemo(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys")
	writeKeys(t, path, "# demo keys, newest first\nk1:primary:"+secret1+"\n")
	d := startDemo(t, env(), "-keys-file", path, "-reload-interval", "10ms")
	loaded := func(keyring string) {
		t.Helper()
		if strings.Contains(keyring, " ") {
			keyring = `"` + keyring + `"` // as slog's text handler quotes it
		}
		waitStderr(t, d, "keyring="+keyring+" ")
	}

	active := newClient(t, d.base) // uses the demo all along
	active.login("alice")
	active.setNote("hello")
	idle := newClient(t, d.base) // signs in, then comes back only after the retirement
	idle.login("bob")
	idleTok := idle.token("session")
	sid := openToken(t, secret1, active.token("session")).Sid
	require.Equal(t, "k1", kidOf(t, idleTok))

	// 1. Add k2, newest, decrypt-only: nothing changes for anybody.
	writeKeys(t, path, "# demo keys, newest first\nk2:decrypt-only:"+secret2+"\nk1:primary:"+secret1+"\n")
	loaded("Keyring[k2:decrypt-only k1:primary]")
	r := active.get("/")
	assert.Contains(t, r.body, "signed in as alice")
	assertNoSetCookie(t, r, "adding a key re-keys nothing")
	carol := newClient(t, d.base)
	carol.login("carol")
	assert.Equal(t, "k1", kidOf(t, carol.token("session")), "k1 still seals")

	// 2. Promote k2. A read re-keys nothing (its response could undo a
	// concurrent write); the next write seals under k2 and keeps k1 as
	// the sign-in's origin. A new sign-in is k2's from the start.
	promoted := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	writeKeys(t, path, "k2:primary:"+secret2+"\nk1:decrypt-only:"+secret1+"\npromoted: "+promoted+"\n")
	loaded("Keyring[k2:primary k1:decrypt-only; promoted " + promoted + "]")
	before := active.token("session")
	r = active.get("/")
	assert.Contains(t, r.body, "signed in as alice")
	assert.Contains(t, r.body, "note: 5 bytes")
	assertRead(t, r)
	assert.Equal(t, before, active.token("session"), "no re-key on read")
	active.setNote("hello again")
	assert.Equal(t, "k2", kidOf(t, active.token("session")), "a write seals under the new primary")
	rewritten := openToken(t, secret2, active.token("session"))
	assert.Equal(t, sid, rewritten.Sid, "the same session")
	assert.Equal(t, "k1", rewritten.Org, "its sign-in began under k1")
	assertRead(t, active.get("/"))
	dave := newClient(t, d.base)
	dave.login("dave")
	assert.Equal(t, "k2", openToken(t, secret2, dave.token("session")).Org)
	// bob's session, under k1, is still good: a copy of his cookie opens.
	copyOfBob := newClient(t, d.base)
	copyOfBob.setCookie("session", idleTok)
	assert.Contains(t, copyOfBob.home(), "signed in as bob")

	// 3. Retire k1 (here at once; in production once the absolute lifetime
	// has passed since the last instance loaded the promotion, when every
	// sign-in begun under k1 has reached its absolute end anyway). Every
	// sign-in begun under k1 ends, rewritten under k2 (alice) or not
	// (bob); dave's, begun under k2, lives on. Reads delete nothing.
	writeKeys(t, path, "k2:primary:"+secret2+"\nk1:retired:"+secret1+"\npromoted: "+promoted+"\n")
	loaded("Keyring[k2:primary k1:retired; promoted " + promoted + "]")
	waitStderr(t, d, `level=WARN msg="jwesession: key retired before it was safe to retire`)
	r = dave.get("/")
	assert.Contains(t, r.body, "signed in as dave")
	assertRead(t, r)
	for name, c := range map[string]*client{"alice, rewritten under k2": active, "bob, never rewritten": idle} {
		tok := c.token("session")
		r = c.get("/")
		assert.Contains(t, r.body, "not signed in", name)
		assert.Contains(t, r.body, "retired key", name)
		assertRead(t, r)
		assert.Equal(t, tok, c.token("session"), "%s: a read deletes nothing", name)
	}
	require.Equal(t, idleTok, idle.token("session"), "bob's browser still holds the k1 cookie")

	// 4. Remove k1: its tokens, and tokens whose sign-in began under it,
	// name an unknown key now.
	writeKeys(t, path, "k2:primary:"+secret2+"\n")
	loaded("Keyring[k2:primary]")
	assert.Contains(t, dave.home(), "signed in as dave")
	stale := newClient(t, d.base)
	stale.setCookie("session", idleTok)
	assert.Contains(t, stale.home(), "unknown key id")
	assert.Contains(t, active.home(), "unknown key id", "alice's k2 token whose sign-in began under k1")

	// A broken file is refused, logged, and the keys in use keep serving.
	writeKeys(t, path, "k3:primary:"+secret1+"\nk2:primary:"+secret2+"\n")
	out := waitStderr(t, d, "keys file refused")
	assert.Contains(t, out, "level=ERROR")
	assert.Contains(t, out, "line 1, line 2")
	assert.Contains(t, dave.home(), "signed in as dave")
	assert.Equal(t, 4, strings.Count(d.stderr.String(), "keyring replaced"), "one line per step, none per read")

	for _, s := range []string{secret1, secret2} {
		assert.NotContains(t, d.stderr.String(), s, "stderr shows a secret")
	}
}

func TestReloadIntervalFlag(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys")
	writeKeys(t, path, "k1:primary:"+secret1+"\n")
	for _, v := range []string{"0s", "-1s", "soon"} {
		_, err := runOnce(t, env(), "-keys-file", path, "-reload-interval", v)
		assert.Error(t, err, v)
	}
}
