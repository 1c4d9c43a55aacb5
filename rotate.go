package jwesession

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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
	// with a decrypt-only key that is older than the primary (listed after
	// it) is re-sealed under the primary on its next read.
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

// secretBytes holds a secret's bytes. It is unexported and reached through
// two pointers: fmt follows at most one pointer of a value it cannot call
// methods on (an unexported field), so printing any struct that holds a
// Secret shows at most an address, never the bytes.
type secretBytes struct {
	b *[]byte
}

// Secret is a validated secret: at least MinSecretLen bytes that are not an
// obvious pattern. It prints as "[REDACTED]" in every format and in slog.
// The zero Secret is empty and is refused by NewKeyring.
type Secret struct {
	p *secretBytes
}

// NewSecret validates s and returns it as a Secret. The string's bytes are
// the secret, as with Auth.js's AUTH_SECRET: a base64 string is not decoded.
// Generate one with `go run github.com/jwesession/jwesession/cmd/jwesession keygen`
// or any 32 random bytes encoded as base64url.
func NewSecret(s string) (Secret, error) {
	if s == "" {
		return Secret{}, ErrNoSecret
	}
	if len(s) < MinSecretLen {
		return Secret{}, fmt.Errorf("%w: the secret has %d bytes, at least %d are needed; generate one with 32 random bytes in base64url (`go run github.com/jwesession/jwesession/cmd/jwesession keygen` prints one)", ErrWeakSecret, len(s), MinSecretLen)
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
		return Secret{}, fmt.Errorf("%w: the secret uses only %d distinct byte values, an obvious pattern; generate one with 32 random bytes in base64url (`go run github.com/jwesession/jwesession/cmd/jwesession keygen` prints one)", ErrWeakSecret, distinct)
	}
	b := []byte(s)
	return Secret{p: &secretBytes{b: &b}}, nil
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
	if s.p == nil || s.p.b == nil {
		return nil
	}
	return *s.p.b
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

// ParseKeys parses the JWESESSION_KEYS syntax: comma-separated entries
// ID:STATE:SECRET, newest first. ID is 1 to 32 of A-Za-z0-9._- or "-" for
// the id DefaultKeyID gives that secret; STATE is primary, decrypt-only or
// retired; SECRET is the rest of the entry. Errors name the entry by
// position and never contain a secret.
func ParseKeys(s string) (*Keyring, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: failed to parse keys: the list is empty", ErrNoSecret)
	}
	var keys []Key
	for i, entry := range strings.Split(s, ",") {
		k, err := parseKeyEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("failed to parse keys: entry %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return newKeyring(keys, func(i int) string { return "entry " + strconv.Itoa(i+1) })
}

// parseKeyEntry parses one ID:STATE:SECRET entry.
func parseKeyEntry(entry string) (Key, error) {
	id, rest, ok1 := strings.Cut(entry, ":")
	state, secret, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return Key{}, fmt.Errorf("%w: want ID:STATE:SECRET", ErrInvalidKeyring)
	}
	id = strings.TrimSpace(id)
	if id == "-" {
		id = ""
	} else if !validKeyID(id) {
		return Key{}, fmt.Errorf("%w: the id must be 1 to 32 of A-Za-z0-9._- or \"-\"", ErrInvalidKeyring)
	}
	st, err := ParseKeyState(strings.TrimSpace(state))
	if err != nil {
		return Key{}, err
	}
	sec, err := NewSecret(secret)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: id, State: st, Secret: sec}, nil
}

