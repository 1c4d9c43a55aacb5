package jwesession

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	josecipher "github.com/go-jose/go-jose/v4/cipher"
	"golang.org/x/crypto/hkdf"
)

// AuthJSFormat is the token format of a Next.js app's session cookie.
type AuthJSFormat int

const (
	// FormatAuthJS is Auth.js v5 (@auth/core, next-auth 5): A256CBC-HS512
	// under a key derived from the secret and the full cookie name, with
	// a kid naming the key. It is the zero value.
	FormatAuthJS AuthJSFormat = iota
	// FormatNextAuth4 is NextAuth.js v4 (next-auth 4): A256GCM under a key
	// derived from the secret alone, without a kid.
	FormatNextAuth4
)

// String returns "authjs" or "nextauth4", the names the key tool and the
// demo take.
func (f AuthJSFormat) String() string {
	switch f {
	case FormatAuthJS:
		return "authjs"
	case FormatNextAuth4:
		return "nextauth4"
	}
	return "AuthJSFormat(" + strconv.Itoa(int(f)) + ")"
}

// ParseAuthJSFormat parses "authjs" or "nextauth4".
func ParseAuthJSFormat(s string) (AuthJSFormat, error) {
	switch s {
	case "authjs":
		return FormatAuthJS, nil
	case "nextauth4":
		return FormatNextAuth4, nil
	}
	return 0, fmt.Errorf("%w: unknown Auth.js format %q (want authjs or nextauth4)", ErrInvalidConfig, s)
}

// MaxAuthJSSecrets is the longest secret list an Auth.js manager takes.
// NextAuth.js v4 tokens name no key, so each token is tried against the
// secrets in turn: the bound keeps that to four decryptions at most.
const MaxAuthJSSecrets = 4

// AuthJSSecrets are a Next.js app's session secrets, newest first: the first
// encrypts what the Go side writes, every one decrypts. Each is validated
// as NewSecret validates a secret. They print as a count, never as
// secrets.
type AuthJSSecrets struct {
	list     []Secret
	warnings []string
}

// NewAuthJSSecrets validates the secrets (newest first) of the app's
// explicit `secret: [new, old]` option, or its one secret.
func NewAuthJSSecrets(secrets ...string) (*AuthJSSecrets, error) {
	return newAuthJSSecrets(secrets, func(i int) string { return "secret " + strconv.Itoa(i+1) })
}

func newAuthJSSecrets(secrets []string, pos func(int) string) (*AuthJSSecrets, error) {
	switch {
	case len(secrets) == 0:
		return nil, fmt.Errorf("%w: failed to read Auth.js secrets: none given", ErrNoSecret)
	case len(secrets) > MaxAuthJSSecrets:
		return nil, fmt.Errorf("%w: failed to read Auth.js secrets: %d given, at most %d are taken", ErrInvalidKeyring, len(secrets), MaxAuthJSSecrets)
	}
	out := &AuthJSSecrets{}
	seen := map[string]int{}
	for i, s := range secrets {
		sec, err := NewSecret(s)
		if err != nil {
			return nil, fmt.Errorf("failed to read Auth.js secrets: %s: %w", pos(i), err)
		}
		if j, dup := seen[s]; dup {
			return nil, fmt.Errorf("%w: failed to read Auth.js secrets: %s and %s are the same", ErrInvalidKeyring, pos(j), pos(i))
		}
		seen[s] = i
		out.list = append(out.list, sec)
	}
	return out, nil
}

// ParseAuthJSSecretsFile parses a secrets file: one secret per line, newest
// first; blank lines and lines starting with # are ignored, and a CR
// before the newline is dropped. A secret with a space at either end is
// refused, as by NewSecret. Errors name the line, never a secret.
func ParseAuthJSSecretsFile(content string) (*AuthJSSecrets, error) {
	var secrets []string
	var lines []int
	for n, line := range strings.Split(content, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		secrets = append(secrets, line)
		lines = append(lines, n+1)
	}
	return newAuthJSSecrets(secrets, func(i int) string { return "line " + strconv.Itoa(lines[i]) })
}

// AuthJSSecretsFromEnv reads the secrets from the environment exactly as
// the Next.js app of format f does; see AuthJSSecretsFromLookup.
func AuthJSSecretsFromEnv(f AuthJSFormat) (*AuthJSSecrets, error) {
	return AuthJSSecretsFromLookup(f, os.LookupEnv)
}

