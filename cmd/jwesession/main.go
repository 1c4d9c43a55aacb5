// Command jwesession is jwesession's key tool.
//
//	jwesession keygen                 print a new random secret and its key entry
//	jwesession inspect [flags] < in   show what a session cookie holds, or why it is rejected
//	jwesession rotate STEP [flags]    print the keys file of the next rotation step
//
// keygen prints two lines: the secret (32 random bytes in base64url: use it
// as JWESESSION_SECRET), and the JWESESSION_KEYS entry for it as a new
// decrypt-only key ("ID:decrypt-only:SECRET"), ready to be added at the
// front of a keyring and promoted later.
//
// inspect reads one cookie value or token from standard input (a whole
// "Cookie:" header and "name=value" are accepted too; chunked cookies are
// joined) and prints its header, its key and that key's state, its claims
// (session id, issue and expiry times, sign-in time and the end of its
// absolute lifetime) and its data; or exactly why a request carrying it is
// rejected, named after the library's error (ErrRetiredKey, ErrExpired, …).
// A token under a retired key, or an expired one, still shows its claims.
// Keys come from -keys-file, or JWESESSION_KEYS or JWESESSION_SECRET; keys
// are derived per cookie name, so -cookie-name must be the application's
// (default "session"). It exits 1 when the cookie is rejected.
//
// rotate reads a keys file (-keys-file, or standard input) and prints the
// keys file of one rotation step on standard output, comments kept; what it
// did and what comes next goes to standard error. STEP is one of:
//
//	add        a new key, newest, decrypt-only
//	promote    the newest decrypt-only key becomes primary, the old primary
//	           decrypt-only; records "promoted: NOW"
//	retire     the decrypt-only keys older than the primary become retired;
//	           refused before promoted + -absolute + -leeway unless -force
//	           (-key ID: that key only; a leaked key is retired with -force)
//	remove     the retired keys are dropped
//	emergency  a whole new keyring: one new primary, nothing else (every
//	           session ends); reads no input
//
// Load each step's file on every instance before the next step. Write it
// next to the old file and rename it over, so no instance reads half a file.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
)

func main() {
	os.Exit(tool{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, lookup: os.LookupEnv, now: time.Now}.run(os.Args[1:]))
}

// tool is the command's environment, so tests can drive it.
type tool struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
	now            func() time.Time
}

const usage = `usage:
  jwesession keygen
      print a new secret, then its JWESESSION_KEYS entry as a new decrypt-only key
  jwesession inspect [-keys-file F] [-cookie-name session] [-absolute 8h] [-leeway 30s] < cookie
      show what a session cookie or token holds, or why it is rejected (exit 1);
      keys from -keys-file, JWESESSION_KEYS or JWESESSION_SECRET
  jwesession rotate add|promote|retire|remove|emergency [-keys-file F] [flags] > next-keys-file
      print the keys file of the next rotation step (input: -keys-file or stdin)
      -absolute 8h, -leeway 30s  the applications' AbsoluteTimeout and Leeway
      -force                     retire before the safe time (a leaked key)
      -key ID                    retire this key only
      -id ID                     the new key's id (add, emergency)
`

// Defaults: the library's.
const (
	defaultAbsolute = 8 * time.Hour
	defaultLeeway   = 30 * time.Second
	maxInput        = 1 << 20
)

