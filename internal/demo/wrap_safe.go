//go:build !jwesession_unsafe_demo

package demo

import "net/http"

// wrapOutermost returns h unchanged. A test-only build of the demo (build
// tag jwesession_unsafe_demo, used by the end-to-end suite) replaces it with
// a wrapper that behaves like the session stacks that leaked, to prove the
// suite sees that bug. No production build carries it.
func wrapOutermost(h http.Handler) http.Handler { return h }
