package jwesession

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fleet rollout of DESIGN.md's "Rotation semantics", tested as a fleet:
// several managers (separate instances, as separate processes would be:
// their own keyrings, keys files and counters) behind a client that sends
// each user's requests round-robin across them, keyrings reloaded from
// their keys files one instance at a time through every step, and many
// users sending requests all along. The clock is the test's and moves in
// rounds: in every round each user makes flPerTick requests, concurrently
// with the others and with the operator's reloads; a tick is a round after
// which the clock moves on. Helpers are prefixed fl.

// The steps, as the users count them.
const (
	flStepStart int32 = iota
	flStepAdd
	flStepPromote // the promotion rolling out: half the fleet promoted
	flStepWait    // the fleet promoted, waiting until the old key is safe to retire
	flStepRetire
	flStepRemove
)

const (
	flInstances = 4
	flTick      = 30 * time.Second
	flPerTick   = 2
)

// flConfig: short lifetimes, so that waiting the absolute lifetime after
// the promotion takes 120 ticks, not 960.
func flConfig(clk *testClock, logs *rlLog) Config {
	return Config{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour, RefreshAfter: 2 * time.Minute, Now: clk.Now, Logger: logs.logger()}
}

// flFleet is the instances and the state the users and the operator share.
type flFleet struct {
	t     *testing.T
	clk   *testClock
	logs  []*rlLog
	inst  []*Manager[testData]
	paths []string

	step     atomic.Int32 // the rollout step the operator is in (flStep…)
	promoted atomic.Bool  // every instance has loaded the promotion
	requests atomic.Int64

	mu     sync.Mutex
	users  []*flUser
	gen    int64         // the tick users are making requests in
	tickCh chan struct{} // closed when the tick ends
}

func newFleet(t *testing.T, keysFile string) *flFleet {
	t.Helper()
	f := &flFleet{t: t, clk: newTestClock(), tickCh: make(chan struct{})}
	dir := t.TempDir()
	kr, err := ParseKeysFile(keysFile)
	require.NoError(t, err)
	for i := 0; i < flInstances; i++ {
		logs := &rlLog{}
		m, err := New[testData](flConfig(f.clk, logs), kr)
		require.NoError(t, err)
		f.logs = append(f.logs, logs)
		f.inst = append(f.inst, m)
		f.paths = append(f.paths, filepath.Join(dir, fmt.Sprintf("instance-%d.keys", i)))
		rlWrite(t, f.paths[i], keysFile)
	}
	return f
}

// reload writes instance i's keys file and has the instance reload it.
func (f *flFleet) reload(i int, keysFile string) {
	f.t.Helper()
	rlWrite(f.t, f.paths[i], keysFile)
	require.NoError(f.t, f.inst[i].ReloadKeysFile(f.paths[i]))
}

// rollOut reloads every instance in turn, a round of traffic after each,
// and a tick of the clock too with advance.
func (f *flFleet) rollOut(keysFile string, advance bool, after func(i int)) {
	f.t.Helper()
	for i := range f.inst {
		f.reload(i, keysFile)
		if after != nil {
			after(i)
		}
		f.round(advance)
	}
}

// tick is a round that moves the clock on by flTick.
func (f *flFleet) tick() {
	f.t.Helper()
	f.round(true)
}

// round waits until every running user has made its requests of this
// round, then, with advance, moves the clock on by flTick, and starts the
// next round. The clock never moves while a request is served.
func (f *flFleet) round(advance bool) {
	f.t.Helper()
	f.mu.Lock()
	users := append([]*flUser(nil), f.users...)
	g := f.gen
	f.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for _, u := range users {
		for u.doneGen.Load() < g && !u.done.Load() {
			require.True(f.t, time.Now().Before(deadline), "user %s made no request in 20s", u.name)
			time.Sleep(50 * time.Microsecond)
		}
	}
	if advance {
		f.clk.Advance(flTick)
	}
	f.mu.Lock()
	close(f.tickCh)
	f.tickCh = make(chan struct{})
	f.gen++
	f.mu.Unlock()
}

// current returns the tick users make requests in and its end.
func (f *flFleet) current() (int64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen, f.tickCh
}

// flClaims opens the session token of a Cookie header with m's keys,
// without counting, or returns false.
func flClaims(m *Manager[testData], cookie string) (*envelope, bool) {
	for _, p := range strings.Split(cookie, "; ") {
		if k, v, ok := strings.Cut(p, "="); ok && k == m.CookieName() {
			_, env, err := m.core.ring.Load().detached(true).open(v, ChunkSize)
			return env, err == nil
		}
	}
	return nil, false
}