// ParseKeysFile parses a keyring file: the entries of JWESESSION_KEYS
// (ID:STATE:SECRET) one per line, newest first; blank lines and lines
// starting with # are ignored; a line ending in CR LF counts without its CR.
// At most one line
//
//	promoted: 2026-11-23T12:00:00Z
//
// (an RFC 3339 time) records when the operator confirmed that the last
// instance of the fleet loaded the current promotion; it becomes the
// keyring's PromotedAt, from which Manager.SafeToRetireAt says when the
// previous primary may be retired. (A key whose id is "promoted" is still
// written promoted:STATE:SECRET: a line is the promotion time only when
// what follows "promoted:" is not a key state and a colon.)
//
// Errors name the line and never contain a secret.
func ParseKeysFile(content string) (*Keyring, error) {
	var keys []Key
	var lines []int
	var promotedAt time.Time
	promotedLine := 0
	for n, line := range strings.Split(content, "\n") {
		line = strings.TrimRight(line, "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if v, ok := cutPromoted(line); ok {
			if promotedLine != 0 {
				return nil, fmt.Errorf("failed to parse keys file: line %d: %w: a second promoted line (the first is line %d)", n+1, ErrInvalidKeyring, promotedLine)
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				// The value is not echoed: a mistyped key line lands here too.
				return nil, fmt.Errorf("failed to parse keys file: line %d: %w: want \"promoted: TIME\" with an RFC 3339 time such as 2026-11-23T12:00:00Z, or a key entry ID:STATE:SECRET", n+1, ErrInvalidKeyring)
			}
			promotedAt, promotedLine = t, n+1
			continue
		}
		k, err := parseKeyEntry(line)
		if err != nil {
			return nil, fmt.Errorf("failed to parse keys file: line %d: %w", n+1, err)
		}
		keys = append(keys, k)
		lines = append(lines, n+1)
	}
	kr, err := newKeyring(keys, func(i int) string { return "line " + strconv.Itoa(lines[i]) })
	if err != nil {
		return nil, err
	}
	kr.promotedAt = promotedAt
	return kr, nil
}

// cutPromoted reports whether a keys-file line is the "promoted: TIME"
// line, and returns TIME with spaces trimmed. A line promoted:STATE:SECRET
// is a key entry whose id is "promoted".
func cutPromoted(line string) (string, bool) {
	id, rest, ok := strings.Cut(line, ":")
	if !ok || strings.TrimSpace(id) != "promoted" {
		return "", false
	}
	if state, _, ok := strings.Cut(rest, ":"); ok {
		if _, err := ParseKeyState(strings.TrimSpace(state)); err == nil {
			return "", false
		}
	}
	return strings.TrimSpace(rest), true
}

// KeyringFromEnv builds a keyring from JWESESSION_KEYS (see ParseKeys) or
// JWESESSION_SECRET (one secret, see KeyringFromSecret). Both set is an
// error; neither is ErrNoSecret.
func KeyringFromEnv() (*Keyring, error) {
	return KeyringFromLookup(os.LookupEnv)
}

