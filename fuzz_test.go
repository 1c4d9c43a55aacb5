package jwesession

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fuzz targets for every parser of untrusted input: the token codec alone
// (FuzzOpen), the codec next to go-jose (FuzzDifferential, THREATS.md's
// differential rule), and the whole Cookie header through the middleware
// (FuzzCookieHeader). Seeds: f.Add below and testdata/fuzz/<FuzzName>/.
// Each target runs in CI for 100000 executions (a count, not a duration:
// see .ci/run):
//
//	go test -run '^$' -fuzz '^FuzzOpen$' -fuzztime 100000x .

// fuzzMaxLen is the largest length limit the library ever hands to open.
const fuzzMaxLen = MaxChunksLimit * ChunkSize

// fuzzTokenSeeds returns tokens worth mutating: valid ones under keys a
// (secretA), b (secretB) and c (secretC), and one of each kind of defect
// the bad-input table names. Deterministic (fixed IV, fixed clock).
func fuzzTokenSeeds(t testing.TB) []string {
	t.Helper()
	now := newTestClock().Now()
	keyA, keyB, keyC := jweKey(secretA), jweKey(secretB), jweKey(secretC)
	dkA := jweRing(mustKeyring(t, "a:primary:"+secretA)).primary
	pt := jweClaims(t, now, nil)
	good := jweSeal(t, keyA, jweHeader("a"), pt)
	tok := good.String()

	edit := func(f func(p *jweParts)) string {
		p := good
		f(&p)
		return p.String()
	}
	ct, err := base64.RawURLEncoding.DecodeString(good.ct)
	require.NoError(t, err)
	tag, err := base64.RawURLEncoding.DecodeString(good.tag)
	require.NoError(t, err)
	var deflated bytes.Buffer
	w, err := flate.NewWriter(&deflated, flate.BestSpeed)
	require.NoError(t, err)
	_, _ = w.Write(pt)
	require.NoError(t, w.Close())

	return []string{
		tok,
		jweSeal(t, keyB, jweHeader("b"), pt).String(),
		jweSeal(t, keyC, jweHeader("c"), pt).String(),
		jweSeal(t, keyA, jweHeader("a"), jweClaims(t, now, func(e *envelope) { e.V = 3 })).String(),
		jweSeal(t, keyA, jweHeader("a"), jweClaims(t, now, func(e *envelope) { e.Sid = "" })).String(),
		jweSeal(t, keyA, jweHeader("a"), jweClaims(t, now, func(e *envelope) { e.Sin = "" })).String(),
		jweSeal(t, keyA, jweHeader("a"), jweClaims(t, now, func(e *envelope) { e.Org = "" })).String(),
		jweSeal(t, keyA, jweHeader("a"), jweClaims(t, now, func(e *envelope) { e.Tbs = "AAEC" })).String(),
		jweSeal(t, keyA, jweHeader("a"), jweClaims(t, now, func(e *envelope) { e.Tbs = "AAECAwQFBgcICQoL" })).String(),
		jweSeal(t, keyA, jweHeader("a"), []byte(`not json`)).String(),
		// Format version 1 (no sign-in id, origin or tbs): refused.
		jweSeal(t, keyA, jweHeader("a"), []byte(`{"v":1,"sid":"c2lkLW9mLW1hbGxvcnktMQ","iat":1795435200,"exp":1795437000,"abs":1795435200,"data":{"user":"mallory"}}`)).String(),
		jweSeal(t, keyA, jweHeader("a"), []byte(`{"v":2,"sid":"s","sin":"t","org":"a","iat":1,"exp":2,"abs":1,"tbs":"","data":null,"data":{}}`)).String(),
		jweSeal(t, keyA, jweHeader("a"), []byte(`{"v":2,"sid":"s","sin":"t","org":"a","abs":1,"iat":1,"exp":2,"tbs":"","data":{}}`)).String(),
		// A companion and a tombstone under key a's keys for their
		// purposes: they never open as a session token.
		seal(dkA, purposeCompanion, appendCompanion(nil, "c2lkLW9mLW1hbGxvcnktMQ", now.Unix(), now.Unix()+1800)),
		seal(dkA, purposeTombstone, []byte(`{"v":1,"out":[{"sin":"c2luLW9mLW1hbGxvcnktMQ","end":1795464000}]}`)),
		// Forms go-jose accepts and ours refuses.
		edit(func(p *jweParts) { p.tag = jweNonCanonical(t, p.tag) }),
		edit(func(p *jweParts) { p.ct = jweNonCanonical(t, p.ct) }),
		edit(func(p *jweParts) { p.ct = p.ct[:4] + "\r\n" + p.ct[4:] }),
		edit(func(p *jweParts) { p.h = p.h[:8] + "\n" + p.h[8:] }),
		edit(func(p *jweParts) { p.ek = "AAAAAAAAAAAAAAAAAAAAAA" }),
		edit(func(p *jweParts) {
			k := len(ct) - 16
			p.ct, p.tag = jweB64(ct[:k]), jweB64(append(bytes.Clone(ct[k:]), tag...))
		}),
		jweSeal(t, keyA, `{"alg":"dir","enc":"A256GCM","kid":"a","cty":"JWT"}`, pt).String(),
		jweSeal(t, keyA, `{"kid":"a","enc":"A256GCM","alg":"dir"}`, pt).String(),
		jweSeal(t, keyA, `{"alg":"dir","enc":"A256GCM","kid":"zz"}`, pt).String(),
		jweSeal(t, keyA, `{"alg":"dir","enc":"A256GCM"}`, pt).String(),
		jweSeal(t, keyA, `{"alg":"dir","enc":"A256GCM","kid":"a","zip":"DEF"}`, deflated.Bytes()).String(),
		// Forms both refuse.
		edit(func(p *jweParts) { p.tag = jweFlip(p.tag, 0) }),
		edit(func(p *jweParts) { p.iv = jweFlip(p.iv, 0) }),
		edit(func(p *jweParts) { p.ct += "==" }),
		jweSeal(t, keyA, `{"alg":"none","enc":"A256GCM","kid":"a"}`, pt).String(),
		jweSeal(t, keyA, `{"alg":"dir","crit":["exp"],"enc":"A256GCM","exp":1,"kid":"a"}`, pt).String(),
		jweSealSeg(t, keyA, jweB64([]byte(jweHeader("a"))), []byte("sixteen-byte-IV!"), pt).String(),
		tok[:len(tok)-1],
		tok + ".",
		strings.NewReplacer("-", "+", "_", "/").Replace(tok),
		"",
		".",
		"....",
		strings.Repeat(".", 100),
		"eyJ.e.e.e.e",
	}
}

