//go:build unix

package jwesession

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SIGHUP reloads the keys file at once, whatever the interval, and
// WatchKeysFile stops listening for it when its context ends.
func TestWatchKeysFileSIGHUP(t *testing.T) {
	// Our own registration keeps a SIGHUP from ending the test binary
	// whatever the watcher's state.
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	var logs rlLog
	m, _ := newTestManager(t, Config{Logger: logs.logger()}, mustKeyring(t, "a:primary:"+secretA))
	path := filepath.Join(t.TempDir(), "keys")
	rlWrite(t, path, "b:decrypt-only:"+secretB+"\na:primary:"+secretA+"\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.WatchKeysFile(ctx, path, time.Hour) }()
	// The start-up load happens after the signal is registered.
	rlEventually(t, func() bool { return m.Keyring().String() == "Keyring[b:decrypt-only a:primary]" }, "the start-up load")

	rlWrite(t, path, "b:primary:"+secretB+"\na:decrypt-only:"+secretA+"\n")
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, "a", m.Keyring().Primary().ID, "an hour's interval: no read without a signal")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	rlEventually(t, func() bool { return m.Keyring().Primary().ID == "b" }, "the reload on SIGHUP")
	<-guard // the first signal reached the guard too

	// Stopped: a SIGHUP no longer reaches it.
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	rlWrite(t, path, "c:primary:"+secretC+"\n")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	select {
	case <-guard:
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP not delivered")
	}
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, "b", m.Keyring().Primary().ID)
	assert.Len(t, logs.records(t, "keyring replaced"), 2)
}
