package jwesession

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// counter counts events of one kind: one atomic add per event, no lock.
// The events it counts are rare next to requests (a refusal, a write):
// what every read counts is a spreadCounter.
type counter struct{ n atomic.Uint64 }

func (c *counter) inc()         { c.n.Add(1) }
func (c *counter) load() uint64 { return c.n.Load() }

// counters are a manager's event counters (the per-key ones live with the
// keys, see keyCounters). Each is touched only on its own event, never on
// the hot path of a request that reads a valid session.
type counters struct {
	rejected                     [numRejectReasons]counter
	written, deleted, refreshed  counter
	lateChanges, lateReads, lost counter
}

// RejectReason is why a request's session cookie was refused: the request
// is served as having no session, and Session.Err returns the error. It
// prints, and marshals as text (JSON, slog), as its name.
type RejectReason uint8

// The reasons, with the errors they stand for (matched with errors.Is).
const (
	// RejectMalformed: not in the form the library writes (ErrMalformed),
	// an algorithm or compression it refuses (ErrUnsupported), or a
	// cookie over the size limits (ErrTooLarge).
	RejectMalformed RejectReason = iota + 1
	// RejectDecrypt: failed authentication (ErrDecrypt): tampered, or
	// sealed under another secret or for another cookie name.
	RejectDecrypt
	// RejectUnknownKey: its key, or the key its sign-in was first sealed
	// under, is not in the keyring (ErrUnknownKey).
	RejectUnknownKey
	// RejectRetiredKey: its key, or the key its sign-in was first sealed
	// under, is retired (ErrRetiredKey).
	RejectRetiredKey
	// RejectExpired: past its idle or absolute lifetime (ErrExpired).
	RejectExpired
	// RejectNotYetValid: issued or signed in in the future beyond the
	// clock leeway (ErrNotYetValid): a clock out of step.
	RejectNotYetValid
	// RejectSignedOut: its sign-in was signed out in this browser
	// (ErrSignedOut): a response of a request in flight at sign-out.
	RejectSignedOut
	// RejectDataDecode: the token is valid but its data does not decode
	// into the manager's type (ErrDataDecode): the type changed in a
	// deploy.
	RejectDataDecode
	// RejectRevoked: revoked in the revocation store (ErrRevoked).
	RejectRevoked
	// RejectRevocationUnavailable: the revocation store could not answer
	// and the failure policy is fail closed (ErrRevocationUnavailable):
	// served as anonymous for that request, the cookie left alone.
	RejectRevocationUnavailable
	numRejectReasons
)

// name returns the reason's name, or "" for a value that is no reason. A
// new reason gets a constant above, a name here and a case in reasonOf.
func (r RejectReason) name() string {
	switch r {
	case RejectMalformed:
		return "malformed"
	case RejectDecrypt:
		return "decrypt"
	case RejectUnknownKey:
		return "unknown_key"
	case RejectRetiredKey:
		return "retired_key"
	case RejectExpired:
		return "expired"
	case RejectNotYetValid:
		return "not_yet_valid"
	case RejectSignedOut:
		return "signed_out"
	case RejectDataDecode:
		return "data_decode"
	case RejectRevoked:
		return "revoked"
	case RejectRevocationUnavailable:
		return "revocation_unavailable"
	}
	return ""
}

// reasonOf classifies the error of a refused session cookie. Revocation
// and any other check added to the load goes here with its reason.
func reasonOf(err error) RejectReason {
	switch {
	case errors.Is(err, ErrRevoked):
		return RejectRevoked
	case errors.Is(err, ErrRevocationUnavailable):
		return RejectRevocationUnavailable
	case errors.Is(err, ErrDataDecode):
		return RejectDataDecode
	case errors.Is(err, ErrSignedOut):
		return RejectSignedOut
	case errors.Is(err, ErrRetiredKey):
		return RejectRetiredKey
	case errors.Is(err, ErrUnknownKey):
		return RejectUnknownKey
	case errors.Is(err, ErrDecrypt):
		return RejectDecrypt
	case errors.Is(err, ErrExpired):
		return RejectExpired
	case errors.Is(err, ErrNotYetValid):
		return RejectNotYetValid
	}
	return RejectMalformed // ErrMalformed, ErrUnsupported, ErrTooLarge
}

