package bench

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jwesession/jwesession/bench/internal/claims"
)

// TestContenders runs every contender's set-up once on each claims shape:
// a sign-in sets one cookie, and the read path reads it back without
// writing a cookie.
func TestContenders(t *testing.T) {
	t.Run("basic", testContenders[claims.Data])
	t.Run("rich", testContenders[claims.Rich])
}

func testContenders[D claims.Claims](t *testing.T) {
	newJWE[D](t)
	newGorilla[D](t)
	newSecureCookie[D](t, false)
	newSecureCookie[D](t, true)
	newSCS[D](t)
}

// TestFloorInterop: the floor reads the same tokens as jwesession and
// go-jose, whole (every envelope field of format version 2 and the data),
// and writes tokens both accept, so it measures the same work.
func TestFloorInterop(t *testing.T) {
	t.Run("basic", testFloorInterop[claims.Data])
	t.Run("rich", testFloorInterop[claims.Rich])
}

func testFloorInterop[D claims.Claims](t *testing.T) {
	j := newJWE[D](t)
	f := newFloor()

	for _, c := range []string{j.cookie, j.tombstone} {
		tok := ""
		for _, part := range strings.Split(c, "; ") {
			if v, ok := strings.CutPrefix(part, j.m.CookieName()+"="); ok {
				tok = v
			}
		}
		env, err := floorOpen[D](f, tok)
		if err != nil {
			t.Fatalf("the floor cannot open a jwesession token: %v", err)
		}
		if env.V != 2 || env.Sid == "" || env.Sin == "" || env.Org != benchKeyID || env.Iat != benchStart.Unix() || env.Exp <= env.Iat || env.Abs != env.Iat || !reflect.DeepEqual(env.Data, j.value) {
			t.Fatalf("the floor decoded %+v", env)
		}
		if c == j.tombstone && len(env.Tbs) != 16 {
			t.Fatalf("the token after a sign-out records its tombstone: tbs %q", env.Tbs)
		}
		// The floor decodes every field the token's claims hold, no more.
		if got, want := jsonKeys(t, env), jsonKeys(t, goJosePlaintext(t, tok)); !reflect.DeepEqual(got, want) {
			t.Fatalf("the floor decodes the fields %q, the token holds %q", got, want)
		}
	}

	fenv := floorEnvelope[D]()
	tok, err := floorSeal(f, fenv)
	if err != nil {
		t.Fatal(err)
	}
	if env, err := goJoseOpen[D](jweKey(), tok); err != nil || env.Data.Key() != j.value.Key() {
		t.Fatalf("go-jose cannot open a floor token: %v", err)
	}
	j.now = time.Unix(fenv.Iat, 0)
	res := serveOnce(j.hot(t), j.m.CookieName()+"="+tok)
	if res.StatusCode != http.StatusOK || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("jwesession on a floor token: status %d, Set-Cookie %q", res.StatusCode, res.Header.Values("Set-Cookie"))
	}

	i := len(f.header) + 2 + 16 + 1 + 5 // a ciphertext character
	c := byte('A')
	if j.token[i] == c {
		c = 'B'
	}
	if _, err := floorOpen[D](f, j.token[:i]+string(c)+j.token[i+1:]); err == nil {
		t.Fatal("the floor opened a tampered token")
	}
}

// goJosePlaintext returns a jwesession token's plaintext, opened by go-jose
// with the documented key derivation.
func goJosePlaintext(t *testing.T, tok string) []byte {
	t.Helper()
	obj, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	pt, err := obj.Decrypt(jweKey())
	if err != nil {
		t.Fatalf("go-jose cannot open a jwesession token with the documented key derivation: %v", err)
	}
	return pt
}

// jsonKeys returns the names of a JSON object's members, in order, from
// its encoding or from a value to encode.
func jsonKeys(t *testing.T, v any) []string {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", b)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
