package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/jwesession/jwesession"
)

// keygen prints a new secret, then its JWESESSION_KEYS entry as a new
// decrypt-only key.
func (t tool) keygen(args []string) int {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprint(t.stdout, "usage:\n"+keygenUsage)
		return exitOK
	}
	if len(args) != 0 {
		fmt.Fprint(t.stderr, "usage:\n"+keygenUsage)
		return exitUsage
	}
	secret, id, err := newSecret()
	if err != nil {
		return t.fail("keygen", err)
	}
	fmt.Fprintln(t.stdout, secret)
	fmt.Fprintf(t.stdout, "%s:decrypt-only:%s\n", id, secret)
	return exitOK
}

// newSecret returns a new secret (32 random bytes in base64url) and the id
// DefaultKeyID gives it.
func newSecret() (secret, id string, err error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	s, err := jwesession.NewSecret(secret)
	if err != nil { // cannot happen for 32 random bytes, but never print a refused secret
		return "", "", err
	}
	return secret, jwesession.DefaultKeyID(s), nil
}
