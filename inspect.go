package jwesession

import (
	"encoding/json"
	"errors"
	"net/http"
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
	// OriginKeyID is the id of the key the token's sign-in was first
	// sealed under, as the token claims it; the sign-in ends when that
	// key is retired.
	OriginKeyID string
	// SessionID, SignInID, IssuedAt, ExpiresAt (the token's own idle
	// expiry) and SignedInAt (the start of the absolute lifetime) are the
	// token's claims; AbsoluteEnd is SignedInAt plus
	// Config.AbsoluteTimeout (Config.RememberAbsoluteTimeout when
	// Remembered). They are set whenever the token decrypts, also when it
	// is rejected for its key's state or its times.
	SessionID, SignInID                          string
	IssuedAt, ExpiresAt, SignedInAt, AbsoluteEnd time.Time
	// Remembered is the token's sign-in kind: true for "remember me"
	// (SignInRemembered), false for a browser-session sign-in.
	Remembered bool
	// IdleExpiry is the session's idle expiry: the later of the token's
	// and a matching companion's (InspectCookies), never past
	// AbsoluteEnd; set when the session is accepted.
	IdleExpiry time.Time
	// Data is the session data as the token holds it: JSON.
	Data json.RawMessage
	// Subject is the data's SessionSubject (see Subjecter), when the
	// manager's T has one and the session is accepted.
	Subject string
}

// Inspect opens a session token (a cookie's value; chunks joined) as the
// manager's middleware would at this moment, and returns what it holds and
// the error a request carrying it alone would get (ErrRetiredKey,
// ErrExpired, ErrDecrypt, …, matched with errors.Is), or nil. It is the
// tool behind `jwesession inspect`, for answering "whose session is this
// cookie?"; most applications will not need it. InspectCookies does the
// same for a whole Cookie header, companion and tombstone included.
//
// Inspect changes nothing and counts nothing in Stats. Unlike a request, it
// also decrypts a token under a retired key, so TokenInfo shows whose
// session a retired token held (the error is still ErrRetiredKey).
func (m *Manager[T]) Inspect(token string) (TokenInfo, error) {
	return m.inspect(token, &carried{})
}

// InspectCookies is Inspect for the value of a Cookie request header: it
// reads the session's cookies from it as a request would (chunks joined,
// the companion and the tombstone applied).
func (m *Manager[T]) InspectCookies(header string) (TokenInfo, error) {
	ck := scanCookies(http.Header{"Cookie": {header}}, &m.core.names, m.core.cfg.MaxChunks)
	if !ck.any() {
		return TokenInfo{}, errf(ErrMalformed, "the header holds no %s cookie", m.core.names.data)
	}
	tok, err := ck.token()
	if err != nil {
		return TokenInfo{}, err
	}
	return m.inspect(tok, &ck)
}

func (m *Manager[T]) inspect(token string, ck *carried) (TokenInfo, error) {
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
	// Copies of the ring with counters of their own: the request's view,
	// and one that opens retired keys too, for their claims.
	var o opened
	err := c.openSession(r.detached(false), token, ck, cfg.Now().Unix(), &o)
	if o.env.V == 0 && errors.Is(err, ErrRetiredKey) {
		_, _ = r.detached(true).openInto(token, cfg.MaxChunks*ChunkSize, &o.env, &o.ids)
	}
	o.env.Sid, o.env.Sin, o.env.Org = string(o.ids.sid), string(o.ids.sin), string(o.ids.org)
	if env := &o.env; env.V != 0 {
		info.OriginKeyID, info.SessionID, info.SignInID = env.Org, env.Sid, env.Sin
		info.IssuedAt, info.ExpiresAt, info.SignedInAt = time.Unix(env.Iat, 0), time.Unix(env.Exp, 0), time.Unix(env.Abs, 0)
		info.AbsoluteEnd, info.Remembered = time.Unix(cfg.absoluteEnd(env.Abs, env.Rem), 0), env.Rem
		info.Data = append(json.RawMessage(nil), env.Data...)
	}
	if err != nil {
		return info, err
	}
	info.IdleExpiry = time.Unix(o.exp, 0)
	var data T
	if _, err := decodeData(nil, o.env.Data, &data); err != nil {
		return info, err
	}
	info.Subject = subjectOf(&data)
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
