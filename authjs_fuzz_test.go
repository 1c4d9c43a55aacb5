package jwesession

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

// The Auth.js codec next to go-jose (THREATS.md's differential rule, for
// these formats): whenever ours opens a token, go-jose's
// ParseEncryptedCompact (alg dir, the format's encryptions) and Decrypt,
// with the key decode() would pick (by kid, else the first secret; every
// secret in turn for v4), opens it too, with the same plaintext; whenever
// go-jose refuses, ours refuses; every token only ours refuses falls in a
// class the test names.
//
//	go test -run '^$' -fuzz '^FuzzAuthJSDifferential$' -fuzztime 100000x .

// ajsFuzzManagers returns a v5 and a v4 manager with two secrets.
func ajsFuzzManagers(t testing.TB) (v5, v4 *AuthJSManager[json.RawMessage]) {
	v5, _ = newAuthJSTest[json.RawMessage](t, AuthJSConfig{}, authjsSecret1, authjsSecret2)
	v4, _ = newAuthJSTest[json.RawMessage](t, AuthJSConfig{Format: FormatNextAuth4}, authjsSecret1, authjsSecret2)
	return v5, v4
}

// ajsJoseOpen opens tok with go-jose as decode() would: the header's enc
// and kid choose the key among r's.
func ajsJoseOpen(tok string, r *authjsRing, v4 bool) (pt []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			pt, err = nil, errors.New("go-jose panicked")
		}
	}()
	encs := []jose.ContentEncryption{jose.A256CBC_HS512, jose.A256GCM}
	if v4 {
		encs = encs[1:]
	}
	obj, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.DIRECT}, encs)
	if err != nil {
		return nil, err
	}
	seg, _, _ := strings.Cut(tok, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	var h struct {
		Enc string  `json:"enc"`
		Kid *string `json:"kid"`
	}
	_ = json.Unmarshal(hb, &h)
	var keys []*authjsKey
	switch {
	case v4 || h.Kid == nil:
		keys = r.noKid[h.Enc]
	case r.byKid[h.Enc+" "+*h.Kid] != nil:
		keys = []*authjsKey{r.byKid[h.Enc+" "+*h.Kid]}
	}
	err = errors.New("no key")
	for _, k := range keys {
		if pt, err = obj.Decrypt(k.raw); err == nil {
			return pt, nil
		}
	}
	return nil, err
}

// ajsExtraRejection names the class of a token go-jose opens and ours
// refuses, or returns "" for a difference nobody explained. (A header
// naming a member twice is refused by both: go-jose's JSON refuses
// duplicate keys.)
func ajsExtraRejection(tok string, maxLen int, v4 bool) string {
	_, dec, class := fuzzSegmentClass(tok, maxLen, "non-canonical base64 (padding, set trailing bits)")
	if dec == nil {
		return class
	}
	fields, class := fuzzHeaderClass(dec[0])
	if fields == nil || class != "" {
		return class
	}
	if _, ok := fields["kid"]; ok && v4 {
		return "a kid in a NextAuth.js v4 header (encode() writes none)"
	}
	var enc string
	_ = json.Unmarshal(fields["enc"], &enc)
	ivLen, tagLen := 16, 32
	if enc == encGCM {
		ivLen, tagLen = 12, 16
	}
	if len(dec[2]) != ivLen || len(dec[4]) != tagLen {
		return "IV or tag of another length (go-jose re-splits ciphertext and tag)"
	}
	return ""
}

// ajsFuzzSeeds returns tokens worth mutating: the real vectors, and forms
// at every edge the classes name.
func ajsFuzzSeeds(t testing.TB) []string {
	t.Helper()
	f := readAuthJSVectors(t)
	var out []string
	for _, v := range f.Vectors {
		if len(v.Token) < 2000 {
			out = append(out, v.Token)
		}
	}
	v5, v4 := ajsFuzzManagers(t)
	pt := ajsClaimsAt(1798761600)
	k5, k4 := v5.a.ring.write, v4.a.ring.write
	good := ajsSeal(k5, `{"alg":"dir","enc":"A256CBC-HS512","kid":"`+k5.kid+`"}`, pt)
	p := strings.Split(good, ".")
	// A tag with a set trailing bit: the last of 43 characters encodes 2
	// unused bits.
	last := p[4][42]
	bits := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last)
	trailing := p[4][:42] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[bits|1])
	// A GCM token whose tag segment carries the ciphertext's last 8 bytes
	// too: go-jose joins ciphertext and tag before it opens.
	g := strings.Split(ajsSeal(k4, `{"alg":"dir","enc":"A256GCM"}`, pt), ".")
	gct, _ := base64.RawURLEncoding.DecodeString(g[3])
	gtag, _ := base64.RawURLEncoding.DecodeString(g[4])
	b64 := base64.RawURLEncoding.EncodeToString
	resplit := strings.Join([]string{g[0], "", g[2], b64(gct[:len(gct)-8]), b64(append(gct[len(gct)-8:len(gct):len(gct)], gtag...))}, ".")
	var deflated bytes.Buffer
	w, _ := flate.NewWriter(&deflated, flate.BestSpeed)
	_, _ = w.Write(pt)
	_ = w.Close()
	out = append(out,
		strings.Join([]string{p[0], "", p[2], p[3], trailing}, "."),
		resplit,
		ajsSeal(k5, `{"alg":"dir","enc":"A256CBC-HS512","kid":"`+k5.kid+`","zip":"DEF"}`, deflated.Bytes()),
		good,
		ajsSeal(k4, `{"alg":"dir","enc":"A256GCM"}`, pt),
		ajsSeal(k4, `{"alg":"dir","enc":"A256GCM","kid":"x"}`, pt),
		ajsSeal(k5, `{"alg":"dir","enc":"A256CBC-HS512","kid":"`+k5.kid+`","zip":"DEF"}`, pt),
		ajsSeal(k5, `{"alg":"dir","enc":"A256CBC-HS512","kid":"`+k5.kid+`","typ":"JWT"}`, pt),
		ajsSeal(k5, `{"alg":"dir","alg":"dir","enc":"A256CBC-HS512","kid":"`+k5.kid+`"}`, pt),
		ajsSeal(k5, `{"enc":"A256CBC-HS512","alg":"dir"}`, pt),
		strings.Join([]string{p[0], "AAAA", p[2], p[3], p[4]}, "."),
		strings.Join([]string{p[0], "", p[2], p[3][:4] + "\n" + p[3][4:], p[4]}, "."),
		strings.Join([]string{p[0], "", p[2], p[3], p[4] + "="}, "."),
		strings.Join([]string{p[0], "", p[2], p[3][:len(p[3])-43], p[3][len(p[3])-43:] + p[4]}, "."),
		strings.Repeat(".", 300),
		"",
	)
	return out
}