// run executes the tool and returns its exit code.
func (t tool) run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(t.stderr, usage)
		return 2
	}
	switch args[0] {
	case "keygen":
		if len(args) != 1 {
			break
		}
		secret, id, err := newSecret()
		if err != nil {
			fmt.Fprintln(t.stderr, "jwesession:", err)
			return 1
		}
		fmt.Fprintln(t.stdout, secret)
		fmt.Fprintf(t.stdout, "%s:decrypt-only:%s\n", id, secret)
		return 0
	case "inspect":
		return t.inspect(args[1:])
	case "rotate":
		return t.rotate(args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(t.stdout, usage)
		return 0
	}
	fmt.Fprint(t.stderr, usage)
	return 2
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

// fail prints a refusal or error and returns exit code 1.
func (t tool) fail(cmd string, err error) int {
	fmt.Fprintf(t.stderr, "jwesession %s: %v\n", cmd, err)
	return 1
}

// readInput reads the named file, or standard input when path is "".
func (t tool) readInput(path string) (string, error) {
	r := t.stdin
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxInput {
		return "", fmt.Errorf("the input is over %d bytes", maxInput)
	}
	return string(b), nil
}

// ---------------------------------------------------------------------------
// inspect

// sentinels name the library's errors, most specific first.
var sentinels = []struct {
	err  error
	name string
}{
	{jwesession.ErrRetiredKey, "ErrRetiredKey"},
	{jwesession.ErrUnknownKey, "ErrUnknownKey"},
	{jwesession.ErrDecrypt, "ErrDecrypt"},
	{jwesession.ErrExpired, "ErrExpired"},
	{jwesession.ErrNotYetValid, "ErrNotYetValid"},
	{jwesession.ErrUnsupported, "ErrUnsupported"},
	{jwesession.ErrTooLarge, "ErrTooLarge"},
	{jwesession.ErrMalformed, "ErrMalformed"},
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

func (t tool) inspect(args []string) int {
	fs := flag.NewFlagSet("jwesession inspect", flag.ContinueOnError)
	fs.SetOutput(t.stderr)
	fs.Usage = func() { fmt.Fprint(t.stderr, usage) }
	keysFile := fs.String("keys-file", "", "keys file (else JWESESSION_KEYS or JWESESSION_SECRET)")
	cookieName := fs.String("cookie-name", "session", "the application's cookie base name (keys are derived per name)")
	absolute := fs.Duration("absolute", defaultAbsolute, "the application's AbsoluteTimeout")
	leeway := fs.Duration("leeway", defaultLeeway, "the application's Leeway")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(t.stderr, "jwesession inspect: the cookie is read from standard input, not from arguments (they end up in shell history)\n%s", usage)
		return 2
	}
	kr, err := t.keyring(*keysFile)
	if err != nil {
		return t.fail("inspect", err)
	}
	cfg := jwesession.Config{
		CookieName:      *cookieName,
		AbsoluteTimeout: *absolute,
		IdleTimeout:     min(30*time.Minute, *absolute),
		Leeway:          *leeway,
		MaxChunks:       jwesession.MaxChunksLimit,
		Now:             t.now,
		Logger:          slog.New(slog.DiscardHandler),
	}
	m, err := jwesession.New[json.RawMessage](cfg, kr)
	if err != nil {
		return t.fail("inspect", err)
	}
	in, err := t.readInput("")
	if err != nil {
		return t.fail("inspect", err)
	}
	base := strings.TrimPrefix(strings.TrimPrefix(*cookieName, "__Host-"), "__Secure-")
	token, err := tokenFrom(in, base)
	if err != nil {
		return t.fail("inspect", err)
	}
	info, err := m.Inspect(token)
	t.printInfo(kr, token, info)
	if err != nil {
		name := sentinelName(err)
		if name == "" {
			name = "error"
		}
		fmt.Fprintf(t.stdout, "result: rejected: %s: %v\n", name, err)
		return 1
	}
	if info.Rekey {
		fmt.Fprintf(t.stdout, "result: valid; a read re-keys it under the primary %s\n", kr.Primary().ID)
	} else {
		fmt.Fprintln(t.stdout, "result: valid")
	}
	return 0
}

// keyring reads the keys from the file, or from the environment.
func (t tool) keyring(keysFile string) (*jwesession.Keyring, error) {
	_, hasKeys := t.lookup("JWESESSION_KEYS")
	_, hasSecret := t.lookup("JWESESSION_SECRET")
	if keysFile != "" {
		if hasKeys || hasSecret {
			return nil, errors.New("-keys-file replaces JWESESSION_KEYS and JWESESSION_SECRET: unset them")
		}
		content, err := t.readFile(keysFile)
		if err != nil {
			return nil, err
		}
		return jwesession.ParseKeysFile(content)
	}
	return jwesession.KeyringFromLookup(t.lookup)
}

// readFile reads a keys file.
func (t tool) readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// tokenFrom finds the session token in the input: a token, a cookie value,
// name=value pairs or a whole Cookie header.
func tokenFrom(in, base string) (string, error) {
	s := strings.TrimSpace(in)
	if s == "" {
		return "", errors.New("nothing on standard input: paste a cookie value, name=value or a Cookie: header")
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New("one line expected on standard input: a cookie value, name=value or a Cookie: header")
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "cookie:") {
		s = strings.TrimSpace(s[7:])
	} else if !strings.ContainsAny(s, "=;") {
		return s, nil // a token: base64url and dots, never "="
	}
	cookies, err := http.ParseCookie(s)
	if err != nil {
		return "", fmt.Errorf("cannot read the cookies: %v", err)
	}
	byName := map[string]string{}
	for _, c := range cookies {
		if _, dup := byName[c.Name]; !dup {
			byName[c.Name] = c.Value
		}
	}
	prefixes := []string{"__Host-", "__Secure-", ""}
	for _, p := range prefixes {
		if v, ok := byName[p+base]; ok {
			return v, nil
		}
	}
	for _, p := range prefixes {
		var b strings.Builder
		for i := 0; i < jwesession.MaxChunksLimit; i++ {
			v, ok := byName[p+base+"."+strconv.Itoa(i)]
			if !ok {
				break
			}
			b.WriteString(v)
		}
		if b.Len() > 0 {
			return b.String(), nil
		}
	}
	return "", fmt.Errorf("no cookie named %s, __Host-%s or __Secure-%s, nor their chunks %s.0, …; -cookie-name sets the base name", base, base, base, base)
}

// printInfo prints what inspect found, one "name: value" line each.
func (t tool) printInfo(kr *jwesession.Keyring, token string, info jwesession.TokenInfo) {
	w := t.stdout
	fmt.Fprintf(w, "header: %s\n", headerText(token))
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
	fmt.Fprintf(w, "session id: %s\n", info.SessionID)
	fmt.Fprintf(w, "issued: %s\n", when(info.IssuedAt, now))
	fmt.Fprintf(w, "expires: %s\n", when(info.ExpiresAt, now))
	fmt.Fprintf(w, "signed in: %s\n", when(info.SignedInAt, now))
	fmt.Fprintf(w, "absolute end: %s\n", when(info.AbsoluteEnd, now))
	var data bytes.Buffer
	if json.Compact(&data, info.Data) != nil {
		data.Reset()
		data.WriteString(strconv.Quote(string(info.Data)))
	}
	fmt.Fprintf(w, "data: %s\n", data.String())
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

// ---------------------------------------------------------------------------
// rotate

// fileLine is one line of a keys file as the tool rewrites it.
type fileLine struct {
	text   string // as read, without its CR
	key    bool
	id     string // as written: an id or "-"
	state  jwesession.KeyState
	secret string
	kid    string // the id the library gives the key
	// promoted: the "promoted: TIME" line
	promoted bool
}

// render returns the line as it is to be written.
func (l fileLine) render() string {
	if !l.key {
		return l.text
	}
	return l.id + ":" + l.state.String() + ":" + l.secret
}

// keysFile is a keys file's lines and the keyring the library reads from it.
type keysFile struct {
	lines []fileLine
	kr    *jwesession.Keyring
}

// parseKeysFile reads content as the library does (ParseKeysFile, which
// validates it) and splits it into lines the tool can rewrite, checking
// that both readings agree.
func parseKeysFile(content string) (*keysFile, error) {
	kr, err := jwesession.ParseKeysFile(content)
	if err != nil {
		return nil, err
	}
	f := &keysFile{kr: kr}
	for _, text := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		text = strings.TrimRight(text, "\r")
		l := fileLine{text: text}
		switch t := strings.TrimSpace(text); {
		case t == "" || strings.HasPrefix(t, "#"):
		case isPromotedLine(text):
			l.promoted = true
		default:
			id, rest, _ := strings.Cut(text, ":")
			state, secret, _ := strings.Cut(rest, ":")
			l.key, l.id, l.secret = true, strings.TrimSpace(id), secret
			if l.state, err = jwesession.ParseKeyState(strings.TrimSpace(state)); err != nil {
				return nil, errors.New("internal error: the tool reads this keys file differently from the library")
			}
			l.kid = l.id
			if l.id == "-" {
				s, err := jwesession.NewSecret(secret)
				if err != nil {
					return nil, errors.New("internal error: the tool reads this keys file differently from the library")
				}
				l.kid = jwesession.DefaultKeyID(s)
			}
		}
		f.lines = append(f.lines, l)
	}
	keys := kr.Keys()
	i := 0
	for _, l := range f.lines {
		if !l.key {
			continue
		}
		if i >= len(keys) || keys[i].ID != l.kid || keys[i].State != l.state {
			return nil, errors.New("internal error: the tool reads this keys file differently from the library")
		}
		i++
	}
	if i != len(keys) {
		return nil, errors.New("internal error: the tool reads this keys file differently from the library")
	}
	return f, nil
}

// isPromotedLine is the library's rule: "promoted:" followed by anything
// but a key state and a colon.
func isPromotedLine(line string) bool {
	id, rest, ok := strings.Cut(line, ":")
	if !ok || strings.TrimSpace(id) != "promoted" {
		return false
	}
	if state, _, ok := strings.Cut(rest, ":"); ok {
		if _, err := jwesession.ParseKeyState(strings.TrimSpace(state)); err == nil {
			return false
		}
	}
	return true
}

// keyIndexes returns the indexes in f.lines of the key lines, newest first,
// and the position of the primary among them.
func (f *keysFile) keyIndexes() (idx []int, primary int) {
	for i, l := range f.lines {
		if l.key {
			if l.state == jwesession.Primary {
				primary = len(idx)
			}
			idx = append(idx, i)
		}
	}
	return idx, primary
}

// String returns the file's text.
func (f *keysFile) String() string {
	var b strings.Builder
	for _, l := range f.lines {
		b.WriteString(l.render())
		b.WriteByte('\n')
	}
	return b.String()
}

// setPromoted writes the promoted line: in place of the current one, or
// after the last key.
func (f *keysFile) setPromoted(at time.Time) {
	text := "promoted: " + at.UTC().Format(time.RFC3339)
	last := 0
	for i, l := range f.lines {
		if l.promoted {
			f.lines[i].text = text
			return
		}
		if l.key {
			last = i
		}
	}
	f.lines = append(f.lines[:last+1], append([]fileLine{{text: text, promoted: true}}, f.lines[last+1:]...)...)
}

// rotateOptions are rotate's flags.
type rotateOptions struct {
	absolute, leeway time.Duration
	force            bool
	key, id          string
}

func (t tool) rotate(args []string) int {
	fs := flag.NewFlagSet("jwesession rotate", flag.ContinueOnError)
	fs.SetOutput(t.stderr)
	fs.Usage = func() { fmt.Fprint(t.stderr, usage) }
	keysPath := fs.String("keys-file", "", "the current keys file (else standard input)")
	var o rotateOptions
	fs.DurationVar(&o.absolute, "absolute", defaultAbsolute, "the applications' AbsoluteTimeout")
	fs.DurationVar(&o.leeway, "leeway", defaultLeeway, "the applications' Leeway")
	fs.BoolVar(&o.force, "force", false, "retire before the safe time (the leaked-key path)")
	fs.StringVar(&o.key, "key", "", "retire: this key only")
	fs.StringVar(&o.id, "id", "", "add, emergency: the new key's id (default: the one the secret gives)")
	// The step may come before or after the flags.
	if err := fs.Parse(args); err != nil {
		return 2
	}
	step := fs.Arg(0)
	if fs.NArg() > 0 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
	}
	if step == "" || fs.NArg() > 0 {
		fmt.Fprint(t.stderr, usage)
		return 2
	}
	if o.key != "" && step != "retire" {
		return t.fail("rotate "+step, errors.New("-key is for retire"))
	}
	if o.id != "" && step != "add" && step != "emergency" {
		return t.fail("rotate "+step, errors.New("-id is for add and emergency"))
	}
	var msg string
	var out string
	var err error
	switch step {
	case "emergency":
		out, msg, err = t.emergency(o)
	case "add", "promote", "retire", "remove":
		var content string
		if content, err = t.readInput(*keysPath); err != nil {
			break
		}
		var f *keysFile
		if f, err = parseKeysFile(content); err != nil {
			break
		}
		switch step {
		case "add":
			msg, err = t.add(f, o)
		case "promote":
			msg, err = t.promote(f, o)
		case "retire":
			msg, err = t.retire(f, o)
		case "remove":
			msg, err = t.remove(f)
		}
		out = f.String()
	default:
		fmt.Fprint(t.stderr, usage)
		return 2
	}
	if err != nil {
		return t.fail("rotate "+step, err)
	}
	// Never print a keys file the library would refuse.
	if _, err := jwesession.ParseKeysFile(out); err != nil {
		return t.fail("rotate "+step, fmt.Errorf("internal error: the next keys file is invalid: %w", err))
	}
	fmt.Fprint(t.stdout, out)
	fmt.Fprintln(t.stderr, msg)
	return 0
}

