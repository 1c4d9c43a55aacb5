package redis

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// readBatch is how many log entries one read returns at most.
const readBatch = 1000

// connect makes the client; it fails when Redis does not answer.
func (s *Store) connect() error {
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:  s.cfg.Addrs,
		Username:     s.cfg.Username,
		Password:     s.cfg.Password,
		Sentinel:     rueidis.SentinelOption{MasterSet: s.cfg.MasterSet, Username: s.cfg.Username, Password: s.cfg.Password},
		DisableCache: true, // no CLIENT TRACKING: the copy is fed by the log
		ClientName:   "jwesession",
	})
	if err != nil {
		return err
	}
	s.client.Store(&c)
	s.cfg.Logger.Info("jwesession/redis: connected", "addrs", strings.Join(s.cfg.Addrs, ","))
	return nil
}

// start connects and catches up with the log, once, before New returns,
// so a store on a reachable Redis is current from the start; then it runs
// the rest in the background.
func (s *Store) start(ctx context.Context) {
	last := "0-0"
	if s.connect() == nil {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.MaxStaleness)
		for {
			var complete bool
			var err error
			if last, complete, err = s.read(cctx, *s.client.Load(), last); err != nil || complete {
				break
			}
		}
		cancel()
	}
	go s.run(ctx, last)
}

// run connects to Redis if start could not (retrying until it answers),
// then keeps this instance's copy current by reading the log from last,
// until ctx ends.
func (s *Store) run(ctx context.Context, last string) {
	defer s.done.Done()
	backoff := newBackoff()
	for s.client.Load() == nil {
		err := s.connect()
		if err == nil {
			break
		}
		backoff.failed(s, err)
		if !backoff.wait(ctx) {
			return
		}
	}
	c := *s.client.Load()
	for ctx.Err() == nil {
		var err error
		if last, _, err = s.read(ctx, c, last); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.failed.Add(1)
			backoff.failed(s, err)
			if !backoff.wait(ctx) {
				return
			}
			continue
		}
		backoff.ok(s)
	}
}

// read reads the log after last once (waiting up to a quarter of
// MaxStaleness for an entry while the copy is current), applies what it
// got, and returns the id of the last entry applied. complete: the reply
// held everything logged before the read was sent, which makes the copy
// current as of then.
func (s *Store) read(ctx context.Context, c rueidis.Client, last string) (_ string, complete bool, _ error) {
	block := s.cfg.MaxStaleness / 4
	sent := time.Since(s.base)
	s.reads.Add(1)
	cmd := c.B().Xread().Count(readBatch).Block(block.Milliseconds()).Streams().Key(s.log).Id(last).Build()
	if !s.Current() {
		// Catching up (started, or back from an outage): no wait.
		cmd = c.B().Xread().Count(readBatch).Streams().Key(s.log).Id(last).Build()
	}
	rctx, cancel := context.WithTimeout(ctx, block+s.cfg.MaxStaleness)
	res, err := c.Do(rctx, cmd).AsXRead()
	cancel()
	if rueidis.IsRedisNil(err) {
		err, res = nil, nil // nothing new
	}
	if err != nil {
		return last, false, err
	}
	entries := res[s.log]
	for _, e := range entries {
		s.applyEntry(ctx, e)
		last = e.ID
	}
	if len(entries) < readBatch {
		s.proof.Store(int64(sent))
		return last, true, nil
	}
	return last, false, nil
}

// applyEntry puts one log entry into the copy and tells Applied.
func (s *Store) applyEntry(ctx context.Context, e rueidis.XRangeEntry) {
	f := e.FieldValues
	at, err1 := strconv.ParseInt(f["at"], 10, 64)
	until, err2 := strconv.ParseInt(f["until"], 10, 64)
	if err1 != nil || err2 != nil || s.apply(ctx, f["k"], f["id"], time.Unix(at, 0), time.Unix(until, 0)) != nil {
		s.cfg.Logger.Warn("jwesession/redis: malformed log entry ignored", "entry", e.ID)
		return
	}
	s.applied.Add(1)
	if s.cfg.Applied != nil {
		id := f["id"]
		s.cfg.Applied(Record{Kind: kindOf(f["k"]), ID: id, At: time.Unix(at, 0), Until: time.Unix(until, 0), LogID: e.ID})
	}
}

// backoff paces retries (100 ms doubling to 1 s) and logs a lost
// connection once, and its return.
type backoff struct {
	delay time.Duration
	down  bool
}

func newBackoff() *backoff { return &backoff{delay: 100 * time.Millisecond} }

func (b *backoff) failed(s *Store, err error) {
	if !b.down {
		b.down = true
		s.cfg.Logger.Warn("jwesession/redis: Redis unreachable; checks get the failure policy once the copy is older than MaxStaleness", "error", err)
	}
}

func (b *backoff) ok(s *Store) {
	if b.down {
		b.down = false
		s.cfg.Logger.Info("jwesession/redis: Redis reachable again")
	}
	b.delay = 100 * time.Millisecond
}

// wait sleeps the current delay and doubles it; false when ctx ended.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.delay)
	defer t.Stop()
	b.delay = min(2*b.delay, time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
