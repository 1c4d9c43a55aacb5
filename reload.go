package jwesession

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// SetKeyring replaces the keyring atomically. Requests in flight finish on
// the keyring they started with; the next request uses kr. Keys are derived
// here, once; a key kept from the current keyring (same id and secret)
// keeps its counters. A keyring that differs from the current one is
// logged at Info (key ids and states); retiring a key before the time
// SafeToRetireAt gave for it, at Warn. ReloadKeysFile and WatchKeysFile
// replace the keyring the same way, from a keys file.
func (m *Manager[T]) SetKeyring(kr *Keyring) error {
	if kr == nil || len(kr.keys) == 0 {
		return fmt.Errorf("%w: failed to replace keyring: it is empty", ErrInvalidKeyring)
	}
	m.core.swap(kr)
	return nil
}

// it logs the change at Info (key ids and states, never secrets), with
// attrs, and warns about a key retired before its safe time.
func (c *managerCore) swap(kr *Keyring, attrs ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.ring.Load()
	c.ring.Store(c.derive(kr))
	if old != nil && old.src.equal(kr) {
		return // the same keys: nothing to report
	}
	log := c.cfg.Logger
	attrs = append(attrs, "keyring", kr, "primary", kr.Primary().ID)
	if at, ok := kr.SafeToRetireAt(c.cfg.maxAbsolute(), c.cfg.Leeway); ok {
		attrs = append(attrs, "safe_to_retire_at", at.Format(time.RFC3339))
	}
	log.Info("jwesession: keyring replaced", attrs...)
	if old == nil {
		return
	}
	// A key that was decrypt-only and older than the primary, now retired
	// before the time the old keyring said was safe: sessions still under
	// it end now. Right for a leaked key, a mistake otherwise.
	at, ok := old.src.SafeToRetireAt(c.cfg.maxAbsolute(), c.cfg.Leeway)
	if !ok || !c.cfg.Now().Before(at) {
		return
	}
	for _, k := range kr.keys {
		if k.State != Retired {
			continue
		}
		if dk, was := old.byID[k.ID]; was && dk.state == DecryptOnly && dk.index > old.primary.index {
			log.Warn("jwesession: key retired before it was safe to retire: sessions still under it are signed out (right for a leaked key)",
				"key", k.ID, "safe_to_retire_at", at.Format(time.RFC3339))
		}
	}
}

// SafeToRetireAt returns the time from which the previous primary of the
// manager's keyring (the newest decrypt-only key older than the primary)
// can be retired without signing anybody out: the keyring's PromotedAt plus
// the longest absolute lifetime any sign-in can have (the longer of
// Config.AbsoluteTimeout and Config.RememberAbsoluteTimeout) plus
// Config.Leeway, rounded up to a whole second
// (see Keyring.SafeToRetireAt). ok is false when the keyring records no
// promotion time (a keys file without a "promoted:" line) or has no such
// key. Retiring earlier signs out the sessions still under that key.
func (m *Manager[T]) SafeToRetireAt() (time.Time, bool) {
	return m.Keyring().SafeToRetireAt(m.core.cfg.maxAbsolute(), m.core.cfg.Leeway)
}

// ReloadKeysFile reads the keys file at path (see ParseKeysFile), following
// symlinks, and makes it the manager's keyring as SetKeyring does. A file
// that cannot be read or parsed is refused: the current keyring keeps
// serving, and the error is logged at Error and returned (it names the
// line, never a secret). A file that holds the current keyring changes
// nothing and logs nothing.
func (m *Manager[T]) ReloadKeysFile(path string) error {
	return m.core.reloadKeysFile(path)
}

func (c *managerCore) reloadKeysFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return c.refuse(path, err)
	}
	return c.loadKeysFile(path, b)
}

// loadKeysFile parses the content of the keys file at path and swaps it in.
func (c *managerCore) loadKeysFile(path string, content []byte) error {
	kr, err := ParseKeysFile(string(content))
	if err != nil {
		return c.refuse(path, err)
	}
	c.swap(kr, "path", path)
	return nil
}

// refuse logs and returns the error of a keys file that was not loaded.
func (c *managerCore) refuse(path string, err error) error {
	c.cfg.Logger.Error("jwesession: keys file refused; the current keyring keeps serving", "path", path, "err", err)
	return fmt.Errorf("jwesession: failed to reload keys file: %w", err)
}

// defaultWatchInterval is how often WatchKeysFile reads the file when
// given no interval.
const defaultWatchInterval = 2 * time.Second

// WatchKeysFile keeps the manager's keyring in step with the keys file at
// path until ctx ends: it loads the file at once, again on every SIGHUP,
// and whenever its content changes, read every interval (2 seconds when
// interval is 0). It reads the path afresh each time, following symlinks,
// and compares contents, not inodes or modification times, so it sees a file
// replaced by rename and a Kubernetes secret or config map volume whose
// "..data" symlink is swapped. A file that cannot be read or parsed is
// refused as with ReloadKeysFile and the current keyring keeps serving; the
// same failure is logged once, not on every read. Requests in flight finish
// on the keyring they started with.
//
// Run it in its own goroutine. It returns ctx's error when ctx ends, and
// stops receiving SIGHUP then; it returns at once with an error when
// interval is negative. While it runs, SIGHUP no longer ends the process.
func (m *Manager[T]) WatchKeysFile(ctx context.Context, path string, interval time.Duration) error {
	if interval < 0 {
		return errf(ErrInvalidConfig, "WatchKeysFile: the interval is negative")
	}
	if interval == 0 {
		interval = defaultWatchInterval
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	w := &fileWatch{c: m.core, path: path}
	w.check(true)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-hup:
			w.check(true)
		case <-tick.C:
			w.check(false)
		}
	}
}

// fileWatch is WatchKeysFile's state: what it saw last.
type fileWatch struct {
	c       *managerCore
	path    string
	sum     [sha256.Size]byte // of the content last parsed
	read    bool              // sum is set
	readErr string            // the read error last logged, "" after a read
}

// check reads the file and loads it if its content changed since the last
// check, or always when force (start-up, SIGHUP).
func (w *fileWatch) check(force bool) {
	b, err := os.ReadFile(w.path)
	if err != nil {
		if msg := err.Error(); force || msg != w.readErr {
			w.readErr = msg
			_ = w.c.refuse(w.path, err)
		}
		return
	}
	w.readErr = ""
	sum := sha256.Sum256(b)
	if !force && w.read && sum == w.sum {
		return
	}
	w.sum, w.read = sum, true
	_ = w.c.loadKeysFile(w.path, b)
}
