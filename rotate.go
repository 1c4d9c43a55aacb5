package jwesession

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

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
// one primary. A Keyring is immutable; build a new one to rotate, and hand
// it to Manager.SetKeyring. It prints key ids and states, never secrets.
type Keyring struct {
	keys []Key
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
	primaries := 0
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
			primaries++
		case DecryptOnly, Retired:
		default:
			return nil, fmt.Errorf("%w: failed to build keyring: %s (id %q) has no valid state (want Primary, DecryptOnly or Retired)", ErrInvalidKeyring, pos(i), k.ID)
		}
		ids[k.ID] = i
		secrets[string(b)] = i
		out[i] = k
	}
	if primaries != 1 {
		return nil, fmt.Errorf("%w: failed to build keyring: %d primary keys, exactly one is needed", ErrInvalidKeyring, primaries)
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

// ParseKeysFile parses a keyring file: the entries of JWESESSION_KEYS one
// per line, newest first; blank lines and lines starting with # are
// ignored. Errors name the line and never contain a secret.
func ParseKeysFile(content string) (*Keyring, error) {
	var keys []Key
	var lines []int
	for n, line := range strings.Split(content, "\n") {
		line = strings.TrimRight(line, "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		k, err := parseKeyEntry(line)
		if err != nil {
			return nil, fmt.Errorf("failed to parse keys file: line %d: %w", n+1, err)
		}
		keys = append(keys, k)
		lines = append(lines, n+1)
	}
	return newKeyring(keys, func(i int) string { return "line " + strconv.Itoa(lines[i]) })
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

// String lists the key ids and states, newest first, e.g.
// "Keyring[k2:primary k1:decrypt-only]".
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
	b.WriteByte(']')
	return b.String()
}

// GoString is String: a keyring never prints its secrets.
func (kr *Keyring) GoString() string { return "jwesession." + kr.String() }

// LogValue is String, for log/slog.
func (kr *Keyring) LogValue() slog.Value { return slog.StringValue(kr.String()) }

// Format prints String whatever the verb, so %+v and %#v show no secret.
func (kr *Keyring) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, kr.String()) }

// KeyStats are one key's counters since the manager started (per process:
// they reset on restart).
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
	sealed, opened, rekeyed, retired atomic.Uint64
}

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
