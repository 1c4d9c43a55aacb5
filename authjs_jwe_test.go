package jwesession

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ajsSeal seals pt under k with the protected header JSON header, as any
// JOSE library would, whatever the header says.
func ajsSeal(k *authjsKey, header string, pt []byte) string {
	seg := base64.RawURLEncoding.EncodeToString([]byte(header))
	iv := make([]byte, k.ivLen)
	_, _ = rand.Read(iv)
	sealed := k.aead.Seal(nil, iv, pt, []byte(seg))
	b64 := base64.RawURLEncoding.EncodeToString
	return seg + ".." + b64(iv) + "." + b64(sealed[:len(sealed)-k.tag]) + "." + b64(sealed[len(sealed)-k.tag:])
}

// ajsClaimsAt returns valid claims for a token issued at now.
func ajsClaimsAt(now int64) []byte {
	return []byte(`{"name":"ada","iat":` + strconv.FormatInt(now, 10) + `,"exp":` + strconv.FormatInt(now+3600, 10) + `,"jti":"j"}`)
}

// ajsKeys returns a v5 manager with two secrets and its keys: the first
// secret's A256CBC-HS512 and A256GCM keys, the second's A256CBC-HS512 key.
func ajsKeys(t *testing.T) (m *AuthJSManager[ajsClaims], cbc1, gcm1, cbc2 *authjsKey, now int64) {
	m, clk := newAuthJSTest[ajsClaims](t, AuthJSConfig{}, authjsSecret1, authjsSecret2)
	r := m.a.ring
	for _, k := range r.byKid {
		switch {
		case k.index == 0 && k.enc == encCBC:
			cbc1 = k
		case k.index == 0 && k.enc == encGCM:
			gcm1 = k
		case k.index == 1 && k.enc == encCBC:
			cbc2 = k
		}
	}
	require.NotNil(t, cbc1)
	require.NotNil(t, gcm1)
	require.NotNil(t, cbc2)
	return m, cbc1, gcm1, cbc2, clk.Now().Unix()
}

// withSegment returns tok with segment i replaced by s.
func withSegment(tok string, i int, s string) string {
	p := strings.Split(tok, ".")
	p[i] = s
	return strings.Join(p, ".")
}

// TestAuthJSOpenForms: the header forms decode() accepts open; every form
// outside the format is refused with its own sentinel, before decryption.
func TestAuthJSOpenForms(t *testing.T) {
	m, cbc1, gcm1, cbc2, now := ajsKeys(t)
	pt := ajsClaimsAt(now)
	h := func(enc, kid string, extra string) string {
		s := `{"alg":"dir","enc":"` + enc + `"`
		if kid != "" {
			s += `,"kid":"` + kid + `"`
		}
		return s + extra + "}"
	}
	good := ajsSeal(cbc1, h(encCBC, cbc1.kid, ""), pt)
	b64 := base64.RawURLEncoding.EncodeToString
	for _, tc := range []struct {
		name string
		tok  string
		want error // nil: accepted
	}{
		{"encode()'s form", good, nil},
		{"the second secret, by kid", ajsSeal(cbc2, h(encCBC, cbc2.kid, ""), pt), nil},
		{"fields in another order and spacing", ajsSeal(cbc1, `{ "kid" : "`+cbc1.kid+`", "enc":"A256CBC-HS512","alg":"dir" }`, pt), nil},
		{"no kid: the first secret", ajsSeal(cbc1, h(encCBC, "", ""), pt), nil},
		{"A256GCM by kid", ajsSeal(gcm1, h(encGCM, gcm1.kid, ""), pt), nil},
		{"A256GCM without kid", ajsSeal(gcm1, h(encGCM, "", ""), pt), nil},
		{"no kid, second secret", ajsSeal(cbc2, h(encCBC, "", ""), pt), ErrDecrypt},
		{"kid of the GCM key on a CBC token", ajsSeal(cbc1, h(encCBC, gcm1.kid, ""), pt), ErrUnknownKey},
		{"kid of another secret", ajsSeal(cbc2, h(encCBC, cbc1.kid, ""), pt), ErrDecrypt},
		{"unknown kid", ajsSeal(cbc1, h(encCBC, "nope", ""), pt), ErrUnknownKey},
		{"zip", ajsSeal(cbc1, h(encCBC, cbc1.kid, `,"zip":"DEF"`), pt), ErrUnsupported},
		{"typ", ajsSeal(cbc1, h(encCBC, cbc1.kid, `,"typ":"JWT"`), pt), ErrMalformed},
		{"crit", ajsSeal(cbc1, h(encCBC, cbc1.kid, `,"crit":["exp"],"exp":1`), pt), ErrMalformed},
		{"alg twice", ajsSeal(cbc1, h(encCBC, cbc1.kid, `,"alg":"dir"`), pt), ErrMalformed},
		{"kid not a string", ajsSeal(cbc1, `{"alg":"dir","enc":"A256CBC-HS512","kid":1}`, pt), ErrMalformed},
		{"alg A256KW", ajsSeal(cbc1, `{"alg":"A256KW","enc":"A256CBC-HS512","kid":"`+cbc1.kid+`"}`, pt), ErrUnsupported},
		{"alg none", ajsSeal(cbc1, `{"alg":"none","enc":"A256CBC-HS512"}`, pt), ErrUnsupported},
		{"enc A128CBC-HS256", ajsSeal(cbc1, `{"alg":"dir","enc":"A128CBC-HS256"}`, pt), ErrUnsupported},
		{"no enc", ajsSeal(cbc1, `{"alg":"dir"}`, pt), ErrUnsupported},
		{"header an array", ajsSeal(cbc1, `["alg","dir"]`, pt), ErrMalformed},
		{"data after the header", ajsSeal(cbc1, h(encCBC, cbc1.kid, "")+"{}", pt), ErrMalformed},
		{"header not JSON", ajsSeal(cbc1, `{"alg":`, pt), ErrMalformed},
		{"an encrypted key", withSegment(good, 1, "AAAA"), ErrMalformed},
		{"a 12-byte IV on CBC", withSegment(good, 2, b64(make([]byte, 12))), ErrMalformed},
		{"a 16-byte tag on CBC (truncated)", withSegment(good, 4, strings.Split(good, ".")[4][:22]), ErrMalformed},
		{"ciphertext not whole blocks", withSegment(good, 3, b64(make([]byte, 20))), ErrMalformed},
		{"empty ciphertext", withSegment(good, 3, ""), ErrMalformed},
		{"padding", withSegment(good, 4, strings.Split(good, ".")[4]+"="), ErrMalformed},
		{"standard alphabet", withSegment(good, 2, "+"+strings.Split(good, ".")[2][1:]), ErrMalformed},
		{"CR/LF in a segment", withSegment(good, 3, strings.Split(good, ".")[3][:8]+"\r\n"+strings.Split(good, ".")[3][8:]), ErrMalformed},
		{"trailing bits set", withSegment(good, 4, strings.Split(good, ".")[4][:42]+"B"), ErrMalformed},
		{"four segments", strings.Join(strings.Split(good, ".")[:4], "."), ErrMalformed},
		{"six segments", good + ".", ErrMalformed},
		{"a megabyte of dots", strings.Repeat(".", 1<<20), ErrTooLarge},
	} {
		_, err := m.Inspect(tc.tok)
		if tc.want == nil {
			require.NoError(t, err, tc.name)
			continue
		}
		require.ErrorIs(t, err, tc.want, tc.name)
	}
}

