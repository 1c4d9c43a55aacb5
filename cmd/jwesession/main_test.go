package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwesession/jwesession"
)

func TestKeygen(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run([]string{"keygen"}, &out, &errOut))
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		require.Len(t, lines, 2)
		secret := lines[0]
		assert.Len(t, secret, 43, "32 bytes in unpadded base64url")
		assert.False(t, seen[secret], "secrets are random")
		seen[secret] = true

		// The secret is accepted as JWESESSION_SECRET, and the entry as
		// JWESESSION_KEYS with the same key id, so switching logs nobody out.
		one, err := jwesession.KeyringFromSecret(secret)
		require.NoError(t, err)
		entry := strings.Replace(lines[1], ":decrypt-only:", ":primary:", 1)
		kr, err := jwesession.ParseKeys(entry)
		require.NoError(t, err)
		assert.Equal(t, one.Primary().ID, kr.Primary().ID)
		assert.Empty(t, errOut.String())
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"keygen", "extra"}} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 2, run(args, &out, &errOut), "%q", args)
		assert.Contains(t, errOut.String(), "usage:")
	}
}
