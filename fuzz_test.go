package jwesession

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

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
		jweSeal(t, keyA, jweHeader("a"), jweClaims(t, now, func(e *envelope) { e.V = 2 })).String(),
		jweSeal(t, keyA, jweHeader("a"), jweClaims(t, now, func(e *envelope) { e.Sid = "" })).String(),
		jweSeal(t, keyA, jweHeader("a"), []byte(`not json`)).String(),
		jweSeal(t, keyA, jweHeader("a"), []byte(`{"v":1,"sid":"s","iat":1,"exp":2,"abs":1,"data":null,"data":{}}`)).String(),
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
		if env.V != formatVersion || env.Sid == "" || env.Iat <= 0 || env.Exp <= 0 || env.Abs <= 0 || !json.Valid(env.Data) {
			t.Fatalf("accepted incomplete claims %+v", env)
		}
	})
}

// fuzzExtraRejection names the class of a token go-jose accepts (plaintext
// jpt) and ours refuses, among the classes THREATS.md allows, or returns ""
// for a difference nobody explained: a bug in one of the two.
func fuzzExtraRejection(r *ring, tok string, jpt []byte) string {
	if len(tok) > fuzzMaxLen {
		return "longer than the cookie budget"
	}
	seg := strings.Split(tok, ".")
	if len(seg) != 5 {
		return ""
	}
	for _, s := range seg {
		if strings.ContainsAny(s, "\r\n") {
			return "CR/LF inside a segment (Go's base64 skips them)"
		}
	}
	dec := make([][]byte, 5)
	for i, s := range seg {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			return "non-canonical base64 (set trailing bits)"
		}
		dec[i] = b
	}
	if len(dec[1]) != 0 {
		return "bytes in the encrypted-key segment (go-jose ignores it for dir)"
	}
	if len(dec[2]) != ivLen || len(dec[4]) != tagLen {
		return "IV or tag of another length (go-jose re-splits ciphertext and tag)"
	}
	if _, ok := r.byHeader[seg[0]]; !ok {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(dec[0], &fields); err != nil {
			return ""
		}
		if _, ok := fields["zip"]; ok {
			return "a zip header (go-jose inflates)"
		}
		for k := range fields {
			if k != "alg" && k != "enc" && k != "kid" {
				return "header fields beyond alg, enc and kid"
			}
		}
		return "header not byte-identical to a configured key's (kid, order, spacing, escapes)"
	}
	var env envelope
	if err := json.Unmarshal(jpt, &env); err != nil || env.V != formatVersion || env.Sid == "" ||
		env.Iat <= 0 || env.Exp <= 0 || env.Abs <= 0 || len(env.Data) == 0 {
		return "claims that are not a complete v1 envelope"
	}
	if canon, err := json.Marshal(env); err != nil || !bytes.Equal(canon, jpt) {
		return "claims not in the library's one form (field order, duplicates, spacing)"
	}
	return ""
}

// FuzzDifferential: our open next to go-jose (ParseEncryptedCompact with
// dir and A256GCM only, then Decrypt with the same key). When ours accepts,
// go-jose accepts with the same plaintext; when go-jose rejects, ours
// rejects; when only ours rejects, the token falls in a named class.
func FuzzDifferential(f *testing.F) {
	r := jweRing(mustKeyring(f, "a:primary:"+secretA))
	key := jweKey(secretA)
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
			require.Equal(t, jenv, *env)
		case jerr != nil:
			// Both reject.
		default:
			if class := fuzzExtraRejection(r, tok, jpt); class == "" {
				t.Fatalf("go-jose accepts, ours rejects (%v), in no named class: %q", err, tok)
			}
		}
	})
}

// FuzzCookieHeader: any Cookie header through the middleware, to a handler
// that reads the session. No panic, status 200 (never a 500); a rejection is
// typed, leaves no session and deletes the cookie; the response is private.
func FuzzCookieHeader(f *testing.F) {
	m, _ := newTestManager(f, Config{MaxChunks: 3}, nil)
	valid := signIn(f, m, "alice")
	rec := serve(f, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		require.NoError(f, s.SignIn(testData{User: "bob", Note: strings.Repeat("chunked ", 600)}))
	})
	chunked := cookieHeader("", rec)
	require.Contains(f, chunked, "__Host-session.1=")
	tok := strings.TrimPrefix(valid, "__Host-session=")

	for _, s := range []string{
		"",
		valid,
		chunked,
		"theme=dark; " + valid + "; lang=en",
		valid + "; " + valid,
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
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		var (
			d   testData
			ok  bool
			err error
		)
		rec := serve(t, m, header, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
			d, ok = s.Get()
			err = s.Err()
		})
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "private") {
			t.Fatalf("Cache-Control %q", cc)
		}
		if err == nil {
			return
		}
		if ok || d != (testData{}) {
			t.Fatalf("a session (%+v) with error %v", d, err)
		}
		if !fuzzIsSentinel(err) {
			t.Fatalf("untyped rejection: %v", err)
		}
		deleted := false
		for _, line := range setCookies(rec) {
			if strings.HasPrefix(line, "__Host-session=;") && strings.Contains(line, "Max-Age=0") {
				deleted = true
			}
		}
		if !deleted {
			t.Fatalf("rejected cookie (%v) not deleted: %q", err, setCookies(rec))
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
		"claims that are not a complete v1 envelope",
		"claims not in the library's one form (field order, duplicates, spacing)",
	} {
		require.Contains(t, seen, class)
	}
}

// fuzzCorpusString reads a committed one-string corpus file.
func fuzzCorpusString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	head, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "\n")
	require.True(t, ok)
	require.Equal(t, "go test fuzz v1", head)
	lit, ok = strings.CutPrefix(lit, "string(")
	require.True(t, ok)
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	require.NoError(t, err)
	return s
}

// TestFuzzSeedsAreLive: the committed valid seeds (made by Node's crypto
// under the test secrets) are still accepted, so the fuzzers start from real
// tokens and not from something rejected at the first check.
func TestFuzzSeedsAreLive(t *testing.T) {
	r := jweRing(mustKeyring(t, "a:primary:"+secretA, "b:decrypt-only:"+secretB))
	for _, p := range []string{"testdata/fuzz/FuzzOpen/valid_b_node", "testdata/fuzz/FuzzDifferential/valid_a_node"} {
		_, _, err := r.open(fuzzCorpusString(t, p), fuzzMaxLen)
		assert.NoError(t, err, p)
	}
	m, _ := newTestManager(t, Config{MaxChunks: 3}, nil)
	for _, p := range []string{"testdata/fuzz/FuzzCookieHeader/valid_node", "testdata/fuzz/FuzzCookieHeader/chunks_out_of_order"} {
		res := read(t, m, fuzzCorpusString(t, p))
		assert.NoError(t, res.Err, p)
		assert.True(t, res.OK, p)
		assert.Equal(t, "node", res.D.User, p)
	}
}
