package jwesession

import (
	"encoding/json"
	"net/http"
	"time"
)

// AuthJSTokenInfo is what AuthJSManager.Inspect finds in a token. Fields
// that could not be read are zero.
type AuthJSTokenInfo struct {
	// Encryption is the token's enc header: "A256CBC-HS512" or "A256GCM".
	Encryption string
	// KeyID is the token's kid header ("" when it has none: NextAuth.js
	// v4, or a v5 token without one).
	KeyID string
	// Secret is the position in the secrets list of the secret that
	// opened the token (0: the first, which encrypts), or -1.
	Secret int
	// JTI, IssuedAt and ExpiresAt are the token's jti, iat and exp claims;
	// they are set whenever the token decrypts, also when it is rejected
	// for its times.
	JTI                 string
	IssuedAt, ExpiresAt time.Time
	// Claims are every claim of the token (iat, exp and jti included),
	// exactly as the token holds them: the plaintext.
	Claims json.RawMessage
}

// Inspect opens a token (a cookie's value; chunks joined) as the
// middleware would at this moment, and returns what it holds and the
// error a request carrying it would get (ErrDecrypt, ErrUnknownKey,
// ErrExpired, …, matched with errors.Is), or nil. It is the tool behind
// `jwesession inspect -format authjs`; most applications will not need
// it. It changes nothing.
func (m *AuthJSManager[T]) Inspect(token string) (AuthJSTokenInfo, error) {
	a := m.a
	info := AuthJSTokenInfo{Secret: -1}
	k, pt, err := a.ring.open(token, a.maxLen())
	if err != nil {
		return info, err
	}
	info.Encryption, info.KeyID, info.Secret = k.enc, k.kid, k.index
	var zero T
	t, err := a.readClaims(pt, nil, m.m.core.cfg.Now().Unix())
	if t.hasIat || err == nil {
		info.JTI, info.IssuedAt, info.ExpiresAt = t.jti, floatTime(t.iat), floatTime(t.exp)
	}
	if json.Valid(pt) {
		info.Claims = append(json.RawMessage(nil), pt...)
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(pt, &zero); err != nil {
		return info, errf(ErrMalformed, "failed to decode the claims into %T", zero)
	}
	return info, nil
}

// InspectCookies is Inspect for the value of a Cookie request header: it
// reads the session's cookies from it as a request would (chunks joined).
func (m *AuthJSManager[T]) InspectCookies(header string) (AuthJSTokenInfo, error) {
	ck := m.a.scan(http.Header{"Cookie": {header}})
	if !ck.any() {
		return AuthJSTokenInfo{Secret: -1}, errf(ErrMalformed, "the header holds no %s cookie", m.a.name)
	}
	tok, err := ck.token(m.a)
	if err != nil {
		return AuthJSTokenInfo{Secret: -1}, err
	}
	return m.Inspect(tok)
}

// floatTime returns the time of a claim in seconds since the epoch.
func floatTime(s float64) time.Time {
	sec := int64(s)
	return time.Unix(sec, int64((s-float64(sec))*1e9)).UTC()
}