// flKid returns the kid of the session token in a Cookie header, or "".
func flKid(name, cookie string) string {
	for _, p := range strings.Split(cookie, "; ") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k != name {
			continue
		}
		h, _, _ := strings.Cut(v, ".")
		b, err := base64.RawURLEncoding.DecodeString(h)
		if err != nil {
			return ""
		}
		var hdr struct{ Kid string }
		_ = json.Unmarshal(b, &hdr)
		return hdr.Kid
	}
	return ""
}

// flUser is one browser: a cookie, sent to the instances in turn.
type flUser struct {
	name    string
	idx     int
	writer  bool // updates its session every third request
	reqs    atomic.Int64
	doneGen atomic.Int64           // the last round whose requests it made
	kid     atomic.Pointer[string] // its cookie's kid at the end of that round
	done    atomic.Bool

	// Written by the user's goroutine, read after it ends.
	cookie       string
	n            int   // the writer's counter, as it last stored it
	abs          int64 // sign-in time of the current session
	iat          int64 // issue time of the current token
	signIns      int
	lifetimeEnds int           // rejections at the end of the absolute lifetime
	signOuts     int           // any other rejection, or a session gone
	rekeys       map[int32]int // reads re-set under another key, claims unchanged, by step
	refreshes    map[int32]int // reads re-set with a new issue time (sliding refresh), by step
	flipBacks    int           // re-keys back from the new key to the old one
	errs         []error
}

// flOptions say how a user treats a rejection.
type flOptions struct {
	oldKid, newKid string // the rollout's keys: a move newKid -> oldKid is a flip back
	expectSignOut  bool   // rejections are expected (an emergency): sign in again quietly
}

// signIn signs user in on instance i and returns the Cookie header and
// the sign-in time.
func (f *flFleet) signIn(i int, user string) (cookie string, abs int64) {
	m := f.inst[i%len(f.inst)]
	rec := serve(f.t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		if err := s.SignIn(testData{User: user}); err != nil {
			f.t.Errorf("sign-in: %v", err)
		}
		abs = s.SignedInAt().Unix()
	})
	return cookieHeader("", rec), abs
}

// start runs users until the returned stop function is called.
func (f *flFleet) start(prefix string, readers, writers int, opt flOptions) (stop func()) {
	var wg sync.WaitGroup
	quit := make(chan struct{})
	f.mu.Lock()
	for i := 0; i < readers+writers; i++ {
		u := &flUser{name: fmt.Sprintf("%s%02d", prefix, i), idx: len(f.users), writer: i >= readers,
			rekeys: map[int32]int{}, refreshes: map[int32]int{}}
		u.doneGen.Store(-1)
		f.users = append(f.users, u)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer u.done.Store(true)
			f.runUser(u, quit, opt)
		}()
	}
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			wg.Wait()
		})
	}
}

func (f *flFleet) runUser(u *flUser, quit <-chan struct{}, opt flOptions) {
	name := f.inst[0].CookieName()
	signIn := func(i int) {
		u.cookie, u.abs = f.signIn(i, u.name)
		u.iat, u.n = u.abs, 0
		u.signIns++
	}
	signIn(u.idx)
	for j := 1; ; {
		g, end := f.current()
		for k := 0; k < flPerTick; k, j = k+1, j+1 {
			f.request(u, j, opt, name, signIn)
		}
		kid := flKid(name, u.cookie)
		u.kid.Store(&kid)
		u.doneGen.Store(g)
		select {
		case <-quit:
			return
		case <-end:
		}
	}
}

