package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
)

// sentinels name the library's errors, most specific first.
var sentinels = []struct {
	err  error
	name string
}{
	{jwesession.ErrRetiredKey, "ErrRetiredKey"},
	{jwesession.ErrUnknownKey, "ErrUnknownKey"},
	{jwesession.ErrSignedOut, "ErrSignedOut"},
	{jwesession.ErrDecrypt, "ErrDecrypt"},
	{jwesession.ErrExpired, "ErrExpired"},
	{jwesession.ErrNotYetValid, "ErrNotYetValid"},
	{jwesession.ErrUnsupported, "ErrUnsupported"},
	{jwesession.ErrTooLarge, "ErrTooLarge"},
	{jwesession.ErrMalformed, "ErrMalformed"},
	{jwesession.ErrDataDecode, "ErrDataDecode"},
}

// sentinelName returns the name of the library error err wraps, or "".
func sentinelName(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return ""
}

// inspectOptions are inspect's flags: the application's settings.
type inspectOptions struct {
	format                 string
	json                   bool
	cookieName             string
	idle, absolute, leeway time.Duration
	remIdle, remAbsolute   time.Duration
	subjectField           string
}

// The flags of each format; any other given is a usage error.
var (
	nativeFlags = []string{"keys-file", "idle", "absolute", "remember-idle", "remember-absolute", "subject-field"}
	authjsFlags = []string{"secrets-file"}
)

func (t tool) inspect(args []string) int {
	fs := t.newFlags("inspect")
	var o inspectOptions
	fs.StringVar(&o.format, "format", "jwesession", "the token format: jwesession, authjs (Auth.js v5) or nextauth4 (NextAuth.js v4)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object (accepted only; a rejection prints nothing on standard output)")
	keysFile := fs.String("keys-file", "", "jwesession: keys file (else JWESESSION_KEYS or JWESESSION_SECRET)")
	secretsFile := fs.String("secrets-file", "", "authjs, nextauth4: secrets file, one per line, newest first (else the environment, as the app reads it)")
	fs.StringVar(&o.cookieName, "cookie-name", "", "jwesession: the cookie base name (default session); authjs, nextauth4: the full name (default authjs.session-token, next-auth.session-token)")
	fs.DurationVar(&o.idle, "idle", defaultIdle, "jwesession: the application's IdleTimeout")
	fs.DurationVar(&o.absolute, "absolute", defaultAbsolute, "jwesession: the application's AbsoluteTimeout")
	fs.DurationVar(&o.remIdle, "remember-idle", defaultRememberIdle, "jwesession: the application's RememberIdleTimeout")
	fs.DurationVar(&o.remAbsolute, "remember-absolute", defaultRememberAbsolute, "jwesession: the application's RememberAbsoluteTimeout")
	fs.DurationVar(&o.leeway, "leeway", 0, "the clock tolerance (default 30s, the library's Leeway; 15s for authjs and nextauth4, decode()'s)")
	fs.StringVar(&o.subjectField, "subject-field", "", "jwesession: the data's top-level field that holds the subject (the user id revocation goes by), printed as subject:")
	if code, ok := t.parse(fs, args, inspectUsage); !ok {
		return code
	}
	if fs.NArg() == 1 && isHelp(fs.Arg(0)) {
		fmt.Fprint(t.stdout, "usage:\n"+inspectUsage)
		return exitOK
	}
	if fs.NArg() > 0 {
		fmt.Fprint(t.stderr, "jwesession inspect: the cookie is read from standard input, not from arguments (they end up in shell history)\nusage:\n"+inspectUsage)
		return exitUsage
	}
	if o.leeway < 0 {
		return t.setupError("inspect", errors.New("-leeway must not be negative"))
	}
	if o.format != "jwesession" {
		f, err := jwesession.ParseAuthJSFormat(o.format)
		if err != nil {
			return t.setupError("inspect", errors.New("-format must be jwesession, authjs or nextauth4"))
		}
		if err := onlyFlags(fs, o.format, nativeFlags); err != nil {
			return t.setupError("inspect", err)
		}
		return t.inspectAuthJS(f, *secretsFile, o)
	}
	if err := onlyFlags(fs, o.format, authjsFlags); err != nil {
		return t.setupError("inspect", err)
	}
	if o.cookieName == "" {
		o.cookieName = "session"
	}
	if o.leeway == 0 {
		o.leeway = defaultLeeway
	}
	if o.idle > o.absolute {
		return t.setupError("inspect", fmt.Errorf("-idle %v exceeds -absolute %v: an application's IdleTimeout is at most its AbsoluteTimeout; pass the application's own with -idle and -absolute", o.idle, o.absolute))
	}
	if o.remIdle > o.remAbsolute {
		return t.setupError("inspect", fmt.Errorf("-remember-idle %v exceeds -remember-absolute %v: an application's RememberIdleTimeout is at most its RememberAbsoluteTimeout; pass the application's own with -remember-idle and -remember-absolute", o.remIdle, o.remAbsolute))
	}
	kr, err := t.keyring(*keysFile)
	if err != nil {
		return t.setupError("inspect", err)
	}
	// The configuration is checked before the input is read.
	if _, err := t.inspector(kr, o, false); err != nil {
		return t.setupError("inspect", err)
	}
	raw, err := t.readInput("")
	if err != nil {
		return t.setupError("inspect", err)
	}
	base := strings.TrimPrefix(strings.TrimPrefix(o.cookieName, "__Host-"), "__Secure-")
	in, err := parseInput(raw, base)
	if err != nil {
		return t.setupError("inspect", err)
	}
	m, err := t.inspector(kr, o, in.dev)
	if err != nil {
		return t.setupError("inspect", err)
	}
	var info jwesession.TokenInfo
	if in.cookies {
		info, err = m.InspectCookies(in.header)
	} else {
		info, err = m.Inspect(in.token)
	}
	return t.verdict(err, o.json, func(w io.Writer) {
		if o.json {
			writeJSON(w, nativeJSON(kr, info))
			return
		}
		t.printInfo(w, kr, in, info, err, o)
	})
}

