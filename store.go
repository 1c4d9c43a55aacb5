package jwesession

import (
	"net/http"
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

// carried is what a request's Cookie headers hold of one session cookie.
type carried struct {
	bare    string
	hasBare bool
	chunks  [MaxChunksLimit]string
	mask    uint32 // bit i set: chunk i present (i < MaxChunksLimit)
	extra   bool   // a chunk at or past maxChunks is present
	max     int    // the configured maximum chunk count
}

// any reports whether any form of the cookie is present.
func (c *carried) any() bool { return c.hasBare || c.mask != 0 || c.extra }

// scanCookies finds the session cookie name and its chunks name.0 … in the
// request's Cookie headers, without parsing or allocating for the others.
// The first occurrence of each name wins, as with http.Request.Cookie.
func scanCookies(h http.Header, name string, maxChunks int) carried {
	c := carried{max: maxChunks}
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, ""
			}
			part = strings.Trim(part, " \t")
			if !strings.HasPrefix(part, name) {
				continue
			}
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			if k == name {
				if !c.hasBare {
					c.bare, c.hasBare = v, true
				}
				continue
			}
			suffix, ok := strings.CutPrefix(k, name+".")
			if !ok {
				continue
			}
			n, err := strconv.Atoi(suffix)
			if err != nil || n < 0 || strconv.Itoa(n) != suffix {
				continue
			}
			if n >= MaxChunksLimit {
				continue // no configuration writes it: not ours
			}
			if n >= maxChunks {
				c.extra = true // deleted with the rest when rejected
			}
			if c.mask&(1<<n) == 0 {
				c.mask |= 1 << n
				c.chunks[n] = v
			}
		}
	}
	return c
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

// cookieAttrs returns the attributes every session cookie carries.
func (m *managerCore) cookieAttrs(maxAge int) string {
	var b strings.Builder
	b.WriteString("; Path=/; Max-Age=")
	b.WriteString(strconv.Itoa(maxAge))
	b.WriteString("; HttpOnly")
	if !m.cfg.DevelopmentCookies {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=Lax")
	return b.String()
}

// chunkName returns the name of chunk i.
func (m *managerCore) chunkName(i int) string {
	return m.name + "." + strconv.Itoa(i)
}

// writeToken adds the Set-Cookie headers for token: one cookie under the
// bare name when it fits, else chunks name.0…; and deletions of whatever
// form or longer chunk run the request carried.
func (m *managerCore) writeToken(h http.Header, token string, maxAge int, c *carried) {
	if maxAge > maxAgeCap {
		maxAge = maxAgeCap
	}
	if maxAge < 1 {
		maxAge = 1
	}
	attrs := m.cookieAttrs(maxAge)
	if len(token) <= ChunkSize {
		h.Add("Set-Cookie", m.name+"="+token+attrs)
		m.deleteCarried(h, c, false, 0)
		return
	}
	n := 0
	for ; len(token) > 0; n++ {
		k := min(len(token), ChunkSize)
		h.Add("Set-Cookie", m.chunkName(n)+"="+token[:k]+attrs)
		token = token[k:]
	}
	m.deleteCarried(h, c, true, n)
}

// deleteCarried adds deletions for the carried cookies a write of the given
// form does not overwrite: the bare cookie when writing chunks, chunks from
// index from on. With bare and from 0, it deletes every carried form.
func (m *managerCore) deleteCarried(h http.Header, c *carried, bare bool, from int) {
	del := m.cookieAttrs(0)
	if bare && c.hasBare {
		h.Add("Set-Cookie", m.name+"="+del)
	}
	for i := from; i < MaxChunksLimit; i++ {
		if c.mask&(1<<i) != 0 {
			h.Add("Set-Cookie", m.chunkName(i)+"="+del)
		}
	}
}

// deleteAll deletes the session cookie: the bare name always, and every
// chunk the request carried.
func (m *managerCore) deleteAll(h http.Header, c *carried) {
	h.Add("Set-Cookie", m.name+"="+m.cookieAttrs(0))
	m.deleteCarried(h, c, false, 0)
}