// request sends u's j-th request, to instance (u.idx+j) mod n, and checks
// and counts what comes back.
func (f *flFleet) request(u *flUser, j int, opt flOptions, name string, signIn func(int)) {
	t := f.t
	i := (u.idx + j) % len(f.inst)
	m := f.inst[i]
	step, promotedBefore := f.step.Load(), f.promoted.Load()
	write := u.writer && j%3 == 0
	kidBefore := flKid(name, u.cookie)
	var got testData
	var ok bool
	var err error
	rec := serve(t, m, u.cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		got, ok = s.Get()
		err = s.Err()
		if ok && write {
			if e := s.Update(func(d *testData) error { d.N++; return nil }); e != nil {
				t.Errorf("%s: update: %v", u.name, e)
			}
		}
	})
	f.requests.Add(1)
	u.reqs.Add(1)
	if !ok {
		now := f.clk.Now().Unix()
		switch {
		case opt.expectSignOut:
			u.signOuts++
			u.errs = append(u.errs, err)
		case errors.Is(err, ErrExpired) && now > u.abs+3600:
			// The absolute lifetime is over (the token's expiry is capped
			// by it): the session ended as configured; sign in again.
			u.lifetimeEnds++
		default:
			u.signOuts++
			u.errs = append(u.errs, err)
			t.Errorf("%s signed out at step %d by instance %d: %v", u.name, step, i, err)
		}
		signIn(u.idx + j + 1)
		return
	}
	if got.User != u.name || got.N != u.n {
		t.Errorf("%s read %+v, want user %s n %d", u.name, got, u.name, u.n)
	}
	if write {
		u.n++
	}
	sets := 0
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.MaxAge > 0 {
			sets++
		}
	}
	u.cookie = cookieHeader(u.cookie, rec)
	kidAfter := flKid(name, u.cookie)
	if sets > 0 {
		env, ok := flClaims(m, u.cookie)
		if !ok {
			t.Errorf("%s: instance %d wrote a token it cannot open", u.name, i)
			return
		}
		switch {
		case write:
		case env.Iat != u.iat:
			u.refreshes[step]++
		case kidAfter != kidBefore:
			u.rekeys[step]++
			if kidBefore == opt.newKid && kidAfter == opt.oldKid {
				u.flipBacks++
			}
		default:
			t.Errorf("%s: a read re-set the cookie with nothing owed", u.name)
		}
		u.iat = env.Iat
	}
	if promotedBefore && opt.newKid != "" && kidAfter != opt.newKid {
		t.Errorf("%s: under %q after a read that started once the fleet was promoted", u.name, kidAfter)
	}
}

// flLagging is a session signed in and then left alone: a browser tab
// closed for the day.
type flLagging struct {
	cookie, kid string
}

// readEverywhere reads cookie on every instance and returns the errors.
func (f *flFleet) readEverywhere(cookie string) []error {
	var errs []error
	for _, m := range f.inst {
		res := read(f.t, m, cookie)
		if res.OK {
			errs = append(errs, nil)
			continue
		}
		errs = append(errs, res.Err)
		// A rejected cookie is deleted, never re-set.
		for _, c := range res.Rec.Result().Cookies() {
			assert.Equal(f.t, -1, c.MaxAge, "a rejected cookie is only deleted")
		}
	}
	return errs
}

// totals sums the users' counters.
type flTotals struct {
	users, signIns, lifetimeEnds, signOuts, rekeys, refreshes, flipBacks int
}

func (f *flFleet) totals() flTotals {
	var tot flTotals
	for _, u := range f.users {
		tot.users++
		tot.signIns += u.signIns
		tot.lifetimeEnds += u.lifetimeEnds
		tot.signOuts += u.signOuts
		tot.flipBacks += u.flipBacks
		for _, n := range u.rekeys {
			tot.rekeys += n
		}
		for _, n := range u.refreshes {
			tot.refreshes += n
		}
	}
	return tot
}

func (f *flFleet) assertNoLog(msg string) {
	f.t.Helper()
	for i, l := range f.logs {
		assert.Empty(f.t, l.records(f.t, msg), "instance %d logged %q", i, msg)
	}
}