// fuzzIsSentinel reports whether err matches one of the rejection sentinels.
func fuzzIsSentinel(err error) bool {
	for _, s := range jweSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzOpen: any string into ring.open. No panic; a rejection is typed and
// does not echo the token; whatever is accepted is a canonical token of the
// library: its header is the key's exact header, the encrypted key is
// empty, IV and tag have their lengths, and decoding then re-encoding every
// segment gives the same string.
func FuzzOpen(f *testing.F) {
	r := jweRing(mustKeyring(f, "a:primary:"+secretA, "b:decrypt-only:"+secretB, "c:retired:"+secretC))
	for _, s := range fuzzTokenSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		dk, env, err := r.open(tok, fuzzMaxLen)
		if err != nil {
			if dk != nil || env != nil {
				t.Fatalf("open returned a key or claims with error %v", err)
			}
			if !fuzzIsSentinel(err) {
				t.Fatalf("untyped rejection: %v", err)
			}
			if len(tok) >= 8 && strings.Contains(err.Error(), tok) {
				t.Fatalf("the error echoes the token: %v", err)
			}
			return
		}
		if dk.state == Retired {
			t.Fatalf("accepted under retired key %q", dk.id)
		}
		seg := strings.Split(tok, ".")
		if len(seg) != 5 {
			t.Fatalf("accepted a token of %d segments", len(seg))
		}
		if seg[0] != headerSegment(dk.id) || seg[1] != "" {
			t.Fatalf("accepted a header %q or encrypted key %q the library does not write", seg[0], seg[1])
		}
		var re []string
		for i, s := range seg {
			b, err := base64.RawURLEncoding.Strict().DecodeString(s)
			if err != nil {
				t.Fatalf("accepted segment %d that does not decode strictly: %v", i, err)
			}
			switch {
			case i == 2 && len(b) != ivLen, i == 4 && len(b) != tagLen:
				t.Fatalf("accepted segment %d of %d bytes", i, len(b))
			}
			re = append(re, base64.RawURLEncoding.EncodeToString(b))
		}
		if got := strings.Join(re, "."); got != tok {
			t.Fatalf("accepted a non-canonical spelling:\n got %q\nwant %q", tok, got)
		}
		if env.V != formatVersion || env.Sid == "" || env.Sin == "" || !validKeyID(env.Org) || (env.Tbs != "" && len(env.Tbs) != ivSegLen) ||
			env.Iat <= 0 || env.Exp <= 0 || env.Abs <= 0 || !json.Valid(env.Data) {
			t.Fatalf("accepted incomplete claims %+v", env)
		}
	})
}

