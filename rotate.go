package jwesession

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/hkdf"
)

// MinSecretLen is the shortest secret, in bytes, that a Keyring accepts.
const MinSecretLen = 32

// minDistinctBytes is the fewest distinct byte values a secret must contain:
// fewer marks an obvious pattern ("aaaa…", "abababab…", a repeated word).
const minDistinctBytes = 12

// hkdfSalt is the HKDF salt of every key this version of the library derives.
const hkdfSalt = "jwesession v1"

// KeyState is the role of one key in a Keyring.
type KeyState int

const (
	// Primary keys seal new tokens and open existing ones. A Keyring has
	// exactly one.
	Primary KeyState = iota + 1
	// DecryptOnly keys open existing tokens but never seal. A token opened
	// with a decrypt-only key is read as it is (a read never re-keys: that
	// write would race a concurrent one) and is sealed under the primary
	// at its next real write, keeping the key its sign-in was first sealed
	// under as its origin.
	DecryptOnly
	// Retired keys are recognised by id and rejected with ErrRetiredKey, so
	// that a log tells "old key, sign in again" apart from a forgery.
	Retired
)

// String returns the state's name as used in JWESESSION_KEYS:
// "primary", "decrypt-only" or "retired".
func (s KeyState) String() string {
	switch s {
	case Primary:
		return "primary"
	case DecryptOnly:
		return "decrypt-only"
	case Retired:
		return "retired"
	}
	return fmt.Sprintf("KeyState(%d)", int(s))
}

// ParseKeyState parses "primary", "decrypt-only" or "retired".
func ParseKeyState(s string) (KeyState, error) {
	switch s {
	case "primary":
		return Primary, nil
	case "decrypt-only":
		return DecryptOnly, nil
	case "retired":
		return Retired, nil
	}
	// The word is not echoed: in a mistyped entry it may be the secret.
	return 0, fmt.Errorf("%w: unknown key state (want primary, decrypt-only or retired)", ErrInvalidKeyring)
}

// MarshalText returns the state's name ("primary", "decrypt-only",
// "retired"), so JSON and slog show the name, not a number. The zero
// KeyState (TokenInfo's "no key of that id") is the empty string; any
// other value is an error.
func (s KeyState) MarshalText() ([]byte, error) {
	switch s {
	case 0:
		return []byte{}, nil
	case Primary, DecryptOnly, Retired:
		return []byte(s.String()), nil
	}
	return nil, fmt.Errorf("jwesession: failed to marshal key state: %d is not one", int(s))
}

// UnmarshalText parses what MarshalText returns.
func (s *KeyState) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = 0
		return nil
	}
	st, err := ParseKeyState(string(b))
	if err != nil {
		return err
	}
	*s = st
	return nil
}

// Secret is a validated secret: at least MinSecretLen bytes that are not an
// obvious pattern. It prints as "[REDACTED]" in every format and in slog.
// The zero Secret is empty and is refused by NewKeyring.
//
// Its bytes live in a closure, which no reflection-based printer can look
// into: fmt on a struct that holds a Secret in an unexported field,
// testify's diffs, spew and go-cmp show a function value, never the bytes.
// Compare secrets through the Keyrings that hold them, not with
// reflect.DeepEqual (a function value is never deeply equal to another).
type Secret struct {
	b func() []byte
}

// NewSecret validates s and returns it as a Secret. The string's bytes are
// the secret, as with Auth.js's AUTH_SECRET: a base64 string is not decoded.
// Generate one with the key tool, `jwesession keygen` (from a checkout of
// this module: `go install ./cmd/jwesession`, or `go run ./cmd/jwesession
// keygen`), or take any 32 random bytes encoded as base64url.
func NewSecret(s string) (Secret, error) {
	if s == "" {
		return Secret{}, ErrNoSecret
	}
	if strings.TrimSpace(s) != s {
		// Pasted with a space ("k1:primary: S"), or read with a file's
		// last newline: silently another key, which logs everybody out.
		return Secret{}, fmt.Errorf("%w: the secret starts or ends with whitespace (a space, tab or newline); every byte of a secret counts, so remove it", ErrWeakSecret)
	}
	if len(s) < MinSecretLen {
		return Secret{}, fmt.Errorf("%w: the secret has %d bytes, at least %d are needed; generate one with 32 random bytes in base64url (the key tool prints one: `jwesession keygen`, or `go run ./cmd/jwesession keygen` in a checkout of jwesession)", ErrWeakSecret, len(s), MinSecretLen)
	}
	var seen [256]bool
	distinct := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			distinct++
		}
	}
	if distinct < minDistinctBytes {
		return Secret{}, fmt.Errorf("%w: the secret uses only %d distinct byte values, an obvious pattern; generate one with 32 random bytes in base64url (the key tool prints one: `jwesession keygen`, or `go run ./cmd/jwesession keygen` in a checkout of jwesession)", ErrWeakSecret, distinct)
	}
	b := []byte(s)
	return Secret{b: func() []byte { return b }}, nil
}

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (Secret) String() string { return redacted }