// The whole rotation: add, promote, retire once safe, remove.
func TestFleetRollout(t *testing.T) {
	const readers, writers = 32, 16
	step0 := "# instance keys\na:primary:" + secretA + "\n"
	step1 := "b:decrypt-only:" + secretB + "\na:primary:" + secretA + "\n"
	f := newFleet(t, step0)
	stop := f.start("u", readers, writers, flOptions{oldKid: "a", newKid: "b"})
	defer stop()
	var lagging []flLagging
	lag := func(i int) {
		c, _ := f.signIn(i, fmt.Sprintf("lag%d", len(lagging)))
		lagging = append(lagging, flLagging{c, flKid(f.inst[0].CookieName(), c)})
	}
	for i := 0; i < 3; i++ {
		lag(i)
		f.tick()
	}

	// 1. Add b, newest, decrypt-only, one instance at a time.
	f.step.Store(flStepAdd)
	f.rollOut(step1, true, lag)

	// 2. Promote b, one instance at a time, a round of traffic after each
	// (a rolling deploy takes less than RefreshAfter: the clock stands
	// still). The file records the promotion as the key tool does: the
	// time it was written.
	f.step.Store(flStepPromote)
	p := f.clk.Now()
	step2 := "b:primary:" + secretB + "\na:decrypt-only:" + secretA + "\npromoted: " + p.Format(time.RFC3339) + "\n"
	f.rollOut(step2, false, func(i int) {
		if i < flInstances-1 {
			lag(i + 1) // on an instance not yet promoted: under a
		}
		if i == flInstances-1 {
			f.promoted.Store(true)
		}
	})
	f.step.Store(flStepWait)
	for _, l := range lagging {
		require.Equal(t, "a", l.kid, "lagging sessions are under the old key")
	}

	// 3. Wait until every instance says a is safe to retire, with traffic
	// all along, then retire it one instance at a time.
	safe, ok := f.inst[0].SafeToRetireAt()
	require.True(t, ok)
	assert.Equal(t, p.Add(time.Hour+31*time.Second), safe)
	for _, m := range f.inst {
		at, ok := m.SafeToRetireAt()
		assert.True(t, ok)
		assert.Equal(t, safe, at)
	}
	for f.clk.Now().Before(safe) {
		f.tick()
	}
	// By now every session is under b: a read re-keys on a promoted
	// instance, and a token not read since the promotion has expired.
	for _, u := range f.users {
		assert.Equal(t, "b", *u.kid.Load(), u.name)
	}
	f.step.Store(flStepRetire)
	step3 := "b:primary:" + secretB + "\na:retired:" + secretA + "\npromoted: " + p.Format(time.RFC3339) + "\n"
	f.rollOut(step3, true, nil)
	for _, l := range lagging {
		for i, err := range f.readEverywhere(l.cookie) {
			assert.ErrorIs(t, err, ErrRetiredKey, "lagging token on instance %d after retirement", i)
		}
	}

	// 4. Remove a.
	f.step.Store(flStepRemove)
	f.rollOut("b:primary:"+secretB+"\n", true, nil)
	f.tick()
	stop()
	for _, l := range lagging {
		for i, err := range f.readEverywhere(l.cookie) {
			assert.ErrorIs(t, err, ErrUnknownKey, "lagging token on instance %d after removal", i)
		}
	}

	tot := f.totals()
	assert.Zero(t, tot.signOuts, "sign-outs")
	assert.Zero(t, tot.flipBacks, "cookies moved back to the old key")
	for _, u := range f.users {
		if !u.writer { // a writer's write on an instance not yet promoted seals under a again
			// While half the fleet is promoted: at most one re-key, and at
			// most one sliding refresh, which may land on either half. No
			// re-set back and forth.
			assert.LessOrEqual(t, u.rekeys[flStepPromote], 1, "%s: re-keys while half the fleet is promoted", u.name)
			assert.LessOrEqual(t, u.refreshes[flStepPromote], 1, "%s: refreshes while half the fleet is promoted", u.name)
			assert.Zero(t, u.rekeys[flStepAdd]+u.rekeys[flStepWait]+u.rekeys[flStepRetire]+u.rekeys[flStepRemove], "%s: no re-key outside the promotion", u.name)
		}
		assert.Equal(t, 1, u.lifetimeEnds, "%s: one absolute lifetime ended while waiting to retire", u.name)
		assert.Equal(t, "b", flKid(f.inst[0].CookieName(), u.cookie), u.name)
	}
	// Per instance: the counters show the rollout, and nothing was logged
	// but the reloads.
	for i, m := range f.inst {
		st := m.Stats()
		require.Len(t, st, 1)
		assert.Equal(t, "b", st[0].ID)
		assert.Positive(t, st[0].Sealed, "instance %d", i)
		assert.Positive(t, st[0].Opened, "instance %d", i)
		assert.Len(t, f.logs[i].records(t, "keyring replaced"), 4, "instance %d: one line per step", i)
	}
	f.assertNoLog("refused")
	f.assertNoLog("retired before it was safe")
	t.Logf("fleet rollout: %d instances, %d users (%d readers, %d writers) + %d lagging sessions, %d requests, %d sign-ins, %d sign-outs, %d re-keys, %d sliding refreshes, %d absolute lifetimes ended while waiting to retire, %d flip-backs, %v of simulated time",
		flInstances, tot.users, readers, writers, len(lagging), f.requests.Load(), tot.signIns, tot.signOuts, tot.rekeys, tot.refreshes, tot.lifetimeEnds, tot.flipBacks, f.clk.Now().Sub(newTestClock().Now()))
}