// onlyFlags returns an error naming a flag of flags that was given, which
// format does not take.
func onlyFlags(fs *flag.FlagSet, format string, flags []string) error {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(flags, f.Name) {
			bad = append(bad, "-"+f.Name)
		}
	})
	if len(bad) > 0 {
		return fmt.Errorf("-format %s does not take %s", format, strings.Join(bad, ", "))
	}
	return nil
}

// verdict ends inspect. Accepted (err nil): the report on standard
// output ("result: valid" last, unless asJSON), exit 0. Rejected: nothing
// on standard output; on standard error the report (unless asJSON) and
// "result: rejected: NAME: why", NAME the library's sentinel; exit 1.
func (t tool) verdict(err error, asJSON bool, report func(io.Writer)) int {
	if err == nil {
		report(t.stdout)
		if !asJSON {
			fmt.Fprintln(t.stdout, "result: valid")
		}
		return exitOK
	}
	if !asJSON {
		report(t.stderr)
	}
	name := sentinelName(err)
	if name == "" {
		name = "error"
	}
	fmt.Fprintf(t.stderr, "result: rejected: %s: %v\n", name, err)
	return exitRefused
}

// writeJSON writes v as one line of JSON, without HTML escapes.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// nativeInfo is inspect -json's object for the jwesession format. Members
// may be added, never renamed.
type nativeInfo struct {
	Claims         json.RawMessage `json:"claims"`
	SessionID      string          `json:"session_id"`
	SignInID       string          `json:"sign_in_id"`
	IssuedAt       string          `json:"issued_at"`
	ExpiresAt      string          `json:"expires_at"`
	IdleExpiry     string          `json:"idle_expiry"`
	SignedInAt     string          `json:"signed_in_at"`
	AbsoluteEnd    string          `json:"absolute_end"`
	Key            string          `json:"key"`
	KeyState       string          `json:"key_state"`
	OriginKey      string          `json:"origin_key"`
	OriginKeyState string          `json:"origin_key_state"`
}

// nativeJSON returns the -json object of an accepted native token.
func nativeJSON(kr *jwesession.Keyring, info jwesession.TokenInfo) nativeInfo {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	out := nativeInfo{
		Claims: info.Data, SessionID: info.SessionID, SignInID: info.SignInID,
		IssuedAt: ts(info.IssuedAt), ExpiresAt: ts(info.ExpiresAt), IdleExpiry: ts(info.IdleExpiry),
		SignedInAt: ts(info.SignedInAt), AbsoluteEnd: ts(info.AbsoluteEnd),
		Key: info.KeyID, KeyState: info.KeyState.String(), OriginKey: info.OriginKeyID,
	}
	for _, k := range kr.Keys() {
		if k.ID == info.OriginKeyID {
			out.OriginKeyState = k.State.String()
		}
	}
	return out
}