// newKeyLine returns a new key line with a fresh secret.
func newKeyLine(id string, state jwesession.KeyState) (fileLine, error) {
	secret, kid, err := newSecret()
	if err != nil {
		return fileLine{}, err
	}
	if id == "" {
		id = kid
	}
	return fileLine{key: true, id: id, kid: id, state: state, secret: secret}, nil
}

func (t tool) add(f *keysFile, o rotateOptions) (string, error) {
	idx, p := f.keyIndexes()
	for _, i := range idx[:p] {
		if l := f.lines[i]; l.state == jwesession.DecryptOnly {
			return "", fmt.Errorf("refused: key %s is newer than the primary and waits to be promoted: run `jwesession rotate promote` first", l.kid)
		}
	}
	nl, err := newKeyLine(o.id, jwesession.DecryptOnly)
	if err != nil {
		return "", err
	}
	for _, i := range idx {
		if f.lines[i].kid == nl.kid {
			return "", fmt.Errorf("refused: the keyring already has a key %s", nl.kid)
		}
	}
	at := idx[0]
	f.lines = append(f.lines[:at], append([]fileLine{nl}, f.lines[at:]...)...)
	return fmt.Sprintf("added key %s as decrypt-only, the newest key.\nnext: load this file on every instance, then run `jwesession rotate promote`.", nl.kid), nil
}

