// Command jwesession is jwesession's key tool.
//
//	jwesession keygen                 print a new random secret and its key entry
//	jwesession inspect [flags] < in   show what a session cookie holds, or why it is rejected
//	jwesession encode [flags] < in    print an Auth.js or NextAuth.js token for the claims
//	jwesession rotate STEP [flags]    print the keys file of the next rotation step
//
// keygen prints two lines: the secret (32 random bytes in base64url: use it
// as JWESESSION_SECRET), and the JWESESSION_KEYS entry for it as a new
// decrypt-only key ("ID:decrypt-only:SECRET"), ready to be added at the
// front of a keyring and promoted later.
//
// inspect reads one token, cookie value, "name=value" list or whole
// "Cookie:" header from standard input and judges it as the application's
// middleware would at this moment: it prints the token's header, its key
// and that key's state, the key its sign-in was first sealed under (the
// origin key) and that key's state, its claims (session id, sign-in id,
// issue and expiry times, sign-in time and the end of its absolute
// lifetime), its data and, when accepted, the session's idle expiry; or
// exactly why a request carrying it is rejected, named after the library's
// error (ErrRetiredKey, ErrExpired, ErrSignedOut, …). A token that decrypts
// shows its claims even when rejected. Given cookies, it reads the session
// cookie (chunks joined) with its companion ("~r." + name: the sliding
// refresh's later idle expiry) and its tombstone ("~t." + name: sign-ins
// signed out in this browser), with the same prefix (__Host-, __Secure- or
// none), as a request would. Keys come from -keys-file, or JWESESSION_KEYS
// or JWESESSION_SECRET; keys are derived per cookie name, so -cookie-name
// must be the application's (default "session"), and -idle, -absolute,
// -remember-idle, -remember-absolute and -leeway its IdleTimeout,
// AbsoluteTimeout, RememberIdleTimeout, RememberAbsoluteTimeout and Leeway
// (the library's defaults: 30m, 8h, 168h, 720h, 30s); a token records
// whether its sign-in is a "remember me" one, and which pair applies.
//
// inspect -format authjs (Auth.js v5) or -format nextauth4 (NextAuth.js
// v4) reads the session cookie of a Next.js app instead: a bare token, or
// a Cookie header whose cookies named -cookie-name (the full name, prefix
// included, never guessed; default authjs.session-token or
// next-auth.session-token) and its chunks are joined as the app joins
// them; the secrets come from -secrets-file (one per line, newest first,
// # comments) or the environment as the library's Auth.js helper reads it
// (jwesession.AuthJSSecretsFromLookup). A token is judged as the app's
// decode() judges it: its exp, with -leeway (default 15s) of tolerance.
//
// With -json, inspect prints one JSON object for an accepted cookie: for
// the Auth.js formats {"claims": {...}}, every claim of the token; for
// the jwesession format the session data as "claims", and session_id,
// sign_in_id, issued_at, expires_at, idle_expiry, signed_in_at,
// absolute_end (RFC 3339, UTC), key, key_state, origin_key and
// origin_key_state (members may be added, never renamed). A rejected
// cookie prints nothing on standard output, whatever the flags: the
// report and "result: rejected: NAME: why" (NAME the library's error, as
// ErrExpired) go to standard error.
//
// encode -format authjs|nextauth4 reads a JSON object of claims from
// standard input and prints the token the app's encode() would make of
// it: sealed under the first secret, with iat now, exp now + -max-age
// (default 720h, the app's 30 days) and a new random UUID jti.
//
// rotate reads a keys file (-keys-file, or standard input) and prints the
// keys file of one rotation step on standard output, comments kept; what it
// did and what comes next goes to standard error. STEP is one of:
//
//	add        a new key, newest, decrypt-only
//	promote    the newest decrypt-only key becomes primary, the old primary
//	           decrypt-only; any "promoted:" line is removed
//	confirm    once every instance has loaded the promoted file: records
//	           "promoted: NOW" (or -at TIME, not in the future), from which
//	           the previous primary's safe retirement time is counted; run
//	           again, it replaces the recorded time
//	retire     the decrypt-only keys older than the primary become retired;
//	           refused without a "promoted:" line (run confirm) and before
//	           promoted + -absolute + -leeway, unless -force (-absolute:
//	           the longest absolute lifetime any sign-in can have, the
//	           longer of AbsoluteTimeout and RememberAbsoluteTimeout;
//	           default the library's RememberAbsoluteTimeout, 720h)
//	           (-key ID: that key only; a leaked key is retired with -force)
//	remove     the retired keys are dropped
//	emergency  a whole new keyring: one new primary, nothing else (every
//	           session ends); reads no input
//
// Load each step's file on every instance before the next step. Write it
// next to the old file and rename it over, so no instance reads half a file.
//
// Exit status: 0 done (inspect: the cookie is accepted); 1 refused (inspect:
// the cookie is rejected; encode: the claims do not fit; rotate: the step
// cannot be done on this keys file); 2 usage or set-up error (bad flags or
// input, unreadable or invalid keys or secrets, none). -h or help prints
// the usage on standard output, exit 0.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
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