// KeyringFromLookup is KeyringFromEnv with the environment read through
// lookup (os.LookupEnv's signature), for tests and other config sources.
func KeyringFromLookup(lookup func(string) (string, bool)) (*Keyring, error) {
	keys, hasKeys := lookup("JWESESSION_KEYS")
	secret, hasSecret := lookup("JWESESSION_SECRET")
	switch {
	case hasKeys && hasSecret:
		return nil, fmt.Errorf("%w: both JWESESSION_KEYS and JWESESSION_SECRET are set; keep one", ErrInvalidKeyring)
	case hasKeys:
		return ParseKeys(keys)
	case hasSecret:
		kr, err := KeyringFromSecret(secret)
		if err != nil {
			return nil, fmt.Errorf("JWESESSION_SECRET: %w", err)
		}
		return kr, nil
	}
	return nil, fmt.Errorf("%w: set JWESESSION_SECRET or JWESESSION_KEYS", ErrNoSecret)
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
// up to the next whole second (token times are whole seconds). Every token
// under the previous primary was issued for a sign-in before PromotedAt, so
// from then on none can still be valid. ok is false when the keyring
// records no promotion time or has no decrypt-only key older than the
// primary. Manager.SafeToRetireAt calls it with the manager's lifetimes.
//
// The time is only as good as PromotedAt: written when the promotion was
// made rather than when it reached the last instance (as `jwesession rotate
// promote` does), it is still safe if the rollout took less than the
// absolute lifetime minus the idle timeout, since a read on a promoted
// instance re-keys a session and one not read for an idle timeout has
// expired.
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

// KeyStats are one key's counters since the manager started. They are per
// process and per manager, and reset on restart: evidence of a rotation's
// progress, not proof (another instance may still be sealing under a key
// this one no longer uses). A key kept across a reload (same id and
// secret) keeps its counters, whatever its new state.
type KeyStats struct {
	ID      string
	State   KeyState
	Sealed  uint64 // tokens sealed under this key
	Opened  uint64 // tokens opened with this key
	Rekeyed uint64 // tokens opened with this key and re-sealed under the primary
	Retired uint64 // tokens rejected because this key is retired
}

// keyCounters are a key's counters; shared by every derived ring of one
// manager, so they survive reloads that keep the key.
type keyCounters struct {
	sealed                   sealCounter
	opened, rekeyed, retired atomic.Uint64
}

// sealWarnDefault is the per-process seal count under one key past which
// the manager logs a warning: 2^28, a sixteenth of the 2^32 seals NIST SP
// 800-38D (section 8.3) allows one AES-GCM key with random 96-bit nonces,
// across every process of the fleet that shares the key.
const sealWarnDefault = 1 << 28

// sealCounter counts the tokens sealed under a key. Its Add checks the
// count it returns against the manager's warning threshold: one comparison
// at seal time, nothing else on the hot path.
type sealCounter struct {
	n    atomic.Uint64
	core *managerCore // the manager to warn; nil for rings made outside one
	id   string       // the key's id, for the warning
}

// Add adds d and returns the new count; the seal that crosses the
// manager's threshold logs the warning, once per key and process.
func (c *sealCounter) Add(d uint64) uint64 {
	n := c.n.Add(d)
	if c.core != nil {
		if at := c.core.sealWarnAt; n >= at && n-d < at {
			c.core.cfg.Logger.Warn("jwesession: this process has sealed many tokens under one key; rotate it soon: AES-GCM with random nonces allows at most 2^32 seals per key across the whole fleet (NIST SP 800-38D), and this count is per process",
				"key", c.id, "sealed", n)
		}
	}
	return n
}

// Load returns the count.
func (c *sealCounter) Load() uint64 { return c.n.Load() }

// derivedKey is a key ready for use with one cookie name.
type derivedKey struct {
	id     string
	state  KeyState
	index  int    // position in the keyring, 0 = newest
	header string // the exact base64url protected-header segment of its tokens
	aad    []byte // header as bytes: the AES-GCM additional data
	raw    []byte // the AES-256 key (go-jose's DIRECT key)
	aead   cipher.AEAD
	count  *keyCounters
}

// ring is a keyring derived for one manager's cookie name: what one request
// uses from start to end.
type ring struct {
	src      *Keyring
	keys     []*derivedKey
	byHeader map[string]*derivedKey // lookup by exact protected-header segment
	byID     map[string]*derivedKey
	primary  *derivedKey
}

// deriveKey returns HKDF-SHA256(secret, "jwesession v1", "A256GCM "+base).
func deriveKey(secret []byte, base string) []byte {
	key := make([]byte, 32)
	r := hkdf.New(sha256.New, secret, []byte(hkdfSalt), []byte("A256GCM "+base))
	if _, err := io.ReadFull(r, key); err != nil {
		panic("jwesession: hkdf: " + err.Error()) // cannot happen for 32 bytes
	}
	return key
}

// deriveRing derives every key of kr for the cookie base name, once.
// counters are reused by key id from prev, if any.
func deriveRing(kr *Keyring, base string, prev *ring) *ring {
	r := &ring{
		src:      kr,
		byHeader: make(map[string]*derivedKey, len(kr.keys)),
		byID:     make(map[string]*derivedKey, len(kr.keys)),
	}
	for i, k := range kr.keys {
		raw := deriveKey(k.Secret.bytes(), base)
		block, err := aes.NewCipher(raw)
		if err != nil {
			panic("jwesession: " + err.Error()) // cannot happen: 32-byte key
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			panic("jwesession: " + err.Error()) // cannot happen: standard nonce and tag size
		}
		cnt := &keyCounters{}
		if prev != nil {
			if old, ok := prev.byID[k.ID]; ok && string(old.raw) == string(raw) {
				cnt = old.count
			}
		}
		dk := &derivedKey{
			id:     k.ID,
			state:  k.State,
			index:  i,
			header: headerSegment(k.ID),
			raw:    raw,
			aead:   aead,
			count:  cnt,
		}
		dk.aad = []byte(dk.header)
		r.keys = append(r.keys, dk)
		r.byHeader[dk.header] = dk
		r.byID[dk.id] = dk
		if k.State == Primary {
			r.primary = dk
		}
	}
	return r
}

// derive derives kr for the manager's cookie name, keeping the counters of
// the keys the current ring shares with it, and hooks the counters of new
// keys to the manager's seal warning.
func (c *managerCore) derive(kr *Keyring) *ring {
	r := deriveRing(kr, c.cfg.CookieName, c.ring.Load())
	for _, dk := range r.keys {
		if dk.count.sealed.core == nil { // new: not yet shared with any reader
			dk.count.sealed.core, dk.count.sealed.id = c, dk.id
		}
	}
	return r
}

// swap makes kr the manager's keyring. Unless kr equals the current one,
// it logs the change at Info (key ids and states, never secrets), with
// attrs, and warns about a key retired before its safe time.
func (c *managerCore) swap(kr *Keyring, attrs ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.ring.Load()
	c.ring.Store(c.derive(kr))
	if old != nil && old.src.equal(kr) {
		return // the same keys: nothing to report
	}
	log := c.cfg.Logger
	attrs = append(attrs, "keyring", kr, "primary", kr.Primary().ID)
	if at, ok := kr.SafeToRetireAt(c.cfg.AbsoluteTimeout, c.cfg.Leeway); ok {
		attrs = append(attrs, "safe_to_retire_at", at.Format(time.RFC3339))
	}
	log.Info("jwesession: keyring replaced", attrs...)
	if old == nil {
		return
	}
	// A key that was decrypt-only and older than the primary, now retired
	// before the time the old keyring said was safe: sessions still under
	// it end now. Right for a leaked key, a mistake otherwise.
	at, ok := old.src.SafeToRetireAt(c.cfg.AbsoluteTimeout, c.cfg.Leeway)
	if !ok || !c.cfg.Now().Before(at) {
		return
	}
	for _, k := range kr.keys {
		if k.State != Retired {
			continue
		}
		if dk, was := old.byID[k.ID]; was && dk.state == DecryptOnly && dk.index > old.primary.index {
			log.Warn("jwesession: key retired before it was safe to retire: sessions still under it are signed out (right for a leaked key)",
				"key", k.ID, "safe_to_retire_at", at.Format(time.RFC3339))
		}
	}
}

// SafeToRetireAt returns the time from which the previous primary of the
// manager's keyring (the newest decrypt-only key older than the primary)
// can be retired without signing anybody out: the keyring's PromotedAt plus
// Config.AbsoluteTimeout plus Config.Leeway, rounded up to a whole second
// (see Keyring.SafeToRetireAt). ok is false when the keyring records no
// promotion time (a keys file without a "promoted:" line) or has no such
// key. Retiring earlier signs out the sessions still under that key.
func (m *Manager[T]) SafeToRetireAt() (time.Time, bool) {
	return m.Keyring().SafeToRetireAt(m.core.cfg.AbsoluteTimeout, m.core.cfg.Leeway)
}

// ReloadKeysFile reads the keys file at path (see ParseKeysFile), following
// symlinks, and makes it the manager's keyring as SetKeyring does. A file
// that cannot be read or parsed is refused: the current keyring keeps
// serving, and the error is logged at Error and returned (it names the
// line, never a secret). A file that holds the current keyring changes
// nothing and logs nothing.
func (m *Manager[T]) ReloadKeysFile(path string) error {
	return m.core.reloadKeysFile(path)
}

func (c *managerCore) reloadKeysFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return c.refuse(path, err)
	}
	return c.loadKeysFile(path, b)
}