func (t tool) promote(f *keysFile, o rotateOptions) (string, error) {
	idx, p := f.keyIndexes()
	for _, i := range idx[:p] {
		if f.lines[i].state != jwesession.DecryptOnly {
			continue
		}
		old := &f.lines[idx[p]]
		f.lines[i].state, old.state = jwesession.Primary, jwesession.DecryptOnly
		now := t.now().Truncate(time.Second)
		f.setPromoted(now)
		next, err := jwesession.ParseKeysFile(f.String())
		if err != nil {
			return "", fmt.Errorf("internal error: the next keys file is invalid: %w", err)
		}
		safe, _ := next.SafeToRetireAt(o.absolute, o.leeway)
		return fmt.Sprintf("promoted key %s; the previous primary %s is decrypt-only; recorded promoted: %s.\n"+
			"next: load this file on every instance (if that ends much later, set the promoted: line to when it ended); "+
			"%s is safe to retire from %s (promoted + absolute lifetime %v + leeway %v): then run `jwesession rotate retire`.",
			f.lines[i].kid, old.kid, now.UTC().Format(time.RFC3339), old.kid, safe.UTC().Format(time.RFC3339), o.absolute, o.leeway), nil
	}
	return "", errors.New("refused: no decrypt-only key is newer than the primary: run `jwesession rotate add` first")
}

