package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/jwesession/jwesession"
)

// Connector makes the revocation store for -redis HOST:PORT, and returns
// what closes it. Only the redis module's build of the demo has one.
type Connector func(addr string, logger *slog.Logger) (store jwesession.RevocationStore, closeStore func(), err error)

// Main is the demo's main: Run with the command line, the environment and
// stderr, until SIGINT or SIGTERM.
func Main(connect Connector) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := exitCode(Run(ctx, os.Args[1:], os.LookupEnv, os.Stderr, connect), os.Stderr)
	stop()
	os.Exit(code)
}

// run is Run without Redis.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	return Run(ctx, args, lookup, stderr, nil)
}

// SessionSubject names the demo's user for revocation: the user name.
func (d demoSession) SessionSubject() string { return d.User }

// revocation returns the revocation settings of -redis and -redis-fail,
// and what closes the store.
func revocation(addr, fail string, connect Connector, logger *slog.Logger) (jwesession.Revocation, func(), error) {
	none := func() {}
	if addr == "" {
		if fail != "" {
			return jwesession.Revocation{}, none, errors.New("-redis-fail needs -redis")
		}
		return jwesession.Revocation{}, none, nil
	}
	var rev jwesession.Revocation
	switch fail {
	case "", "closed":
	case "open":
		rev.FailOpen = true
	default:
		return rev, none, fmt.Errorf("-redis-fail must be open or closed, not %q", fail)
	}
	if connect == nil {
		return rev, none, errors.New("-redis: this build has no Redis; run the redis module's demo: go -C redis run ./cmd/jwesession-demo -redis HOST:PORT")
	}
	store, closeStore, err := connect(addr, logger)
	if err != nil {
		return rev, none, err
	}
	rev.Store = store
	return rev, closeStore, nil
}

// logoutEverywhere is POST /logout-everywhere: every session of the
// signed-in user is revoked, this browser's cleared, 303 to /; not signed
// in, 303 and nothing changes; without revocation (no -redis), 501.
func logoutEverywhere[T any](session func(*http.Request) *jwesession.Session[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := session(r).ClearEverywhere()
		switch {
		case errors.Is(err, jwesession.ErrInvalidConfig):
			http.Error(w, "sign out everywhere needs revocation: start the demo with -redis HOST:PORT", http.StatusNotImplemented)
		case err != nil:
			// This browser is signed out all the same.
			http.Error(w, "could not sign out the other sessions: Redis did not answer", http.StatusServiceUnavailable)
		default:
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
	}
}
