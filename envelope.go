package jwesession

import (
	"bytes"
	"fmt"
	"strconv"
)

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
