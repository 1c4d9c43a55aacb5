package jwesession

import (
	"bytes"
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AuthJSClaims are the claims an Auth.js or NextAuth.js sign-in puts in
// every token. Embed it in the claims type of an Auth.js manager, next to
// the claims the app adds:
//
//	type Claims struct {
//		jwesession.AuthJSClaims
//		Role string `json:"role,omitempty"`
//	}
//
// The times and the token id (iat, exp, jti) are not claims of the type:
// the manager sets them on every write, as encode() does, and
// Session.ExpiresAt and Session.ID return them.
type AuthJSClaims struct {
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Picture string `json:"picture,omitempty"`
	Sub     string `json:"sub,omitempty"`
}

// member is one member of a JSON object: its name (unescaped), and its
// name and value as written.
type member struct {
	name       string
	raw, value []byte
}

// objectMembers splits a valid JSON object into its members, in order.
func objectMembers(b []byte) ([]member, bool) {
	var out []member
	ok := eachMember(b, func(raw, value []byte) bool {
		out = append(out, member{memberName(raw), raw, value})
		return true
	})
	return out, ok
}

// memberName returns the unescaped name of a member from its quoted form.
func memberName(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var name string
	_ = json.Unmarshal(raw, &name) // valid JSON: cannot fail
	return name
}

// eachMember calls fn with each top-level member of the JSON object b
// (valid JSON: json.Unmarshal or json.Valid has checked it), stopping when
// fn returns false. fn gets the name (quoted, as written: see memberName)
// and the value as written. It reports whether b is an object.
func eachMember(b []byte, fn func(raw, value []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		end := skipValue(b, i) // the name: a string
		raw := b[i:end]
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // the colon
		end = skipValue(b, i)
		if !fn(raw, b[i:end]) {
			return true
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] == '}' {
			return true
		}
		i = skipSpace(b, i+1) // the comma
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipValue(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	return j
}

// authjsTimes are the claims decode() checks, and the token id.
type authjsTimes struct {
	iat, exp, nbf          float64
	hasIat, hasExp, hasNbf bool
	jti                    string
}

// readTimes reads iat, exp, nbf and jti from the claims (a valid JSON
// object; the last of a repeated name counts, as with JSON.parse). iat and
// exp must be numbers, as encode() always writes them; nbf, when present,
// a number (decode() requires it); a jti that is not a string is ignored.
func readTimes(pt []byte) (authjsTimes, error) {
	var t authjsTimes
	bad := ""
	ok := eachMember(pt, func(raw, v []byte) bool {
		var dst *float64
		key := raw
		if bytes.IndexByte(raw, '\\') >= 0 {
			key = []byte(strconv.Quote(memberName(raw)))
		}
		switch string(key) { // no copy

		case `"iat"`:
			dst, t.hasIat = &t.iat, true
		case `"exp"`:
			dst, t.hasExp = &t.exp, true
		case `"nbf"`:
			dst, t.hasNbf = &t.nbf, true
		case `"jti"`:
			t.jti = ""
			if v[0] == '"' {
				t.jti = memberName(v)
			}
			return true
		default:
			return true
		}
		n, err := strconv.ParseFloat(string(v), 64)
		if v[0] != '-' && (v[0] < '0' || v[0] > '9') || err != nil || math.IsInf(n, 0) {
			bad = string(key)
			return false
		}
		*dst = n
		return true
	})
	switch {
	case !ok:
		return t, errf(ErrMalformed, "the claims are not a JSON object")
	case bad != "":
		return t, errf(ErrMalformed, "the %s claim is not a finite number", bad)
	case !t.hasIat || !t.hasExp:
		return t, errf(ErrMalformed, "the token has no iat or no exp claim (encode() always writes both)")
	}
	return t, nil
}

// check applies decode()'s time rules at now with the clock tolerance
// leeway (seconds): expired when exp <= now - leeway, not yet valid when
// nbf > now + leeway. iat is not checked, as decode() does not.
func (t *authjsTimes) check(now, leeway int64) error {
	switch {
	case t.exp <= float64(now-leeway):
		return errf(ErrExpired, "the exp claim has passed")
	case t.hasNbf && t.nbf > float64(now+leeway):
		return errf(ErrNotYetValid, "the nbf claim lies in the future")
	}
	return nil
}

// checkClaims checks that pt is claims decode() would return: valid UTF-8
// (decode() decodes strictly) and valid JSON (the caller's json.Unmarshal
// has checked that).
func checkClaimsText(pt []byte) error {
	if !utf8.Valid(pt) {
		return errf(ErrMalformed, "the claims are not valid UTF-8")
	}
	return nil
}

// claimOwner tells which claims a claims type owns: those its JSON
// encoding writes or reads. A struct owns its fields' names (embedded
// structs' fields included, matched without regard to case, as
// encoding/json matches them); a map, an interface, or a type with its own
// JSON or text methods owns every claim.
type claimOwner struct {
	all   bool
	names []string
}

// newClaimOwner returns the claims t owns, or false when t's JSON is never
// an object.
func newClaimOwner(t reflect.Type) (claimOwner, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if customJSON(t) {
		return claimOwner{all: true}, true
	}
	switch t.Kind() {
	case reflect.Map:
		return claimOwner{all: true}, t.Key().Kind() == reflect.String
	case reflect.Interface:
		return claimOwner{all: true}, true
	case reflect.Struct:
		o := claimOwner{}
		o.walk(t, map[reflect.Type]bool{})
		return o, true
	}
	return claimOwner{}, false
}

// customJSON reports whether t (or *t) has JSON or text methods of its own.
func customJSON(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	for _, i := range [...]reflect.Type{
		reflect.TypeFor[json.Marshaler](), reflect.TypeFor[json.Unmarshaler](),
		reflect.TypeFor[encoding.TextMarshaler](), reflect.TypeFor[encoding.TextUnmarshaler](),
	} {
		if t.Implements(i) || p.Implements(i) {
			return true
		}
	}
	return false
}

// walk adds the JSON names of struct t's fields, following encoding/json:
// unexported fields and `json:"-"` are skipped, an untagged embedded
// struct's fields are promoted.
func (o *claimOwner) walk(t reflect.Type, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if !f.IsExported() && !(f.Anonymous && ft.Kind() == reflect.Struct) {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" && f.Anonymous && ft.Kind() == reflect.Struct && !customJSON(ft) {
			o.walk(ft, seen)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		o.names = append(o.names, name)
	}
}

// owns reports whether the type owns the claim name.
func (o *claimOwner) owns(name string) bool {
	if o.all {
		return true
	}
	for _, n := range o.names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// isTokenClaim reports whether name is a claim every write sets: iat, exp
// and jti.
func isTokenClaim(name string) bool { return name == "iat" || name == "exp" || name == "jti" }

// mergeClaims returns the claims a write keeps, in their canonical form
// (without iat, exp and jti, which the write adds): the members of typed
// (the type's JSON, an object), then the members of prev (the claims the
// token held) that the type does not own, as they were. So a claim the
// type does not know (a provider's tokens, "picture" for a type without
// it) survives a Go-side update byte for byte.
func (o *claimOwner) mergeClaims(typed, prev []byte) ([]byte, error) {
	tm, ok := objectMembers(typed)
	if !ok {
		return nil, errf(ErrInvalidConfig, "the claims type does not encode to a JSON object")
	}
	out := make([]byte, 0, len(typed)+len(prev))
	out = append(out, '{')
	add := func(m member) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(append(append(out, m.raw...), ':'), m.value...)
	}
	for _, m := range tm {
		if !isTokenClaim(m.name) {
			add(m)
		}
	}
	if prev != nil && !o.all {
		pm, _ := objectMembers(prev)
		for _, m := range pm {
			if !isTokenClaim(m.name) && !o.owns(m.name) {
				add(m)
			}
		}
	}
	return append(out, '}'), nil
}

// marshalClaims encodes claims as JSON.stringify would: without the HTML
// escapes (\u003c for <, …) json.Marshal adds.
func marshalClaims(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// appendTokenClaims appends iat, exp and jti to canonical claims c (an
// object without them), as encode() adds them to the claims it is given.
func appendTokenClaims(c []byte, iat, exp int64, jti string) []byte {
	out := make([]byte, 0, len(c)+64+len(jti))
	out = append(out, c[:len(c)-1]...)
	if len(c) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"iat":`...)
	out = strconv.AppendInt(out, iat, 10)
	out = append(out, `,"exp":`...)
	out = strconv.AppendInt(out, exp, 10)
	out = append(out, `,"jti":`...)
	q, _ := json.Marshal(jti)
	out = append(out, q...)
	return append(out, '}')
}

// stringClaim returns the value of claim name in the claims c (a JSON
// object) when it is a string (the last one, when repeated, as with
// JSON.parse), else "".
func stringClaim(c []byte, name string) string {
	out, quoted := "", strconv.Quote(name)
	eachMember(c, func(raw, v []byte) bool {
		if string(raw) == quoted || bytes.IndexByte(raw, '\\') >= 0 && memberName(raw) == name {
			out = ""
			if v[0] == '"' {
				out = memberName(v)
			}
		}
		return true
	})
	return out
}
