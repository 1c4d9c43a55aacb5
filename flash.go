package jwesession

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// Flash messages survive one redirect: set in one response, read once on
// the next request that asks for them, and removed by its response. They
// live in a small cookie of their own ("~f." + CookieName, with the
// prefix), never in the session token: popping a message is a write, and
// in the session token it would race a concurrent update (its response
// could land last and bring old data back). So a flash never creates a
// sign-in, never writes or deletes the session token, and never brings
// back a session the same response cleared (Clear, then AddFlash("signed
// out"), is the common case). The cookie is sealed under a key derived for
// flashes alone, so it opens as nothing else, and a session token, a
// companion or a tombstone never opens as a flash.
//
// Across concurrent requests of one browser, flashes are best effort: two
// requests carrying the same flash both show it, and a flash added by one
// response is lost when a concurrent request that read the older flash
// deletes the cookie after it. The session itself is never affected.
// Flashes are for messages ("note saved"), not for anything a decision
// depends on.
//
// Its plaintext has one form, encoding/json's:
//
//	{"v":1,"iat":N,"msgs":["…",…]}

// FlashMaxAge is how long a flash cookie lives unread.
const FlashMaxAge = 10 * time.Minute

// maxFlashLen bounds the flash cookie's value: about 1.4 KB of messages.
const maxFlashLen = 2048

// flashPlain is the flash cookie's plaintext.
type flashPlain struct {
	V    int      `json:"v"`
	Iat  int64    `json:"iat"`
	Msgs []string `json:"msgs"`
}

// flashState is a session's flash messages. The session's mu guards it.
type flashState struct {
	opened   bool     // the carried cookie was opened
	carried  []string // its messages
	consumed bool     // Flashes returned them: the response deletes them
	added    []string // AddFlash since, for the next request
}

// AddFlash adds a message for the next request that calls Flashes (on a
// page after a redirect, typically). It needs no session and starts none:
// the message travels in a cookie of its own. Messages the request carried
// and nobody read are kept. A message that would make the flash cookie
// larger than its budget (about 1.4 KB of messages) is an ErrTooLarge,
// and nothing is added; after the response headers are sent, an
// ErrCommitted. An AuthJSManager's session has no flash cookie (the app
// would know nothing of it): there it is an ErrAuthJSMode.
func (s *Session[T]) AddFlash(msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutable("add flash to"); err != nil {
		return err
	}
	if s.m.ajs != nil {
		return failed("add flash to", ErrAuthJSMode, " (the app knows no flash cookie)")
	}
	f := s.flashes()
	msgs := append(s.pendingFlashes(), msg)
	if n := flashCookieLen(s.ring.primary, msgs, s.now()); n > maxFlashLen {
		return failed("add flash to", errf(ErrTooLarge, "the flash cookie would need %d bytes, the limit is %d", n, maxFlashLen), "")
	}
	f.added = append(f.added, msg)
	return nil
}

// Flashes returns the flash messages the request carried (oldest first),
// and those added in this request, and removes them: the response deletes
// the flash cookie (or replaces it with messages added afterwards), so a
// second call, and the next request, find none. It returns nil when there
// are none, after the response headers are sent, and for an
// AuthJSManager's session (no flash cookie: see AddFlash).
func (s *Session[T]) Flashes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m.ajs != nil || s.mutable("read flashes of") != nil {
		return nil
	}
	msgs := s.pendingFlashes()
	s.flash.consumed, s.flash.added = true, nil
	return msgs
}

// flashes returns the session's flash state, made on first use: a
// session that never touches flashes carries none. s.mu must be held.
func (s *Session[T]) flashes() *flashState {
	if s.flash == nil {
		s.flash = &flashState{}
	}
	return s.flash
}

// SignedIn reports whether the request has a session, which is always a
// sign-in: SignIn, SignInRemembered, or a Set or Update that started one.
// Flash messages never make a session, so a visitor who only has flashes
// is not signed in. It is the ok of Get.
func (s *Session[T]) SignedIn() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.has
}

// pendingFlashes returns the messages not yet consumed: the carried ones
// unless Flashes returned them, then the added ones. s.mu must be held
// and the session loaded.
func (s *Session[T]) pendingFlashes() []string {
	f := s.flashes()
	if !f.opened {
		f.opened = true
		f.carried = s.m.openFlash(s.ring, s.cookies.flash, s.now())
	}
	var msgs []string
	if !f.consumed {
		msgs = append(msgs, f.carried...)
	}
	return append(msgs, f.added...)
}

// commitFlash adds to h what the flashes owe: a flash cookie holding the
// pending messages when some were added, else its deletion when Flashes
// consumed a carried one. It reports whether it wrote anything. s.mu must
// be held.
func (s *Session[T]) commitFlash(h http.Header, now int64) bool {
	f := s.flash
	switch {
	case f == nil:
		return false // flashes never used
	case len(f.added) > 0:
		pt, _ := json.Marshal(flashPlain{V: 1, Iat: now, Msgs: s.pendingFlashes()}) // cannot fail: strings and an integer
		s.m.writeCookie(h, s.m.names.flash, s.ring.primary, purposeFlash, slices.Grow(pt, tagLen), cookieAge(true, int64(FlashMaxAge/time.Second)))
		return true
	case f.consumed && s.cookies.flash != "":
		h["Set-Cookie"] = append(h["Set-Cookie"], s.m.names.delFlash)
		return true
	}
	return false
}

// openFlash opens a flash cookie and returns its messages, or none when it
// cannot be read: unreadable, under a retired key, issued in the future
// beyond the leeway, or older than FlashMaxAge.
func (c *managerCore) openFlash(r *ring, value string, now int64) []string {
	if value == "" {
		return nil
	}
	dk, pt, err := r.openSealed(value, maxFlashLen, purposeFlash)
	if err != nil || dk.state == Retired {
		return nil
	}
	var f flashPlain
	leeway := c.cfg.leeway()
	if json.Unmarshal(pt, &f) != nil || f.V != 1 || f.Iat > now+leeway || now > f.Iat+seconds(FlashMaxAge)+leeway {
		return nil
	}
	return f.Msgs
}

// flashCookieLen returns the length of the value of a flash cookie holding
// msgs, sealed under dk at now.
func flashCookieLen(dk *derivedKey, msgs []string, now int64) int {
	pt, _ := json.Marshal(flashPlain{V: 1, Iat: now, Msgs: msgs})
	return tokenLen(len(dk.header), len(pt))
}
