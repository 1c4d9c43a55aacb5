package jwesession

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"io"

	"golang.org/x/crypto/hkdf"
)

// purpose is what a derived key seals: every kind of cookie has a key of
// its own, so a cookie of one kind never opens as another (the
// token-confusion class of CVE-2023-48309).
type purpose int

const (
	purposeData      purpose = iota // the session token: info "A256GCM <base>"
	purposeCompanion                // the companion (refresh) cookie: info "A256GCM companion <base>"
	purposeTombstone                // the tombstone (sign-out) cookie: info "A256GCM tombstone <base>"
	purposeFlash                    // the flash-message cookie: info "A256GCM flash <base>"
	numPurposes
)

// info returns the HKDF info of purpose p for the cookie base name. Base
// names hold no spaces, so no two (purpose, base) pairs share an info.
func (p purpose) info(base string) string {
	switch p {
	case purposeCompanion:
		return "A256GCM companion " + base
	case purposeTombstone:
		return "A256GCM tombstone " + base
	case purposeFlash:
		return "A256GCM flash " + base
	}
	return "A256GCM " + base
}

// derivedKey is a key ready for use with one cookie name.
type derivedKey struct {
	id     string
	state  KeyState
	index  int    // position in the keyring, 0 = newest
	header string // the exact base64url protected-header segment of its tokens
	aad    []byte // header as bytes: the AES-GCM additional data
	raw    []byte // the AES-256 session-token key (go-jose's DIRECT key)
	aead   [numPurposes]cipher.AEAD
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

// deriveKey returns HKDF-SHA256(secret, "jwesession v1", info), 32 bytes.
func deriveKey(secret []byte, info string) []byte {
	key := make([]byte, 32)
	r := hkdf.New(sha256.New, secret, []byte(hkdfSalt), []byte(info))
	if _, err := io.ReadFull(r, key); err != nil {
		panic("jwesession: hkdf: " + err.Error()) // cannot happen for 32 bytes
	}
	return key
}

// newGCM returns AES-256-GCM for a 32-byte key.
func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("jwesession: " + err.Error()) // cannot happen: 32-byte key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("jwesession: " + err.Error()) // cannot happen: standard nonce and tag size
	}
	return aead
}

// deriveRing derives every key of kr for the cookie base name, once, for
// every purpose. counters are reused by key id from prev, if any.
func deriveRing(kr *Keyring, base string, prev *ring) *ring {
	r := &ring{
		src:      kr,
		byHeader: make(map[string]*derivedKey, len(kr.keys)),
		byID:     make(map[string]*derivedKey, len(kr.keys)),
	}
	for i, k := range kr.keys {
		dk := &derivedKey{
			id:     k.ID,
			state:  k.State,
			index:  i,
			header: headerSegment(k.ID),
			count:  &keyCounters{},
		}
		for p := range numPurposes {
			key := deriveKey(k.Secret.bytes(), p.info(base))
			if p == purposeData {
				dk.raw = key
			}
			dk.aead[p] = newGCM(key)
		}
		if prev != nil {
			if old, ok := prev.byID[k.ID]; ok && string(old.raw) == string(dk.raw) {
				dk.count = old.count
			}
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

// older returns whichever of a and b is older (listed later in the
// keyring).
func older(a, b *derivedKey) *derivedKey {
	if a.index >= b.index {
		return a
	}
	return b
}
