package jwesession

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The Auth.js token codec. A token is a JWE in compact serialization, alg
// "dir". What encode() writes, and so what is accepted here:
//
//   - Auth.js v5: header {"alg":"dir","enc":"A256CBC-HS512","kid":KID}, a
//     16-byte IV, a 32-byte tag; decode() also opens A256GCM (12-byte IV,
//     16-byte tag) and a header without kid (then with the first secret);
//   - NextAuth.js v4: header {"alg":"dir","enc":"A256GCM"}, a 12-byte IV, a
//     16-byte tag.
//
// The strict pre-checks of the native format apply where the format allows
// them: a length cap before anything is decoded, exactly five segments,
// canonical unpadded base64url without CR/LF in every segment, an empty
// encrypted-key segment, the IV and tag lengths of the encryption, a
// header holding alg, enc and (v5) kid and nothing else (no zip, crit,
// typ, cty: encode() never writes them), each once. The header's fields
// may come in any order and spacing (decode() parses JSON), but only the
// exact segments the keys' encode() writes are found without parsing.
// go-jose does the decryption: its CBC-HMAC checks the tag in constant
// time before it unpads, and every failure is the one ErrDecrypt.

// openAuthJS checks token and decrypts it with the key its header names,
// and returns the key and the plaintext (the claims, unchecked).
func (r *authjsRing) open(token string, maxLen int) (*authjsKey, []byte, error) {
	if len(token) > maxLen {
		return nil, nil, errf(ErrTooLarge, "the token has %d bytes, the limit is %d", len(token), maxLen)
	}
	seg, err := segments(token)
	if err != nil {
		return nil, nil, err
	}
	var keys []*authjsKey
	var aad []byte
	if h, ok := r.byHeader[seg[0]]; ok {
		keys, aad = h.keys, h.aad
	} else {
		if keys, err = r.parseHeader(seg[0]); err != nil {
			return nil, nil, err
		}
		aad = []byte(seg[0]) // the AAD is the segment as sent
	}
	k := keys[0] // every candidate has the same encryption
	if seg[1] != "" {
		return nil, nil, errf(ErrMalformed, "the encrypted-key segment must be empty")
	}
	if len(seg[2]) != base64.RawURLEncoding.EncodedLen(k.ivLen) {
		return nil, nil, errf(ErrMalformed, "the IV must be %d bytes", k.ivLen)
	}
	if len(seg[4]) != base64.RawURLEncoding.EncodedLen(k.tag) {
		return nil, nil, errf(ErrMalformed, "the tag must be %d bytes", k.tag)
	}
	for _, s := range seg[2:] {
		if err := checkSegment(s); err != nil {
			return nil, nil, err
		}
	}
	ctLen := base64.RawURLEncoding.DecodedLen(len(seg[3]))
	if k.enc == encCBC && (ctLen == 0 || ctLen%16 != 0) {
		return nil, nil, errf(ErrMalformed, "the ciphertext is not a whole number of AES blocks")
	}
	// One allocation for the IV, the ciphertext and tag, and the
	// plaintext: a failed open may overwrite its output, and the next
	// secret (v4) needs the ciphertext intact.
	buf := make([]byte, k.ivLen+ctLen+k.tag+ctLen)
	iv, ct, out := buf[:k.ivLen], buf[k.ivLen:k.ivLen+ctLen+k.tag], buf[k.ivLen+ctLen+k.tag:]
	if !decodeInto(iv, seg[2]) || !decodeInto(ct[:ctLen], seg[3]) || !decodeInto(ct[ctLen:], seg[4]) {
		// checkSegment passed each of them above, and agrees with
		// decodeInto: cannot happen, but never open a garbage buffer.
		return nil, nil, errf(ErrMalformed, "a segment is not base64url")
	}
	for _, k := range keys {
		if pt, err := k.aead.Open(out[:0], iv, ct, aad); err == nil {
			return k, pt, nil
		}
	}
	return nil, nil, ErrDecrypt
}

// parseHeader reads a header segment that is not byte-identical to one the
// keys write, and returns the keys it names, or why it is refused.
func (r *authjsRing) parseHeader(seg string) ([]*authjsKey, error) {
	b, err := decodeSegment(seg)
	if err != nil {
		return nil, fmt.Errorf("%w: protected header", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errf(ErrMalformed, "the protected header is not a JSON object")
	}
	fields := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errf(ErrMalformed, "the protected header is not a JSON object")
		}
		name := t.(string) // a key: More and Token guarantee a string here
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errf(ErrMalformed, "the protected header is not a JSON object")
		}
		switch name {
		case "zip":
			return nil, errf(ErrUnsupported, "compressed tokens (zip) are refused")
		case "alg", "enc", "kid":
		default:
			return nil, errf(ErrMalformed, "the protected header may hold only alg, enc and kid")
		}
		if _, dup := fields[name]; dup {
			return nil, errf(ErrMalformed, "the protected header holds %s twice", name)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, errf(ErrMalformed, "the %s header is not a string", name)
		}
		fields[name] = s
	}
	if _, err := dec.Token(); err != nil {
		return nil, errf(ErrMalformed, "the protected header is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errf(ErrMalformed, "data after the protected header's object")
	}
	if fields["alg"] != "dir" {
		return nil, errf(ErrUnsupported, "the alg header must be dir")
	}
	enc, hasEnc := fields["enc"]
	if !hasEnc || r.noKid[enc] == nil {
		return nil, errf(ErrUnsupported, "the enc header must be one the format opens")
	}
	kid, hasKid := fields["kid"]
	if !hasKid {
		return r.noKid[enc], nil
	}
	if len(r.byKid) == 0 {
		return nil, errf(ErrMalformed, "a NextAuth.js v4 token has no kid header")
	}
	if k, ok := r.byKid[enc+" "+kid]; ok {
		return []*authjsKey{k}, nil
	}
	return nil, errf(ErrUnknownKey, "the kid names none of the secrets (for this cookie name)")
}

// authjsTokenLen returns the length of a token sealed under k for a
// plaintext of n bytes, with a header segment of headerLen bytes.
func authjsTokenLen(k *authjsKey, headerLen, n int) int {
	ct := n
	if k.enc == encCBC {
		ct = (n/16 + 1) * 16 // PKCS#7 adds 1 to 16 bytes
	}
	enc := base64.RawURLEncoding.EncodedLen
	return headerLen + 2 + enc(k.ivLen) + 1 + enc(ct) + 1 + enc(k.tag)
}

// seal encrypts plaintext under the writing key with a fresh random IV and
// returns the compact token, as encode() writes it.
func (r *authjsRing) seal(plaintext []byte) string {
	k := r.write
	iv := make([]byte, k.ivLen)
	_, _ = rand.Read(iv) // crypto/rand.Read never fails (Go 1.24+)
	sealed := k.aead.Seal(nil, iv, plaintext, r.aad)
	var b strings.Builder
	b.Grow(authjsTokenLen(k, len(r.header), len(plaintext)))
	b.WriteString(r.header)
	b.WriteString("..")
	writeB64(&b, iv)
	b.WriteByte('.')
	writeB64(&b, sealed[:len(sealed)-k.tag])
	b.WriteByte('.')
	writeB64(&b, sealed[len(sealed)-k.tag:])
	return b.String()
}
