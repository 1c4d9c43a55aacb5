package redis

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/internal/revocationtest"
	"github.com/jwesession/jwesession/redis/internal/redistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var prefixes atomic.Int64

// prefix returns a key prefix of its own for one store family.
func prefix() string { return "t" + strconv.FormatInt(prefixes.Add(1), 10) }

// The store keeps the RevocationStore contract on one server: answering
// from its copy, and answering from Redis (its copy never current).
func TestContract(t *testing.T) {
	srv := redistest.StartServer(t)
	for _, cold := range []bool{false, true} {
		t.Run(map[bool]string{false: "Copy", true: "Cold"}[cold], func(t *testing.T) {
			revocationtest.Run(t, func(t *testing.T) jwesession.RevocationStore {
				st, err := New(storeConfig([]string{srv.Addr()}, prefix()))
				require.NoError(t, err)
				t.Cleanup(st.Close)
				st.cold.Store(cold)
				waitConnected(t, st)
				return st
			})
		})
	}
}

// waitConnected waits until st's copy is current, or (cold) until it has
// a client.
func waitConnected(t testing.TB, st *Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for st.client.Load() == nil || !st.cold.Load() && !st.Current() {
		if time.Now().After(deadline) {
			t.Fatal("store not connected after 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Three instances sharing one Redis. Alice signs in on a phone (instance
// 0) and a laptop (instance 1), Bob on instance 2. Alice signs out
// everywhere from the laptop: once the revocation has reached an
// instance (its Applied hook), the phone's next request there is signed
// out; Bob stays signed in; a copy of the laptop's cookie taken before the
// sign-out is refused by every instance.
func TestFleetSignOutEverywhere(t *testing.T) {
	ins, ev := newFleet(t, 3)
	phone, laptop, bob := newBrowser(), newBrowser(), newBrowser()
	phone.login(t, ins[0], "alice")
	laptop.login(t, ins[1], "alice")
	bob.login(t, ins[2], "bob")
	requests := 3
	for _, in := range ins {
		for _, b := range []*browser{phone, laptop, bob} {
			require.Contains(t, b.home(t, in), "signed in as", in.name)
			requests++
		}
	}
	stolen := laptop.copy()

	ev.add("revoking @i1")
	code, body := laptop.do(t, ins[1], "POST", "/everywhere")
	require.Equal(t, 200, code, body)
	requests++
	assert.Equal(t, "ErrRevoked", phone.home(t, ins[1]), "the instance that revoked refuses at once")
	requests++

	for _, in := range ins {
		applied := "applied subject alice @" + in.name
		ev.wait(t, applied)
		got := phone.home(t, in)
		requests++
		ev.add("phone refused @" + in.name)
		assert.Equal(t, "ErrRevoked", got, "the phone on %s after the revocation arrived", in.name)
		assert.Less(t, ev.index(applied), ev.index("phone refused @"+in.name))
		assert.Equal(t, "ErrRevoked", stolen.home(t, in), "the laptop's copied cookie on %s", in.name)
		assert.Contains(t, bob.home(t, in), "signed in as bob", "another user on %s", in.name)
		requests += 2
		t.Logf("staleness %s: from the sign-out request to the revocation applied there: %v", in.name, ev.when(applied).Sub(ev.when("revoking @i1")))
	}
	// The laptop itself was cleared; signing in again (a later second:
	// sign-in times are whole seconds) works everywhere.
	waitNextSecond()
	laptop.login(t, ins[0], "alice")
	for _, in := range ins {
		assert.Contains(t, laptop.home(t, in), "signed in as alice")
		requests++
	}
	var local, cold, reads uint64
	for _, in := range ins {
		s := in.st.Stats()
		local, cold, reads = local+s.LocalChecks, cold+s.ColdChecks, reads+s.Reads
	}
	assert.Zero(t, cold, "every check answered from the copies")
	t.Logf("fleet: 3 instances, %d requests, %d checks from the copies, %d that reached Redis, %d log reads (blocking, 500 ms each when idle)", requests, local, cold, reads)
}

// waitNextSecond sleeps until the next whole second.
func waitNextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now) + 10*time.Millisecond)
}

// A sign-out, a renew and revoke-before-T, across instances: the replayed
// cookie is refused by every instance.
func TestFleetSignOutRenewBefore(t *testing.T) {
	ins, ev := newFleet(t, 3)

	// Sign-out on instance 0; a copy of the cookie kept from before.
	b := newBrowser()
	b.login(t, ins[0], "carol")
	replay := b.copy()
	code, _ := b.do(t, ins[0], "POST", "/logout")
	require.Equal(t, 200, code)
	sin := signInOf(t, ins[0], replay)
	for _, in := range ins {
		ev.wait(t, "applied sign-in "+sin+" @"+in.name)
		assert.Equal(t, "ErrRevoked", replay.home(t, in), in.name)
	}

	// Renew on instance 1: the earlier cookie is refused, the new served.
	b = newBrowser()
	b.login(t, ins[1], "dave")
	before := b.copy()
	sid := sessionOf(t, ins[1], before)
	code, _ = b.do(t, ins[1], "POST", "/renew")
	require.Equal(t, 200, code)
	for _, in := range ins {
		ev.wait(t, "applied session "+sid+" @"+in.name)
		assert.Equal(t, "ErrRevoked", before.home(t, in), in.name)
		assert.Contains(t, b.home(t, in), "signed in as dave", in.name)
	}

	// Everything issued before T, from an admin tool (instance 2's
	// manager): every session written before is refused everywhere.
	waitNextSecond()
	require.NoError(t, ins[2].m.RevokeBefore(context.Background(), time.Now()))
	for _, in := range ins {
		ev.wait(t, "applied before  @"+in.name)
		assert.Equal(t, "ErrRevoked", b.home(t, in), in.name)
	}
	waitNextSecond()
	b = newBrowser()
	b.login(t, ins[2], "erin")
	for _, in := range ins {
		assert.Contains(t, b.home(t, in), "signed in as erin", in.name)
	}
}

// signInOf returns the sign-in id of the browser's session, read through
// in without a check.
func signInOf(t testing.TB, in *instance, b *browser) string {
	t.Helper()
	info, err := in.m.InspectCookies(b.header())
	require.NoError(t, err)
	return info.SignInID
}

func sessionOf(t testing.TB, in *instance, b *browser) string {
	t.Helper()
	info, err := in.m.InspectCookies(b.header())
	require.NoError(t, err)
	return info.SessionID
}

// Records expire with the last session they could affect: a sign-in's and
// a session's at its absolute end plus the leeway, a subject's and a
// before-T one at the longest absolute lifetime past it plus the leeway;
// the log drops entries once past; and a record really goes.
func TestRecordsExpire(t *testing.T) {
	srv := redistest.StartServer(t)
	p := prefix()
	in := newInstance(t, "i0", storeConfig([]string{srv.Addr()}, p), jwesession.Revocation{}, nil)
	waitCurrent(t, in)
	b := newBrowser()
	b.login(t, in, "frank")
	info, err := in.m.InspectCookies(b.header())
	require.NoError(t, err)
	code, _ := b.do(t, in, "POST", "/logout")
	require.Equal(t, 200, code)
	expiry := func(key string) int64 {
		n, err := strconv.ParseInt(srv.MustCLI("EXPIRETIME", key), 10, 64)
		require.NoError(t, err)
		return n
	}
	assert.Equal(t, info.AbsoluteEnd.Unix()+30, expiry("{"+p+"}:i:"+info.SignInID), "sign-in: its absolute end + leeway")
	at := time.Now().Truncate(time.Second)
	require.NoError(t, in.m.RevokeSubject(context.Background(), "frank"))
	assert.InDelta(t, at.Add(30*24*time.Hour+30*time.Second).Unix(), expiry("{"+p+"}:u:frank"), 1, "subject: the longest absolute lifetime (RememberAbsoluteTimeout, 30 days by default) + leeway")
	assert.Equal(t, "2", srv.MustCLI("XLEN", "{"+p+"}:log"))
	// The sign-in records of the listing expire with their last sign-in.
	assert.Equal(t, info.AbsoluteEnd.Unix(), expiry(p+":signins:{frank}"))

	// A record whose until passes is gone, and the next revocation drops
	// it from the log too (a store family whose longest record is short).
	ctx := context.Background()
	short := newInstance(t, "short", storeConfig([]string{srv.Addr()}, prefix()), jwesession.Revocation{}, nil)
	waitCurrent(t, short)
	sp := short.st.cfg.KeyPrefix
	now := time.Now()
	require.NoError(t, short.st.RevokeSignIn(ctx, "short-lived", now.Add(2*time.Second)))
	assert.Equal(t, "1", srv.MustCLI("EXISTS", "{"+sp+"}:i:short-lived"))
	deadline := time.Now().Add(10 * time.Second)
	for srv.MustCLI("EXISTS", "{"+sp+"}:i:short-lived") != "0" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, "0", srv.MustCLI("EXISTS", "{"+sp+"}:i:short-lived"), "expired in Redis")
	for !time.Now().After(now.Add(3 * time.Second)) {
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, short.st.RevokeSignIn(ctx, "next", time.Now().Add(2*time.Second)))
	log := srv.MustCLI("XRANGE", "{"+sp+"}:log", "-", "+")
	assert.NotContains(t, log, "short-lived", "the log dropped the expired entry")
	assert.Contains(t, log, "next")
	// The long-lived family keeps its entries.
	require.NoError(t, in.st.RevokeSignIn(ctx, "next", now.Add(time.Hour)))
	assert.Equal(t, "3", srv.MustCLI("XLEN", "{"+p+"}:log"))
	// An until already past writes nothing.
	require.NoError(t, in.st.RevokeSignIn(ctx, "past", now.Add(-time.Second)))
	assert.Equal(t, "0", srv.MustCLI("EXISTS", "{"+p+"}:i:past"))
	// Memory per record, as Redis counts it.
	t.Logf("Redis memory: sign-in record %s bytes, subject record %s bytes, log of %s entries %s bytes",
		srv.MustCLI("MEMORY", "USAGE", "{"+p+"}:i:next"), srv.MustCLI("MEMORY", "USAGE", "{"+p+"}:u:frank"),
		srv.MustCLI("XLEN", "{"+p+"}:log"), srv.MustCLI("MEMORY", "USAGE", "{"+p+"}:log"))
}

// A bad Config is refused; nothing else is.
func TestNewConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Addrs: []string{"127.0.0.1:1"}, KeyPrefix: "a{b}"},
		{Addrs: []string{"127.0.0.1:1"}, MaxStaleness: time.Millisecond},
	} {
		_, err := New(cfg)
		assert.Error(t, err, "%+v", cfg)
		if err != nil {
			assert.True(t, strings.HasPrefix(err.Error(), "jwesession/redis: failed to create store: "), err.Error())
		}
	}
}

// newFleet starts a redis-server and n instances sharing it, current.
func newFleet(t *testing.T, n int) ([]*instance, *events) {
	t.Helper()
	srv := redistest.StartServer(t)
	ev := newEvents()
	p := prefix()
	var ins []*instance
	for i := range n {
		ins = append(ins, newInstance(t, "i"+strconv.Itoa(i), storeConfig([]string{srv.Addr()}, p), jwesession.Revocation{}, ev))
	}
	waitCurrent(t, ins...)
	return ins, ev
}
