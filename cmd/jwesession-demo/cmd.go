// Command jwesession-demo is a small web app that keeps its login state in
// a jwesession cookie: sign in, keep a note in the session, renew the
// session id, sign out (see internal/demo and the README's "The demo").
// This build has no Redis; the redis module's cmd/jwesession-demo is the
// same demo with -redis.
package main

import "github.com/jwesession/jwesession/internal/demo"

func main() { demo.Main(nil) }
