package redis

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/redis/rueidis"
)

// Sign-in records (Config.SignIns): a hash per subject,
// <prefix>:signins:{<subject>}, one field per sign-in id holding "START
// SEEN END" in Unix seconds, the hash expiring at the latest END.

// seenScript records one sign-in, keeping the later last-seen time, and
// drops fields past their end once the hash holds more than 16. KEYS: the
// hash. ARGV: sign-in id, START, SEEN, END, now.
var seenScript = rueidis.NewLuaScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local seen = tonumber(string.match(cur, '^%d+ (%d+) %d+$'))
  if seen and seen >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
if redis.call('EXPIRETIME', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('EXPIREAT', KEYS[1], ARGV[4])
end
if redis.call('HLEN', KEYS[1]) > 16 then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local e = tonumber(string.match(all[i + 1], ' (%d+)$'))
    if e and e < tonumber(ARGV[5]) then redis.call('HDEL', KEYS[1], all[i]) end
  end
end
return 1
`)

func (s *Store) signInsKey(subject string) string {
	return s.cfg.KeyPrefix + ":signins:{" + subject + "}"
}

// Seen implements jwesession.RevocationStore: with Config.SignIns it
// queues the record for the background writer (dropped, and counted,
// when the queue is full); without, it does nothing.
func (s *Store) Seen(_ context.Context, rec jwesession.SignIn) error {
	if !s.cfg.SignIns {
		return nil
	}
	select {
	case s.seenq <- rec:
	default:
		s.seenDropped.Add(1)
	}
	return nil
}

// writeSeen sends the queued sign-in records, in pipelined batches.
func (s *Store) writeSeen(ctx context.Context) {
	defer s.done.Done()
	var batch []rueidis.LuaExec
	for {
		select {
		case <-ctx.Done():
			return
		case rec := <-s.seenq:
			batch = append(batch[:0], s.seenExec(rec))
		drain:
			for len(batch) < 256 {
				select {
				case rec := <-s.seenq:
					batch = append(batch, s.seenExec(rec))
				default:
					break drain
				}
			}
		}
		c, err := s.conn()
		if err != nil {
			s.seenDropped.Add(uint64(len(batch)))
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		for _, r := range seenScript.ExecMulti(wctx, c, batch...) {
			if r.Error() != nil {
				s.seenDropped.Add(1)
			} else {
				s.seenWritten.Add(1)
			}
		}
		cancel()
	}
}

func (s *Store) seenExec(rec jwesession.SignIn) rueidis.LuaExec {
	u := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	return rueidis.LuaExec{
		Keys: []string{s.signInsKey(rec.Subject)},
		Args: []string{rec.ID, u(rec.SignedInAt), u(rec.LastSeen), u(rec.End), u(s.cfg.Now())},
	}
}

// SignIns implements jwesession.RevocationStore.
func (s *Store) SignIns(ctx context.Context, subject string, now time.Time) ([]jwesession.SignIn, error) {
	if !s.cfg.SignIns {
		return nil, nil
	}
	c, err := s.conn()
	if err != nil {
		return nil, err
	}
	all, err := c.Do(ctx, c.B().Hgetall().Key(s.signInsKey(subject)).Build()).AsStrMap()
	if err != nil {
		return nil, err
	}
	var out []jwesession.SignIn
	for id, v := range all {
		f := strings.Fields(v)
		if len(f) != 3 {
			continue
		}
		var t [3]int64
		for i := range f {
			t[i], _ = strconv.ParseInt(f[i], 10, 64)
		}
		rec := jwesession.SignIn{ID: id, Subject: subject, SignedInAt: time.Unix(t[0], 0), LastSeen: time.Unix(t[1], 0), End: time.Unix(t[2], 0)}
		if rec.End.After(now) {
			out = append(out, rec)
		}
	}
	return out, nil
}