// GoString returns "jwesession.Secret([REDACTED])".
func (Secret) GoString() string { return "jwesession.Secret(" + redacted + ")" }

// Format prints "[REDACTED]" whatever the verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue keeps the secret out of log/slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps the secret out of encoded output (JSON, YAML, …).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

func (s Secret) bytes() []byte {
	if s.b == nil {
		return nil
	}
	return s.b()
}

// Key is one versioned secret in a Keyring. Print it freely: its Secret
// prints redacted.
type Key struct {
	// ID is the key id written as the token's "kid" header: 1 to 32 of
	// A-Za-z0-9._- . When empty, NewKeyring derives one from the secret
	// (see DefaultKeyID), so that a single secret moved into a keyring
	// keeps the id it had and logs nobody out.
	ID string
	// State is the key's role.
	State KeyState
	// Secret is the key's secret.
	Secret Secret
}

// Keyring is an ordered, validated set of keys, newest first, with exactly
// one primary, and optionally the time its primary's promotion reached the
// last instance of the fleet (PromotedAt). A Keyring is immutable; build a
// new one to rotate, and hand it to Manager.SetKeyring. It prints key ids
// and states, never secrets.
type Keyring struct {
	keys       []Key
	promotedAt time.Time
}

// DefaultKeyID returns the id a key gets when none is given: 16 base64url
// characters from HKDF-SHA256 of the secret (salt "jwesession v1", info
// "kid"). It is stable, reveals nothing about the secret, and does not
// depend on the cookie name.
func DefaultKeyID(s Secret) string {
	var id [12]byte
	r := hkdf.New(sha256.New, s.bytes(), []byte(hkdfSalt), []byte("kid"))
	if _, err := io.ReadFull(r, id[:]); err != nil {
		panic("jwesession: hkdf: " + err.Error()) // cannot happen: 12 bytes is far below HKDF's limit
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// validKeyID reports whether id is 1 to 32 of A-Za-z0-9._- .
func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NewKeyring validates keys (newest first) and returns them as a Keyring.
// It refuses an empty list, a missing or weak secret, an invalid or
// duplicate id, the same secret twice, an unknown state, and anything but
// exactly one primary key.
func NewKeyring(keys ...Key) (*Keyring, error) {
	return newKeyring(keys, func(i int) string { return "key " + strconv.Itoa(i+1) })
}

// newKeyring is NewKeyring with pos naming the i-th key in errors (a key
// position, an entry, a line of a file).
func newKeyring(keys []Key, pos func(int) string) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: failed to build keyring: no keys; set JWESESSION_SECRET or JWESESSION_KEYS", ErrNoSecret)
	}
	out := make([]Key, len(keys))
	ids := make(map[string]int, len(keys))
	secrets := make(map[string]int, len(keys))
	var primaries []string
	for i, k := range keys {
		b := k.Secret.bytes()
		if b == nil {
			return nil, fmt.Errorf("%w: failed to build keyring: %s has no secret (build it with NewSecret)", ErrNoSecret, pos(i))
		}
		if k.ID == "" {
			k.ID = DefaultKeyID(k.Secret)
		}
		if !validKeyID(k.ID) {
			return nil, fmt.Errorf("%w: failed to build keyring: %s: id must be 1 to 32 of A-Za-z0-9._-", ErrInvalidKeyring, pos(i))
		}
		if j, dup := ids[k.ID]; dup {
			return nil, fmt.Errorf("%w: failed to build keyring: %s and %s have the same id %q", ErrInvalidKeyring, pos(j), pos(i), k.ID)
		}
		if j, dup := secrets[string(b)]; dup {
			return nil, fmt.Errorf("%w: failed to build keyring: %s and %s have the same secret", ErrInvalidKeyring, pos(j), pos(i))
		}
		switch k.State {
		case Primary:
			primaries = append(primaries, pos(i))
		case DecryptOnly, Retired:
		default:
			return nil, fmt.Errorf("%w: failed to build keyring: %s (id %q) has no valid state (want Primary, DecryptOnly or Retired)", ErrInvalidKeyring, pos(i), k.ID)
		}
		ids[k.ID] = i
		secrets[string(b)] = i
		out[i] = k
	}
	switch len(primaries) {
	case 0:
		return nil, fmt.Errorf("%w: failed to build keyring: 0 primary keys, exactly one is needed", ErrInvalidKeyring)
	case 1:
	default:
		return nil, fmt.Errorf("%w: failed to build keyring: %d primary keys (%s), exactly one is needed", ErrInvalidKeyring, len(primaries), strings.Join(primaries, ", "))
	}
	return &Keyring{keys: out}, nil
}

