package jwesession

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ChunkSize is the most bytes of token one cookie carries. A name and value
// over 4096 bytes is dropped by browsers without a word (RFC 6265bis); 3936
// leaves room for the longest name this library writes.
const ChunkSize = 3936

// MaxChunksLimit is the largest Config.MaxChunks accepted.
const MaxChunksLimit = 10

// maxAgeCap is the longest cookie lifetime browsers keep: 400 days.
const maxAgeCap = 400 * 24 * 60 * 60

// The cookies of one session, for the base name "session" (with the
// "__Host-" prefix, "__Secure-" with a Domain or Path, none with
// DevelopmentCookies: see scope.go):
//
//	session, or session.0 … session.N-1   the session token (the data)
//	~r.session                            the companion: a later idle expiry (the sliding refresh), no data
//	~t.session                            the tombstone: sign-ins signed out in this browser
//	~f.session                            the flash messages (flash.go): not part of the session
//
// The last two start with "~", which no base name may hold, so no reader
// takes them for a chunk: not this library's (a chunk is the name, a dot
// and a decimal index), not one that joins every cookie whose name starts
// with the session cookie's (Auth.js does), and not a proxy rule matching
// "session.*".
const (
	companionMark = "~r."
	tombstoneMark = "~t."
	flashMark     = "~f."
)

// cookieNames are a manager's cookie names and its constant Set-Cookie
// lines, computed once.
type cookieNames struct {
	data, companion, tombstone string // names as written, with the prefix
	flash                      string
	attrHead, attrTail         string // the scope's attributes before and after Max-Age
	// deletions of the bare name, of each chunk name and of the
	// companion, as whole Set-Cookie lines
	delData      string
	delChunk     [MaxChunksLimit]string
	delCompanion string
	delFlash     string
}

// carried is what a request's Cookie headers hold of one session's
// cookies.
type carried struct {
	bare      string
	hasBare   bool
	chunks    *[MaxChunksLimit]string // nil until a chunk is seen (most sessions are one cookie)
	mask      uint32                  // bit i set: chunk i present (i < MaxChunksLimit)
	extra     bool                    // a chunk at or past maxChunks is present
	companion string                  // the companion cookie's value, "" when absent
	tombstone string                  // the tombstone cookie's value, "" when absent
	flash     string                  // the flash cookie's value, "" when absent
}

// any reports whether any form of the session token is present.
func (c *carried) any() bool { return c.hasBare || c.mask != 0 || c.extra }

// scanCookies finds the session's cookies in the request's Cookie
// headers (the token as one cookie or chunks name.0 …, the companion and the
// tombstone) without parsing or allocating for the others. The first
// occurrence of each name wins, as with http.Request.Cookie.
func scanCookies(h http.Header, n *cookieNames, maxChunks int) carried {
	var c carried
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, ""
			}
			part = trimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			switch {
			case k == n.companion:
				if c.companion == "" {
					c.companion = v
				}
				continue
			case k == n.tombstone:
				if c.tombstone == "" {
					c.tombstone = v
				}
				continue
			case k == n.flash:
				if c.flash == "" {
					c.flash = v
				}
				continue
			case !strings.HasPrefix(k, n.data):
				continue
			case k == n.data:
				if !c.hasBare {
					c.bare, c.hasBare = v, true
				}
				continue
			}
			suffix, ok := strings.CutPrefix(k, n.data+".")
			if !ok {
				continue
			}
			i, err := strconv.Atoi(suffix)
			if err != nil || i < 0 || strconv.Itoa(i) != suffix {
				continue
			}
			if i >= MaxChunksLimit {
				continue // no configuration writes it: not ours
			}
			if i >= maxChunks {
				c.extra = true // deleted by the next write
			}
			if c.mask&(1<<i) == 0 {
				if c.chunks == nil {
					c.chunks = new([MaxChunksLimit]string)
				}
				c.mask |= 1 << i
				c.chunks[i] = v
			}
		}
	}
	return c
}

// trimSpace removes the spaces and tabs around a Cookie header's part
// (strings.Trim builds its byte set on every call).
func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// token returns the token the cookies carry, or an error when they are not
// a single cookie of at most ChunkSize bytes or a contiguous run of chunks
// 0…n-1 within maxChunks. A bare cookie wins over chunks.
func (c *carried) token() (string, error) {
	if c.hasBare {
		if len(c.bare) > ChunkSize {
			return "", errf(ErrTooLarge, "the cookie has %d bytes, the limit is %d", len(c.bare), ChunkSize)
		}
		return c.bare, nil
	}
	if c.extra {
		return "", errf(ErrTooLarge, "the session cookie has more chunks than the configured maximum")
	}
	n := 0
	for c.mask&(1<<n) != 0 {
		n++
	}
	if c.mask != (1<<n)-1 {
		return "", errf(ErrMalformed, "a session cookie chunk is missing")
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		if len(c.chunks[i]) > ChunkSize {
			return "", errf(ErrTooLarge, "a chunk has %d bytes, the limit is %d", len(c.chunks[i]), ChunkSize)
		}
		if i < n-1 && len(c.chunks[i]) != ChunkSize {
			return "", errf(ErrMalformed, "a session cookie chunk is short")
		}
		b.WriteString(c.chunks[i])
	}
	return b.String(), nil
}

