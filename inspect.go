package jwesession

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// TokenInfo is what Manager.Inspect finds in a token. Fields that could
// not be read are zero.
type TokenInfo struct {
	// KeyID is the token's kid, read from its protected header.
	KeyID string
	// KeyState is that key's state in the manager's keyring; 0 when the
	// keyring has no key of that id.
	KeyState KeyState
	// SessionID, IssuedAt, ExpiresAt (idle expiry) and SignedInAt (the
	// start of the absolute lifetime) are the token's claims; AbsoluteEnd
	// is SignedInAt plus Config.AbsoluteTimeout. They are set whenever the
	// token decrypts, also when it is rejected for its key's state or its
	// times.
	SessionID                                    string
	IssuedAt, ExpiresAt, SignedInAt, AbsoluteEnd time.Time
	// Data is the session data as the token holds it: JSON.
	Data json.RawMessage
	// Rekey reports that a read would re-seal the token under the primary
	// (it is under a decrypt-only key older than the primary).
	Rekey bool
}

// Inspect opens a session token (a cookie's value; chunks joined) as the
// manager's middleware would at this moment, and returns what it holds and
// the error a request carrying it would get (ErrRetiredKey, ErrExpired,
// ErrDecrypt, …, matched with errors.Is), or nil. It is the tool behind
// `jwesession inspect`, for answering "whose session is this cookie?";
// most applications will not need it.
//
// Inspect changes nothing and counts nothing in Stats. Unlike a request, it
// also decrypts a token under a retired key, so TokenInfo shows whose
// session a retired token held (the error is still ErrRetiredKey).
func (m *Manager[T]) Inspect(token string) (TokenInfo, error) {
	c := m.core
	cfg := &c.cfg
	r := c.ring.Load()
	var info TokenInfo
	if h, _, ok := strings.Cut(token, "."); ok {
		info.KeyID = headerKid(h)
	}
	if dk, ok := r.byID[info.KeyID]; ok {
		info.KeyState = dk.state
	}
	maxLen := cfg.MaxChunks * ChunkSize
	var env envelope
	// Copies of the ring with counters of their own: the request's view,
	// and one that opens retired keys too, for their claims.
	dk, err := r.detached(false).openInto(token, maxLen, &env)
	if errors.Is(err, ErrRetiredKey) {
		if _, err2 := r.detached(true).openInto(token, maxLen, &env); err2 != nil {
			return info, err
		}
	} else if err != nil {
		return info, err
	}
	info.SessionID = env.Sid
	info.IssuedAt, info.ExpiresAt, info.SignedInAt = time.Unix(env.Iat, 0), time.Unix(env.Exp, 0), time.Unix(env.Abs, 0)
	info.AbsoluteEnd = info.SignedInAt.Add(cfg.AbsoluteTimeout)
	info.Data = append(json.RawMessage(nil), env.Data...)
	if err != nil {
		return info, err
	}
	// The checks of Session.load, in its order.
	if err := cfg.checkTimes(&env, cfg.Now().Unix()); err != nil {
		return info, err
	}
	var data T
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return info, errf(ErrMalformed, "failed to decode session data into %T", data)
	}
	info.Rekey = dk.state == DecryptOnly && dk.index > r.primary.index
	return info, nil
}

// headerKid returns the kid of a protected-header segment, or "" when it
// has none that is a valid key id.
func headerKid(seg string) string {
	b, err := decodeSegment(seg)
	if err != nil {
		return ""
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if json.Unmarshal(b, &h) != nil || !validKeyID(h.Kid) {
		return ""
	}
	return h.Kid
}

// detached returns a copy of r whose keys have counters of their own, so
// opening with it counts nothing; with openRetired, retired keys open as
// decrypt-only keys do.
func (r *ring) detached(openRetired bool) *ring {
	out := &ring{
		src:      r.src,
		byHeader: make(map[string]*derivedKey, len(r.keys)),
		byID:     make(map[string]*derivedKey, len(r.keys)),
	}
	for _, k := range r.keys {
		dk := *k
		dk.count = &keyCounters{}
		if openRetired && dk.state == Retired {
			dk.state = DecryptOnly
		}
		out.keys = append(out.keys, &dk)
		out.byHeader[dk.header] = &dk
		out.byID[dk.id] = &dk
		if dk.state == Primary {
			out.primary = &dk
		}
	}
	return out
}
