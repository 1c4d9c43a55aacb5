package jwesession

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The origin key (the envelope's "org") against laundering: a token forged
// under a leaked decrypt-only key and rewritten under the primary by one
// write still ends when the leaked key is retired. And the clamp: a forged
// expiry cannot make a token live long while the key is accepted. Forgeries
// are made the way a holder of the leaked secret would: the library's own
// seal and envelope. Helpers are prefixed or.

// orMallory is the forger's session data.
var orMallory = json.RawMessage(`{"user":"mallory"}`)

// orForge seals env under the key kid of m's keyring and returns the Cookie
// header. Empty ids get fresh ones, an empty origin is kid, zero times are
// now (exp: iat + 10 minutes), and empty data is alice's. It counts nothing
// in m's Stats.
func orForge(t testing.TB, m *Manager[testData], kid string, env envelope) string {
	t.Helper()
	dk, ok := m.core.ring.Load().detached(false).byID[kid]
	require.True(t, ok, "no key %q", kid)
	now := m.core.cfg.Now().Unix()
	if env.Sid == "" {
		env.Sid = newID()
	}
	if env.Sin == "" {
		env.Sin = newID()
	}
	if env.Org == "" {
		env.Org = kid
	}
	if env.Iat == 0 {
		env.Iat = now
	}
	if env.Exp == 0 {
		env.Exp = env.Iat + 600
	}
	if env.Abs == 0 {
		env.Abs = now
	}
	if env.Data == nil {
		env.Data = json.RawMessage(`{"user":"alice"}`)
	}
	return m.CookieName() + "=" + seal(dk, purposeData, appendEnvelope(nil, &env))
}

// orRing is the keyring of the leak: k1, the previous primary, leaked while
// decrypt-only.
func orRing(t testing.TB, k1 string) *Keyring {
	return mustKeyring(t, "k2:primary:"+secretB, "k1:"+k1+":"+secretA)
}

// A forgery under k1, whatever origin it claims, is accepted while k1 is
// decrypt-only; the forger's one write rewrites it under k2 with origin
// k1 (the older of the claim and the key that opened it), and retiring k1
// ends both the forgery and its rewrite.
func TestOriginLaundering(t *testing.T) {
	for _, claim := range []string{"k1", "k2"} {
		t.Run("claims origin "+claim, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, orRing(t, "decrypt-only"))
			forged := orForge(t, m, "k1", envelope{Org: claim, Data: orMallory})
			res := read(t, m, forged)
			require.NoError(t, res.Err)
			require.Equal(t, "mallory", res.D.User)
			assert.Empty(t, setCookies(res.Rec), "a read re-keys nothing")

			clk.Advance(time.Minute)
			rec := rotUpdate(t, m, forged) // the forger's POST
			ck := rotSessionCookie(t, m, rec)
			assert.Equal(t, "k2", rotKid(t, ck.Value), "rewritten under the primary")
			assert.Equal(t, "k1", rotClaims(t, m, ck.Value).Org, "the origin is the leaked key")
			laundered := cookieHeader(forged, rec)
			res = read(t, m, laundered)
			require.NoError(t, res.Err)
			assert.Equal(t, testData{User: "mallory", N: 1}, res.D)
			info, err := m.InspectCookies(laundered)
			require.NoError(t, err)
			assert.Equal(t, []string{"k2", "k1"}, []string{info.KeyID, info.OriginKeyID})

			require.NoError(t, m.SetKeyring(orRing(t, "retired")))
			for name, c := range map[string]string{"rewritten": laundered, "forged": forged} {
				res := read(t, m, c)
				require.ErrorIs(t, res.Err, ErrRetiredKey, name)
				assert.False(t, res.OK, name)
				assert.Empty(t, setCookies(res.Rec), name)
				_, err := m.InspectCookies(c)
				assert.ErrorIs(t, err, ErrRetiredKey, name)
			}
		})
	}
}

// An origin that names no key of the keyring is refused, whatever key
// opened the token.
func TestOriginUnknown(t *testing.T) {
	m, _ := newTestManager(t, Config{}, orRing(t, "decrypt-only"))
	for _, kid := range []string{"k2", "k1"} {
		res := read(t, m, orForge(t, m, kid, envelope{Org: "k0"}))
		require.ErrorIs(t, res.Err, ErrUnknownKey, kid)
		assert.NotErrorIs(t, res.Err, ErrRetiredKey)
		assert.False(t, res.OK)
		assert.Empty(t, setCookies(res.Rec))
	}
	for _, s := range m.Stats() {
		assert.Zero(t, s.Retired+s.Rewritten, s.ID)
	}
}