// newCookieNames returns the names and constant lines for cfg's cookie
// base name and scope (see scope.go).
func newCookieNames(cfg *Config) cookieNames {
	prefix, base := cfg.prefix(), cfg.CookieName
	n := cookieNames{data: prefix + base, companion: prefix + companionMark + base, tombstone: prefix + tombstoneMark + base, flash: prefix + flashMark + base}
	n.attrHead, n.attrTail = cfg.scopeAttrs()
	del := func(name string) string { return string(n.appendAttrs([]byte(name+"="), 0)) }
	n.delData, n.delCompanion, n.delFlash = del(n.data), del(n.companion), del(n.flash)
	for i := range n.delChunk {
		n.delChunk[i] = del(n.chunkName(i))
	}
	return n
}

// chunkName returns the name of chunk i.
func (n *cookieNames) chunkName(i int) string {
	return n.data + "." + strconv.Itoa(i)
}

// noMaxAge is the Max-Age of a browser-session cookie: none.
const noMaxAge = -1

// cookieAge returns the Max-Age of a cookie of a sign-in of kind rem
// that the browser should keep for maxAge seconds: noMaxAge for a
// browser-session sign-in, else maxAge within 1 second and the 400 days
// browsers keep a cookie.
func cookieAge(rem bool, maxAge int64) int {
	if !rem {
		return noMaxAge
	}
	return int(max(1, min(maxAge, maxAgeCap)))
}

// writeCookie seals the plaintext in pt (with tagLen bytes of spare
// capacity) under dk's key for purpose p and adds it to h as the cookie
// name, unchunked, with the Max-Age maxAge (see cookieAge).
func (m *managerCore) writeCookie(h http.Header, name string, dk *derivedKey, p purpose, pt []byte, maxAge int) {
	var attrs [maxAttrsLen]byte
	attr := m.names.appendAttrs(attrs[:0], maxAge)
	var line strings.Builder
	line.Grow(len(name) + 1 + tokenLen(len(dk.header), len(pt)) + len(attr))
	line.WriteString(name)
	line.WriteByte('=')
	dk.writeToken(&line, p, pt)
	line.Write(attr)
	h["Set-Cookie"] = append(h["Set-Cookie"], line.String())
}

// writeToken seals the session plaintext in pt (with tagLen bytes of spare
// capacity) under dk and adds the Set-Cookie headers: one cookie under the
// bare name when the token fits, else chunks name.0…; then the deletion of
// every other name the session could use (see deleteOthers).
func (m *managerCore) writeToken(h http.Header, dk *derivedKey, pt []byte, maxAge int, c *carried) {
	// Room for the token's lines and the deletions in one allocation:
	// MaxChunks names, the other form, the companion and a tombstone.
	h["Set-Cookie"] = slices.Grow(h["Set-Cookie"], m.cfg.MaxChunks+3)
	m.count.written.inc()
	tl := tokenLen(len(dk.header), len(pt))
	if tl <= ChunkSize {
		m.writeCookie(h, m.names.data, dk, purposeData, pt, maxAge)
		m.deleteOthers(h, c, 0)
		return
	}
	var attrs [maxAttrsLen]byte
	attr := m.names.appendAttrs(attrs[:0], maxAge)
	var tok strings.Builder
	tok.Grow(tl)
	dk.writeToken(&tok, purposeData, pt)
	token := tok.String()
	n := 0
	for ; len(token) > 0; n++ {
		k := min(len(token), ChunkSize)
		h["Set-Cookie"] = append(h["Set-Cookie"], m.names.chunkName(n)+"="+token[:k]+string(attr))
		token = token[k:]
	}
	m.deleteOthers(h, c, n)
}

// deleteAll adds the deletion of every form of the session token: the
// sign-out. It reports that it wrote.
func (m *managerCore) deleteAll(h http.Header, c *carried) bool {
	m.count.deleted.inc()
	m.deleteOthers(h, c, -1)
	return true
}

// deleteOthers adds the deletion of every name a session could use that a
// write of n chunks (0: the bare name) does not set, whether or not the
// request carried it (a concurrent response may have set it): the bare
// name when writing chunks, every chunk name up to MaxChunks past the
// written ones, any other chunk the request carried (a MaxChunks lowered
// since), and the companion when the request carried one. With n < 0
// it deletes every form of the token: the sign-out.
func (m *managerCore) deleteOthers(h http.Header, c *carried, n int) {
	if n != 0 {
		h["Set-Cookie"] = append(h["Set-Cookie"], m.names.delData)
	}
	for i := max(n, 0); i < MaxChunksLimit; i++ {
		// A MaxChunks of 1 never writes chunk names: only carried ones.
		usable := m.cfg.MaxChunks > 1 && i < m.cfg.MaxChunks
		if usable || c.mask&(1<<i) != 0 {
			h["Set-Cookie"] = append(h["Set-Cookie"], m.names.delChunk[i])
		}
	}
	if c.companion != "" {
		h["Set-Cookie"] = append(h["Set-Cookie"], m.names.delCompanion)
	}
}