// String returns the reason's name: "malformed", "decrypt",
// "unknown_key", "retired_key", "expired", "not_yet_valid", "signed_out",
// "data_decode", "revoked" or "revocation_unavailable".
func (r RejectReason) String() string {
	if n := r.name(); n != "" {
		return n
	}
	return fmt.Sprintf("RejectReason(%d)", uint8(r))
}

// MarshalText returns the reason's name; a value that is no reason is an
// error.
func (r RejectReason) MarshalText() ([]byte, error) {
	n := r.name()
	if n == "" {
		return nil, fmt.Errorf("jwesession: failed to marshal reject reason: %d is not one", uint8(r))
	}
	return []byte(n), nil
}

// UnmarshalText parses a reason's name.
func (r *RejectReason) UnmarshalText(b []byte) error {
	for v := RejectMalformed; v < numRejectReasons; v++ {
		if v.name() == string(b) {
			*r = v
			return nil
		}
	}
	return errors.New("jwesession: failed to parse reject reason: unknown name")
}

// Metrics are a manager's counters since it was created, in this process
// (they start at zero on restart): what Manager.Metrics returns and
// Manager.MetricsVar publishes.
type Metrics struct {
	// Rejected counts requests whose session cookie was refused, by
	// reason; every reason is present. A read does not delete a refused
	// cookie, so one browser counts once per request until its next write.
	Rejected map[RejectReason]uint64
	// SessionsWritten counts session tokens written: sign-ins, changed
	// data, Renew and Touch.
	SessionsWritten uint64
	// SessionsDeleted counts sign-outs (Clear) committed.
	SessionsDeleted uint64
	// Refreshes counts companion cookies written by the sliding refresh.
	Refreshes uint64
	// ChangesAfterCommit counts session changes refused with
	// ErrCommitted because the response headers had been sent (each is
	// logged at Error).
	ChangesAfterCommit uint64
	// ReadsAfterCommit counts first reads of a session after the response
	// headers had been sent, served as no session (each is logged at
	// Warn).
	ReadsAfterCommit uint64
	// LostCommits counts responses that went out through another writer
	// than the middleware's before the session was committed, so that its
	// cookie and cache headers were lost; see Manager.Middleware for when
	// that can be seen (each is logged at Error).
	LostCommits uint64
	// Keys are the per-key counters of the current keyring, as Stats
	// returns them.
	Keys []KeyStats
}

// Metrics returns the manager's counters (see Metrics). Reading them costs
// one atomic load per counter and nothing on the request path.
func (m *Manager[T]) Metrics() Metrics {
	c := &m.core.count
	out := Metrics{
		Rejected:           make(map[RejectReason]uint64, numRejectReasons-1),
		SessionsWritten:    c.written.load(),
		SessionsDeleted:    c.deleted.load(),
		Refreshes:          c.refreshed.load(),
		ChangesAfterCommit: c.lateChanges.load(),
		ReadsAfterCommit:   c.lateReads.load(),
		LostCommits:        c.lost.load(),
		Keys:               m.Stats(),
	}
	for r := RejectMalformed; r < numRejectReasons; r++ {
		out.Rejected[r] = c.rejected[r].load()
	}
	return out
}

// MetricsVar is a manager's Metrics as an expvar.Var (its String is the
// JSON of Metrics, read afresh each time). Publish it under a name of your
// choice, once: expvar.Publish panics on a name already taken.
//
//	expvar.Publish("sessions", m.MetricsVar())
//
// The library does not import expvar itself: importing it serves
// /debug/vars on http.DefaultServeMux.
type MetricsVar func() Metrics

// String returns the metrics as a JSON object.
func (f MetricsVar) String() string {
	b, err := json.Marshal(f())
	if err != nil { // cannot happen: every key and state marshals
		return "null"
	}
	return string(b)
}

// MetricsVar returns the manager's Metrics as an expvar.Var.
func (m *Manager[T]) MetricsVar() MetricsVar { return m.Metrics }

// refused counts a request's refused session cookie under its reason,
// logs it at Debug (never per request at Info: a bad cookie is the
// client's, and is answered as no session), and returns err.
func (c *managerCore) refused(ctx context.Context, r RejectReason, err error) error {
	c.count.rejected[r].inc()
	c.cfg.Logger.DebugContext(ctx, "jwesession: session cookie rejected; served as no session", "reason", r, "err", err)
	return err
}

// event counts an event and logs it through the request's context.
func (c *managerCore) event(ctx context.Context, n *counter, level slog.Level, msg string, args ...any) {
	n.inc()
	c.cfg.Logger.Log(ctx, level, msg, args...)
}
