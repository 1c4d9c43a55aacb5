package jwesession

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
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

// writeB64 writes src to b in unpadded base64url, through a stack buffer.
func writeB64(b *strings.Builder, src []byte) {
	var scratch [256]byte // 192 source bytes per round
	for len(src) > 0 {
		n := min(len(src), 192)
		enc := base64.RawURLEncoding.AppendEncode(scratch[:0], src[:n])
		b.Write(enc)
		src = src[n:]
	}
}

// isB64URL reports whether s contains only base64url alphabet characters
// (no padding, no CR/LF or spaces, which Go's decoders would skip).
func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b64Value(s[i]) > 63 {
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

// b64Value returns the 6-bit value of a base64url alphabet character, or
// 0xff for any other byte.
func b64Value(c byte) byte { return b64Values[c] }

// b64Values maps each byte to its 6-bit base64url value, or 0xff for a
// byte outside the alphabet: a constant string, so one load per character
// and no package-level state.
const b64Values = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3e\xff\xff" +
	"\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\xff\xff\xff\xff\xff\xff" +
	"\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e" +
	"\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\xff\xff\xff\xff\x3f" +
	"\xff\x1a\x1b\x1c\x1d\x1e\x1f\x20\x21\x22\x23\x24\x25\x26\x27\x28" +
	"\x29\x2a\x2b\x2c\x2d\x2e\x2f\x30\x31\x32\x33\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

// decodeInto decodes s into dst, which has exactly
// base64.RawURLEncoding.DecodedLen(len(s)) bytes, and reports whether s is
// canonical unpadded base64url (what checkSegment checks: on false, it
// says why, and dst holds garbage). One pass, eight characters at a time,
// straight from the string: no byte-slice copy of it, no separate check.
func decodeInto(dst []byte, s string) bool {
	var seen byte // every value ORed: a byte outside the alphabet (0xff) sets the top bits
	for len(s) >= 8 && len(dst) >= 8 {
		c0, c1, c2, c3 := b64Value(s[0]), b64Value(s[1]), b64Value(s[2]), b64Value(s[3])
		c4, c5, c6, c7 := b64Value(s[4]), b64Value(s[5]), b64Value(s[6]), b64Value(s[7])
		seen |= c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7
		// Six bytes in the top of a word, written whole: the two bytes
		// past them are overwritten by the next round or left in the
		// spare room the loop condition keeps.
		binary.BigEndian.PutUint64(dst, uint64(c0)<<58|uint64(c1)<<52|uint64(c2)<<46|uint64(c3)<<40|
			uint64(c4)<<34|uint64(c5)<<28|uint64(c6)<<22|uint64(c7)<<16)
		dst, s = dst[6:], s[8:]
	}
	for len(s) >= 4 && len(dst) >= 3 {
		c0, c1, c2, c3 := b64Value(s[0]), b64Value(s[1]), b64Value(s[2]), b64Value(s[3])
		seen |= c0 | c1 | c2 | c3
		v := uint32(c0)<<18 | uint32(c1)<<12 | uint32(c2)<<6 | uint32(c3)
		dst[0], dst[1], dst[2] = byte(v>>16), byte(v>>8), byte(v)
		dst, s = dst[3:], s[4:]
	}
	// The tail: its last character's bits past the last full byte must be
	// zero (lenient decoders ignore them, giving one token several
	// spellings).
	switch {
	case len(s) == 2 && len(dst) == 1:
		c0, c1 := b64Value(s[0]), b64Value(s[1])
		if c1&0x0f != 0 { // its low four bits encode no byte
			return false
		}
		seen |= c0 | c1
		dst[0] = c0<<2 | c1>>4
	case len(s) == 3 && len(dst) == 2:
		c0, c1, c2 := b64Value(s[0]), b64Value(s[1]), b64Value(s[2])
		if c2&0x03 != 0 { // its low two bits encode no byte
			return false
		}
		seen |= c0 | c1 | c2
		v := uint32(c0)<<12 | uint32(c1)<<6 | uint32(c2)
		dst[0], dst[1] = byte(v>>10), byte(v>>2)
	case len(s) != 0 || len(dst) != 0:
		return false // an impossible length
	}
	return seen&0xc0 == 0
}

// decodeSegment decodes a segment that passes checkSegment.
func decodeSegment(s string) ([]byte, error) {
	if err := checkSegment(s); err != nil {
		return nil, err
	}
	b := make([]byte, base64.RawURLEncoding.DecodedLen(len(s)))
	if !decodeInto(b, s) {
		return nil, fmt.Errorf("%w: a segment is not base64url", ErrMalformed) // checkSegment passed: cannot happen
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

// The claims are written in exactly one form (appendEnvelope's), the form
// encoding/json gives the envelope struct:
//
//	{"v":2,"sid":"…","sin":"…","org":"…","iat":N,"exp":N,"abs":N,"rem":B,"tbs":"…","data":…}
//
// parseEnvelope reads that form and nothing else (tokens are authenticated,
// so any other form was not made by this library).
const (
	envV    = `{"v":2,"sid":"`
	envSin  = `","sin":"`
	envOrg  = `","org":"`
	envIat  = `","iat":`
	envExp  = `,"exp":`
	envAbs  = `,"abs":`
	envRem  = `,"rem":`
	envTbs  = `,"tbs":"`
	envData = `","data":`
)

// appendEnvelope appends the claims to dst in their one form. env.Data
// must be compact JSON (json.Marshal's output); env.V is not read.
func appendEnvelope(dst []byte, env *envelope) []byte {
	dst = append(dst, envV...)
	dst = append(dst, env.Sid...)
	dst = append(dst, envSin...)
	dst = append(dst, env.Sin...)
	dst = append(dst, envOrg...)
	dst = append(dst, env.Org...)
	dst = append(dst, envIat...)
	dst = strconv.AppendInt(dst, env.Iat, 10)
	dst = append(dst, envExp...)
	dst = strconv.AppendInt(dst, env.Exp, 10)
	dst = append(dst, envAbs...)
	dst = strconv.AppendInt(dst, env.Abs, 10)
	dst = append(dst, envRem...)
	dst = strconv.AppendBool(dst, env.Rem)
	dst = append(dst, envTbs...)
	dst = append(dst, env.Tbs...)
	dst = append(dst, envData...)
	dst = append(dst, env.Data...)
	return append(dst, '}')
}

// envelopeLen returns len(appendEnvelope(nil, env)).
func envelopeLen(env *envelope) int {
	return len(envV) + len(env.Sid) + len(envSin) + len(env.Sin) + len(envOrg) + len(env.Org) +
		len(envIat) + decimalLen(env.Iat) + len(envExp) + decimalLen(env.Exp) + len(envAbs) + decimalLen(env.Abs) +
		len(envRem) + boolLen(env.Rem) + len(envTbs) + len(env.Tbs) + len(envData) + len(env.Data) + 1
}

// boolLen returns the length of b in JSON.
func boolLen(b bool) int {
	if b {
		return len("true")
	}
	return len("false")
}

// decimalLen returns the length of n in decimal.
func decimalLen(n int64) int {
	l := 1
	if n < 0 {
		l++
		n = -n
	}
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}

// claimIDs are the ids of a token's claims as bytes of its plaintext.
type claimIDs struct {
	sid, sin, org, tbs []byte
}

// parseEnvelope parses claims in the one form appendEnvelope writes.
func parseEnvelope(pt []byte, env *envelope) error {
	var ids claimIDs
	if err := parseClaims(pt, env, &ids); err != nil {
		return err
	}
	// The ids lie in one span of the plaintext, from the session id to the
	// tombstone IV: one string for all four, one allocation. A subslice's
	// offset in pt is the capacity it lost.
	at := func(b []byte) int { return cap(pt) - cap(b) }
	base := at(ids.sid)
	span := string(pt[base : at(ids.tbs)+len(ids.tbs)])
	id := func(b []byte) string { return span[at(b)-base:][:len(b)] }
	env.Sid, env.Sin, env.Org, env.Tbs = id(ids.sid), id(ids.sin), id(ids.org), id(ids.tbs)
	return nil
}

// parseClaims is parseEnvelope with the ids left in ids, as bytes of pt,
// and env's id strings empty.
func parseClaims(pt []byte, env *envelope, ids *claimIDs) error {
	bad := func(what string) error {
		return fmt.Errorf("%w: the claims are not in the library's form: %s", ErrMalformed, what)
	}
	rest, ok := bytes.CutPrefix(pt, []byte(envV))
	if !ok {
		return bad("format version")
	}
	var sid, sin, org, tbs []byte
	if sid, rest, ok = cutID(rest, 1, maxIDLen); !ok {
		return bad("session id")
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(envSin)); !ok {
		return bad("field order")
	}
	if sin, rest, ok = cutID(rest, 1, maxIDLen); !ok {
		return bad("sign-in id")
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(envOrg)); !ok {
		return bad("field order")
	}
	if org, rest, ok = cutString(rest); !ok || !validKeyID(string(org)) {
		return bad("origin key")
	}
	var times [3]int64
	for k, field := range [...]string{envIat, envExp, envAbs} {
		if rest, ok = bytes.CutPrefix(rest, []byte(field)); !ok {
			return bad("field order")
		}
		n, used := parseTime(rest)
		if used == 0 {
			return bad("a time is not a positive integer")
		}
		times[k], rest = n, rest[used:]
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(envRem)); !ok {
		return bad("field order")
	}
	var rem bool
	switch {
	case bytes.HasPrefix(rest, []byte("true")):
		rem, rest = true, rest[len("true"):]
	case bytes.HasPrefix(rest, []byte("false")):
		rest = rest[len("false"):]
	default:
		return bad("remember me")
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(envTbs)); !ok {
		return bad("field order")
	}
	if tbs, rest, ok = cutID(rest, 0, ivSegLen); !ok || (len(tbs) != 0 && len(tbs) != ivSegLen) {
		return bad("tombstone seen")
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(envData)); !ok || len(rest) < 2 || rest[len(rest)-1] != '}' {
		return bad("data")
	}
	*ids = claimIDs{sid: sid, sin: sin, org: org, tbs: tbs}
	*env = envelope{
		V: formatVersion, Iat: times[0], Exp: times[1], Abs: times[2], Rem: rem, Data: rest[:len(rest)-1],
	}
	return nil
}

// cutString returns the bytes of b before the first '"', and what follows
// that quote.
func cutString(b []byte) (val, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '"')
	if i < 0 {
		return nil, b, false
	}
	return b[:i], b[i:], true
}

// cutID is cutString for a base64url id of minLen to maxLen characters.
func cutID(b []byte, minLen, maxLen int) (val, rest []byte, ok bool) {
	val, rest, ok = cutString(b)
	if !ok || len(val) < minLen || len(val) > maxLen || !isB64URL(string(val)) {
		return nil, b, false
	}
	return val, rest, true
}

// parseTime reads a positive decimal integer of at most 15 digits without a
// leading zero from the start of b, and returns it and the bytes it used
// (0: none valid).
func parseTime(b []byte) (int64, int) {
	var n int64
	i := 0
	for ; i < len(b) && i < 16 && '0' <= b[i] && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	if i == 0 || i > 15 || b[0] == '0' {
		return 0, 0
	}
	return n, i
}
