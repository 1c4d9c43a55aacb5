// Command jwesession-demo is the jwesession demo (the root module's
// cmd/jwesession-demo) with revocation on Redis: -redis HOST:PORT turns it
// on (the subject is the user name; POST /logout-everywhere signs the
// user out on every device), -redis-fail open|closed picks the failure
// policy. This file is the demo's only tie to the redis module.
package main

import (
	"log/slog"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/internal/demo"
	"github.com/jwesession/jwesession/redis"
)

func main() { demo.Main(connect) }

// connect makes the store: one server, sign-in records kept.
func connect(addr string, logger *slog.Logger) (jwesession.RevocationStore, func(), error) {
	st, err := redis.New(redis.Config{Addrs: []string{addr}, SignIns: true, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return st, st.Close, nil
}