// fuzzExtraRejection names the class of a token go-jose accepts (plaintext
// jpt) and ours refuses, among the classes THREATS.md allows, or returns ""
// for a difference nobody explained: a bug in one of the two.
func fuzzExtraRejection(r *ring, tok string, jpt []byte) string {
	seg, dec, class := fuzzSegmentClass(tok, fuzzMaxLen, "non-canonical base64 (set trailing bits)")
	if dec == nil {
		return class
	}
	if len(dec[2]) != ivLen || len(dec[4]) != tagLen {
		return "IV or tag of another length (go-jose re-splits ciphertext and tag)"
	}
	if _, ok := r.byHeader[seg[0]]; !ok {
		if fields, class := fuzzHeaderClass(dec[0]); fields == nil || class != "" {
			return class
		}
		return "header not byte-identical to a configured key's (kid, order, spacing, escapes)"
	}
	var env envelope
	if err := json.Unmarshal(jpt, &env); err != nil || env.V != formatVersion || !fuzzID(env.Sid, 1, maxIDLen) ||
		!fuzzID(env.Sin, 1, maxIDLen) || !validKeyID(env.Org) || !fuzzID(env.Tbs, 0, ivSegLen) || (env.Tbs != "" && len(env.Tbs) != ivSegLen) ||
		!fuzzTime(env.Iat) || !fuzzTime(env.Exp) || !fuzzTime(env.Abs) || len(env.Data) == 0 {
		return "claims that are not a complete v2 envelope"
	}
	if canon, err := json.Marshal(env); err != nil || !bytes.Equal(canon, jpt) {
		return "claims not in the library's one form (field order, duplicates, spacing)"
	}
	return ""
}

// fuzzSegmentClass names the class of a token go-jose opens and ours
// refuses for what every JWE parser of ours refuses alike: over maxLen,
// CR/LF in a segment, base64 that is not canonical (class b64), bytes in
// the encrypted-key segment. Otherwise dec holds the five segments
// decoded (nil, with no class, when there are not five).
func fuzzSegmentClass(tok string, maxLen int, b64 string) (seg []string, dec [][]byte, class string) {
	if len(tok) > maxLen {
		return nil, nil, "longer than the cookie budget"
	}
	seg = strings.Split(tok, ".")
	if len(seg) != 5 {
		return nil, nil, ""
	}
	for _, s := range seg {
		if strings.ContainsAny(s, "\r\n") {
			return nil, nil, "CR/LF inside a segment (Go's base64 skips them)"
		}
	}
	dec = make([][]byte, 5)
	for i, s := range seg {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, nil, b64
		}
		dec[i] = b
	}
	if len(dec[1]) != 0 {
		return nil, nil, "bytes in the encrypted-key segment (go-jose ignores it for dir)"
	}
	return seg, dec, ""
}