// TestAuthJSTamperEachSegment: one character changed anywhere in a token
// never opens it.
func TestAuthJSTamperEachSegment(t *testing.T) {
	m, cbc1, _, _, now := ajsKeys(t)
	good := ajsSeal(cbc1, `{"alg":"dir","enc":"A256CBC-HS512","kid":"`+cbc1.kid+`"}`, ajsClaimsAt(now))
	for i := range len(good) {
		if good[i] == '.' {
			continue
		}
		c := byte('A')
		if good[i] == 'A' {
			c = 'B'
		}
		bad := good[:i] + string(c) + good[i+1:]
		_, err := m.Inspect(bad)
		require.Error(t, err, "position %d", i)
		require.True(t, fuzzIsSentinel(err), "untyped: %v", err)
	}
}

// TestAuthJSPaddingOracle: a CBC ciphertext whose tag is right but whose
// padding is wrong fails exactly as a wrong tag does: one error for every
// failure, the tag checked first (THREATS.md: CVE-2021-29444's class).
func TestAuthJSPaddingOracle(t *testing.T) {
	m, cbc1, _, _, _ := ajsKeys(t)
	seg := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"dir","enc":"A256CBC-HS512","kid":"` + cbc1.kid + `"}`))
	block, err := aes.NewCipher(cbc1.raw[32:])
	require.NoError(t, err)
	iv := make([]byte, 16)
	plain := []byte(`{"iat":1,"exp":9999999999}` + strings.Repeat("\x07", 6)) // 32 bytes, padding byte 7 but only 6 of them
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	mac := hmac.New(sha512.New, cbc1.raw[:32])
	mac.Write([]byte(seg))
	mac.Write(iv)
	mac.Write(ct)
	var al [8]byte
	binary.BigEndian.PutUint64(al[:], uint64(len(seg))*8)
	mac.Write(al[:])
	tag := mac.Sum(nil)[:32]
	b64 := base64.RawURLEncoding.EncodeToString
	badPadding := seg + ".." + b64(iv) + "." + b64(ct) + "." + b64(tag)
	tag[0] ^= 1
	badTag := seg + ".." + b64(iv) + "." + b64(ct) + "." + b64(tag)
	_, err1 := m.Inspect(badPadding)
	_, err2 := m.Inspect(badTag)
	require.Equal(t, ErrDecrypt, err1)
	require.Equal(t, ErrDecrypt, err2)
}

// TestAuthJSNextAuth4Open: v4 tokens name no key: each secret is tried in
// turn, at most MaxAuthJSSecrets; a kid or another enc is refused.
func TestAuthJSNextAuth4Open(t *testing.T) {
	m, clk := newAuthJSTest[ajsClaims](t, AuthJSConfig{Format: FormatNextAuth4}, authjsSecret1, authjsSecret2, authjsSecret3)
	keys := m.a.ring.noKid[encGCM]
	require.Len(t, keys, 3)
	pt := ajsClaimsAt(clk.Now().Unix())
	for i, k := range keys {
		info, err := m.Inspect(ajsSeal(k, `{"alg":"dir","enc":"A256GCM"}`, pt))
		require.NoError(t, err)
		require.Equal(t, i, info.Secret)
		require.Empty(t, info.KeyID)
	}
	_, err := m.Inspect(ajsSeal(keys[0], `{"alg":"dir","enc":"A256GCM","kid":"x"}`, pt))
	require.ErrorIs(t, err, ErrMalformed)
	_, err = m.Inspect(ajsSeal(keys[0], `{"enc":"A256GCM","alg":"dir"}`, pt))
	require.NoError(t, err, "another field order opens (decode() parses JSON)")
	_, err = m.Inspect(ajsSeal(keys[0], `{"alg":"dir","enc":"A256CBC-HS512"}`, pt))
	require.ErrorIs(t, err, ErrUnsupported)
	other, _ := newAuthJSTest[ajsClaims](t, AuthJSConfig{Format: FormatNextAuth4}, "authjs-test-secret-other-qrstuvwxyz012345")
	_, err = m.Inspect(ajsSeal(other.a.ring.write, `{"alg":"dir","enc":"A256GCM"}`, pt))
	require.Equal(t, ErrDecrypt, err)
	_, err = NewAuthJSSecrets(authjsSecret1, authjsSecret2, authjsSecret3, "authjs-test-secret-4-abcdefghijklmnopqrstuv", "authjs-test-secret-5-ABCDEFGHIJKLMNOPQRSTUV")
	require.ErrorIs(t, err, ErrInvalidKeyring, "the trial is bounded")
}

// TestAuthJSClaimRules: decode()'s claim rules, and the form encode()
// writes (iat and exp numbers).
func TestAuthJSClaimRules(t *testing.T) {
	m, cbc1, _, _, now := ajsKeys(t)
	n := func(d int64) string { return strconv.FormatInt(now+d, 10) }
	for _, tc := range []struct {
		name   string
		claims string
		want   error
	}{
		{"valid", `{"iat":` + n(0) + `,"exp":` + n(60) + `}`, nil},
		{"exp 14 s ago: within the tolerance", `{"iat":1,"exp":` + n(-14) + `}`, nil},
		{"exp 15 s ago: expired (exp <= now - 15)", `{"iat":1,"exp":` + n(-15) + `}`, ErrExpired},
		{"exp a fraction", `{"iat":1.5,"exp":` + n(60) + `.25}`, nil},
		{"exp in exponent form", `{"iat":1,"exp":9.99e9}`, nil},
		{"iat in the future: not checked, as decode() does not", `{"iat":` + n(86400) + `,"exp":` + n(90000) + `}`, nil},
		{"nbf 15 s ahead", `{"iat":1,"exp":` + n(60) + `,"nbf":` + n(15) + `}`, nil},
		{"nbf 16 s ahead", `{"iat":1,"exp":` + n(60) + `,"nbf":` + n(16) + `}`, ErrNotYetValid},
		{"the last exp counts, as with JSON.parse", `{"iat":1,"exp":` + n(60) + `,"exp":` + n(-60) + `}`, ErrExpired},
		{"a jti that is no string is ignored", `{"iat":1,"exp":` + n(60) + `,"jti":5}`, nil},
		{"no exp", `{"iat":1}`, ErrMalformed},
		{"no iat", `{"exp":` + n(60) + `}`, ErrMalformed},
		{"exp a string", `{"iat":1,"exp":"` + n(60) + `"}`, ErrMalformed},
		{"nbf a string", `{"iat":1,"exp":` + n(60) + `,"nbf":"0"}`, ErrMalformed},
		{"exp beyond float64", `{"iat":1,"exp":1e400}`, ErrMalformed},
		{"an array", `[1]`, ErrMalformed},
		{"not JSON", `{"iat":1,"exp":` + n(60), ErrMalformed},
		{"invalid UTF-8", `{"iat":1,"exp":` + n(60) + `,"name":"` + "\xff" + `"}`, ErrMalformed},
		{"a BOM", "\uFEFF" + `{"iat":1,"exp":` + n(60) + `}`, ErrMalformed},
		{"a claim of the wrong type for T", `{"iat":1,"exp":` + n(60) + `,"name":5}`, ErrMalformed},
	} {
		_, err := m.Inspect(ajsSeal(cbc1, `{"alg":"dir","enc":"A256CBC-HS512","kid":"`+cbc1.kid+`"}`, []byte(tc.claims)))
		if tc.want == nil {
			require.NoError(t, err, tc.name)
		} else {
			require.ErrorIs(t, err, tc.want, tc.name)
		}
	}
}
