package jwesession

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"io"

	"golang.org/x/crypto/hkdf"
)

// derivedKey is a key ready for use with one cookie name.
type derivedKey struct {
	id     string
	state  KeyState
	index  int    // position in the keyring, 0 = newest
	header string // the exact base64url protected-header segment of its tokens
	aad    []byte // header as bytes: the AES-GCM additional data
	raw    []byte // the AES-256 key (go-jose's DIRECT key)
	aead   cipher.AEAD
	count  *keyCounters
}

// ring is a keyring derived for one manager's cookie name: what one request
// uses from start to end.
type ring struct {
	src      *Keyring
	keys     []*derivedKey
	byHeader map[string]*derivedKey // lookup by exact protected-header segment
	byID     map[string]*derivedKey
	primary  *derivedKey
}

// deriveKey returns HKDF-SHA256(secret, "jwesession v1", "A256GCM "+base).
func deriveKey(secret []byte, base string) []byte {
	key := make([]byte, 32)
	r := hkdf.New(sha256.New, secret, []byte(hkdfSalt), []byte("A256GCM "+base))
	if _, err := io.ReadFull(r, key); err != nil {
		panic("jwesession: hkdf: " + err.Error()) // cannot happen for 32 bytes
	}
	return key
}

// deriveRing derives every key of kr for the cookie base name, once.
// counters are reused by key id from prev, if any.
func deriveRing(kr *Keyring, base string, prev *ring) *ring {
	r := &ring{
		src:      kr,
		byHeader: make(map[string]*derivedKey, len(kr.keys)),
		byID:     make(map[string]*derivedKey, len(kr.keys)),
	}
	for i, k := range kr.keys {
		raw := deriveKey(k.Secret.bytes(), base)
		block, err := aes.NewCipher(raw)
		if err != nil {
			panic("jwesession: " + err.Error()) // cannot happen: 32-byte key
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			panic("jwesession: " + err.Error()) // cannot happen: standard nonce and tag size
		}
		cnt := &keyCounters{}
		if prev != nil {
			if old, ok := prev.byID[k.ID]; ok && string(old.raw) == string(raw) {
				cnt = old.count
			}
		}
		dk := &derivedKey{
			id:     k.ID,
			state:  k.State,
			index:  i,
			header: headerSegment(k.ID),
			raw:    raw,
			aead:   aead,
			count:  cnt,
		}
		dk.aad = []byte(dk.header)
		r.keys = append(r.keys, dk)
		r.byHeader[dk.header] = dk
		r.byID[dk.id] = dk
		if k.State == Primary {
			r.primary = dk
		}
	}
	return r
}

// derive derives kr for the manager's cookie name, keeping the counters of
// the keys the current ring shares with it, and hooks the counters of new
// keys to the manager's seal warning.
func (c *managerCore) derive(kr *Keyring) *ring {
	r := deriveRing(kr, c.cfg.CookieName, c.ring.Load())
	for _, dk := range r.keys {
		if dk.count.sealed.core == nil { // new: not yet shared with any reader
			dk.count.sealed.core, dk.count.sealed.id = c, dk.id
		}
	}
	return r
}

// swap makes kr the manager's keyring. Unless kr equals the current one,
