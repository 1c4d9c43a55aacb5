package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
)

// The demo in -format authjs (Auth.js v5) or -format nextauth4
// (NextAuth.js v4): the same routes (routes.go) over the session cookie of
// a Next.js app, so the two can share it. The session is the token's
// claims; there is no "remember me" box and no flash message (the cookie
// has neither); with -redis, revocation's subject is the sub claim.

// authjsOptions are the flags of the Auth.js formats.
type authjsOptions struct {
	format      *string
	secretsFile *string
	maxAge      *time.Duration
}

// addAuthJSFlags adds -format, -secrets-file and -max-age to fs.
func addAuthJSFlags(fs *flag.FlagSet) authjsOptions {
	return authjsOptions{
		format:      fs.String("format", "jwesession", "the cookie format: jwesession, authjs (Auth.js v5) or nextauth4 (NextAuth.js v4), to share the session with a Next.js app"),
		secretsFile: fs.String("secrets-file", "", "authjs, nextauth4: the app's secrets, one per line, newest first (else AUTH_SECRET, … as the app reads them)"),
		maxAge:      fs.Duration("max-age", 0, "authjs, nextauth4: the app's session maxAge (default 720h)"),
	}
}

// nativeOnly are the flags an Auth.js format does not take.
var nativeOnly = []string{"keys-file", "reload-interval", "idle-timeout", "absolute-timeout", "remember-idle-timeout", "remember-absolute-timeout"}

// authjsClaims is the demo's session in the Auth.js formats: the
// standard claims and a note.
type authjsClaims struct {
	jwesession.AuthJSClaims
	Note string `json:"note,omitempty"`
}

// run is the demo in an Auth.js format, the flags parsed into fs: it
// serves until ctx ends and reports served; for the native format it
// returns served false (after refusing the Auth.js formats' flags), and
// the caller serves.
func (o authjsOptions) run(ctx context.Context, fs *flag.FlagSet, lookup func(string) (string, bool), stderr io.Writer, connect Connector) (served bool, err error) {
	given := func(names []string) []string {
		var out []string
		fs.Visit(func(f *flag.Flag) {
			if slices.Contains(names, f.Name) {
				out = append(out, "-"+f.Name)
			}
		})
		return out
	}
	if *o.format == "jwesession" {
		if bad := given([]string{"secrets-file", "max-age"}); len(bad) > 0 {
			return true, fmt.Errorf("%s: only with -format authjs or nextauth4", strings.Join(bad, ", "))
		}
		return false, nil
	}
	return true, o.serve(ctx, fs, given(nativeOnly), lookup, stderr, connect)
}

// serve serves the demo in an Auth.js format until ctx ends.
func (o authjsOptions) serve(ctx context.Context, fs *flag.FlagSet, bad []string, lookup func(string) (string, bool), stderr io.Writer, connect Connector) error {
	format, err := jwesession.ParseAuthJSFormat(*o.format)
	if err != nil {
		return errors.New("-format must be jwesession, authjs or nextauth4")
	}
	if len(bad) > 0 {
		return fmt.Errorf("-format %s does not take %s: the keys are the app's secrets and the lifetime its maxAge (-max-age)", format, strings.Join(bad, ", "))
	}
	secrets, err := loadAuthJSSecrets(format, *o.secretsFile, lookup)
	if err != nil {
		return err
	}
	flagValue := func(name string) any { return fs.Lookup(name).Value.(flag.Getter).Get() }
	secure := flagValue("secure").(bool)
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	rev, closeRev, err := revocation(flagValue("redis").(string), flagValue("redis-fail").(string), connect, logger)
	if err != nil {
		return err
	}
	defer closeRev()
	m, err := jwesession.NewAuthJS[authjsClaims](jwesession.AuthJSConfig{
		Format:             format,
		DevelopmentCookies: !secure,
		MaxAge:             *o.maxAge,
		RefreshAfter:       flagValue("refresh-after").(time.Duration),
		MaxChunks:          maxChunks,
		Logger:             logger,
		Revocation:         rev,
	}, secrets)
	if err != nil {
		return err
	}
	return serve(ctx, flagValue("addr").(string), m.CookieName(), secure, newAuthJSHandler(m, format), logger, stderr)
}

// loadAuthJSSecrets reads the secrets from the file, or else from the
// environment as jwesession.AuthJSSecretsFromLookup reads it. There is no
// random secret in these formats (it must be the app's): none is an
// error, and so are the file with those variables, and either with the
// native format's JWESESSION_KEYS or JWESESSION_SECRET.
func loadAuthJSSecrets(format jwesession.AuthJSFormat, file string, lookup func(string) (string, bool)) (*jwesession.AuthJSSecrets, error) {
	for _, n := range []string{"JWESESSION_KEYS", "JWESESSION_SECRET"} {
		if _, ok := lookup(n); ok {
			return nil, fmt.Errorf("-format %s reads the app's secrets (-secrets-file or AUTH_SECRET, …), not %s: unset it", format, n)
		}
	}
	if file == "" {
		return jwesession.AuthJSSecretsFromLookup(format, lookup)
	}
	var set []string
	for _, n := range jwesession.AuthJSSecretVariables() {
		if _, ok := lookup(n); ok {
			set = append(set, n)
		}
	}
	if len(set) > 0 {
		return nil, fmt.Errorf("-secrets-file replaces %s: unset %s", strings.Join(jwesession.AuthJSSecretVariables(), ", "), strings.Join(set, ", "))
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return jwesession.ParseAuthJSSecretsFile(string(b))
}

// newAuthJSHandler returns the demo's routes over the app's cookie: the
// session is the token's claims; /login sets name and sub (the subject of
// -redis's revocation), /update the note claim, /renew gives the token a
// new jti (the session id shown).
func newAuthJSHandler(m *jwesession.AuthJSManager[authjsClaims], f jwesession.AuthJSFormat) http.Handler {
	return routes(format[authjsClaims]{
		m:    m,
		name: f.String(),
		signIn: func(user string) authjsClaims {
			return authjsClaims{AuthJSClaims: jwesession.AuthJSClaims{Name: user, Sub: user}}
		},
		user: func(c *authjsClaims) string { return c.Name },
		note: func(c *authjsClaims) *string { return &c.Note },
	})
}
