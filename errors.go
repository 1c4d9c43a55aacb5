package jwesession

import (
	"errors"
	"fmt"
	"strings"
)

// Errors. Match them with errors.Is: the errors returned wrap them with
// details, never with token bytes or secrets.
var (
	// ErrNoMiddleware: the context carries no session of this manager;
	// wrap the handler with Manager.Middleware.
	ErrNoMiddleware = errors.New("jwesession: no session in this context: wrap the handler with Manager.Middleware")
	// ErrNoSession: the operation needs a session and there is none.
	ErrNoSession = errors.New("jwesession: no session: sign in first")
	// ErrCommitted: the response headers were already written, so the
	// session can no longer be read for the first time or changed.
	ErrCommitted = errors.New("jwesession: response headers already written")
	// ErrTooLarge: a cookie, token or session is over its size limit.
	ErrTooLarge = errors.New("jwesession: too large")
	// ErrMalformed: the token is not in the exact form the library writes.
	ErrMalformed = errors.New("jwesession: malformed token")
	// ErrUnsupported: the token asks for an algorithm, encryption or
	// compression the library refuses.
	ErrUnsupported = errors.New("jwesession: unsupported token algorithm")
	// ErrUnknownKey: the token's kid, or the key its sign-in was first
	// sealed under, names no key of the keyring.
	ErrUnknownKey = errors.New("jwesession: unknown key id")
	// ErrRetiredKey: the token was sealed under a retired key, or its
	// sign-in was first sealed under one.
	ErrRetiredKey = errors.New("jwesession: retired key")
	// ErrDecrypt: the token failed authentication: tampered, or sealed
	// under another key or for another cookie name.
	ErrDecrypt = errors.New("jwesession: failed to decrypt token: authentication failed")
	// ErrDataDecode: the token is authentic, but its data does not decode
	// into the session data type (written by an older version of it: see
	// Migrator).
	ErrDataDecode = errors.New("jwesession: session data does not decode")
	// ErrExpired: the session's idle or absolute lifetime is over.
	ErrExpired = errors.New("jwesession: session expired")
	// ErrNotYetValid: the token's issue time or sign-in time lies in the
	// future beyond the clock leeway.
	ErrNotYetValid = errors.New("jwesession: token not yet valid")
	// ErrSignedOut: the session's sign-in was signed out in this browser
	// (its tombstone cookie names it): the token is from a request that
	// was still in flight at sign-out, and only a new sign-in follows.
	ErrSignedOut = errors.New("jwesession: session signed out")
	// ErrNoSecret: no secret was configured.
	ErrNoSecret = errors.New("jwesession: no secret configured")
	// ErrWeakSecret: the secret is too short, an obvious pattern, or starts
	// or ends with whitespace.
	ErrWeakSecret = errors.New("jwesession: weak secret")
	// ErrInvalidKeyring: the keys do not form a valid keyring.
	ErrInvalidKeyring = errors.New("jwesession: invalid keyring")
	// ErrInvalidConfig: a Config field is out of range.
	ErrInvalidConfig = errors.New("jwesession: invalid config")
)

// opError is an error of a session operation: its message names the
// operation once, and it wraps the cause for errors.Is.
type opError struct {
	msg string
	err error
}

func (e *opError) Error() string { return e.msg }
func (e *opError) Unwrap() error { return e.err }

// failed returns "jwesession: failed to <op> session: <cause><suffix>",
// without repeating the cause's own "jwesession:" prefix.
func failed(op string, err error, suffix string) error {
	return &opError{msg: "jwesession: failed to " + op + " session: " + strings.TrimPrefix(err.Error(), "jwesession: ") + suffix, err: err}
}

// errf wraps a sentinel with a detail.
func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
