package jwesession

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Allocation budgets of the Auth.js read path (net of the empty request;
// run without -race, as .ci/run does). The v5 read pays go-jose's
// CBC-HMAC: an HMAC-SHA-512 and its buffer, a CBC decrypter and a copy of
// the ciphertext per open, next to the native hot path's work.
const (
	allocBudgetAuthJSRead    = 33 // an Auth.js v5 token (A256CBC-HS512), read, nothing written
	allocBudgetNextAuth4Read = 23 // a NextAuth.js v4 token (A256GCM)
)

func TestAuthJSAllocBudgets(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not deterministic under the race detector; .ci/run runs this test without -race")
	}
	empty := allocsPerRequest(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "")
	for _, tc := range []struct {
		format AuthJSFormat
		budget int
	}{{FormatAuthJS, allocBudgetAuthJSRead}, {FormatNextAuth4, allocBudgetNextAuth4Read}} {
		m, _ := newAuthJSTest[authjsBenchClaims](t, AuthJSConfig{Format: tc.format})
		tok, err := m.Encode(authjsBenchClaims{benchValue})
		require.NoError(t, err)
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := m.Session(r.Context())
			if d, ok := s.Get(); !ok || d.User != benchValue.User {
				t.Error("session not read")
			}
		}))
		n := allocsPerRequest(h, m.CookieName()+"="+tok) - empty
		t.Logf("%s: %.0f net allocations per read", tc.format, n)
		assert.LessOrEqual(t, n, float64(tc.budget), tc.format.String())
	}
}
