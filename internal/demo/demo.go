// Package demo is jwesession-demo, a small web app that keeps its login
// state in a jwesession cookie: sign in, keep a note in the session, renew
// the session id, sign out (here or everywhere, with -redis). Its
// commands are cmd/jwesession-demo and, with Redis, the redis module's
// cmd/jwesession-demo. It serves plain HTTP on loopback with development
// cookies, or production cookie settings with -secure (behind TLS).
//
// Keys come from -keys-file, JWESESSION_KEYS or JWESESSION_SECRET; with
// none, a random development-only secret is generated at start-up. With
// -format authjs or -format nextauth4 it speaks a Next.js app's Auth.js v5
// or NextAuth.js v4 cookie instead, with the app's secrets (-secrets-file,
// or the environment as the app reads it; see authjs.go). The
// keys file is reloaded when its content changes (read every
// -reload-interval, default 1s) and on SIGHUP, so a rotation can be walked
// through on the running demo: rewrite the file with `jwesession rotate`
// and watch the "keyring replaced" lines on stderr. A file that does not
// parse is refused with an error line, and the keys in use keep serving.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/jwesession/jwesession"
)

// maxChunks is how many cookies the demo lets a session span: about 15.8 KB,
// more than nginx's default 8 KB header line allows, to show chunking.
const maxChunks = 4

// maxNote is the largest note the demo accepts, before the cookie budget.
const maxNote = 16 << 10

// demoSession is the data the demo keeps in its session.
type demoSession struct {
	User string `json:"user"`
	Note string `json:"note,omitempty"`
}

// exitCode returns the exit status for Run's error: 0 for none (a clean
// shutdown on Ctrl-C or SIGTERM) and for -h (flag.ErrHelp: the usage has
// been printed), else 1, after printing the error to stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "jwesession-demo:", err)
	return 1
}

// Run parses args, builds the keyring and serves until ctx ends; connect
// makes the revocation store of -redis (nil: a build without Redis).
func Run(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer, connect Connector) error {
	fs := flag.NewFlagSet("jwesession-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	secure := fs.Bool("secure", false, "production cookie settings (Secure, __Host- prefix): serve it behind TLS")
	keysFile := fs.String("keys-file", "", "keyring file: ID:STATE:SECRET entries, one per line, newest first; reloaded when it changes and on SIGHUP")
	reload := fs.Duration("reload-interval", time.Second, "how often the -keys-file is read for changes")
	idle := fs.Duration("idle-timeout", 0, "Config.IdleTimeout: how long a session lives without a write or refresh (default: the library's, 30m)")
	absolute := fs.Duration("absolute-timeout", 0, "Config.AbsoluteTimeout: how long a sign-in lasts (default: the library's, 8h)")
	refresh := fs.Duration("refresh-after", 0, "Config.RefreshAfter: the age after which a read extends the idle expiry (default: the library's, 5m)")
	remIdle := fs.Duration("remember-idle-timeout", 0, "Config.RememberIdleTimeout: the idle timeout of a \"remember me\" sign-in (default: the library's, 168h)")
	remAbsolute := fs.Duration("remember-absolute-timeout", 0, "Config.RememberAbsoluteTimeout: how long a \"remember me\" sign-in lasts (default: the library's, 720h)")
	redisAddr := fs.String("redis", "", "HOST:PORT of a Redis server: revocation on (sign out everywhere), the subject the user name")
	redisFail := fs.String("redis-fail", "", "when Redis cannot answer: closed (signed out for that request) or open (served unchecked); default: the library's, closed")
	authjs := addAuthJSFlags(fs) // -format, -secrets-file, -max-age (authjs.go)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if served, err := authjs.run(ctx, fs, lookup, stderr, connect); served {
		return err
	}
	if *reload <= 0 {
		return errors.New("-reload-interval must be positive")
	}
	if min(*idle, *absolute, *refresh, *remIdle, *remAbsolute) < 0 {
		return errors.New("-idle-timeout, -absolute-timeout, -refresh-after, -remember-idle-timeout and -remember-absolute-timeout must not be negative")
	}
	kr, err := loadKeyring(*keysFile, lookup, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	rev, closeRev, err := revocation(*redisAddr, *redisFail, connect, logger)
	if err != nil {
		return err
	}
	defer closeRev()
	m, err := jwesession.New[demoSession](jwesession.Config{
		DevelopmentCookies:      !*secure,
		MaxChunks:               maxChunks,
		IdleTimeout:             *idle,
		AbsoluteTimeout:         *absolute,
		RefreshAfter:            *refresh,
		RememberIdleTimeout:     *remIdle,
		RememberAbsoluteTimeout: *remAbsolute,
		Logger:                  logger,
		Revocation:              rev,
	}, kr)
	if err != nil {
		return err
	}
	if *keysFile != "" {
		wctx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			_ = m.WatchKeysFile(wctx, *keysFile, *reload)
		}()
		defer func() {
			stopWatch()
			<-watched
		}()
	}
	return serve(ctx, *addr, m.CookieName(), *secure, newHandler(m), logger, stderr)
}

// loadKeyring reads the keys from the file, or the environment, or makes a
// random development-only secret.
func loadKeyring(keysFile string, lookup func(string) (string, bool), stderr io.Writer) (*jwesession.Keyring, error) {
	_, hasKeys := lookup("JWESESSION_KEYS")
	_, hasSecret := lookup("JWESESSION_SECRET")
	if keysFile != "" {
		if hasKeys || hasSecret {
			return nil, errors.New("-keys-file replaces JWESESSION_KEYS and JWESESSION_SECRET: unset them")
		}
		b, err := os.ReadFile(keysFile)
		if err != nil {
			return nil, err
		}
		return jwesession.ParseKeysFile(string(b))
	}
	if hasKeys || hasSecret {
		return jwesession.KeyringFromLookup(lookup)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	fmt.Fprintln(stderr, "jwesession-demo: no JWESESSION_SECRET or JWESESSION_KEYS set: using a random development-only secret; sessions end when the server stops")
	return jwesession.KeyringFromSecret(base64.RawURLEncoding.EncodeToString(b[:]))
}

// newHandler returns the demo's routes over the native format.
func newHandler(m *jwesession.Manager[demoSession]) http.Handler {
	return routes(format[demoSession]{
		m:        m,
		everyday: true,
		signIn:   func(user string) demoSession { return demoSession{User: user} },
		user:     func(d *demoSession) string { return d.User },
		note:     func(d *demoSession) *string { return &d.Note },
	})
}