// inspector returns a manager with the application's settings whose
// cookie names have the __Host- prefix, or none with dev.
//
// Its RefreshAfter is the shortest there is, so a matching companion is
// always applied: an application with a longer RefreshAfter ignores a
// companion only while the token's own expiry is later than any idle
// check, so it accepts and rejects the same requests, and the idle expiry
// shown is the session's (the companion's, once the refresh is due).
func (t tool) inspector(kr *jwesession.Keyring, o inspectOptions, dev bool) (*jwesession.Manager[json.RawMessage], error) {
	cfg := jwesession.Config{
		CookieName:              o.cookieName,
		DevelopmentCookies:      dev,
		IdleTimeout:             o.idle,
		AbsoluteTimeout:         o.absolute,
		RememberIdleTimeout:     o.remIdle,
		RememberAbsoluteTimeout: o.remAbsolute,
		Leeway:                  o.leeway,
		MaxChunks:               jwesession.MaxChunksLimit,
		Now:                     t.now,
		Logger:                  slog.New(slog.DiscardHandler),
	}
	if o.idle == 0 || o.idle > time.Second {
		cfg.RefreshAfter = time.Second
	}
	return jwesession.New[json.RawMessage](cfg, kr)
}

// keyring reads the keys from the file, or from the environment.
func (t tool) keyring(keysFile string) (*jwesession.Keyring, error) {
	_, hasKeys := t.lookup("JWESESSION_KEYS")
	_, hasSecret := t.lookup("JWESESSION_SECRET")
	if keysFile != "" {
		if hasKeys || hasSecret {
			return nil, errors.New("-keys-file replaces JWESESSION_KEYS and JWESESSION_SECRET: unset them")
		}
		content, err := t.readInput(keysFile)
		if err != nil {
			return nil, err
		}
		return jwesession.ParseKeysFile(content)
	}
	return jwesession.KeyringFromLookup(t.lookup)
}

// input is what inspect was given.
type input struct {
	// cookies: header holds the session's cookies, for InspectCookies,
	// under the names of a manager with DevelopmentCookies dev; else token
	// is a bare token, for Inspect.
	cookies bool
	header  string
	dev     bool
	token   string
	first   string   // the value that starts the token (the bare cookie or chunk 0), for its header line
	names   []string // the session's cookies given, as named, once each
}

// cookiePrefixes are the prefixes the session's cookies may have, in the
// order inspect looks for them.
var cookiePrefixes = []string{"__Host-", "__Secure-", ""}

// parseInput reads the input: a token, a cookie value, name=value pairs or
// a whole Cookie header. Of cookies, it takes those of the session under
// base with the first prefix that names its token (a bare cookie, else a
// chunk): the token, its companion and its tombstone.
func parseInput(raw, base string) (input, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return input{}, errors.New("nothing on standard input: paste a cookie value, name=value or a Cookie: header")
	}
	if strings.ContainsAny(s, "\r\n") {
		return input{}, errors.New("one line expected on standard input: a cookie value, name=value or a Cookie: header")
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "cookie:") {
		s = strings.TrimSpace(s[7:])
	} else if !strings.ContainsAny(s, "=;") {
		return input{token: s, first: s}, nil // a token: base64url and dots, never "="
	}
	cookies, err := http.ParseCookie(s)
	if err != nil {
		return input{}, fmt.Errorf("cannot read the cookies: %v", err)
	}
	prefix, ok := sessionPrefix(cookies, base)
	if !ok {
		return input{}, fmt.Errorf("no cookie named %s, __Host-%s or __Secure-%s, nor their chunks %s.0, …; -cookie-name sets the base name", base, base, base, base)
	}
	// The library writes __Host- names, or bare ones with
	// DevelopmentCookies; __Secure- names are read as bare ones (keys
	// depend on the base name only).
	in := input{cookies: true, header: s, dev: prefix != "__Host-"}
	var renamed []string
	seen := map[string]bool{}
	chunk0 := ""
	for _, c := range cookies {
		name, _ := strings.CutPrefix(c.Name, prefix)
		if !strings.HasPrefix(c.Name, prefix) || !isSessionName(name, base) || seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		label := c.Name
		switch name {
		case base:
			in.first = c.Value
		case base + ".0":
			chunk0 = c.Value
		case "~r." + base:
			label += " (companion)"
		case "~t." + base:
			label += " (tombstone)"
		}
		in.names = append(in.names, label)
		renamed = append(renamed, name+"="+c.Value)
	}
	if !seen[prefix+base] {
		in.first = chunk0
	}
	if prefix == "__Secure-" {
		in.header = strings.Join(renamed, "; ")
	}
	return in, nil
}

// sessionPrefix returns the first prefix under which the cookies hold the
// session token: as one cookie, else as chunks.
func sessionPrefix(cookies []*http.Cookie, base string) (string, bool) {
	for _, chunked := range []bool{false, true} {
		for _, p := range cookiePrefixes {
			for _, c := range cookies {
				name, ok := strings.CutPrefix(c.Name, p)
				if !ok {
					continue
				}
				if !chunked && name == base || chunked && isChunkName(name, base) {
					return p, true
				}
			}
		}
	}
	return "", false
}

// isSessionName reports whether name (without its prefix) is one of the
// session's cookies: the token or a chunk of it, the companion, the
// tombstone.
func isSessionName(name, base string) bool {
	return name == base || name == "~r."+base || name == "~t."+base || isChunkName(name, base)
}

