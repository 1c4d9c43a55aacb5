package jwesession

import (
	"math/bits"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The cookies of an Auth.js session, as the app reads and writes them: the
// token under the full cookie name when it fits one cookie, else chunks
// name.0, name.1, …; the app's reader joins every cookie whose name starts
// with the session cookie's (and whose value is not empty), sorted by the
// number after the last dot. So no other cookie of the site may have a
// name starting with it, and this mode writes no companion or tombstone.

// authjsCarried is what a request's Cookie headers hold of the session.
type authjsCarried struct {
	bare     string
	hasBare  bool
	chunks   [MaxChunksLimit]string
	mask     uint32 // bit i: chunk i present
	tooMany  bool   // a chunk at or past MaxChunks
	foreign  bool   // another cookie whose name starts with the session's: the app would join it in
	anyValue bool
}

// any reports whether any cookie of the session is present.
func (c *authjsCarried) any() bool { return c.anyValue }

// eachCookie calls fn with every name=value pair of the request's Cookie
// headers, in order.
func eachCookie(h http.Header, fn func(name, value string)) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, ""
			}
			if k, v, ok := strings.Cut(strings.Trim(part, " \t"), "="); ok {
				fn(strings.TrimRight(k, " \t"), strings.TrimLeft(v, " \t"))
			}
		}
	}
}

// scan finds the session's cookies: those whose name starts with the
// cookie name and whose value is not empty (an empty value adds nothing
// to the app's join). The first occurrence of a name wins, as in the
// app's cookie parser.
func (a *authjsCore) scan(h http.Header) authjsCarried {
	var c authjsCarried
	eachCookie(h, func(k, v string) {
		if v == "" || !strings.HasPrefix(k, a.name) {
			return
		}
		c.anyValue = true
		if k == a.name {
			if !c.hasBare {
				c.bare, c.hasBare = v, true
			}
			return
		}
		i, ok := chunkIndex(k[len(a.name):])
		switch {
		case !ok:
			c.foreign = true
		case i >= a.maxChunks:
			c.tooMany = true
		case c.mask&(1<<i) == 0:
			c.mask |= 1 << i
			c.chunks[i] = v
		}
	})
	return c
}

// chunkIndex parses ".N", a chunk suffix: N a decimal without a leading
// zero, below 100.
func chunkIndex(suffix string) (int, bool) {
	n, ok := strings.CutPrefix(suffix, ".")
	if !ok || len(n) == 0 || len(n) > 2 {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || strconv.Itoa(i) != n {
		return 0, false
	}
	return i, true
}

// token returns the token the cookies carry: the bare cookie, or chunks
// 0…n-1 joined. Whatever the app's join would turn into a broken token
// (a bare cookie next to chunks, a missing chunk, another cookie whose
// name starts with the session's) is refused.
func (c *authjsCarried) token(a *authjsCore) (string, error) {
	switch {
	case c.foreign:
		return "", errf(ErrMalformed, "another cookie's name starts with %s: the app would join it into the token", a.name)
	case c.tooMany:
		return "", errf(ErrTooLarge, "the session cookie has more chunks than the configured maximum (MaxChunks %d)", a.maxChunks)
	case c.hasBare && c.mask != 0:
		return "", errf(ErrMalformed, "both the session cookie and chunks of it are present")
	case c.hasBare:
		return c.bare, nil
	}
	// Chunks 0…n-1: n is the first one missing, and none may follow.
	n := bits.TrailingZeros32(^c.mask)
	if c.mask>>n != 0 {
		return "", errf(ErrMalformed, "a session cookie chunk is missing")
	}
	return strings.Join(c.chunks[:n], ""), nil
}

// chunkName returns the name of chunk i.
func (a *authjsCore) chunkName(i int) string { return a.name + "." + strconv.Itoa(i) }

// appendAttrs appends the attributes the app's own cookies carry: Path=/,
// Max-Age, HttpOnly, Secure (unless development cookies) and
// SameSite=Lax, as Auth.js writes them by default.
func (a *authjsCore) appendAttrs(dst []byte, maxAge int64) []byte {
	dst = append(dst, "; Path=/; Max-Age="...)
	dst = strconv.AppendInt(dst, maxAge, 10)
	dst = append(dst, "; HttpOnly"...)
	if !a.dev {
		dst = append(dst, "; Secure"...)
	}
	return append(dst, "; SameSite=Lax"...)
}

// deletion returns the Set-Cookie line that deletes the cookie name.
func (a *authjsCore) deletion(name string) string {
	return string(a.appendAttrs([]byte(name+"="), 0))
}

// writeToken adds the Set-Cookie lines of token to h: one cookie under the
// name when it fits, else chunks of chunkSize bytes, as the app writes
// them; then the deletion of every other name the session could use.
func (a *authjsCore) writeToken(h http.Header, token string, req *http.Request) {
	var attrs [maxAttrsLen]byte
	attr := string(a.appendAttrs(attrs[:0], max(1, min(a.maxAge, maxAgeCap))))
	h["Set-Cookie"] = slices.Grow(h["Set-Cookie"], a.maxChunks+2)
	if len(token) <= a.chunkSize {
		h["Set-Cookie"] = append(h["Set-Cookie"], a.name+"="+token+attr)
		a.deleteOthers(h, req, 0)
		return
	}
	n := 0
	for ; len(token) > 0; n++ {
		k := min(len(token), a.chunkSize)
		h["Set-Cookie"] = append(h["Set-Cookie"], a.chunkName(n)+"="+token[:k]+attr)
		token = token[k:]
	}
	a.deleteOthers(h, req, n)
}

// deleteOthers adds the deletion of every name the session could use that
// a write of n chunks (0: the bare name; -1: nothing, the sign-out) does
// not set, whether or not the request carried it (a concurrent response
// may have set it): the bare name, each chunk name up to MaxChunks (when
// above 1), and every other cookie the request carried whose name starts
// with the session's (the app's join would take it in).
func (a *authjsCore) deleteOthers(h http.Header, req *http.Request, n int) {
	deleted := map[string]bool{}
	del := func(name string) {
		if !deleted[name] {
			deleted[name] = true
			h["Set-Cookie"] = append(h["Set-Cookie"], a.deletion(name))
		}
	}
	if n != 0 {
		del(a.name)
	}
	for i := max(n, 0); a.maxChunks > 1 && i < a.maxChunks; i++ {
		del(a.chunkName(i))
	}
	eachCookie(req.Header, func(k, _ string) {
		if !strings.HasPrefix(k, a.name) || !validAuthJSCookieName(k) || k == a.name && n == 0 {
			return
		}
		if i, ok := chunkIndex(k[len(a.name):]); ok && i < n {
			return // written by this response
		}
		del(k)
	})
}