// fuzzHeaderClass returns the members of a decoded JSON header and the
// class of one ours refuses for a member: a zip header, members beyond
// alg, enc and kid; "" when none (or not a JSON object: fields nil).
func fuzzHeaderClass(b []byte) (fields map[string]json.RawMessage, class string) {
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, ""
	}
	if _, ok := fields["zip"]; ok {
		return fields, "a zip header (go-jose inflates)"
	}
	for k := range fields {
		if k != "alg" && k != "enc" && k != "kid" {
			return fields, "header fields beyond alg, enc and kid"
		}
	}
	return fields, ""
}

// fuzzID reports whether s is a base64url id of minLen to maxLen
// characters, as the envelope's ids must be.
func fuzzID(s string, minLen, maxLen int) bool {
	return len(s) >= minLen && len(s) <= maxLen && isB64URL(s)
}

// fuzzTime reports whether n is a time the envelope can hold: positive,
// at most 15 digits.
func fuzzTime(n int64) bool { return n > 0 && n < 1e15 }

// FuzzDifferential: our open next to go-jose (ParseEncryptedCompact with
// dir and A256GCM only, then Decrypt with the same key). When ours accepts,
// go-jose accepts with the same plaintext; when go-jose rejects, ours
// rejects; when only ours rejects, the token falls in a named class.
func FuzzDifferential(f *testing.F) {
	r := jweRing(mustKeyring(f, "a:primary:"+secretA))
	// go-jose's DIRECT key is the data-purpose key: the session token's.
	key := r.primary.raw
	require.Equal(f, jweKey(secretA), key)
	for _, s := range fuzzTokenSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		dk, env, err := r.open(tok, fuzzMaxLen)
		jpt, jerr := jweJoseOpen(tok, key)
		switch {
		case err == nil && jerr != nil:
			t.Fatalf("ours accepts, go-jose rejects (%v): %q", jerr, tok)
		case err == nil:
			// Same plaintext: decrypt the accepted (canonical) token with
			// crypto/cipher and compare bytes, then the claims.
			p := strings.Split(tok, ".")
			iv, _ := base64.RawURLEncoding.DecodeString(p[2])
			ct, _ := base64.RawURLEncoding.DecodeString(p[3])
			tag, _ := base64.RawURLEncoding.DecodeString(p[4])
			pt, oerr := dk.aead[purposeData].Open(nil, iv, append(ct, tag...), []byte(p[0]))
			if oerr != nil || !bytes.Equal(pt, jpt) {
				t.Fatalf("plaintexts differ: ours %q, go-jose %q", pt, jpt)
			}
			var jenv envelope
			if err := json.Unmarshal(jpt, &jenv); err != nil {
				t.Fatalf("ours accepted claims go-jose's plaintext does not decode to: %v", err)
			}
			// encoding/json trims the space around a raw value; ours keeps
			// the data's bytes as sealed.
			ours := *env
			ours.Data = bytes.TrimSpace(ours.Data)
			require.Equal(t, jenv, ours)
		case jerr != nil:
			// Both reject.
		default:
			if class := fuzzExtraRejection(r, tok, jpt); class == "" {
				t.Fatalf("go-jose accepts, ours rejects (%v), in no named class: %q", err, tok)
			}
		}
	})
}

// fuzzCookieLine is the Cookie header FuzzCookieHeader sends: the
// companion and tombstone values (when not empty) in front of header, so
// that they win over any the header itself carries.
func fuzzCookieLine(header, companion, tombstone string) string {
	if tombstone != "" {
		header = "__Host-~t.session=" + tombstone + "; " + header
	}
	if companion != "" {
		header = "__Host-~r.session=" + companion + "; " + header
	}
	return header
}

