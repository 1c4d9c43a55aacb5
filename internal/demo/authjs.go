package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
)

// The demo in -format authjs (Auth.js v5) or -format nextauth4
// (NextAuth.js v4): the same routes over the session cookie of a Next.js
// app, so the two can share it. The session is the token's claims.

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
var nativeOnly = []string{"keys-file", "reload-interval", "idle-timeout", "absolute-timeout", "remember-idle-timeout", "remember-absolute-timeout", "redis", "redis-fail"}

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
func (o authjsOptions) run(ctx context.Context, fs *flag.FlagSet, lookup func(string) (string, bool), stderr io.Writer) (served bool, err error) {
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
	return true, o.serve(ctx, fs, given(nativeOnly), lookup, stderr)
}

// serve serves the demo in an Auth.js format until ctx ends.
func (o authjsOptions) serve(ctx context.Context, fs *flag.FlagSet, bad []string, lookup func(string) (string, bool), stderr io.Writer) error {
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
	secure := fs.Lookup("secure").Value.(flag.Getter).Get().(bool)
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	m, err := jwesession.NewAuthJS[authjsClaims](jwesession.AuthJSConfig{
		Format:             format,
		DevelopmentCookies: !secure,
		MaxAge:             *o.maxAge,
		RefreshAfter:       fs.Lookup("refresh-after").Value.(flag.Getter).Get().(time.Duration),
		MaxChunks:          maxChunks,
		Logger:             logger,
	}, secrets)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", fs.Lookup("addr").Value.String())
	if err != nil {
		return err
	}
	mode := "development cookies"
	if secure {
		mode = "secure cookies"
	}
	fmt.Fprintf(stderr, "jwesession-demo listening on http://%s (cookie %s, %s)\n", ln.Addr(), m.CookieName(), mode)
	srv := &http.Server{
		Handler:           wrapOutermost(newAuthJSHandler(m)),
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

var authjsPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jwesession demo ({{.Format}})</title></head>
<body>
<h1>jwesession demo</h1>
<p>cookie format: {{.Format}}, shared with a Next.js app</p>
{{if .SignedIn}}<p>signed in as {{.Name}}</p>
<p>session id: {{.SID}}</p>
{{if .Note}}<p>note: {{len .Note}} bytes</p>{{end}}
<form method="post" action="/update"><textarea name="note" rows="4" cols="60">{{.Note}}</textarea><br><button>Save note</button></form>
<form method="post" action="/renew"><button>Renew session id</button></form>
<form method="post" action="/logout"><button>Sign out</button></form>
<p><a href="/admin">admin</a> · <a href="/public">public page</a></p>
{{else}}<p>not signed in</p>
<form method="post" action="/login"><label>user <input name="user" pattern="[A-Za-z0-9._\-]{1,64}" required></label> <button>Sign in</button></form>
{{end}}{{if .Err}}<p>previous cookie rejected: {{.Err}}</p>{{end}}
</body></html>
`))

// newAuthJSHandler returns the demo's routes over the app's cookie: the
// session is the token's claims; /login sets name and sub, /update the
// note claim, /renew gives the token a new jti (the session id shown).
func newAuthJSHandler(m *jwesession.AuthJSManager[authjsClaims]) http.Handler {
	mux := http.NewServeMux()
	session := func(r *http.Request) *jwesession.Session[authjsClaims] {
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
		c, ok := s.Get()
		var errText string
		if err := s.Err(); err != nil {
			errText = err.Error()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = authjsPage.Execute(w, struct {
			Format               string
			SignedIn             bool
			Name, Note, SID, Err string
		}{m.Format().String(), ok, c.Name, c.Note, s.ID(), errText})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user")
		if !validUser(user) {
			http.Error(w, "user must be 1 to 64 of A-Za-z0-9._-", http.StatusBadRequest)
			return
		}
		if err := session(r).SignIn(authjsClaims{AuthJSClaims: jwesession.AuthJSClaims{Name: user, Sub: user}}); err != nil {
			http.Error(w, "could not sign in", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /update", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
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
		if _, ok := s.Get(); ok {
			err := s.Update(func(c *authjsClaims) error { c.Note = note; return nil })
			if errors.Is(err, jwesession.ErrTooLarge) {
				http.Error(w, "note too large for the session cookie", http.StatusRequestEntityTooLarge)
				return
			}
			if err != nil {
				http.Error(w, "could not update", http.StatusInternalServerError)
				return
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
		if err := session(r).Clear(); err != nil {
			http.Error(w, "could not sign out", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		c, ok := session(r).Get()
		if !ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "admin page for %s\n", c.Name)
	})
	return http.NewCrossOriginProtection().Handler(m.Middleware(mux))
}