// Exit codes.
const (
	exitOK      = 0
	exitRefused = 1 // inspect: the cookie is rejected; rotate: the step is refused
	exitUsage   = 2 // usage or set-up error: flags, input, keys
)

const keygenUsage = `  jwesession keygen
      print a new secret, then its JWESESSION_KEYS entry as a new decrypt-only key
`

const inspectUsage = `  jwesession inspect [-format jwesession] [-json] [-keys-file F] [-cookie-name session] [-idle 30m] [-absolute 8h] [-remember-idle 168h] [-remember-absolute 720h] [-leeway 30s] [-subject-field F] < cookie
      show what a token, cookie or Cookie: header holds and whether a request
      carrying it is accepted (exit 0), or why it is rejected (exit 1: nothing
      on standard output, the reason on standard error); the companion
      (~r.NAME) and tombstone (~t.NAME) cookies given are applied
      keys from -keys-file, JWESESSION_KEYS or JWESESSION_SECRET
      -idle, -absolute, -leeway  the application's IdleTimeout, AbsoluteTimeout and Leeway
      -remember-idle, -remember-absolute  its RememberIdleTimeout and RememberAbsoluteTimeout
      -subject-field F  print the data's field F as the subject (revocation's user id)
      -json                      one JSON object: claims, session_id, sign_in_id, issued_at, …
  jwesession inspect -format authjs|nextauth4 [-json] [-secrets-file F] [-cookie-name NAME] [-leeway 15s] < cookie
      the same for a Next.js app's Auth.js v5 or NextAuth.js v4 cookie (chunks
      joined as the app joins them); -cookie-name is the full name (default
      authjs.session-token, next-auth.session-token); secrets from -secrets-file
      (one per line, newest first) or the environment, as the app reads it
      -json                      {"claims": {...}}: every claim of the token
`

const rotateUsage = `  jwesession rotate add|promote|confirm|retire|remove|emergency [-keys-file F] [flags] > next-keys-file
      print the keys file of the next rotation step (input: -keys-file or stdin);
      load each step's file on every instance before the next step:
      add, promote, confirm (once every instance has loaded the promotion),
      retire (from the time confirm prints), remove
      -absolute 720h, -leeway 30s  the longest absolute lifetime any of the
                                 applications' sign-ins can have (the longer of
                                 AbsoluteTimeout and RememberAbsoluteTimeout) and Leeway
      -at TIME                   confirm: when the last instance loaded the promotion
                                 (RFC 3339, not in the future; default now)
      -force                     retire before the safe time (a leaked key)
      -key ID                    retire this key only
      -id ID                     the new key's id (add, emergency)
`

const usage = "usage:\n" + keygenUsage + inspectUsage + encodeUsage + rotateUsage +
	"exit status: 0 done (inspect: accepted), 1 refused (inspect: rejected), 2 usage or set-up error\n"

// Defaults: the library's.
const (
	defaultIdle     = 30 * time.Minute
	defaultAbsolute = 8 * time.Hour
	// The "remember me" lifetimes (RememberIdleTimeout,
	// RememberAbsoluteTimeout).
	defaultRememberIdle     = 7 * 24 * time.Hour
	defaultRememberAbsolute = 30 * 24 * time.Hour
	// defaultLongestAbsolute is the longest absolute lifetime a sign-in
	// can have with the library's defaults: what a retirement waits for.
	defaultLongestAbsolute = max(defaultAbsolute, defaultRememberAbsolute)
	defaultLeeway          = 30 * time.Second
	maxInput               = 1 << 20
)

// run executes the tool and returns its exit code.
func (t tool) run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(t.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "keygen":
		return t.keygen(args[1:])
	case "inspect":
		return t.inspect(args[1:])
	case "encode":
		return t.encode(args[1:])
	case "rotate":
		return t.rotate(args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(t.stdout, usage)
		return exitOK
	}
	fmt.Fprint(t.stderr, usage)
	return exitUsage
}

// isHelp reports whether arg asks for the usage.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// newFlags returns a flag set for a subcommand whose parse errors go to
// standard error; parse prints the usage.
func (t tool) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("jwesession "+name, flag.ContinueOnError)
	fs.SetOutput(t.stderr)
	fs.Usage = func() {} // parse prints the usage, on the right stream
	return fs
}

// parse parses args into fs. When it returns false, the command ends with
// code: 0 for -h (the usage on standard output), 2 for a bad flag (the
// error and the usage on standard error).
func (t tool) parse(fs *flag.FlagSet, args []string, help string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(t.stdout, "usage:\n"+help)
		return exitOK, false
	}
	fmt.Fprint(t.stderr, "usage:\n"+help)
	return exitUsage, false
}

// fail prints a refusal, a rejection or an internal error and returns
// exit code 1.
func (t tool) fail(cmd string, err error) int {
	fmt.Fprintf(t.stderr, "jwesession %s: %v\n", cmd, err)
	return exitRefused
}

// setupError prints a usage or set-up error (bad input, unreadable or
// invalid keys, no keys) and returns exit code 2.
func (t tool) setupError(cmd string, err error) int {
	fmt.Fprintf(t.stderr, "jwesession %s: %v\n", cmd, err)
	return exitUsage
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
