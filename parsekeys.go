package jwesession

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

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