// fuzzSetCookie returns the value of the cookie name that rec sets, or "".
func fuzzSetCookie(rec *httptest.ResponseRecorder, name string) string {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.MaxAge >= 0 { // set, persistent or not
			return c.Value
		}
	}
	return ""
}

// fuzzCookieManager returns FuzzCookieHeader's manager (MaxChunks 3, its
// clock at the test clock's start) and real cookies of it, made at that
// time: a session token whose refresh is due (issued 6 minutes before), the
// companion a read of it writes, a 3-chunk session, the tombstone of
// signing the first out, and the sign-in that followed that sign-out in
// the same browser (its token records the tombstone's IV).
func fuzzCookieManager(t testing.TB) (m *Manager[testData], old, companion, chunked, tomb, after string) {
	t.Helper()
	m, clk := newTestManager(t, Config{MaxChunks: 3}, nil)
	clk.Advance(-6 * time.Minute)
	rec := serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "alice"}))
	})
	old = "__Host-session=" + fuzzSetCookie(rec, "__Host-session")
	clk.Advance(6 * time.Minute)

	rec = serve(t, m, old, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { s.Get() })
	companion = fuzzSetCookie(rec, "__Host-~r.session")
	require.NotEmpty(t, companion, "a read whose refresh is due writes a companion")

	rec = serve(t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "bob", Note: strings.Repeat("chunked ", 1000)}))
	})
	chunked = cookieHeader("", rec)
	require.Contains(t, chunked, "__Host-session.2=")

	rec = serve(t, m, old, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) { require.NoError(t, s.Clear()) })
	tomb = fuzzSetCookie(rec, "__Host-~t.session")
	require.NotEmpty(t, tomb, "a sign-out writes a tombstone")
	rec = serve(t, m, cookieHeader(old, rec), func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(t, s.SignIn(testData{User: "carol"}))
	})
	after = "__Host-session=" + fuzzSetCookie(rec, "__Host-session")
	return m, old, companion, chunked, tomb, after
}

