package jwesession

import (
	"fmt"
	"io"
	"log/slog"
)

// String describes the session without its data, id or token.
func (s *Session[T]) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.loaded:
		return "jwesession.Session(not loaded)"
	case s.has:
		return "jwesession.Session(signed in, data redacted)"
	}
	return "jwesession.Session(none)"
}

// GoString is String: a session never prints its token or data.
func (s *Session[T]) GoString() string { return s.String() }

// Format prints String whatever the verb, so %+v and %#v show no token.
func (s *Session[T]) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue is String, for log/slog.
func (s *Session[T]) LogValue() slog.Value { return slog.StringValue(s.String()) }