// Emergency: every key leaked (they live together). The whole keyring is
// replaced by one new primary: everybody signs in again, and nothing under
// an old key is accepted anywhere, forged or not.
func TestFleetEmergencyReplaceAll(t *testing.T) {
	f := newFleet(t, "b:primary:"+secretB+"\na:decrypt-only:"+secretA+"\n")
	old := []string{}
	for i := 0; i < 4; i++ { // sessions under a, from before b was promoted
		c := rotIssue(t, f.inst[0], mustKeyring(t, "a:primary:"+secretA), fmt.Sprintf("old%d", i))
		old = append(old, c)
	}
	forgedA := rotIssue(t, f.inst[0], mustKeyring(t, "a:primary:"+secretA), "mallory")
	forgedB := rotIssue(t, f.inst[0], mustKeyring(t, "b:primary:"+secretB), "mallory")
	stop := f.start("e", 24, 8, flOptions{newKid: "", expectSignOut: true})
	defer stop()
	for i := 0; i < 3; i++ {
		f.tick()
	}
	// The same for every instance, one after the other, as fast as the
	// deploy goes.
	f.rollOut("# emergency: every key replaced\nz:primary:"+secretC+"\n", true, nil)
	for i := 0; i < 3; i++ {
		f.tick()
	}
	stop()
	tot := f.totals()
	for _, u := range f.users {
		assert.GreaterOrEqual(t, u.signOuts, 1, "%s must sign in again", u.name)
		assert.Equal(t, "z", flKid(f.inst[0].CookieName(), u.cookie), u.name)
		for _, err := range u.errs {
			assert.ErrorIs(t, err, ErrUnknownKey, u.name)
		}
	}
	for _, c := range append(old, forgedA, forgedB) {
		for i, err := range f.readEverywhere(c) {
			assert.ErrorIs(t, err, ErrUnknownKey, "old token on instance %d", i)
		}
	}
	for _, m := range f.inst {
		assert.Equal(t, "Keyring[z:primary]", m.Keyring().String())
	}
	t.Logf("emergency, whole keyring replaced: %d users, %d requests, %d sign-outs (expected: everyone), %d sign-ins",
		tot.users, f.requests.Load(), tot.signOuts, tot.signIns)
}

// Emergency: one key leaked that is not the primary. It is retired at
// once on every instance, never kept as decrypt-only: a forged token under
// it is rejected instead of re-keyed under the primary, and only the
// sessions still under that key end.
func TestFleetEmergencyLeakedKey(t *testing.T) {
	for _, tc := range []struct {
		name, before, after, leaked string
		leakedSecret                string
	}{
		{"older decrypt-only key, before its safe time",
			"b:primary:" + secretB + "\na:decrypt-only:" + secretA + "\npromoted: 2026-11-23T12:00:00Z\n",
			"b:primary:" + secretB + "\na:retired:" + secretA + "\npromoted: 2026-11-23T12:00:00Z\n", "a", secretA},
		{"newer decrypt-only key, not yet promoted",
			"c:decrypt-only:" + secretC + "\nb:primary:" + secretB + "\n",
			"c:retired:" + secretC + "\nb:primary:" + secretB + "\n", "c", secretC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet(t, tc.before)
			forged := rotIssue(t, f.inst[0], mustKeyring(t, tc.leaked+":primary:"+tc.leakedSecret), "mallory")
			var stale []string
			if tc.leaked == "a" { // sessions still under the old key
				for i := 0; i < 3; i++ {
					stale = append(stale, rotIssue(t, f.inst[0], mustKeyring(t, "a:primary:"+secretA), fmt.Sprintf("stale%d", i)))
				}
			}
			// The danger: while decrypt-only, the forged token opens.
			res := read(t, f.inst[0], forged)
			require.NoError(t, res.Err)
			require.Equal(t, "mallory", res.D.User)
			if tc.leaked == "a" {
				assert.Equal(t, "b", rotKid(t, rotSessionCookie(t, f.inst[0], res.Rec).Value), "re-keyed under the primary")
			}

			stop := f.start("k", 24, 8, flOptions{oldKid: "", newKid: "b"})
			defer stop()
			f.tick()
			f.tick()
			// At once: every instance, no tick between.
			for i := range f.inst {
				f.reload(i, tc.after)
			}
			for i := 0; i < 4; i++ {
				f.tick()
			}
			stop()
			for _, c := range append(stale, forged) {
				for i, err := range f.readEverywhere(c) {
					assert.ErrorIs(t, err, ErrRetiredKey, "token under the leaked key on instance %d", i)
				}
			}
			tot := f.totals()
			assert.Zero(t, tot.signOuts, "sessions under other keys are not touched")
			if tc.leaked == "a" {
				for i := range f.inst {
					assert.Len(t, f.logs[i].records(t, "retired before it was safe"), 1, "instance %d warns", i)
				}
			}
			t.Logf("emergency, leaked %s key retired at once: %d users, %d requests, %d sign-outs, %d stale sessions ended",
				tc.leaked, tot.users, f.requests.Load(), tot.signOuts, len(stale))
		})
	}
}
