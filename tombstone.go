package jwesession

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// The tombstone cookie makes a sign-out win over every concurrent request
// of the same sign-in. Such a request carries the old cookie, and its
// response may land after the sign-out's and set the session token again;
// the tombstone, written by the sign-out, names the sign-in (a random id
// fixed at sign-in and kept by Renew and every rewrite), and any token of
// that sign-in is refused afterwards with ErrSignedOut. Only a new sign-in
// follows it. It remembers the last few sign-outs, each until its
// sign-in's absolute end: a slow response of an older sign-in can land
// after a later sign-in and sign-out. It is sealed under the tombstone key
// (never the session key); an unreadable one is ignored, and it names an
// unguessable sign-in id, never a time, so a planted one signs nobody out.
//
// It is a fix for the race in an honest browser, not revocation: a copied
// cookie, or a browser that drops the tombstone, still works until the
// session expires.
//
// A token records the IV of the tombstone it was checked against when it
// was written (envelope.Tbs). A tombstone with that IV is the same seal,
// made before the write, so it cannot name the token's sign-in: the
// steady state of a user who signed out and in again costs a string
// comparison, not a decryption.

// maxTombstones is how many sign-outs a tombstone remembers.
const maxTombstones = 4

// maxTombstoneLen bounds the tombstone cookie's value.
const maxTombstoneLen = 1024

// tombstone is the tombstone's plaintext.
type tombstone struct {
	V   int              `json:"v"`
	Out []tombstoneEntry `json:"out"`
}

// tombstoneEntry is one signed-out sign-in: its id, and the end of its
// absolute lifetime (Unix seconds), after which nothing of it can be valid.
type tombstoneEntry struct {
	Sin string `json:"sin"`
	End int64  `json:"end"`
}

// openTombstone opens a tombstone cookie and returns the entries still in
// force at now. ok is false when it cannot be read or is under a retired
// key: it is ignored then.
func (c *managerCore) openTombstone(r *ring, value string, now int64) (out []tombstoneEntry, ok bool) {
	dk, pt, err := r.openSealed(value, maxTombstoneLen, purposeTombstone)
	if err != nil || dk.state == Retired {
		return nil, false
	}
	var t tombstone
	if json.Unmarshal(pt, &t) != nil || t.V != 1 {
		return nil, false
	}
	return slices.DeleteFunc(t.Out, func(e tombstoneEntry) bool { return e.End+c.cfg.leeway() < now }), true
}

// tombstoned reports whether the entries name the sign-in sin.
func tombstoned(out []tombstoneEntry, sin string) bool {
	return slices.ContainsFunc(out, func(e tombstoneEntry) bool { return e.Sin == sin })
}

// writeTombstone adds to h a tombstone naming the ended sign-ins on top of
// what the carried one (if readable) still holds, the newest
// maxTombstones kept, and returns the IV segment of what it wrote.
func (c *managerCore) writeTombstone(h http.Header, r *ring, carried string, ended []tombstoneEntry, now int64) string {
	var out []tombstoneEntry
	if carried != "" {
		out, _ = c.openTombstone(r, carried, now)
	}
	for _, e := range ended {
		if !tombstoned(out, e.Sin) {
			out = append(out, e)
		}
	}
	out = out[max(0, len(out)-maxTombstones):]
	end := int64(0)
	for _, e := range out {
		end = max(end, e.End)
	}
	pt, _ := json.Marshal(tombstone{V: 1, Out: out}) // cannot fail: strings and integers
	pt = slices.Grow(pt, tagLen)
	n := len(h["Set-Cookie"])
	// Always persistent: it must outlive every token of the sign-ins it
	// names, remembered ones included.
	c.writeCookie(h, c.names.tombstone, r.primary, purposeTombstone, pt, cookieAge(true, end+c.cfg.leeway()-now))
	return ivSegment(cookieValue(h["Set-Cookie"][n]))
}

// cookieValue returns the value of a Set-Cookie line.
func cookieValue(line string) string {
	_, v, _ := strings.Cut(line, "=")
	v, _, _ = strings.Cut(v, ";")
	return v
}
