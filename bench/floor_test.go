package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jwesession/jwesession/bench/internal/claims"
)

// benchEnvelope is jwesession's token plaintext (the claims around the
// user's data), format version 2 as documented in its jwe.go, with every
// field the token holds; Data decoded in the same pass.
type benchEnvelope[D claims.Claims] struct {
	V    int    `json:"v"`
	Sid  string `json:"sid"`
	Sin  string `json:"sin"`
	Org  string `json:"org"`
	Iat  int64  `json:"iat"`
	Exp  int64  `json:"exp"`
	Abs  int64  `json:"abs"`
	Rem  bool   `json:"rem"`
	Tbs  string `json:"tbs"`
	Data D      `json:"data"`
}

// ---------------------------------------------------------------------------
// go-jose alone, on a jwesession token: no HTTP.

func goJoseOpen[D claims.Claims](key []byte, token string) (*benchEnvelope[D], error) {
	obj, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, err
	}
	pt, err := obj.Decrypt(key)
	if err != nil {
		return nil, err
	}
	env := &benchEnvelope[D]{}
	if err := json.Unmarshal(pt, env); err != nil {
		return nil, err
	}
	return env, nil
}

// BenchmarkGoJoseDecrypt: ParseEncryptedCompact + Decrypt + json.Unmarshal
// of a jwesession token.
func BenchmarkGoJoseDecrypt(b *testing.B) {
	forClaims(b, benchGoJose[claims.Data], benchGoJose[claims.Rich])
}

func benchGoJose[D claims.Claims](b *testing.B) {
	f := newJWE[D](b)
	key := jweKey()
	if env, err := goJoseOpen[D](key, f.token); err != nil || env.Data.Key() != f.value.Key() {
		b.Fatalf("go-jose: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := goJoseOpen[D](key, f.token); err != nil {
			b.Fatal(err)
		}
	}
}

// ---------------------------------------------------------------------------
// The floor: what any A256GCM cookie must cost, with nothing generic.

var b64 = base64.RawURLEncoding

// floor holds what is built once per key: the AEAD and the exact protected
// header segment (which is also the AAD).
type floor struct {
	aead   cipher.AEAD
	header string
	aad    []byte
}

func newFloor() *floor {
	block, err := aes.NewCipher(jweKey())
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	h := b64.EncodeToString([]byte(`{"alg":"dir","enc":"A256GCM","kid":"` + benchKeyID + `"}`))
	return &floor{aead: aead, header: h, aad: []byte(h)}
}

var errFloor = errors.New("floor: malformed token")

// floorOpen splits the compact token by hand, base64url-decodes the IV,
// ciphertext and tag, opens them in place and decodes the claims, the
// whole envelope in one json.Unmarshal.
func floorOpen[D claims.Claims](f *floor, token string) (*benchEnvelope[D], error) {
	var seg [5]string
	rest := token
	for i := 0; i < 4; i++ {
		j := strings.IndexByte(rest, '.')
		if j < 0 {
			return nil, errFloor
		}
		seg[i], rest = rest[:j], rest[j+1:]
	}
	seg[4] = rest
	if seg[0] != f.header || seg[1] != "" || len(seg[2]) != 16 || len(seg[4]) != 22 {
		return nil, errFloor
	}
	var iv [12]byte
	if n, err := b64.Decode(iv[:], []byte(seg[2])); err != nil || n != len(iv) {
		return nil, errFloor
	}
	buf := make([]byte, b64.DecodedLen(len(seg[3]))+16)
	n, err := b64.Decode(buf, []byte(seg[3]))
	if err != nil {
		return nil, errFloor
	}
	if m, err := b64.Decode(buf[n:], []byte(seg[4])); err != nil || m != 16 {
		return nil, errFloor
	}
	pt, err := f.aead.Open(buf[:0], iv[:], buf[:n+16], f.aad)
	if err != nil {
		return nil, err
	}
	env := &benchEnvelope[D]{}
	if err := json.Unmarshal(pt, env); err != nil {
		return nil, err
	}
	return env, nil
}

// floorSeal is the seal floor: json.Marshal of the claims, a random IV,
// an AES-GCM seal and the base64url compact token.
func floorSeal[D claims.Claims](f *floor, env *benchEnvelope[D]) (string, error) {
	pt, err := json.Marshal(env)
	if err != nil {
		return "", err
	}
	var iv [12]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return "", err
	}
	ct := f.aead.Seal(pt[:0:0], iv[:], pt, f.aad)
	body, tag := ct[:len(pt)], ct[len(pt):]
	tok := make([]byte, 0, len(f.header)+2+16+1+b64.EncodedLen(len(body))+1+22)
	tok = append(tok, f.header...)
	tok = append(tok, '.', '.')
	tok = b64.AppendEncode(tok, iv[:])
	tok = append(tok, '.')
	tok = b64.AppendEncode(tok, body)
	tok = append(tok, '.')
	tok = b64.AppendEncode(tok, tag)
	return string(tok), nil
}

// floorEnvelope is a fresh session's claims, as jwesession writes them.
func floorEnvelope[D claims.Claims]() *benchEnvelope[D] {
	now := time.Now().Unix()
	return &benchEnvelope[D]{V: 2, Sid: "c2Vzc2lvbi1pZC0xMjM0NQ", Sin: "c2lnbi1pbi1pZC0xMjM0NTY", Org: benchKeyID, Iat: now, Exp: now + 1800, Abs: now, Data: claims.Sample[D]()}
}

// BenchmarkFloorOpen: split, base64url-decode, AES-256-GCM open with a
// pre-built AEAD, json.Unmarshal of the claims. No HTTP.
func BenchmarkFloorOpen(b *testing.B) {
	forClaims(b, benchFloorOpen[claims.Data], benchFloorOpen[claims.Rich])
}

func benchFloorOpen[D claims.Claims](b *testing.B) {
	f := newFloor()
	j := newJWE[D](b)
	if env, err := floorOpen[D](f, j.token); err != nil || env.Data.Key() != j.value.Key() {
		b.Fatalf("floor: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := floorOpen[D](f, j.token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorSeal: json.Marshal + AES-256-GCM seal + base64url of the
// same claims. No HTTP.
func BenchmarkFloorSeal(b *testing.B) {
	forClaims(b, benchFloorSeal[claims.Data], benchFloorSeal[claims.Rich])
}

func benchFloorSeal[D claims.Claims](b *testing.B) {
	f := newFloor()
	env := floorEnvelope[D]()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := floorSeal(f, env); err != nil {
			b.Fatal(err)
		}
	}
}