// FuzzCookieHeader: any Cookie header through the middleware, to a handler
// that reads the session, with any companion (__Host-~r.session) and
// tombstone (__Host-~t.session) values in front of it. No panic, status
// 200 (never a 5xx); a rejection is typed and leaves no session; a read
// never writes the session token nor deletes anything: the one cookie it
// may set is a companion, for the session it read, issued now; the
// response is private (no-store when it sets a cookie).
func FuzzCookieHeader(f *testing.F) {
	m, old, companion, chunked, tomb, after := fuzzCookieManager(f)
	tok := strings.TrimPrefix(old, "__Host-session=")
	afterTok := strings.TrimPrefix(after, "__Host-session=")
	now := m.core.cfg.Now().Unix()

	for _, s := range []string{
		"",
		old,
		chunked,
		after,
		"theme=dark; " + old + "; lang=en",
		old + "; " + old,
		"__Host-session=" + tok + "x",
		"__Host-session=%E0%A4%A",
		`__Host-session="` + tok + `"`,
		"__Host-session =" + tok,
		"__Host-session.0=" + tok,
		"__Host-session.0=" + tok + "; __Host-session.3=x",
		"__Host-session.1=" + tok,
		"__Host-session.00=" + tok,
		"__Host-session.-1=" + tok,
		"__Host-session.99999999999999999999=x",
		"__Host-session.10=x; __Host-session.0=y",
		"__Host-session",
		";;;=;=",
		"__Host-session=\x00\xff\r\n",
		"session=" + tok,
		"__Host-sessionX=" + tok,
		// Companion and tombstone inside the header, under their own and
		// under each other's names.
		old + "; __Host-~r.session=" + companion,
		"__Host-~r.session=" + companion + "; " + old,
		old + "; __Host-~t.session=" + tomb,
		after + "; __Host-~t.session=" + tomb,
		"__Host-session=" + companion,
		"__Host-session=" + tomb,
		old + "; __Host-~r.session=" + tomb + "; __Host-~t.session=" + companion,
		old + "; ~r.session=" + companion + "; __Host-~r.sessionX=" + companion,
		"__Host-~r.session=" + companion,
		"__Host-~t.session=" + tomb,
		"__Host-~r.session.0=" + companion + "; __Host-~t.session.1=x",
	} {
		f.Add(s, "", "")
	}
	for _, c := range [][3]string{
		{old, companion, ""},
		{old, "", tomb},
		{after, "", tomb},
		{after, companion, tomb},
		{chunked, companion, tomb},
		{old, tok, tok},
		{after, afterTok, afterTok},
		{old, tomb, companion},
		{old, companion + "x", tomb[:len(tomb)-1]},
		{old, "%%%", strings.Repeat(".", 2000)},
		{old, "\x00\xff", strings.Repeat("A", maxTombstoneLen+1)},
		{"", companion, tomb},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, header, companion, tombstone string) {
		var (
			d        testData
			ok       bool
			err      error
			sid      string
			exp, abs time.Time
			rem      bool
		)
		rec := serve(t, m, fuzzCookieLine(header, companion, tombstone), func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			d, ok = s.Get()
			err = s.Err()
			sid, exp, abs, rem = s.ID(), s.ExpiresAt(), s.SignedInAt(), s.Remembered()
		})
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		sc := setCookies(rec)
		for _, line := range sc {
			if !strings.HasPrefix(line, "__Host-~r.session=") || strings.Contains(line, "Max-Age=0") {
				t.Fatalf("a read wrote %q", line)
			}
		}
		cc := rec.Header().Get("Cache-Control")
		switch {
		case len(sc) > 1:
			t.Fatalf("a read wrote %d cookies: %q", len(sc), sc)
		case len(sc) == 1:
			if cc != "no-store, private" {
				t.Fatalf("Cache-Control %q with a Set-Cookie", cc)
			}
			if err != nil || !ok {
				t.Fatalf("a companion written for no session (%v)", err)
			}
			v := fuzzSetCookie(rec, "__Host-~r.session")
			iat, cexp, cok := m.core.openCompanion(m.core.ring.Load(), v, []byte(sid), now, rem)
			if want := m.core.cfg.expiry(now, abs.Unix(), rem); !cok || iat != now || cexp != want || cexp < exp.Unix() {
				t.Fatalf("the companion written (ok %v, iat %d, exp %d) is not for session %q at %d, expiry %d (was %v)", cok, iat, cexp, sid, now, want, exp)
			}
		case cc != "private, no-cache":
			t.Fatalf("Cache-Control %q without a Set-Cookie", cc)
		}
		if err == nil {
			if ok && (sid == "" || exp.Unix() < now-m.core.cfg.leeway()) {
				t.Fatalf("a session (id %q) expired at %v", sid, exp)
			}
			return
		}
		if ok || d != (testData{}) || sid != "" {
			t.Fatalf("a session (%+v) with error %v", d, err)
		}
		if !fuzzIsSentinel(err) {
			t.Fatalf("untyped rejection: %v", err)
		}
	})
}