// Rewritten counts on the origin when another key opened the token;
// Retired counts on the origin when it refuses one, and on the opener when
// it is the retired key.
func TestOriginStats(t *testing.T) {
	m, _ := newTestManager(t, Config{}, orRing(t, "decrypt-only"))
	rewritten := orForge(t, m, "k2", envelope{Org: "k1"})
	claimsNewer := orForge(t, m, "k1", envelope{Org: "k2"}) // origin k1: the opener, not counted
	require.NoError(t, read(t, m, rewritten).Err)
	require.NoError(t, read(t, m, claimsNewer).Err)
	assert.Equal(t, []KeyStats{
		{ID: "k2", State: Primary, Opened: 1},
		{ID: "k1", State: DecryptOnly, Opened: 1, Rewritten: 1},
	}, m.Stats())

	require.NoError(t, m.SetKeyring(orRing(t, "retired")))
	require.ErrorIs(t, read(t, m, rewritten).Err, ErrRetiredKey)
	assert.Equal(t, []KeyStats{
		{ID: "k2", State: Primary, Opened: 2},
		{ID: "k1", State: Retired, Opened: 1, Rewritten: 1, Retired: 1},
	}, m.Stats(), "refused for its origin")
	require.ErrorIs(t, read(t, m, claimsNewer).Err, ErrRetiredKey)
	assert.Equal(t, KeyStats{ID: "k1", State: Retired, Opened: 1, Rewritten: 1, Retired: 2}, rotStats(t, m, "k1"), "refused for its key")
}

// A forged expiry far beyond iat + IdleTimeout + Leeway is treated as
// expiring then, for the token and for a companion alike: accepted at iat
// + IdleTimeout, refused after iat + IdleTimeout + 2 × Leeway.
func TestForgedExpiryClamped(t *testing.T) {
	const month = 30 * 24 * 3600
	for _, c := range []struct {
		name      string
		companion int64 // the forged companion's issue time after the token's, 0: none
	}{{"token", 0}, {"companion", 300}} {
		t.Run(c.name, func(t *testing.T) {
			m, clk := newTestManager(t, Config{}, orRing(t, "decrypt-only"))
			start := clk.Now()
			iat := start.Unix()
			cookie := orForge(t, m, "k1", envelope{Sid: "c2lk", Exp: iat + month, Abs: iat})
			if c.companion != 0 {
				dk := m.core.ring.Load().detached(false).byID["k1"]
				pt := appendCompanion(nil, "c2lk", iat+c.companion, iat+month)
				cookie += "; " + m.core.names.companion + "=" + seal(dk, purposeCompanion, pt)
			}
			last := iat + c.companion // the latest issue time
			clk.t = start.Add(6 * time.Minute)
			info, err := m.InspectCookies(cookie)
			require.NoError(t, err)
			assert.Equal(t, last+1800+30, info.IdleExpiry.Unix())
			for _, at := range []struct {
				after int64
				ok    bool
			}{{1800, true}, {1860, true}, {1861, false}, {month, false}} {
				clk.t = time.Unix(last+at.after, 0)
				res := read(t, m, cookie)
				if at.ok {
					require.NoError(t, res.Err, "at +%ds", at.after)
					assert.True(t, res.OK)
				} else {
					require.ErrorIs(t, res.Err, ErrExpired, "at +%ds", at.after)
				}
			}
		})
	}
}

// A leaked NEWER decrypt-only key (added, not yet promoted): a forgery
// under it claiming the primary as its origin is rewritten under the
// primary with origin b (the older of the claim and the opener), so the
// emergency (retire the leaked key at once) must still end it.
func TestOriginLaunderingNewerKey(t *testing.T) {
	m, _ := newTestManager(t, Config{}, mustKeyring(t, "c:decrypt-only:"+secretC, "b:primary:"+secretB))
	forged := orForge(t, m, "c", envelope{Org: "b", Data: orMallory})
	rec := rotUpdate(t, m, forged) // the forger's POST
	rotSessionCookie(t, m, rec)
	laundered := cookieHeader(forged, rec)
	require.NoError(t, m.SetKeyring(mustKeyring(t, "c:retired:"+secretC, "b:primary:"+secretB)))
	assert.ErrorIs(t, read(t, m, forged).Err, ErrRetiredKey, "the forgery")
	assert.ErrorIs(t, read(t, m, laundered).Err, ErrRetiredKey, "the forgery, rewritten by its one write")
}