func (t tool) retire(f *keysFile, o rotateOptions) (string, error) {
	idx, p := f.keyIndexes()
	var targets []int // indexes in f.lines
	newer := false
	if o.key != "" {
		for k, i := range idx {
			if l := f.lines[i]; l.kid == o.key {
				switch l.state {
				case jwesession.Primary:
					return "", fmt.Errorf("refused: %s is the primary: promote another key first, or use `jwesession rotate emergency`", o.key)
				case jwesession.Retired:
					return "", fmt.Errorf("refused: %s is already retired", o.key)
				}
				targets, newer = []int{i}, k < p
			}
		}
		if targets == nil {
			return "", fmt.Errorf("refused: no key %s in the keys file", o.key)
		}
	} else {
		for _, i := range idx[p+1:] {
			if f.lines[i].state == jwesession.DecryptOnly {
				targets = append(targets, i)
			}
		}
		if targets == nil {
			return "", errors.New("refused: nothing to retire: no decrypt-only key is older than the primary")
		}
	}
	var ids []string
	for _, i := range targets {
		ids = append(ids, f.lines[i].kid)
	}
	list := strings.Join(ids, ", ")
	safe, known := f.kr.SafeToRetireAt(o.absolute, o.leeway)
	early := ""
	switch {
	case o.force:
		early = fmt.Sprintf("\nforced: sessions still under %s are signed out as soon as an instance loads this file.", list)
	case newer:
		return "", fmt.Errorf("refused: %s is newer than the primary, so the tool cannot tell which sessions use it; -force retires it now (the leaked-key path)", list)
	case !known:
		return "", fmt.Errorf("refused: the keys file records no promotion time (a promoted: line), so the tool cannot tell when %s is safe to retire; add the line with the time the last instance loaded the promotion, or -force", list)
	case t.now().Before(safe):
		return "", fmt.Errorf("refused: %s is not safe to retire before %s (promoted %s + absolute lifetime %v + leeway %v): sessions under it would be signed out; wait, or -force for a leaked key",
			list, safe.UTC().Format(time.RFC3339), f.kr.PromotedAt().UTC().Format(time.RFC3339), o.absolute, o.leeway)
	}
	for _, i := range targets {
		f.lines[i].state = jwesession.Retired
	}
	return fmt.Sprintf("retired %s.%s\nnext: load this file on every instance, then run `jwesession rotate remove`.", list, early), nil
}

func (t tool) remove(f *keysFile) (string, error) {
	var ids []string
	kept := f.lines[:0:0]
	for _, l := range f.lines {
		if l.key && l.state == jwesession.Retired {
			ids = append(ids, l.kid)
			continue
		}
		kept = append(kept, l)
	}
	if ids == nil {
		return "", errors.New("refused: no retired key to remove")
	}
	f.lines = kept
	return fmt.Sprintf("removed %s: tokens under it are now unknown keys.\nnext: load this file on every instance.", strings.Join(ids, ", ")), nil
}

func (t tool) emergency(o rotateOptions) (string, string, error) {
	nl, err := newKeyLine(o.id, jwesession.Primary)
	if err != nil {
		return "", "", err
	}
	out := "# emergency replacement " + t.now().UTC().Format(time.RFC3339) + ": every previous key removed, everyone signs in again\n" + nl.render() + "\n"
	return out, fmt.Sprintf("a new keyring of one primary key %s.\nnext: load this file on every instance at once; every session under an old key ends.", nl.kid), nil
}