func FuzzAuthJSDifferential(f *testing.F) {
	v5, v4 := ajsFuzzManagers(f)
	for _, s := range ajsFuzzSeeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, tok string, isV4 bool) {
		a := v5.a
		if isV4 {
			a = v4.a
		}
		k, pt, err := a.ring.open(tok, a.maxLen())
		jpt, jerr := ajsJoseOpen(tok, a.ring, isV4)
		switch {
		case err == nil && jerr != nil:
			t.Fatalf("ours opens, go-jose refuses (%v): %q", jerr, tok)
		case err == nil:
			if !bytes.Equal(pt, jpt) {
				t.Fatalf("plaintexts differ: ours %q, go-jose %q", pt, jpt)
			}
			if k == nil {
				t.Fatal("opened without a key")
			}
		case jerr != nil:
			if !fuzzIsSentinel(err) {
				t.Fatalf("untyped rejection: %v", err)
			}
		default:
			if class := ajsExtraRejection(tok, a.maxLen(), isV4); class == "" {
				t.Fatalf("go-jose opens, ours refuses (%v), in no named class: %q", err, tok)
			}
		}
	})
}

// TestAuthJSDifferentialClasses checks the classifier the fuzz target
// relies on against its seeds: every seed only ours refuses falls in a
// named class, and the seeds cover each class.
func TestAuthJSDifferentialClasses(t *testing.T) {
	v5, v4 := ajsFuzzManagers(t)
	seen := map[string]int{}
	opened := 0
	for _, tok := range ajsFuzzSeeds(t) {
		for _, m := range []*AuthJSManager[json.RawMessage]{v5, v4} {
			isV4 := m == v4
			_, _, err := m.a.ring.open(tok, m.a.maxLen())
			_, jerr := ajsJoseOpen(tok, m.a.ring, isV4)
			if err == nil {
				require.NoError(t, jerr, "ours opens, go-jose must too: %q", tok)
				opened++
				continue
			}
			if jerr != nil {
				continue
			}
			class := ajsExtraRejection(tok, m.a.maxLen(), isV4)
			require.NotEmpty(t, class, "go-jose opens, ours refuses (%v), in no named class: %q", err, tok)
			seen[class]++
		}
	}
	require.Greater(t, opened, 2)
	for _, class := range []string{
		"CR/LF inside a segment (Go's base64 skips them)",
		"non-canonical base64 (padding, set trailing bits)",
		"bytes in the encrypted-key segment (go-jose ignores it for dir)",
		"a zip header (go-jose inflates)",
		"header fields beyond alg, enc and kid",
		"a kid in a NextAuth.js v4 header (encode() writes none)",
		"IV or tag of another length (go-jose re-splits ciphertext and tag)",
	} {
		require.Contains(t, seen, class)
	}
}

// FuzzAuthJSCookieHeader: any Cookie header through the middleware of
// both formats: no panic, a rejection is typed, a read writes no cookie.
func FuzzAuthJSCookieHeader(f *testing.F) {
	v5, v4 := ajsFuzzManagers(f)
	fv := readAuthJSVectors(f)
	for _, v := range fv.Vectors {
		f.Add(v.Cookie)
	}
	f.Add("authjs.session-token.0=a; authjs.session-token.1=b; authjs.session-token=c")
	f.Add("__Secure-authjs.session-token=%41; __Secure-authjs.session-token.x=1")
	f.Fuzz(func(t *testing.T, header string) {
		for _, m := range []*AuthJSManager[json.RawMessage]{v5, v4} {
			rec := serveAJS(t, m, header, func(s *Session[json.RawMessage]) {
				_, ok := s.Get()
				if err := s.Err(); err != nil && (ok || !fuzzIsSentinel(err)) {
					t.Fatalf("bad rejection (ok %v): %v", ok, err)
				}
			})
			if len(rec.Header()["Set-Cookie"]) != 0 {
				t.Fatalf("a read wrote cookies: %q", rec.Header()["Set-Cookie"])
			}
		}
	})
}
