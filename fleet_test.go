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
	flStepPromote // the promotion rolling out, one instance a tick
	flStepWait    // confirmed (every instance loaded it), waiting until the old key is safe to retire
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
	return Config{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour, RememberIdleTimeout: 10 * time.Minute, RememberAbsoluteTimeout: time.Hour, RefreshAfter: 2 * time.Minute, Now: clk.Now, Logger: logs.logger()}
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

	mu        sync.Mutex
	users     []*flUser
	rewritten []string      // cookies written under the new key whose origin is the old one
	gen       int64         // the tick users are making requests in
	tickCh    chan struct{} // closed when the tick ends
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

// flClaims opens the session token of a Cookie header with the keys of
// r (the keyring snapshot the request that wrote it was served with: an
// operator's reload may have replaced the instance's keyring since),
// without counting, or returns false.
func flClaims(m *Manager[testData], r *ring, cookie string) (*envelope, bool) {
	for _, p := range strings.Split(cookie, "; ") {
		if k, v, ok := strings.Cut(p, "="); ok && k == m.CookieName() {
			_, env, err := r.detached(true).open(v, ChunkSize)
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
	cookie        string
	n             int    // the writer's counter, as it last stored it
	sid, sin, org string // the current session: ids, and the origin its writes must keep
	abs           int64  // sign-in time of the current session
	signIns       int
	lifetimeEnds  int           // rejections at the end of the absolute lifetime
	signOuts      int           // any other rejection, or a session gone
	readTokenSets map[int32]int // Set-Cookie lines of the session token in read-only responses, by step: must stay 0
	refreshes     map[int32]int // companions set by reads (the sliding refresh), by step
	moved         map[int32]int // writes that moved the token from the old key to the new one, by step
	errs          []error
}

// flOptions say how a user treats a rejection.
type flOptions struct {
	oldKid, newKid string // the rollout's keys: a write moves a token from oldKid to newKid
	expectSignOut  bool   // rejections are expected (an emergency): sign in again quietly
}

// flSignIn is what a sign-in gave.
type flSignIn struct {
	cookie, sid, sin string
	abs              int64
}

// signIn signs user in on instance i.
func (f *flFleet) signIn(i int, user string) flSignIn {
	m := f.inst[i%len(f.inst)]
	var si flSignIn
	rec := serve(f.t, m, "", func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		if err := s.SignIn(testData{User: user}); err != nil {
			f.t.Errorf("sign-in: %v", err)
		}
		si.sid, si.sin, si.abs = s.ID(), s.SignInID(), s.SignedInAt().Unix()
	})
	si.cookie = cookieHeader("", rec)
	return si
}

// start runs users until the returned stop function is called.
func (f *flFleet) start(prefix string, readers, writers int, opt flOptions) (stop func()) {
	var wg sync.WaitGroup
	quit := make(chan struct{})
	f.mu.Lock()
	for i := 0; i < readers+writers; i++ {
		u := &flUser{name: fmt.Sprintf("%s%02d", prefix, i), idx: len(f.users), writer: i >= readers,
			readTokenSets: map[int32]int{}, refreshes: map[int32]int{}, moved: map[int32]int{}}
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
		si := f.signIn(i, u.name)
		u.cookie, u.sid, u.sin, u.abs = si.cookie, si.sid, si.sin, si.abs
		u.org, u.n = flKid(name, u.cookie), 0 // a sign-in's origin is the key it is sealed under
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
	var served *ring // the keyring snapshot the request was served with
	rec := serve(t, m, u.cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
		served = s.ring
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
	tokenSets, companions := 0, 0
	for _, c := range rec.Result().Cookies() {
		switch {
		case c.Name == name || strings.HasPrefix(c.Name, name+"."):
			tokenSets++
		case c.Name == m.core.names.companion && c.MaxAge >= 0:
			companions++
		}
	}
	if !ok || !write {
		u.readTokenSets[step] += tokenSets // neither set (re-key, refresh) nor deleted
	}
	if !ok {
		now := f.clk.Now().Unix()
		switch {
		case opt.expectSignOut:
			u.signOuts++
			u.errs = append(u.errs, err)
		case now > u.abs+3600+30 && (errors.Is(err, ErrExpired) || errors.Is(err, ErrRetiredKey)):
			// The absolute lifetime (and its leeway) is over: the session
			// ended as configured; sign in again.
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
	u.cookie = cookieHeader(u.cookie, rec)
	kidAfter := flKid(name, u.cookie)
	if !write {
		u.refreshes[step] += companions
		if kidAfter != kidBefore {
			t.Errorf("%s: a read moved the token from %q to %q", u.name, kidBefore, kidAfter)
		}
		return
	}
	u.n++
	// Read back with the keys the write was sealed under: the operator
	// may have reloaded the instance since the request started (an
	// emergency replaces every key, and the instance's current keyring
	// no longer opens it); that is the next request's business.
	env, ok := flClaims(m, served, u.cookie)
	if tokenSets != 1 || !ok {
		t.Errorf("%s: instance %d wrote %d tokens, readable %v", u.name, i, tokenSets, ok)
		return
	}
	// The write keeps the sign-in; its origin is the older of the claimed
	// one and the key that opened the token.
	wantOrg := u.org
	if opt.oldKid != "" && kidBefore == opt.oldKid {
		wantOrg = opt.oldKid
	}
	if env.Sid != u.sid || env.Sin != u.sin || env.Abs != u.abs || env.Org != wantOrg {
		t.Errorf("%s: a write at step %d changed the sign-in: sid %s sin %s abs %d org %s, want %s %s %d %s",
			u.name, step, env.Sid, env.Sin, env.Abs, env.Org, u.sid, u.sin, u.abs, wantOrg)
	}
	u.org = env.Org
	if promotedBefore && kidAfter != opt.newKid {
		t.Errorf("%s: a write that started once the fleet was promoted sealed under %q", u.name, kidAfter)
	}
	if opt.oldKid != "" && kidBefore == opt.oldKid && kidAfter == opt.newKid {
		u.moved[step]++
		if env.Org == opt.oldKid {
			f.mu.Lock()
			f.rewritten = append(f.rewritten, u.cookie)
			f.mu.Unlock()
		}
	}
}

// readEverywhere reads cookie on every instance and returns the errors
// (nil where it was accepted). No read sets or deletes the session token;
// a refused cookie gets no Set-Cookie at all.
func (f *flFleet) readEverywhere(cookie string) []error {
	name := f.inst[0].CookieName()
	var errs []error
	for i, m := range f.inst {
		res := read(f.t, m, cookie)
		errs = append(errs, res.Err)
		for _, c := range res.Rec.Result().Cookies() {
			assert.NotEqual(f.t, name, c.Name, "instance %d: a read wrote the token", i)
		}
		if !res.OK {
			assert.Empty(f.t, setCookies(res.Rec), "instance %d: a refused cookie is not deleted", i)
		}
	}
	return errs
}

// totals sums the users' counters.
type flTotals struct {
	users, signIns, lifetimeEnds, signOuts, readTokenSets, refreshes, moved int
}

func (f *flFleet) totals() flTotals {
	var tot flTotals
	for _, u := range f.users {
		tot.users++
		tot.signIns += u.signIns
		tot.lifetimeEnds += u.lifetimeEnds
		tot.signOuts += u.signOuts
		for _, n := range u.readTokenSets {
			tot.readTokenSets += n
		}
		for _, n := range u.refreshes {
			tot.refreshes += n
		}
		for _, n := range u.moved {
			tot.moved += n
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

// The whole rotation: add, promote, confirm, retire once safe, remove.
// Reads never write the session token (no re-key, no refresh of it, no
// deletion): not one Set-Cookie of it in a read's response, and nobody is
// signed out. Writes move sessions to the new key keeping their sign-in and
// origin, so the old key's retirement ends them too: it waits for
// SafeToRetireAt, counted from when the LAST instance loaded the promotion.
func TestFleetRollout(t *testing.T) {
	const readers, writers = 32, 16
	step0 := "# instance keys\na:primary:" + secretA + "\n"
	step1 := "b:decrypt-only:" + secretB + "\na:primary:" + secretA + "\n"
	step2 := "b:primary:" + secretB + "\na:decrypt-only:" + secretA + "\n"
	step3 := "b:primary:" + secretB + "\na:retired:" + secretA + "\n"
	promotedLine := func(at time.Time) string { return "promoted: " + at.Format(time.RFC3339) + "\n" }
	f := newFleet(t, step0)
	name := f.inst[0].CookieName()
	stop := f.start("u", readers, writers, flOptions{oldKid: "a", newKid: "b"})
	defer stop()
	var lagging []string // signed in, never read again: a tab closed for the day
	lag := func(i int) { lagging = append(lagging, f.signIn(i, fmt.Sprintf("lag%d", len(lagging))).cookie) }
	for i := 0; i < 3; i++ {
		lag(i)
		f.tick()
	}

	// 1. Add b, newest, decrypt-only, one instance at a time.
	f.step.Store(flStepAdd)
	f.rollOut(step1, true, lag)

	// 2. Promote b, one instance at a time, a tick after each (a slow
	// deploy). The file says nothing of a promotion time yet.
	f.step.Store(flStepPromote)
	written := f.clk.Now() // when the promoted file was written
	var late flSignIn      // signed in on a lagging instance after that
	f.rollOut(step2, true, func(i int) {
		if i < flInstances-1 {
			lag(i + 1) // on an instance not yet promoted: under a
		}
		if i == flInstances-2 {
			late = f.signIn(flInstances-1, "late")
		}
		if i == flInstances-1 {
			f.promoted.Store(true)
		}
	})
	require.Equal(t, "a", flKid(name, late.cookie))
	require.Greater(t, late.abs, written.Unix())

	// 3. Confirm (`jwesession rotate confirm`): every instance has loaded
	// the promotion, so the time is recorded now, and rolled out.
	f.step.Store(flStepWait)
	confirmed := f.clk.Now()
	f.rollOut(step2+promotedLine(confirmed), false, nil)
	safe, ok := f.inst[0].SafeToRetireAt()
	require.True(t, ok)
	assert.Equal(t, confirmed.Add(time.Hour+31*time.Second), safe)
	for _, m := range f.inst {
		at, ok := m.SafeToRetireAt()
		assert.True(t, ok)
		assert.Equal(t, safe, at)
	}

	// Had the promotion time been recorded when the file was written, its
	// safe time would be too early: late, signed in under a after it, is
	// still valid then, also once rewritten under b. A probe instance that
	// retires a at that time (and believes it safe) signs late out.
	early, err := ParseKeysFile(step2 + promotedLine(written))
	require.NoError(t, err)
	earlySafe, ok := early.SafeToRetireAt(time.Hour, 30*time.Second)
	require.True(t, ok)
	probeLogs := &rlLog{}
	probe, err := New[testData](flConfig(f.clk, probeLogs), early)
	require.NoError(t, err)

	// 4. Wait until every instance says a is safe to retire, with traffic
	// all along. Late is read every tick until the early safe time, and
	// written once: under b, origin a.
	for k := 0; f.clk.Now().Before(safe); k++ {
		if late.cookie != "" {
			m := f.inst[k%flInstances]
			rec := serve(t, m, late.cookie, func(w http.ResponseWriter, r *http.Request, s *Session[testData]) {
				_, ok := s.Get()
				require.True(t, ok, "late at tick %d: %v", k, s.Err())
				if k == 0 {
					require.NoError(t, s.Update(func(d *testData) error { d.N++; return nil }))
				}
			})
			late.cookie = cookieHeader(late.cookie, rec)
		}
		if late.cookie != "" && !f.clk.Now().Before(earlySafe) {
			env, ok := flClaims(f.inst[0], f.inst[0].core.ring.Load(), late.cookie) // no reload runs meanwhile
			require.True(t, ok)
			assert.Equal(t, []string{"b", "a"}, []string{flKid(name, late.cookie), env.Org}, "late: rewritten under b, origin a")
			require.NoError(t, read(t, f.inst[0], late.cookie).Err, "late is a valid session at the early safe time")
			retired, err := ParseKeysFile(step3 + promotedLine(written))
			require.NoError(t, err)
			require.NoError(t, probe.SetKeyring(retired))
			assert.Empty(t, probeLogs.records(t, "retired before it was safe"), "the early time claims it is safe")
			assert.ErrorIs(t, read(t, probe, late.cookie).Err, ErrRetiredKey, "a valid session signed out")
			lagging, late.cookie = append(lagging, late.cookie), ""
		}
		f.tick()
	}
	require.Empty(t, late.cookie, "the early safe time came")
	// Every sign-in begun before the confirmation has ended: all are under b now.
	for _, u := range f.users {
		assert.Equal(t, "b", *u.kid.Load(), u.name)
	}
	rewrittenReads := uint64(0)
	for _, m := range f.inst {
		rewrittenReads += rotStats(t, m, "a").Rewritten
	}
	assert.Positive(t, rewrittenReads, "tokens under b of sign-ins under a were read")

	// 5. Retire a, one instance at a time. Nobody is signed out; the lagging
	// sessions (under a) and the ones rewritten under b from a are refused.
	f.step.Store(flStepRetire)
	f.rollOut(step3+promotedLine(confirmed), true, nil)
	f.mu.Lock()
	rewritten := append([]string(nil), f.rewritten...)
	f.mu.Unlock()
	require.NotEmpty(t, rewritten, "writes moved sessions from a to b")
	for _, c := range append(append([]string(nil), lagging...), rewritten...) {
		for i, err := range f.readEverywhere(c) {
			assert.ErrorIs(t, err, ErrRetiredKey, "a sign-in under a, on instance %d after retirement", i)
		}
	}

	// 6. Remove a: the same sessions are now unknown.
	f.step.Store(flStepRemove)
	f.rollOut("b:primary:"+secretB+"\n", true, nil)
	f.tick()
	stop()
	for _, c := range append(append([]string(nil), lagging...), rewritten...) {
		for i, err := range f.readEverywhere(c) {
			assert.ErrorIs(t, err, ErrUnknownKey, "a sign-in under a, on instance %d after removal", i)
		}
	}

	tot := f.totals()
	assert.Zero(t, tot.signOuts, "sign-outs")
	assert.Zero(t, tot.readTokenSets, "Set-Cookie of the session token in read-only responses")
	assert.Positive(t, tot.refreshes, "sliding refreshes, by companions")
	assert.Positive(t, tot.moved, "writes that moved a session from a to b")
	for _, u := range f.users {
		assert.Equal(t, 1, u.lifetimeEnds, "%s: one absolute lifetime ended while waiting to retire", u.name)
		assert.Equal(t, "b", flKid(name, u.cookie), u.name)
	}
	// Per instance: the counters show the rollout, and nothing was logged
	// but the reloads.
	for i, m := range f.inst {
		st := m.Stats()
		require.Len(t, st, 1)
		assert.Equal(t, "b", st[0].ID)
		assert.Positive(t, st[0].Sealed, "instance %d", i)
		assert.Positive(t, st[0].Opened, "instance %d", i)
		assert.Len(t, f.logs[i].records(t, "keyring replaced"), 5, "instance %d: one line per step", i)
	}
	f.assertNoLog("refused")
	f.assertNoLog("retired before it was safe")
	t.Logf("fleet rollout: %d instances, %d users (%d readers, %d writers) + %d lagging sessions, %d requests, %d sign-ins, %d sign-outs, %d token Set-Cookies on reads, %d sliding refreshes, %d writes moved a->b, %d absolute lifetimes ended while waiting to retire, %v of simulated time",
		flInstances, tot.users, readers, writers, len(lagging), f.requests.Load(), tot.signIns, tot.signOuts, tot.readTokenSets, tot.refreshes, tot.moved, tot.lifetimeEnds, f.clk.Now().Sub(newTestClock().Now()))
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
// it is refused, also once rewritten under the primary (its origin is the
// leaked key), and only the sessions signed in under that key end.
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
			// The danger: while decrypt-only, the forged token opens. A read
			// writes nothing; the forger's one write rewrites it, its origin
			// still the leaked key: under the primary when the leaked key is
			// older, under the leaked key itself when it is newer (a rewrite
			// never moves a token to an older key).
			res := read(t, f.inst[0], forged)
			require.NoError(t, res.Err)
			require.Equal(t, "mallory", res.D.User)
			assert.Empty(t, setCookies(res.Rec))
			rec := rotUpdate(t, f.inst[0], forged)
			ck := rotSessionCookie(t, f.inst[0], rec)
			under := "b"
			if tc.leaked == "c" {
				under = "c"
			}
			assert.Equal(t, []string{under, tc.leaked}, []string{rotKid(t, ck.Value), rotClaims(t, f.inst[0], ck.Value).Org})
			laundered := cookieHeader(forged, rec)

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
			for _, c := range append(stale, forged, laundered) {
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
