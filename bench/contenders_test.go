package bench

import (
	"net/http"
	"testing"
)

// TestContenders runs every contender's set-up once: a sign-in sets one
// cookie, and the read path reads it back without writing a cookie.
func TestContenders(t *testing.T) {
	newJWE(t)
	newGorilla(t)
	newSecureCookie(t, false)
	newSecureCookie(t, true)
	newSCS(t)
}

// TestFloorInterop: the floor reads the same tokens as jwesession and
// go-jose, and writes tokens both accept, so it measures the same work.
func TestFloorInterop(t *testing.T) {
	j := newJWE(t)
	f := newFloor()

	env, err := f.open(j.token)
	if err != nil {
		t.Fatalf("the floor cannot open a jwesession token: %v", err)
	}
	if env.V != 2 || env.Sid == "" || env.Sin == "" || env.Org != benchKeyID || env.Data.User != benchValue.User || len(env.Data.Roles) != 3 {
		t.Fatalf("the floor decoded %+v", env)
	}
	if _, err := goJoseOpen(jweKey(), j.token); err != nil {
		t.Fatalf("go-jose cannot open a jwesession token with the documented key derivation: %v", err)
	}

	tok, err := f.seal(floorEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	if env, err := goJoseOpen(jweKey(), tok); err != nil || env.Data.User != benchValue.User {
		t.Fatalf("go-jose cannot open a floor token: %v", err)
	}
	res := serveOnce(j.hot(t), j.m.CookieName()+"="+tok)
	if res.StatusCode != http.StatusOK || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("jwesession on a floor token: status %d, Set-Cookie %q", res.StatusCode, res.Header.Values("Set-Cookie"))
	}

	i := len(f.header) + 2 + 16 + 1 + 5 // a ciphertext character
	c := byte('A')
	if j.token[i] == c {
		c = 'B'
	}
	if _, err := f.open(j.token[:i] + string(c) + j.token[i+1:]); err == nil {
		t.Fatal("the floor opened a tampered token")
	}
}