// loadKeysFile parses the content of the keys file at path and swaps it in.
func (c *managerCore) loadKeysFile(path string, content []byte) error {
	kr, err := ParseKeysFile(string(content))
	if err != nil {
		return c.refuse(path, err)
	}
	c.swap(kr, "path", path)
	return nil
}

// refuse logs and returns the error of a keys file that was not loaded.
func (c *managerCore) refuse(path string, err error) error {
	c.cfg.Logger.Error("jwesession: keys file refused; the current keyring keeps serving", "path", path, "err", err)
	return fmt.Errorf("jwesession: failed to reload keys file: %w", err)
}

// defaultWatchInterval is how often WatchKeysFile reads the file when
// given no interval.
const defaultWatchInterval = 2 * time.Second

// WatchKeysFile keeps the manager's keyring in step with the keys file at
// path until ctx ends: it loads the file at once, again on every SIGHUP,
// and whenever its content changes, read every interval (2 seconds when
// interval is 0). It reads the path afresh each time, following symlinks,
// and compares contents, not inodes or modification times, so it sees a file
// replaced by rename and a Kubernetes secret or config map volume whose
// "..data" symlink is swapped. A file that cannot be read or parsed is
// refused as with ReloadKeysFile and the current keyring keeps serving; the
// same failure is logged once, not on every read. Requests in flight finish
// on the keyring they started with.
//
// Run it in its own goroutine. It returns ctx's error when ctx ends, and
// stops receiving SIGHUP then; it returns at once with an error when
// interval is negative. While it runs, SIGHUP no longer ends the process.
func (m *Manager[T]) WatchKeysFile(ctx context.Context, path string, interval time.Duration) error {
	if interval < 0 {
		return errf(ErrInvalidConfig, "WatchKeysFile: the interval is negative")
	}
	if interval == 0 {
		interval = defaultWatchInterval
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	w := &fileWatch{c: m.core, path: path}
	w.check(true)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-hup:
			w.check(true)
		case <-tick.C:
			w.check(false)
		}
	}
}

