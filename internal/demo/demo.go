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
	"html/template"
	"io"
	"log/slog"
	"net"
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
	if served, err := authjs.run(ctx, fs, lookup, stderr); served {
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
	ln, err := net.Listen("tcp", *addr)
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
	mode := "development cookies"
	if *secure {
		mode = "secure cookies"
	}
	fmt.Fprintf(stderr, "jwesession-demo listening on http://%s (cookie %s, %s)\n", ln.Addr(), m.CookieName(), mode)
	srv := &http.Server{
		Handler:           wrapOutermost(newHandler(m)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
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

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jwesession demo</title></head>
<body>
<h1>jwesession demo</h1>
{{range .Flashes}}<p>flash: {{.}}</p>
{{end}}{{if .SignedIn}}<p>signed in as {{.User}}</p>
<p>session id: {{.SID}}</p>
{{if .Note}}<p>note: {{len .Note}} bytes</p>{{end}}
<form method="post" action="/update"><textarea name="note" rows="4" cols="60">{{.Note}}</textarea><br><button>Save note</button></form>
<form method="post" action="/renew"><button>Renew session id</button></form>
<form method="post" action="/logout"><button>Sign out</button></form>
<form method="post" action="/logout-everywhere"><button>Sign out everywhere</button></form>
<p><a href="/admin">admin</a> · <a href="/public">public page</a></p>
{{else}}<p>not signed in</p>
<form method="post" action="/login"><label>user <input name="user" pattern="[A-Za-z0-9._\-]{1,64}" required></label> <label><input type="checkbox" name="remember"> remember me</label> <button>Sign in</button></form>
{{end}}{{if .Err}}<p>previous cookie rejected: {{.Err}}</p>{{end}}
</body></html>
`))

// newHandler returns the demo's routes behind the session middleware and
// cross-origin protection.
func newHandler(m *jwesession.Manager[demoSession]) http.Handler {
	mux := http.NewServeMux()
	session := func(r *http.Request) *jwesession.Session[demoSession] {
		s, err := m.Session(r.Context())
		if err != nil {
			panic(err) // the middleware wraps every route below
		}
		return s
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		_, _ = io.WriteString(w, "a public page: the same for everyone\n")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		d, ok := s.Get()
		var errText string
		if err := s.Err(); err != nil {
			errText = err.Error()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, struct {
			SignedIn        bool
			User, Note, SID string
			Err             string
			Flashes         []string
		}{ok, d.User, d.Note, s.ID(), errText, s.Flashes()})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user")
		if !validUser(user) {
			http.Error(w, "user must be 1 to 64 of A-Za-z0-9._-", http.StatusBadRequest)
			return
		}
		signIn := session(r).SignIn // a browser-session cookie
		if r.PostFormValue("remember") == "on" {
			signIn = session(r).SignInRemembered // a persistent one
		}
		if err := signIn(demoSession{User: user}); err != nil {
			http.Error(w, "could not sign in", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /update", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10) // a 16 KB note, percent-encoded, fits
		if err := r.ParseForm(); err != nil {
			if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
				http.Error(w, "note too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		note := r.PostForm.Get("note")
		if len(note) > maxNote {
			http.Error(w, "note too large", http.StatusRequestEntityTooLarge)
			return
		}
		s := session(r)
		if d, ok := s.Get(); ok {
			err := s.Update(func(d *demoSession) error { d.Note = note; return nil })
			if errors.Is(err, jwesession.ErrTooLarge) {
				http.Error(w, "note too large for the session cookie", http.StatusRequestEntityTooLarge)
				return
			}
			if err != nil {
				http.Error(w, "could not update", http.StatusInternalServerError)
				return
			}
			if d.Note != note { // a flash only when something changed
				_ = s.AddFlash("note saved")
			}
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		if _, ok := s.Get(); ok {
			if err := s.Renew(); err != nil {
				http.Error(w, "could not renew", http.StatusInternalServerError)
				return
			}
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		signedIn := s.SignedIn()
		if err := s.Clear(); err != nil {
			http.Error(w, "could not sign out", http.StatusInternalServerError)
			return
		}
		if signedIn {
			_ = s.AddFlash("signed out") // its own cookie: it cannot bring the session back
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout-everywhere", logoutEverywhere(session))
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		d, ok := session(r).Get()
		if !ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "admin page for %s\n", d.User)
	})
	return http.NewCrossOriginProtection().Handler(m.Middleware(mux))
}

// validUser reports whether u is 1 to 64 of A-Za-z0-9._- .
func validUser(u string) bool {
	if len(u) == 0 || len(u) > 64 {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
