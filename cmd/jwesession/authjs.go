package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
)

// inspect and encode for the Auth.js formats: the session cookie of a
// Next.js app (Auth.js v5, NextAuth.js v4).

// authjsSecrets reads the secrets from the file (one per line, newest
// first), or else from the environment as the library's Auth.js helper
// reads it; warnings about the environment go to standard error.
func (t tool) authjsSecrets(cmd string, f jwesession.AuthJSFormat, file string) (*jwesession.AuthJSSecrets, error) {
	if file != "" {
		var set []string
		for _, n := range jwesession.AuthJSSecretVariables() {
			if _, ok := t.lookup(n); ok {
				set = append(set, n)
			}
		}
		if len(set) > 0 {
			return nil, fmt.Errorf("-secrets-file replaces %s: unset %s", strings.Join(jwesession.AuthJSSecretVariables(), ", "), strings.Join(set, ", "))
		}
		content, err := t.readInput(file)
		if err != nil {
			return nil, err
		}
		return jwesession.ParseAuthJSSecretsFile(content)
	}
	s, err := jwesession.AuthJSSecretsFromLookup(f, t.lookup)
	if err != nil {
		return nil, err
	}
	for _, w := range s.Warnings() {
		fmt.Fprintf(t.stderr, "jwesession %s: warning: %s\n", cmd, w)
	}
	return s, nil
}

// authjsManager returns a manager for the format and full cookie name
// (default: the app's development name), on the tool's clock.
func (t tool) authjsManager(f jwesession.AuthJSFormat, name string, s *jwesession.AuthJSSecrets, maxAge time.Duration, leeway time.Duration) (*jwesession.AuthJSManager[json.RawMessage], error) {
	if name == "" {
		name = "authjs.session-token"
		if f == jwesession.FormatNextAuth4 {
			name = "next-auth.session-token"
		}
	}
	return jwesession.NewAuthJS[json.RawMessage](jwesession.AuthJSConfig{
		Format:     f,
		CookieName: name,
		// A prefixed name needs Secure; the tool writes no cookie.
		DevelopmentCookies: !strings.HasPrefix(name, "__Secure-") && !strings.HasPrefix(name, "__Host-"),
		MaxAge:             maxAge,
		Leeway:             leeway,
		MaxChunks:          jwesession.MaxChunksLimit,
		Now:                t.now,
		Logger:             slog.New(slog.DiscardHandler),
	}, s)
}

// authjsInput is what inspect was given for an Auth.js format: a bare
// token, or a Cookie header (or name=value list) holding the session's
// cookies.
type authjsInput struct {
	token, header string
	first         string   // the value that starts the token (the bare cookie or chunk 0), for its header line
	names         []string // the session's cookies given, as named
}

// parseAuthJSInput reads a token, name=value pairs or a whole Cookie
// header. The session's cookies are those whose name starts with name, as
// the app's reader takes them.
func parseAuthJSInput(raw, name string) (authjsInput, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return authjsInput{}, errors.New("nothing on standard input: paste a cookie value, name=value or a Cookie: header")
	case strings.ContainsAny(s, "\r\n"):
		return authjsInput{}, errors.New("one line expected on standard input: a cookie value, name=value or a Cookie: header")
	case len(s) >= 7 && strings.EqualFold(s[:7], "cookie:"):
		s = strings.TrimSpace(s[7:])
	case !strings.ContainsAny(s, "=;"):
		return authjsInput{token: s, first: s}, nil
	}
	in := authjsInput{header: s}
	var others []string
	chunk0 := ""
	for _, part := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !strings.HasPrefix(k, name):
			others = append(others, k)
			continue
		case k == name && in.first == "":
			in.first = v
		case k == name+".0" && chunk0 == "":
			chunk0 = v
		}
		in.names = append(in.names, k)
	}
	if in.first == "" {
		in.first = chunk0
	}
	if len(in.names) == 0 {
		hint := ""
		for _, k := range others {
			if strings.HasSuffix(k, name) || strings.HasPrefix(k, strings.TrimPrefix(name, "__Secure-")) {
				hint = fmt.Sprintf(" (the header holds %s: -cookie-name is the full name, prefix included, and is never guessed)", k)
				break
			}
		}
		return authjsInput{}, fmt.Errorf("no cookie named %s or %s.N%s", name, name, hint)
	}
	return in, nil
}

func (t tool) inspectAuthJS(f jwesession.AuthJSFormat, secretsFile string, o inspectOptions) int {
	if o.leeway == 0 {
		o.leeway = 15 * time.Second
	}
	s, err := t.authjsSecrets("inspect", f, secretsFile)
	if err != nil {
		return t.setupError("inspect", err)
	}
	m, err := t.authjsManager(f, o.cookieName, s, 0, o.leeway)
	if err != nil {
		return t.setupError("inspect", err)
	}
	raw, err := t.readInput("")
	if err != nil {
		return t.setupError("inspect", err)
	}
	in, err := parseAuthJSInput(raw, m.CookieName())
	if err != nil {
		return t.setupError("inspect", err)
	}
	var info jwesession.AuthJSTokenInfo
	if in.header != "" {
		info, err = m.InspectCookies(in.header)
	} else {
		info, err = m.Inspect(in.token)
	}
	return t.verdict(err, o.json, func(w io.Writer) {
		if o.json {
			writeClaimsJSON(w, info.Claims)
			return
		}
		printAuthJSInfo(w, t.now(), s, in, info)
	})
}

// printAuthJSInfo prints what inspect found in an Auth.js token, one
// "name: value" line each.
func printAuthJSInfo(w io.Writer, now time.Time, s *jwesession.AuthJSSecrets, in authjsInput, info jwesession.AuthJSTokenInfo) {
	if len(in.names) > 0 {
		fmt.Fprintf(w, "cookies: %s\n", strings.Join(in.names, ", "))
	}
	fmt.Fprintf(w, "header: %s\n", headerText(in.first))
	switch {
	case info.Secret < 0:
		fmt.Fprintln(w, "key: none of the secrets opened it")
	case info.KeyID == "":
		fmt.Fprintf(w, "key: secret %d of %d (no kid), %s\n", info.Secret+1, s.Len(), info.Encryption)
	default:
		fmt.Fprintf(w, "key: secret %d of %d (kid %s), %s\n", info.Secret+1, s.Len(), info.KeyID, info.Encryption)
	}
	if info.Claims == nil {
		return
	}
	fmt.Fprintf(w, "jti: %s\n", info.JTI)
	if !info.IssuedAt.IsZero() {
		fmt.Fprintf(w, "issued: %s\n", when(info.IssuedAt, now))
		fmt.Fprintf(w, "expires: %s\n", when(info.ExpiresAt, now))
	}
	fmt.Fprintf(w, "claims: %s\n", oneLine(info.Claims))
}

// writeClaimsJSON writes {"claims": …} with the token's claims as oneLine
// gives them.
func writeClaimsJSON(w io.Writer, claims json.RawMessage) {
	fmt.Fprintf(w, "{\"claims\":%s}\n", oneLine(claims))
}

// oneLine returns the token's claims exactly as the token holds them, on
// one line: encoding/json's encoder would escape characters the app's
// JSON.stringify writes as they are (U+2028 among them, on newer Go
// releases), so the claims are re-compacted only when they span lines.
func oneLine(claims json.RawMessage) []byte {
	if !bytes.ContainsAny(claims, "\r\n") {
		return claims
	}
	var b bytes.Buffer
	_ = json.Compact(&b, claims)
	return b.Bytes()
}