// isChunkName reports whether name is base.N, a chunk the library reads.
func isChunkName(name, base string) bool {
	n, ok := strings.CutPrefix(name, base+".")
	if !ok {
		return false
	}
	i, err := strconv.Atoi(n)
	return err == nil && 0 <= i && i < jwesession.MaxChunksLimit && strconv.Itoa(i) == n
}

// printInfo prints what inspect found to w, one "name: value" line each.
func (t tool) printInfo(w io.Writer, kr *jwesession.Keyring, in input, info jwesession.TokenInfo, err error, o inspectOptions) {
	if len(in.names) > 0 {
		fmt.Fprintf(w, "cookies: %s\n", strings.Join(in.names, ", "))
	}
	fmt.Fprintf(w, "header: %s\n", headerText(in.first))
	switch {
	case info.KeyID == "":
		fmt.Fprintln(w, "key: none (no readable kid)")
	case info.KeyState == 0:
		fmt.Fprintf(w, "key: %s (not in the keyring %s)\n", info.KeyID, kr)
	default:
		fmt.Fprintf(w, "key: %s (%s)\n", info.KeyID, info.KeyState)
	}
	if info.SessionID == "" {
		return
	}
	now := t.now()
	fmt.Fprintf(w, "origin key: %s\n", originText(kr, info.OriginKeyID))
	fmt.Fprintf(w, "session id: %s\n", info.SessionID)
	fmt.Fprintf(w, "sign-in id: %s\n", info.SignInID)
	if o.subjectField != "" {
		fmt.Fprintf(w, "subject: %s\n", subjectText(info.Data, o.subjectField))
	}
	fmt.Fprintf(w, "issued: %s\n", when(info.IssuedAt, now))
	// The library treats a token whose expiry lies beyond issue + idle +
	// leeway (whole seconds) as expiring then.
	expires := when(info.ExpiresAt, now)
	idle, kind := o.idle, "browser session (no Max-Age; IdleTimeout, AbsoluteTimeout)"
	if info.Remembered {
		idle, kind = o.remIdle, "remember me (persistent; RememberIdleTimeout, RememberAbsoluteTimeout)"
	}
	if limit := info.IssuedAt.Add(idle.Truncate(time.Second) + o.leeway.Truncate(time.Second)); info.ExpiresAt.After(limit) {
		expires += fmt.Sprintf("; treated as %s (issued + idle %v + leeway %v)", when(limit, now), idle, o.leeway)
	}
	fmt.Fprintf(w, "sign-in kind: %s\n", kind)
	fmt.Fprintf(w, "expires: %s\n", expires)
	if err == nil {
		fmt.Fprintf(w, "idle expiry: %s\n", when(info.IdleExpiry, now))
	}
	fmt.Fprintf(w, "signed in: %s\n", when(info.SignedInAt, now))
	fmt.Fprintf(w, "absolute end: %s\n", when(info.AbsoluteEnd, now))
	var data bytes.Buffer
	if json.Compact(&data, info.Data) != nil {
		data.Reset()
		data.WriteString(strconv.Quote(string(info.Data)))
	}
	fmt.Fprintf(w, "data: %s\n", data.String())
}

// originText returns the origin key's id and its state in kr.
func originText(kr *jwesession.Keyring, id string) string {
	if id == "" {
		return "none"
	}
	for _, k := range kr.Keys() {
		if k.ID == id {
			return id + " (" + k.State.String() + ")"
		}
	}
	return id + " (not in the keyring)"
}

// headerText returns a token's protected header as printable text.
func headerText(token string) string {
	seg, _, ok := strings.Cut(token, ".")
	if !ok {
		return "none (not a compact JWE)"
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return "unreadable (not base64url)"
	}
	if len(b) > 256 {
		b = b[:256]
	}
	if !json.Valid(b) || strings.ContainsFunc(string(b), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return strconv.Quote(string(b))
	}
	return string(b)
}

// when formats a time in UTC with how long ago or ahead it is.
func when(at, now time.Time) string {
	d := at.Sub(now).Round(time.Second)
	rel := "now"
	switch {
	case d > 0:
		rel = "in " + d.String()
	case d < 0:
		rel = (-d).String() + " ago"
	}
	return at.UTC().Format(time.RFC3339) + " (" + rel + ")"
}

// subjectText returns the data's top-level field named field, as the
// subject line shows it.
func subjectText(data json.RawMessage, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return "none (the data is not a JSON object)"
	}
	v, ok := m[field]
	if !ok {
		return "none (no field " + strconv.Quote(field) + ")"
	}
	var str string
	if json.Unmarshal(v, &str) == nil {
		return str
	}
	return string(v)
}
