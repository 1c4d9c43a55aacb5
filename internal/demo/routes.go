package demo

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jwesession/jwesession"
)

// The demo's routes, the same over every cookie format: the native one
// (Manager, demoSession) and a Next.js app's (AuthJSManager, authjsClaims).

// sessions is what the routes need of a manager: a Manager or an
// AuthJSManager.
type sessions[T any] interface {
	Session(ctx context.Context) (*jwesession.Session[T], error)
	Middleware(next http.Handler) http.Handler
}

// format is a cookie format as the routes see it.
type format[T any] struct {
	m sessions[T]
	// name is shown on the page: "" for the native format.
	name string
	// everyday: "remember me" and flash messages, which only the native
	// format has.
	everyday bool
	// signIn returns the session of a new sign-in of user.
	signIn func(user string) T
	// user returns the signed-in user's name, note the note's field.
	user func(*T) string
	note func(*T) *string
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jwesession demo{{with .Format}} ({{.}}){{end}}</title></head>
<body>
<h1>jwesession demo</h1>
{{with .Format}}<p>cookie format: {{.}}, shared with a Next.js app</p>
{{end}}{{range .Flashes}}<p>flash: {{.}}</p>
{{end}}{{if .SignedIn}}<p>signed in as {{.User}}</p>
<p>session id: {{.SID}}</p>
{{if .Note}}<p>note: {{len .Note}} bytes</p>{{end}}
<form method="post" action="/update"><textarea name="note" rows="4" cols="60">{{.Note}}</textarea><br><button>Save note</button></form>
<form method="post" action="/renew"><button>Renew session id</button></form>
<form method="post" action="/logout"><button>Sign out</button></form>
<form method="post" action="/logout-everywhere"><button>Sign out everywhere</button></form>
<p><a href="/admin">admin</a> · <a href="/public">public page</a></p>
{{else}}<p>not signed in</p>
<form method="post" action="/login"><label>user <input name="user" pattern="[A-Za-z0-9._\-]{1,64}" required></label>{{if .Remember}} <label><input type="checkbox" name="remember"> remember me</label>{{end}} <button>Sign in</button></form>
{{end}}{{if .Err}}<p>previous cookie rejected: {{.Err}}</p>{{end}}
</body></html>
`))

// routes returns the demo's routes over format f, behind the session
// middleware and cross-origin protection.
func routes[T any](f format[T]) http.Handler {
	mux := http.NewServeMux()
	session := func(r *http.Request) *jwesession.Session[T] {
		s, err := f.m.Session(r.Context())
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
			Format             string
			SignedIn, Remember bool
			User, Note, SID    string
			Err                string
			Flashes            []string
		}{f.name, ok, f.everyday, f.user(&d), *f.note(&d), s.ID(), errText, s.Flashes()})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user")
		if !validUser(user) {
			http.Error(w, "user must be 1 to 64 of A-Za-z0-9._-", http.StatusBadRequest)
			return
		}
		signIn := session(r).SignIn // a browser-session cookie (an Auth.js cookie: the app's maxAge)
		if f.everyday && r.PostFormValue("remember") == "on" {
			signIn = session(r).SignInRemembered // a persistent one
		}
		if err := signIn(f.signIn(user)); err != nil {
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
			err := s.Update(func(d *T) error { *f.note(d) = note; return nil })
			if errors.Is(err, jwesession.ErrTooLarge) {
				http.Error(w, "note too large for the session cookie", http.StatusRequestEntityTooLarge)
				return
			}
			if err != nil {
				http.Error(w, "could not update", http.StatusInternalServerError)
				return
			}
			if f.everyday && *f.note(&d) != note { // a flash only when something changed
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
		if f.everyday && signedIn {
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
		fmt.Fprintf(w, "admin page for %s\n", f.user(&d))
	})
	return http.NewCrossOriginProtection().Handler(f.m.Middleware(mux))
}

// serve announces the listener on stderr (the contract's start-up line)
// and serves h on it until ctx ends, then shuts down, letting requests in
// flight finish for up to 5 s.
func serve(ctx context.Context, addr, cookie string, secure bool, h http.Handler, logger *slog.Logger, stderr io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mode := "development cookies"
	if secure {
		mode = "secure cookies"
	}
	fmt.Fprintf(stderr, "jwesession-demo listening on http://%s (cookie %s, %s)\n", ln.Addr(), cookie, mode)
	srv := &http.Server{
		Handler:           wrapOutermost(h),
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
