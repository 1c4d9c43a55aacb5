package jwesession

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeB64 writes what encoding/base64's RawURLEncoding writes, for every
// length across its 192-byte rounds and its six-byte steps, and for the
// bytes that use the alphabet's last characters.
func TestWriteB64MatchesEncodingBase64(t *testing.T) {
	for n := range 600 {
		src := make([]byte, n)
		_, _ = rand.Read(src)
		if n%7 == 0 {
			for i := range src {
				src[i] = 0xff // "_" and "-" throughout
			}
		}
		var b strings.Builder
		writeB64(&b, src)
		require.Equal(t, base64.RawURLEncoding.EncodeToString(src), b.String(), "%d bytes", n)
	}
}

// encodeB64 stops at the end of dst: what does not fit in whole rounds of
// eight is left to the standard encoder's append, never written past dst.
func TestEncodeB64SmallDestination(t *testing.T) {
	src := []byte("0123456789ab")
	got := encodeB64(make([]byte, 8), src)
	require.Equal(t, base64.RawURLEncoding.EncodeToString(src), string(got))
}