// TestDifferentialClasses checks the classifier FuzzDifferential relies on:
// every seed go-jose accepts and ours refuses falls in a named class, and
// together the seeds cover each class THREATS.md names.
func TestDifferentialClasses(t *testing.T) {
	r := jweRing(mustKeyring(t, "a:primary:"+secretA))
	key := jweKey(secretA)
	seen := map[string]int{}
	for _, tok := range fuzzTokenSeeds(t) {
		_, _, err := r.open(tok, fuzzMaxLen)
		jpt, jerr := jweJoseOpen(tok, key)
		if err == nil {
			require.NoError(t, jerr, "ours accepts, go-jose must too: %q", tok)
			continue
		}
		if jerr != nil {
			continue
		}
		class := fuzzExtraRejection(r, tok, jpt)
		require.NotEmpty(t, class, "go-jose accepts, ours rejects (%v), in no named class: %q", err, tok)
		seen[class]++
	}
	for _, class := range []string{
		"CR/LF inside a segment (Go's base64 skips them)",
		"non-canonical base64 (set trailing bits)",
		"bytes in the encrypted-key segment (go-jose ignores it for dir)",
		"IV or tag of another length (go-jose re-splits ciphertext and tag)",
		"a zip header (go-jose inflates)",
		"header fields beyond alg, enc and kid",
		"header not byte-identical to a configured key's (kid, order, spacing, escapes)",
		"claims that are not a complete v2 envelope",
		"claims not in the library's one form (field order, duplicates, spacing)",
	} {
		require.Contains(t, seen, class)
	}
}

// fuzzCorpusStrings reads a committed corpus file of string values.
func fuzzCorpusStrings(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Equal(t, "go test fuzz v1", lines[0])
	var out []string
	for _, lit := range lines[1:] {
		lit, ok := strings.CutPrefix(lit, "string(")
		require.True(t, ok)
		s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		require.NoError(t, err)
		out = append(out, s)
	}
	return out
}

// fuzzCorpusString reads a committed one-string corpus file.
func fuzzCorpusString(t *testing.T, path string) string {
	t.Helper()
	v := fuzzCorpusStrings(t, path)
	require.Len(t, v, 1, path)
	return v[0]
}

// TestFuzzSeedsAreLive: the committed seeds made by Node's crypto under the
// test secrets (testdata/gen_vectors.mjs) are what they claim, so the
// fuzzers start from real tokens and not from something rejected at the
// first check: the valid tokens open, the companion extends the idle
// expiry, the tombstone signs its sign-in out and not the one after it.
func TestFuzzSeedsAreLive(t *testing.T) {
	r := jweRing(mustKeyring(t, "a:primary:"+secretA, "b:decrypt-only:"+secretB))
	for _, p := range []string{"testdata/fuzz/FuzzOpen/valid_b_node", "testdata/fuzz/FuzzDifferential/valid_a_node"} {
		_, _, err := r.open(fuzzCorpusString(t, p), fuzzMaxLen)
		assert.NoError(t, err, p)
	}
	m, _, _, _, _, _ := fuzzCookieManager(t)
	t0 := m.core.cfg.Now()
	for _, tc := range []struct {
		file    string
		want    error
		expires time.Time
	}{
		{"valid_node", nil, t0.Add(30 * time.Minute)},
		{"chunks_out_of_order", nil, t0.Add(30 * time.Minute)},
		{"companion_node", nil, t0.Add(-time.Minute + 30*time.Minute)},
		{"tombstone_node", ErrSignedOut, time.Time{}},
		{"tombstone_earlier_node", nil, t0.Add(30 * time.Minute)},
	} {
		p := "testdata/fuzz/FuzzCookieHeader/" + tc.file
		v := fuzzCorpusStrings(t, p)
		require.Len(t, v, 3, p)
		var exp time.Time
		res := readResult{}
		res.Rec = serve(t, m, fuzzCookieLine(v[0], v[1], v[2]), func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			res.D, res.OK = s.Get()
			res.Err, exp = s.Err(), s.ExpiresAt()
		})
		assert.Empty(t, setCookies(res.Rec), p)
		if tc.want != nil {
			assert.ErrorIs(t, res.Err, tc.want, p)
			continue
		}
		assert.NoError(t, res.Err, p)
		assert.True(t, res.OK, p)
		assert.Equal(t, "node", res.D.User, p)
		assert.Equal(t, tc.expires.Unix(), exp.Unix(), p)
	}
}