// KeyringFromSecret returns a keyring of one primary key with the id
// DefaultKeyID gives it.
func KeyringFromSecret(secret string) (*Keyring, error) {
	s, err := NewSecret(secret)
	if err != nil {
		return nil, err
	}
	return NewKeyring(Key{State: Primary, Secret: s})
}

// Keys returns a copy of the keys, newest first.
func (kr *Keyring) Keys() []Key {
	return append([]Key(nil), kr.keys...)
}

// Primary returns the primary key.
func (kr *Keyring) Primary() Key {
	for _, k := range kr.keys {
		if k.State == Primary {
			return k
		}
	}
	panic("jwesession: keyring without primary") // NewKeyring guarantees one
}

// PromotedAt returns when the operator confirmed that the last instance of
// the fleet loaded the promotion of the current primary (the keys file's
// "promoted:" line), or the zero time when the keyring does not say.
func (kr *Keyring) PromotedAt() time.Time { return kr.promotedAt }

// WithPromotedAt returns a copy of kr whose PromotedAt is t (the zero time
// removes it), for keyrings built in Go rather than read from a keys file.
func (kr *Keyring) WithPromotedAt(t time.Time) *Keyring {
	return &Keyring{keys: kr.Keys(), promotedAt: t}
}

// SafeToRetireAt returns the time from which the keyring's previous primary
// (the newest decrypt-only key older than the primary) can be retired
// without signing anybody out, for sessions whose absolute lifetime is
// absolute with clock leeway leeway: PromotedAt + absolute + leeway, rounded
// up to the next whole second (token times are whole seconds). Every
// sign-in first sealed under the previous primary started before
// PromotedAt, and a token is refused once its sign-in's origin key is
// retired, whatever key it is under now, so from then on none of them can
// still be valid: no read re-keys a session, so the absolute lifetime is
// what bounds them. ok is false when the keyring records no promotion
// time or has no decrypt-only key older than the primary.
// Manager.SafeToRetireAt calls it with the manager's lifetimes.
//
// The time is only as good as PromotedAt, which must be when the LAST
// instance loaded the promotion: a user who signs in on a lagging instance
// gets a sign-in under the old key. `jwesession rotate promote` writes no
// promotion time; `jwesession rotate confirm`, run once every instance has
// loaded the promoted file, records it.
func (kr *Keyring) SafeToRetireAt(absolute, leeway time.Duration) (time.Time, bool) {
	if kr.promotedAt.IsZero() || !kr.hasPrevious() {
		return time.Time{}, false
	}
	// A token is valid while now <= abs + absolute + leeway, all in whole
	// seconds (see Session.load), and abs <= PromotedAt.
	sec := kr.promotedAt.Unix() + int64(absolute/time.Second) + int64(leeway/time.Second) + 1
	return time.Unix(sec, 0).In(kr.promotedAt.Location()), true
}

// hasPrevious reports whether a decrypt-only key is listed after the
// primary.
func (kr *Keyring) hasPrevious() bool {
	seen := false
	for _, k := range kr.keys {
		switch {
		case k.State == Primary:
			seen = true
		case seen && k.State == DecryptOnly:
			return true
		}
	}
	return false
}

// equal reports whether kr and o hold the same keys (ids, states, secrets)
// in the same order and the same promotion time.
func (kr *Keyring) equal(o *Keyring) bool {
	if kr == nil || o == nil || len(kr.keys) != len(o.keys) || !kr.promotedAt.Equal(o.promotedAt) {
		return false
	}
	for i, k := range kr.keys {
		ok := o.keys[i]
		if k.ID != ok.ID || k.State != ok.State || !bytes.Equal(k.Secret.bytes(), ok.Secret.bytes()) {
			return false
		}
	}
	return true
}

// String lists the key ids and states, newest first, and the promotion
// time when there is one, e.g. "Keyring[k2:primary k1:decrypt-only]" or
// "Keyring[k2:primary k1:decrypt-only; promoted 2026-11-23T12:00:00Z]".
func (kr *Keyring) String() string {
	var b strings.Builder
	b.WriteString("Keyring[")
	for i, k := range kr.keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k.ID)
		b.WriteByte(':')
		b.WriteString(k.State.String())
	}
	if !kr.promotedAt.IsZero() {
		b.WriteString("; promoted ")
		b.WriteString(kr.promotedAt.Format(time.RFC3339))
	}
	b.WriteByte(']')
	return b.String()
}

// GoString is String: a keyring never prints its secrets.
func (kr *Keyring) GoString() string { return "jwesession." + kr.String() }

// LogValue is String, for log/slog.
func (kr *Keyring) LogValue() slog.Value { return slog.StringValue(kr.String()) }

// Format prints String whatever the verb, so %+v and %#v show no secret.
func (kr *Keyring) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, kr.String()) }
