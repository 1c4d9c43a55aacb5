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

// appendAttrs appends the attributes every session cookie carries.
func (m *managerCore) appendAttrs(dst []byte, maxAge int) []byte {
	dst = append(dst, "; Path=/; Max-Age="...)
	dst = strconv.AppendInt(dst, int64(maxAge), 10)
	dst = append(dst, "; HttpOnly"...)
	if !m.cfg.DevelopmentCookies {
		dst = append(dst, "; Secure"...)
	}
	return append(dst, "; SameSite=Lax"...)
}

// maxAttrsLen bounds what appendAttrs appends (Max-Age has at most 20
// digits).
const maxAttrsLen = len("; Path=/; Max-Age=; HttpOnly; Secure; SameSite=Lax") + 20

// deletion returns the Set-Cookie line that deletes the cookie name.
func (m *managerCore) deletion(name string) string {
	return string(m.appendAttrs([]byte(name+"="), 0))
}

// chunkName returns the name of chunk i.
func (m *managerCore) chunkName(i int) string {
	return m.name + "." + strconv.Itoa(i)
}

// writeToken seals the plaintext in pt (with tagLen bytes of spare
// capacity) under dk and adds the Set-Cookie headers: one cookie under the
// bare name when the token fits, else chunks name.0…; then deletions of
// whatever form or longer chunk run the request carried.
func (m *managerCore) writeToken(h http.Header, dk *derivedKey, pt []byte, maxAge int, c *carried) {
	maxAge = max(1, min(maxAge, maxAgeCap))
	var attrs [maxAttrsLen]byte
	attr := m.appendAttrs(attrs[:0], maxAge)
	tl := tokenLen(len(dk.header), len(pt))
	if tl <= ChunkSize {
		var line strings.Builder
		line.Grow(len(m.name) + 1 + tl + len(attr))
		line.WriteString(m.name)
		line.WriteByte('=')
		dk.writeToken(&line, pt)
		line.Write(attr)
		h["Set-Cookie"] = append(h["Set-Cookie"], line.String())
		m.deleteCarried(h, c, false, 0)
		return
	}
	var tok strings.Builder
	tok.Grow(tl)
	dk.writeToken(&tok, pt)
	token := tok.String()
	n := 0
	for ; len(token) > 0; n++ {
		k := min(len(token), ChunkSize)
		h["Set-Cookie"] = append(h["Set-Cookie"], m.chunkName(n)+"="+token[:k]+string(attr))
		token = token[k:]
	}
	m.deleteCarried(h, c, true, n)
}

// deleteCarried adds deletions for the carried cookies a write of the given
// form does not overwrite: the bare cookie when writing chunks, chunks from
// index from on. With bare and from 0, it deletes every carried form.
func (m *managerCore) deleteCarried(h http.Header, c *carried, bare bool, from int) {
	if bare && c.hasBare {
		h.Add("Set-Cookie", m.deletion(m.name))
	}
	for i := from; i < MaxChunksLimit; i++ {
		if c.mask&(1<<i) != 0 {
			h.Add("Set-Cookie", m.deletion(m.chunkName(i)))
		}
	}
}

// deleteAll deletes the session cookie: the bare name always, and every
// chunk the request carried.
func (m *managerCore) deleteAll(h http.Header, c *carried) {
	h.Add("Set-Cookie", m.deletion(m.name))
	m.deleteCarried(h, c, false, 0)
}
