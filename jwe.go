package jwesession

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// The token format. A session token is a JWE in compact serialization with
// exactly the protected header {"alg":"dir","enc":"A256GCM","kid":KID}, an
// empty encrypted-key segment, a 12-byte IV and a 16-byte tag, every segment
// in canonical unpadded base64url. The plaintext is the claims envelope.
// The companion (refresh) and tombstone (sign-out) cookies use the same
// form under keys derived for their own purpose (see derive.go), so a
// cookie of one kind never opens as another.
//
// # Format versions
//
// The envelope starts with its format version. A rolling deploy must never
// make old instances reject what new ones wrote, so a format change ships
// in two releases: the first reads version N and N+1 and still writes N;
// once every instance runs it, the second writes N+1. This version of the
// library reads and writes version 2 (version 1, without sign-in id and
// origin key, was never released and is refused). Version 2 is not
// released yet either, so fields join it without a new version until its
// first release ("rem" did); from then on it is frozen.
const (
	formatVersion = 2
	ivLen         = 12
	tagLen        = 16
	ivSegLen      = 16 // base64url length of 12 bytes
	tagSegLen     = 22 // base64url length of 16 bytes
	maxIDLen      = 64 // longest session or sign-in id read
)

// envelope is the token's plaintext: the claims around the user's data.
// Times are Unix seconds.
type envelope struct {
	V    int             `json:"v"`    // format version, 2
	Sid  string          `json:"sid"`  // session id; Renew replaces it
	Sin  string          `json:"sin"`  // sign-in id: fixed at sign-in, kept by Renew and every rewrite
	Org  string          `json:"org"`  // origin: id of the key the sign-in was first sealed under (the older of claimed and opener on rewrites)
	Iat  int64           `json:"iat"`  // issue time of this token
	Exp  int64           `json:"exp"`  // expiry: idle timeout after iat, capped by the absolute lifetime
	Abs  int64           `json:"abs"`  // absolute start: the sign-in time, which no refresh moves
	Rem  bool            `json:"rem"`  // "remember me": persistent cookies and the Remember lifetimes; false: a browser-session sign-in
	Tbs  string          `json:"tbs"`  // IV segment of the tombstone checked when this token was written, or ""
	Data json.RawMessage `json:"data"` // the user's data, JSON
}

// headerSegment returns the exact protected-header segment of tokens sealed
// under kid (kid is 1 to 32 of A-Za-z0-9._-, so it needs no JSON escaping).
func headerSegment(kid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + string(jose.DIRECT) + `","enc":"` + string(jose.A256GCM) + `","kid":"` + kid + `"}`))
}

// maxHeaderLen is the length of the header segment of the longest key id
// (32 characters): the base64url length of the JSON header.
const maxHeaderLen = (8*(len(`{"alg":"dir","enc":"A256GCM","kid":"`)+32+len(`"}`)) + 5) / 6

// tokenLen returns the length of a token sealed under a key whose header
// segment has headerLen bytes, for a plaintext of n bytes.
func tokenLen(headerLen, n int) int {
	return headerLen + 2 + ivSegLen + 1 + base64.RawURLEncoding.EncodedLen(n) + 1 + tagSegLen
}

// seal encrypts plaintext under dk's key for purpose p and returns the
// compact token. It is the convenience form of writeToken, for tests and
// tools.
func seal(dk *derivedKey, p purpose, plaintext []byte) string {
	buf := make([]byte, len(plaintext), len(plaintext)+tagLen)
	copy(buf, plaintext)
	var b strings.Builder
	b.Grow(tokenLen(len(dk.header), len(plaintext)))
	dk.writeToken(&b, p, buf)
	return b.String()
}

// writeToken seals the plaintext in buf (which must have tagLen bytes of
// spare capacity; it is overwritten) under dk's key for purpose p with a
// fresh random IV, and writes the compact token to b: the key's
// precomputed header segment, an empty encrypted key, the IV, the
// ciphertext and the tag. go-jose parses exactly this form (see the
// tests); building it here spares every sign-in go-jose's generic JOSE
// object model. Grow b by tokenLen first, and the token costs no
// allocation of its own.
func (dk *derivedKey) writeToken(b *strings.Builder, p purpose, buf []byte) {
	var iv [ivLen]byte
	_, _ = rand.Read(iv[:]) // crypto/rand.Read never fails (Go 1.24+)
	sealed := dk.aead[p].Seal(buf[:0], iv[:], buf, dk.aad)
	b.WriteString(dk.header)
	b.WriteString("..")
	writeB64(b, iv[:])
	b.WriteByte('.')
	writeB64(b, sealed[:len(sealed)-tagLen])
	b.WriteByte('.')
	writeB64(b, sealed[len(sealed)-tagLen:])
	dk.count.sealed.Add(1)
}

// segments splits a compact token into its five segments without
// allocating, and refuses any other count.
func segments(token string) (seg [5]string, err error) {
	rest := token
	for i := 0; i < 4; i++ {
		j := strings.IndexByte(rest, '.')
		if j < 0 {
			return seg, fmt.Errorf("%w: the token has %d segments, want 5", ErrMalformed, i+1)
		}
		seg[i], rest = rest[:j], rest[j+1:]
	}
	if strings.IndexByte(rest, '.') >= 0 {
		return seg, fmt.Errorf("%w: the token has more than 5 segments", ErrMalformed)
	}
	seg[4] = rest
	return seg, nil
}

