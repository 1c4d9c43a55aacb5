package jwesession

import (
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
const (
	formatVersion = 1
	ivLen         = 12
	tagLen        = 16
	ivSegLen      = 16 // base64url length of 12 bytes
	tagSegLen     = 22 // base64url length of 16 bytes
)

// envelope is the token's plaintext: the claims around the user's data.
// Times are Unix seconds.
type envelope struct {
	V    int             `json:"v"`    // format version, 1
	Sid  string          `json:"sid"`  // session id; Renew replaces it
	Iat  int64           `json:"iat"`  // issue time of this token
	Exp  int64           `json:"exp"`  // expiry: idle timeout after iat, capped by the absolute lifetime
	Abs  int64           `json:"abs"`  // absolute start: the sign-in time, which no refresh moves
	Data json.RawMessage `json:"data"` // the user's data, JSON
}

// headerSegment returns the exact protected-header segment of tokens sealed
// under kid (kid is 1 to 32 of A-Za-z0-9._-, so it needs no JSON escaping).
func headerSegment(kid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"dir","enc":"A256GCM","kid":"` + kid + `"}`))
}

// tokenLen returns the length of a token sealed under a key whose header
// segment has headerLen bytes, for a plaintext of n bytes.
func tokenLen(headerLen, n int) int {
	return headerLen + 2 + ivSegLen + 1 + base64.RawURLEncoding.EncodedLen(n) + 1 + tagSegLen
}

// seal encrypts plaintext under dk (which must be the primary) with
// go-jose and returns the compact token.
func seal(dk *derivedKey, plaintext []byte) (string, error) {
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: dk.raw, KeyID: dk.id}, nil)
	if err != nil {
		return "", fmt.Errorf("jwesession: failed to seal session: %w", err)
	}
	obj, err := enc.Encrypt(plaintext)
	if err != nil {
		return "", fmt.Errorf("jwesession: failed to seal session: %w", err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("jwesession: failed to seal session: %w", err)
	}
	if !strings.HasPrefix(tok, dk.header+".") {
		// go-jose changed its header serialization: refuse to write tokens
		// our own parser would reject.
		return "", fmt.Errorf("jwesession: failed to seal session: unexpected protected header")
	}
	dk.count.sealed.Add(1)
	return tok, nil
}

// isB64URL reports whether s contains only base64url alphabet characters
// (no padding, no CR/LF or spaces, which Go's decoders would skip).
func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkSegment checks, without decoding, that s is canonical unpadded
// base64url: alphabet characters only (Go's decoders skip CR and LF even
// in strict mode), a possible length, and no set bits after the last full
// byte (which lenient decoders ignore, giving one token several spellings).
func checkSegment(s string) error {
	if !isB64URL(s) {
		return fmt.Errorf("%w: a segment is not base64url", ErrMalformed)
	}
	var unused byte // bits of the last character that encode no byte
	switch len(s) % 4 {
	case 1:
		return fmt.Errorf("%w: a segment has an impossible length", ErrMalformed)
	case 2:
		unused = 0x0f
	case 3:
		unused = 0x03
	}
	if unused != 0 && b64Value(s[len(s)-1])&unused != 0 {
		return fmt.Errorf("%w: a segment is not canonical base64url", ErrMalformed)
	}
	return nil
}

// b64Value returns the 6-bit value of a base64url alphabet character.
func b64Value(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	}
	return 63 // '_'
}

// decodeSegment decodes a segment that passes checkSegment.
func decodeSegment(s string) ([]byte, error) {
	if err := checkSegment(s); err != nil {
		return nil, err
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: a segment is not canonical base64url", ErrMalformed)
	}
	return b, nil
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
	if err := json.Unmarshal(fields["alg"], &alg); err != nil || alg != "dir" {
		return fmt.Errorf("%w: the alg header must be dir", ErrUnsupported)
	}
	if err := json.Unmarshal(fields["enc"], &enc); err != nil || enc != "A256GCM" {
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

// open checks token against the exact form the library produces, looks up
// its key by the protected header (one map lookup, no trial decryption),
// decrypts it with go-jose and decodes the envelope. Nothing that fails a
// check is handed to go-jose.
func (r *ring) open(token string, maxLen int) (*derivedKey, *envelope, error) {
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
	for _, s := range seg[2:] {
		if err := checkSegment(s); err != nil {
			return nil, nil, err
		}
	}
	if dk.state == Retired {
		dk.count.retired.Add(1)
		return nil, nil, fmt.Errorf("%w: key %q", ErrRetiredKey, dk.id)
	}
	obj, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the token could not be parsed", ErrMalformed)
	}
	pt, err := obj.Decrypt(dk.raw)
	if err != nil {
		return nil, nil, ErrDecrypt
	}
	env := &envelope{}
	if err := json.Unmarshal(pt, env); err != nil {
		return nil, nil, fmt.Errorf("%w: the claims are not valid JSON", ErrMalformed)
	}
	if env.V != formatVersion {
		return nil, nil, fmt.Errorf("%w: claims format version %d, want %d", ErrMalformed, env.V, formatVersion)
	}
	if env.Sid == "" || env.Iat <= 0 || env.Exp <= 0 || env.Abs <= 0 || len(env.Data) == 0 {
		return nil, nil, fmt.Errorf("%w: the claims are incomplete", ErrMalformed)
	}
	dk.count.opened.Add(1)
	return dk, env, nil
}