// AuthJSSecretsFromLookup reads the secrets through lookup (os.LookupEnv's
// signature) exactly as the Next.js app of format f reads its
// environment:
//
//   - FormatAuthJS (next-auth 5, whose lib/env.js sets the secret to
//     AUTH_SECRET ?? NEXTAUTH_SECRET before @auth/core looks further):
//     AUTH_SECRET alone when it is set; else NEXTAUTH_SECRET alone when it
//     is set; else AUTH_SECRET_3, AUTH_SECRET_2, AUTH_SECRET_1, newest
//     first, those that are set. So AUTH_SECRET_1..3 count only when
//     neither AUTH_SECRET nor NEXTAUTH_SECRET is set; a Next.js app with
//     AUTH_SECRET rotates only through an explicit `secret: [new, old]`
//     option (give the Go side the same list, with NewAuthJSSecrets or a
//     secrets file).
//   - FormatNextAuth4 (next-auth 4): NEXTAUTH_SECRET, else AUTH_SECRET:
//     one secret.
//
// A variable that is set but empty is an error (a Next.js app would treat
// it in ways that differ between versions). A variable that is set but
// ignored by that rule gives a warning (Warnings; an Auth.js manager logs
// them): @auth/core outside Next.js would have read
// [AUTH_SECRET_3, AUTH_SECRET_2, AUTH_SECRET_1, AUTH_SECRET], so the two
// sides may disagree.
func AuthJSSecretsFromLookup(f AuthJSFormat, lookup func(string) (string, bool)) (*AuthJSSecrets, error) {
	names := AuthJSSecretVariables()
	val := map[string]string{}
	for _, n := range names {
		if v, ok := lookup(n); ok {
			if v == "" {
				return nil, fmt.Errorf("%w: failed to read Auth.js secrets: %s is set but empty; unset it or give it a secret", ErrNoSecret, n)
			}
			val[n] = v
		}
	}
	var use []string
	switch {
	case f == FormatNextAuth4 && val["NEXTAUTH_SECRET"] != "":
		use = []string{"NEXTAUTH_SECRET"}
	case f == FormatNextAuth4 && val["AUTH_SECRET"] != "":
		use = []string{"AUTH_SECRET"}
	case f == FormatNextAuth4:
	case val["AUTH_SECRET"] != "":
		use = []string{"AUTH_SECRET"}
	case val["NEXTAUTH_SECRET"] != "":
		use = []string{"NEXTAUTH_SECRET"}
	default:
		for _, n := range []string{"AUTH_SECRET_3", "AUTH_SECRET_2", "AUTH_SECRET_1"} {
			if val[n] != "" {
				use = append(use, n)
			}
		}
	}
	if len(use) == 0 {
		want := "AUTH_SECRET"
		if f == FormatNextAuth4 {
			want = "NEXTAUTH_SECRET"
		}
		return nil, fmt.Errorf("%w: failed to read Auth.js secrets: set %s, the Next.js app's secret", ErrNoSecret, want)
	}
	secrets := make([]string, len(use))
	for i, n := range use {
		secrets[i] = val[n]
	}
	out, err := newAuthJSSecrets(secrets, func(i int) string { return use[i] })
	if err != nil {
		return nil, err
	}
	why := "next-auth 5 reads only " + strings.Join(use, ", ") + " in this environment (@auth/core outside Next.js would read AUTH_SECRET_3, AUTH_SECRET_2, AUTH_SECRET_1, AUTH_SECRET)"
	if f == FormatNextAuth4 {
		why = "next-auth 4 reads only " + use[0] + " in this environment"
	}
	for _, n := range names {
		if _, set := val[n]; set && !slices.Contains(use, n) {
			out.warnings = append(out.warnings, n+" is set but ignored: "+why+"; check what the app uses, or give both sides an explicit list of secrets")
		}
	}
	return out, nil
}

// AuthJSSecretVariables returns the environment variables
// AuthJSSecretsFromLookup reads: AUTH_SECRET, NEXTAUTH_SECRET,
// AUTH_SECRET_1, AUTH_SECRET_2 and AUTH_SECRET_3.
func AuthJSSecretVariables() []string {
	return []string{"AUTH_SECRET", "NEXTAUTH_SECRET", "AUTH_SECRET_1", "AUTH_SECRET_2", "AUTH_SECRET_3"}
}

// Len returns the number of secrets.
func (s *AuthJSSecrets) Len() int { return len(s.list) }

// Warnings returns why the environment read may disagree with the app
// (see AuthJSSecretsFromLookup), or nothing.
func (s *AuthJSSecrets) Warnings() []string { return append([]string(nil), s.warnings...) }

// String returns "AuthJSSecrets[N secrets]", never a secret.
func (s *AuthJSSecrets) String() string {
	return "AuthJSSecrets[" + strconv.Itoa(len(s.list)) + " secrets]"
}

// GoString is String.
func (s *AuthJSSecrets) GoString() string { return "jwesession." + s.String() }

// Format prints String whatever the verb.
func (s *AuthJSSecrets) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue is String, for log/slog.
func (s *AuthJSSecrets) LogValue() slog.Value { return slog.StringValue(s.String()) }

// The encryptions of the formats: Auth.js v5 writes A256CBC-HS512 and reads
// A256GCM too; NextAuth.js v4 reads and writes A256GCM.
const (
	encCBC = string(jose.A256CBC_HS512)
	encGCM = string(jose.A256GCM)
)

// authjsKey is one secret's key for one encryption, derived for one
// manager's cookie name.
type authjsKey struct {
	index int    // the secret's position in the list; 0 encrypts
	enc   string // encCBC or encGCM
	kid   string // the RFC 7638 thumbprint of the key (v5); "" for v4
	raw   []byte // the derived key: go-jose's DIRECT key
	aead  cipher.AEAD
	ivLen int
	tag   int // tag length in bytes
}