// classifyHeader explains why a header segment matched no known key.
func classifyHeader(r *ring, h string) error {
	b, err := decodeSegment(h)
	if err != nil {
		return fmt.Errorf("%w: protected header", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return fmt.Errorf("%w: the protected header is not a JSON object", ErrMalformed)
	}
	if _, ok := fields["zip"]; ok {
		return fmt.Errorf("%w: compressed tokens (zip) are refused", ErrUnsupported)
	}
	var alg, enc, kid string
	if err := json.Unmarshal(fields["alg"], &alg); err != nil || alg != string(jose.DIRECT) {
		return fmt.Errorf("%w: the alg header must be dir", ErrUnsupported)
	}
	if err := json.Unmarshal(fields["enc"], &enc); err != nil || enc != string(jose.A256GCM) {
		return fmt.Errorf("%w: the enc header must be A256GCM", ErrUnsupported)
	}
	if len(fields) != 3 {
		return fmt.Errorf("%w: the protected header must hold exactly alg, enc and kid", ErrMalformed)
	}
	if err := json.Unmarshal(fields["kid"], &kid); err != nil || !validKeyID(kid) {
		return fmt.Errorf("%w: the kid header is missing or invalid", ErrMalformed)
	}
	if _, ok := r.byID[kid]; ok {
		return fmt.Errorf("%w: the protected header is not in canonical form", ErrMalformed)
	}
	return ErrUnknownKey
}

// open is openInto with a new envelope whose data is checked to be JSON:
// the form for tests and tools.
func (r *ring) open(token string, maxLen int) (*derivedKey, *envelope, error) {
	env := &envelope{}
	dk, err := r.openInto(token, maxLen, env, nil)
	if err != nil {
		return nil, nil, err
	}
	if !json.Valid(env.Data) {
		return nil, nil, fmt.Errorf("%w: the session data is not JSON", ErrMalformed)
	}
	return dk, env, nil
}

// openInto opens a session token (see openSealed) and parses its claims
// into env, whose Data then points into the token's single decode buffer
// (the caller counts it as opened).
// With ids, the ids are left there too, as bytes (env's id strings stay
// empty: the hot path needs them as strings only if it writes). A token
// under a retired key is authenticated first and then refused with
// ErrRetiredKey.
func (r *ring) openInto(token string, maxLen int, env *envelope, ids *claimIDs) (*derivedKey, error) {
	dk, pt, err := r.openSealed(token, maxLen, purposeData)
	if err != nil {
		return nil, err
	}
	if dk.state == Retired {
		// Authentic, so counted: evidence that a real client still holds a
		// token under this key.
		dk.count.retired.inc()
		return nil, fmt.Errorf("%w: key %q", ErrRetiredKey, dk.id)
	}
	if ids == nil {
		err = parseEnvelope(pt, env)
	} else {
		err = parseClaims(pt, env, ids)
	}
	if err != nil {
		return nil, err
	}
	return dk, nil
}

// openSealed checks token against the exact form the library produces,
// finds its key by the protected-header segment (one map lookup, no trial
// decryption, no header parsing for the library's own tokens), and opens
// it with that key's AES-GCM for purpose p (built once per keyring). It
// returns the key and the plaintext, whatever the key's state. Anything
// that fails a check is rejected, never handed to a more lenient parser;
// go-jose is the reference these checks are tested against.
func (r *ring) openSealed(token string, maxLen int, p purpose) (*derivedKey, []byte, error) {
	if len(token) > maxLen {
		return nil, nil, fmt.Errorf("%w: the token has %d bytes, the limit is %d", ErrTooLarge, len(token), maxLen)
	}
	seg, err := segments(token)
	if err != nil {
		return nil, nil, err
	}
	dk, ok := r.byHeader[seg[0]]
	if !ok {
		return nil, nil, classifyHeader(r, seg[0])
	}
	if seg[1] != "" {
		return nil, nil, fmt.Errorf("%w: the encrypted-key segment must be empty", ErrMalformed)
	}
	if len(seg[2]) != ivSegLen {
		return nil, nil, fmt.Errorf("%w: the IV must be %d bytes", ErrMalformed, ivLen)
	}
	if len(seg[4]) != tagSegLen {
		return nil, nil, fmt.Errorf("%w: the tag must be %d bytes", ErrMalformed, tagLen)
	}
	// One allocation for the IV, the ciphertext and the tag; the
	// plaintext overwrites the ciphertext. Each segment is checked as it
	// is decoded, and a bad one explained by checkSegment.
	ctLen := base64.RawURLEncoding.DecodedLen(len(seg[3]))
	buf := make([]byte, ivLen+ctLen+tagLen)
	iv, ct := buf[:ivLen], buf[ivLen:]
	if ok := decodeInto(iv, seg[2]); !ok || !decodeInto(ct[:ctLen], seg[3]) || !decodeInto(ct[ctLen:], seg[4]) {
		for _, s := range seg[2:] {
			if err := checkSegment(s); err != nil {
				return nil, nil, err
			}
		}
		return nil, nil, fmt.Errorf("%w: a segment is not base64url", ErrMalformed) // checkSegment agrees with decodeInto: cannot happen
	}
	pt, err := dk.aead[p].Open(ct[:0], iv, ct, dk.aad)
	if err != nil {
		return nil, nil, ErrDecrypt
	}
	return dk, pt, nil
}

// ivSegment returns the IV segment of a token in the library's form, or ""
// (it identifies one seal: IVs are random and never reused).
func ivSegment(token string) string {
	if token == "" {
		return "" // the common case (no tombstone): spare segments' error
	}
	seg, err := segments(token)
	if err != nil || len(seg[2]) != ivSegLen {
		return ""
	}
	return seg[2]
}
