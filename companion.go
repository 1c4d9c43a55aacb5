package jwesession

import (
	"bytes"
	"net/http"
	"strconv"
)

// The companion cookie carries the sliding refresh. A read whose refresh is
// due must not re-issue the session token: its response may land after a
// concurrent write's or sign-out's and undo it. It writes this small
// cookie instead, which holds no data: a session id, its issue time and a
// later idle expiry, sealed under the companion key (never the session
// key). A session's idle expiry is the later of its token's and a matching
// companion's (one naming another session id is ignored), so whatever the
// arrival order, no old data comes back; a stale companion landing last at
// worst shortens the idle window by the gap between the two responses.
//
// Its plaintext has one form:
//
//	{"v":1,"sid":"…","iat":N,"exp":N}
const (
	companionV   = `{"v":1,"sid":"`
	companionIat = `","iat":`
	companionExp = `,"exp":`
	// maxCompanionLen bounds the companion cookie's value: the header of
	// the longest key id and the longest claims, well rounded up.
	maxCompanionLen = 512
)

// appendCompanion appends the companion's claims to dst.
func appendCompanion(dst []byte, sid string, iat, exp int64) []byte {
	dst = append(dst, companionV...)
	dst = append(dst, sid...)
	dst = append(dst, companionIat...)
	dst = strconv.AppendInt(dst, iat, 10)
	dst = append(dst, companionExp...)
	dst = strconv.AppendInt(dst, exp, 10)
	return append(dst, '}')
}

// companionLen returns len(appendCompanion(nil, sid, iat, exp)).
func companionLen(sid string, iat, exp int64) int {
	return len(companionV) + len(sid) + len(companionIat) + decimalLen(iat) + len(companionExp) + decimalLen(exp) + 1
}

// parseCompanion reads the companion's claims in their one form.
func parseCompanion(pt []byte) (sid []byte, iat, exp int64, ok bool) {
	rest, ok := bytes.CutPrefix(pt, []byte(companionV))
	if !ok {
		return nil, 0, 0, false
	}
	if sid, rest, ok = cutID(rest, 1, maxIDLen); !ok {
		return nil, 0, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(companionIat)); !ok {
		return nil, 0, 0, false
	}
	iat, n := parseTime(rest)
	if n == 0 {
		return nil, 0, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest[n:], []byte(companionExp)); !ok {
		return nil, 0, 0, false
	}
	exp, n = parseTime(rest)
	if n == 0 || string(rest[n:]) != "}" {
		return nil, 0, 0, false
	}
	return sid, iat, exp, true
}

// openCompanion opens a companion cookie for the session id sid and
// returns its issue time and its idle expiry, clamped as a session
// token's is (never past issue time + the idle timeout of a sign-in of
// kind rem + Leeway). ok is false
// when it cannot be used: unreadable, under a retired key, for another
// session id, or issued in the future beyond the leeway. It is ignored
// then, never an error: the session token alone decides.
func (c *managerCore) openCompanion(r *ring, value string, sid []byte, now int64, rem bool) (iat, exp int64, ok bool) {
	dk, pt, err := r.openSealed(value, maxCompanionLen, purposeCompanion)
	if err != nil || dk.state == Retired {
		return 0, 0, false
	}
	s, iat, exp, ok := parseCompanion(pt)
	if !ok || !bytes.Equal(s, sid) || iat > now+c.cfg.leeway() {
		return 0, 0, false
	}
	return iat, c.cfg.clampExp(iat, exp, rem), true
}

// writeCompanion adds a companion for session id sid to h: issued now,
// with the idle expiry exp. It follows its sign-in's kind rem: persistent
// for "remember me", else a browser-session cookie.
func (c *managerCore) writeCompanion(h http.Header, r *ring, sid string, now, exp int64, rem bool) {
	c.count.refreshed.inc()
	pt := appendCompanion(make([]byte, 0, companionLen(sid, now, exp)+tagLen), sid, now, exp)
	c.writeCookie(h, c.names.companion, r.primary, purposeCompanion, pt, cookieAge(rem, exp-now))
}
