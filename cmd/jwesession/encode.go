package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
)

const encodeUsage = `  jwesession encode -format authjs|nextauth4 [-cookie-name NAME] [-secrets-file F] [-max-age 720h] < claims.json
      print a token holding the claims (a JSON object) as the Next.js app's
      encode() makes it: sealed under the first secret, iat now, exp now +
      -max-age, a new random jti; secrets from -secrets-file or the
      environment as the app reads it; -cookie-name the full name (authjs:
      the key's salt; default authjs.session-token, next-auth.session-token)
`

// encode prints a token for the claims on standard input.
func (t tool) encode(args []string) int {
	fs := t.newFlags("encode")
	format := fs.String("format", "", "authjs (Auth.js v5) or nextauth4 (NextAuth.js v4); required")
	name := fs.String("cookie-name", "", "the full cookie name")
	secretsFile := fs.String("secrets-file", "", "secrets file, one per line, newest first (else the environment)")
	maxAge := fs.Duration("max-age", 720*time.Hour, "the token's lifetime: exp = now + max-age")
	if code, ok := t.parse(fs, args, encodeUsage); !ok {
		return code
	}
	if fs.NArg() == 1 && isHelp(fs.Arg(0)) {
		fmt.Fprint(t.stdout, "usage:\n"+encodeUsage)
		return exitOK
	}
	if fs.NArg() > 0 || *format == "" {
		fmt.Fprint(t.stderr, "jwesession encode: -format authjs or -format nextauth4 is required; the claims are read from standard input\nusage:\n"+encodeUsage)
		return exitUsage
	}
	f, err := jwesession.ParseAuthJSFormat(*format)
	if err != nil {
		return t.setupError("encode", errors.New("-format must be authjs or nextauth4"))
	}
	if *maxAge < time.Second {
		return t.setupError("encode", errors.New("-max-age must be at least 1s"))
	}
	s, err := t.authjsSecrets("encode", f, *secretsFile)
	if err != nil {
		return t.setupError("encode", err)
	}
	m, err := t.authjsManager(f, *name, s, *maxAge, 0)
	if err != nil {
		return t.setupError("encode", err)
	}
	raw, err := t.readInput("")
	if err != nil {
		return t.setupError("encode", err)
	}
	claims := json.RawMessage(strings.TrimSpace(raw))
	if !json.Valid(claims) || !strings.HasPrefix(string(claims), "{") {
		return t.setupError("encode", errors.New("the claims on standard input must be one JSON object"))
	}
	tok, err := m.Encode(claims)
	if err != nil {
		return t.fail("encode", err)
	}
	fmt.Fprintln(t.stdout, tok)
	return exitOK
}