// deriveAuthJSKey derives the key of secret for enc and the cookie name as
// the format does: HKDF-SHA256 with salt = the full cookie name and info
// "Auth.js Generated Encryption Key (<name>)", 64 bytes for A256CBC-HS512
// and 32 for A256GCM (v5); salt empty and info "NextAuth.js Generated
// Encryption Key", 32 bytes (v4).
func deriveAuthJSKey(f AuthJSFormat, secret []byte, name, enc string, index int) *authjsKey {
	salt, info, n := name, "Auth.js Generated Encryption Key ("+name+")", 64
	if enc == encGCM {
		n = 32
	}
	if f == FormatNextAuth4 {
		salt, info = "", "NextAuth.js Generated Encryption Key"
	}
	k := &authjsKey{index: index, enc: enc, raw: make([]byte, n)}
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, []byte(salt), []byte(info)), k.raw); err != nil {
		panic("jwesession: hkdf: " + err.Error()) // cannot happen for 64 bytes
	}
	if enc == encCBC {
		aead, err := josecipher.NewCBCHMAC(k.raw, aes.NewCipher)
		if err != nil {
			panic("jwesession: " + err.Error()) // cannot happen: a 64-byte key
		}
		k.aead, k.ivLen, k.tag = aead, 16, 32
	} else {
		k.aead, k.ivLen, k.tag = newGCM(k.raw), ivLen, tagLen
	}
	if f == FormatAuthJS {
		k.kid = jwkThumbprint(k.raw)
	}
	return k
}

// jwkThumbprint returns the RFC 7638 thumbprint of the symmetric key as
// Auth.js names it: the canonical JWK {"k":…,"kty":"oct"}, hashed with
// SHA-512 for a 64-byte key and SHA-256 for a 32-byte one, in base64url.
func jwkThumbprint(key []byte) string {
	jwk := []byte(`{"k":"` + base64.RawURLEncoding.EncodeToString(key) + `","kty":"oct"}`)
	if len(key) == 64 {
		sum := sha512.Sum512(jwk)
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	sum := sha256.Sum256(jwk)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authjsHeaderSegment returns the protected-header segment encode() writes
// for enc and kid ("" for none), byte for byte.
func authjsHeaderSegment(enc, kid string) string {
	h := `{"alg":"dir","enc":"` + enc + `"`
	if kid != "" {
		h += `,"kid":"` + kid + `"`
	}
	return base64.RawURLEncoding.EncodeToString([]byte(h + "}"))
}

// authjsRing is the secrets derived for one manager: every key by the
// exact header segment it opens (one map lookup), by (enc, kid) for other
// spellings of the header, and the writing key.
type authjsRing struct {
	byHeader map[string]*authjsHeader
	byKid    map[string]*authjsKey   // enc + " " + kid (v5)
	noKid    map[string][]*authjsKey // enc → keys of a header without kid: the first secret's (v5), every secret (v4)
	write    *authjsKey
	header   string // segment of the tokens write seals
	aad      []byte // header as bytes
}

// authjsHeader is what an exact header segment opens: one key (v5), or
// every secret in turn (v4, and v5 without kid: the first secret only),
// with the segment as bytes, the AAD.
type authjsHeader struct {
	keys []*authjsKey
	aad  []byte
}

// deriveAuthJSRing derives every key of secrets for the format and the
// cookie name, once.
func deriveAuthJSRing(f AuthJSFormat, s *AuthJSSecrets, name string) *authjsRing {
	r := &authjsRing{byHeader: map[string]*authjsHeader{}, byKid: map[string]*authjsKey{}, noKid: map[string][]*authjsKey{}}
	encs := []string{encCBC, encGCM}
	if f == FormatNextAuth4 {
		encs = encs[1:]
	}
	for i, sec := range s.list {
		for _, enc := range encs {
			k := deriveAuthJSKey(f, sec.bytes(), name, enc, i)
			if f == FormatAuthJS {
				r.addHeader(authjsHeaderSegment(enc, k.kid), []*authjsKey{k})
				r.byKid[enc+" "+k.kid] = k
			}
			if f == FormatNextAuth4 || i == 0 {
				// decode() opens a token without kid with the first secret
				// (v5); v4 has no kid, so every secret is tried in turn.
				r.noKid[enc] = append(r.noKid[enc], k)
				r.addHeader(authjsHeaderSegment(enc, ""), r.noKid[enc])
			}
			if i == 0 && enc == encs[0] {
				r.write = k
			}
		}
	}
	r.header = authjsHeaderSegment(r.write.enc, r.write.kid)
	r.aad = r.byHeader[r.header].aad
	return r
}

// addHeader sets what the exact header segment seg opens.
func (r *authjsRing) addHeader(seg string, keys []*authjsKey) {
	r.byHeader[seg] = &authjsHeader{keys: keys, aad: []byte(seg)}
}