// fileWatch is WatchKeysFile's state: what it saw last.
type fileWatch struct {
	c       *managerCore
	path    string
	sum     [sha256.Size]byte // of the content last parsed
	read    bool              // sum is set
	readErr string            // the read error last logged, "" after a read
}

// check reads the file and loads it if its content changed since the last
// check, or always when force (start-up, SIGHUP).
func (w *fileWatch) check(force bool) {
	b, err := os.ReadFile(w.path)
	if err != nil {
		if msg := err.Error(); force || msg != w.readErr {
			w.readErr = msg
			_ = w.c.refuse(w.path, err)
		}
		return
	}
	w.readErr = ""
	sum := sha256.Sum256(b)
	if !force && w.read && sum == w.sum {
		return
	}
	w.sum, w.read = sum, true
	_ = w.c.loadKeysFile(w.path, b)
}

// TokenInfo is what Manager.Inspect finds in a token. Fields that could
// not be read are zero.
type TokenInfo struct {
	// KeyID is the token's kid, read from its protected header.
	KeyID string
	// KeyState is that key's state in the manager's keyring; 0 when the
	// keyring has no key of that id.
	KeyState KeyState
	// SessionID, IssuedAt, ExpiresAt (idle expiry) and SignedInAt (the
	// start of the absolute lifetime) are the token's claims; AbsoluteEnd
	// is SignedInAt plus Config.AbsoluteTimeout. They are set whenever the
	// token decrypts, also when it is rejected for its key's state or its
	// times.
	SessionID                                    string
	IssuedAt, ExpiresAt, SignedInAt, AbsoluteEnd time.Time
	// Data is the session data as the token holds it: JSON.
	Data json.RawMessage
	// Rekey reports that a read would re-seal the token under the primary
	// (it is under a decrypt-only key older than the primary).
	Rekey bool
}

