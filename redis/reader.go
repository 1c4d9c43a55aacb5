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

// run connects to Redis (retrying until it answers) and then keeps this
// instance's copy current by reading the log, until ctx ends.
func (s *Store) run(ctx context.Context) {
	defer s.done.Done()
	backoff := newBackoff()
	for s.client.Load() == nil {
		c, err := rueidis.NewClient(rueidis.ClientOption{
			InitAddress:  s.cfg.Addrs,
			Username:     s.cfg.Username,
			Password:     s.cfg.Password,
			Sentinel:     rueidis.SentinelOption{MasterSet: s.cfg.MasterSet, Username: s.cfg.Username, Password: s.cfg.Password},
			DisableCache: true, // no CLIENT TRACKING: the copy is fed by the log
			ClientName:   "jwesession",
		})
		if err == nil {
			s.client.Store(&c)
			s.cfg.Logger.Info("jwesession/redis: connected", "addrs", strings.Join(s.cfg.Addrs, ","))
			break
		}
		backoff.failed(s, err)
		if !backoff.wait(ctx) {
			return
		}
	}
	c := *s.client.Load()
	last := "0-0"
	block := s.cfg.MaxStaleness / 4
	backoff = newBackoff()
	for ctx.Err() == nil {
		sent := time.Since(s.base)
		s.reads.Add(1)
		rctx, cancel := context.WithTimeout(ctx, block+s.cfg.MaxStaleness)
		cmd := c.B().Xread().Count(readBatch).Block(block.Milliseconds()).Streams().Key(s.log).Id(last).Build()
		if !s.Current() {
			// Catching up (started, or back from an outage): no wait.
			cmd = c.B().Xread().Count(readBatch).Streams().Key(s.log).Id(last).Build()
		}
		res, err := c.Do(rctx, cmd).AsXRead()
		cancel()
		if rueidis.IsRedisNil(err) {
			err, res = nil, nil // the block timed out: nothing new
		}
		if err != nil {
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
		entries := res[s.log]
		for _, e := range entries {
			s.applyEntry(ctx, e)
			last = e.ID
		}
		if len(entries) < readBatch {
			// Complete: everything logged before the read was sent is in.
			s.proof.Store(int64(sent))
		}
	}
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
		s.cfg.Applied(Record{Kind: kinds[f["k"]], ID: id, At: time.Unix(at, 0), Until: time.Unix(until, 0), LogID: e.ID})
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
