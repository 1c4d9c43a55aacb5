//go:build unix

package demo

import (
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SIGHUP makes the demo read its keys file at once, whatever the interval.
func TestSIGHUPReloadsKeysFile(t *testing.T) {
	// Our own registration: a SIGHUP never ends the test binary, even
	// before the demo's watcher listens for it.
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	path := filepath.Join(t.TempDir(), "keys")
	writeKeys(t, path, "k1:primary:"+secret1+"\n")
	d := startDemo(t, env(), "-keys-file", path, "-reload-interval", "1h")
	c := newClient(t, d.base)
	c.login("alice")

	writeKeys(t, path, "k2:decrypt-only:"+secret2+"\nk1:primary:"+secret1+"\n")
	time.Sleep(50 * time.Millisecond)
	assert.NotContains(t, d.stderr.String(), "keyring replaced", "an hour's interval: no read yet")
	// Signal until it is seen: the watcher may not listen yet.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(d.stderr.String(), `keyring="Keyring[k2:decrypt-only k1:primary]"`) {
		require.True(t, time.Now().Before(deadline), "no reload after SIGHUP; stderr:\n%s", d.stderr)
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
		time.Sleep(20 * time.Millisecond)
	}
	assert.Contains(t, c.home(), "signed in as alice")
}