// Inspect opens a session token (a cookie's value; chunks joined) as the
// manager's middleware would at this moment, and returns what it holds and
// the error a request carrying it would get (ErrRetiredKey, ErrExpired,
// ErrDecrypt, …, matched with errors.Is), or nil. It is the tool behind
// `jwesession inspect`, for answering "whose session is this cookie?";
// most applications will not need it.
//
// Inspect changes nothing and counts nothing in Stats. Unlike a request, it
// also decrypts a token under a retired key, so TokenInfo shows whose
// session a retired token held (the error is still ErrRetiredKey).
func (m *Manager[T]) Inspect(token string) (TokenInfo, error) {
	c := m.core
	cfg := &c.cfg
	r := c.ring.Load()
	var info TokenInfo
	if h, _, ok := strings.Cut(token, "."); ok {
		info.KeyID = headerKid(h)
	}
	if dk, ok := r.byID[info.KeyID]; ok {
		info.KeyState = dk.state
	}
	maxLen := cfg.MaxChunks * ChunkSize
	var env envelope
	// Copies of the ring with counters of their own: the request's view,
	// and one that opens retired keys too, for their claims.
	dk, err := r.detached(false).openInto(token, maxLen, &env)
	if errors.Is(err, ErrRetiredKey) {
		if _, err2 := r.detached(true).openInto(token, maxLen, &env); err2 != nil {
			return info, err
		}
	} else if err != nil {
		return info, err
	}
	info.SessionID = env.Sid
	info.IssuedAt, info.ExpiresAt, info.SignedInAt = time.Unix(env.Iat, 0), time.Unix(env.Exp, 0), time.Unix(env.Abs, 0)
	info.AbsoluteEnd = info.SignedInAt.Add(cfg.AbsoluteTimeout)
	info.Data = append(json.RawMessage(nil), env.Data...)
	if err != nil {
		return info, err
	}
	// The checks of Session.load, in its order.
	if err := cfg.checkTimes(&env, cfg.Now().Unix()); err != nil {
		return info, err
	}
	var data T
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return info, errf(ErrMalformed, "failed to decode session data into %T", data)
	}
	info.Rekey = dk.state == DecryptOnly && dk.index > r.primary.index
	return info, nil
}

// headerKid returns the kid of a protected-header segment, or "" when it
// has none that is a valid key id.
func headerKid(seg string) string {
	b, err := decodeSegment(seg)
	if err != nil {
		return ""
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if json.Unmarshal(b, &h) != nil || !validKeyID(h.Kid) {
		return ""
	}
	return h.Kid
}

// detached returns a copy of r whose keys have counters of their own, so
// opening with it counts nothing; with openRetired, retired keys open as
// decrypt-only keys do.
func (r *ring) detached(openRetired bool) *ring {
	out := &ring{
		src:      r.src,
		byHeader: make(map[string]*derivedKey, len(r.keys)),
		byID:     make(map[string]*derivedKey, len(r.keys)),
	}
	for _, k := range r.keys {
		dk := *k
		dk.count = &keyCounters{}
		if openRetired && dk.state == Retired {
			dk.state = DecryptOnly
		}
		out.keys = append(out.keys, &dk)
		out.byHeader[dk.header] = &dk
		out.byID[dk.id] = &dk
		if dk.state == Primary {
			out.primary = &dk
		}
	}
	return out
}
