package jwesession

// Canonical unpadded base64url, encoded and decoded without the
// standard library's leniency (see checkSegment).

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// writeB64 writes src to b in unpadded base64url, through a stack buffer,
// six bytes to eight characters a round (encoding/base64's encoder does
// three to four, with a bounds check each: a sign-in's token is most of
// its instructions there).
func writeB64(b *strings.Builder, src []byte) {
	var scratch [256]byte // 192 source bytes per round
	for len(src) > 0 {
		n := min(len(src), 192)
		b.Write(encodeB64(scratch[:], src[:n]))
		src = src[n:]
	}
}

// b64Alphabet is base64url's alphabet.
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// encodeB64 encodes src (at most len(dst)*3/4 bytes) into dst in unpadded
// base64url and returns the encoded part of dst.
func encodeB64(dst, src []byte) []byte {
	di := 0
	for len(src) >= 6 && len(dst)-di >= 8 {
		v := uint64(src[0])<<40 | uint64(src[1])<<32 | uint64(src[2])<<24 | uint64(src[3])<<16 | uint64(src[4])<<8 | uint64(src[5])
		d := dst[di : di+8 : di+8]
		d[0] = b64Alphabet[v>>42&63]
		d[1] = b64Alphabet[v>>36&63]
		d[2] = b64Alphabet[v>>30&63]
		d[3] = b64Alphabet[v>>24&63]
		d[4] = b64Alphabet[v>>18&63]
		d[5] = b64Alphabet[v>>12&63]
		d[6] = b64Alphabet[v>>6&63]
		d[7] = b64Alphabet[v&63]
		src, di = src[6:], di+8
	}
	return base64.RawURLEncoding.AppendEncode(dst[:di], src) // the last 0 to 5 bytes
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
