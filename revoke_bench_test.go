package jwesession

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// SessionSubject names the benchmark data's user, for revocation.
func (d benchData) SessionSubject() string { return d.User }

// fillRevocations puts n revocations into s, as many sign-ins as
// subjects and session ids, at the test clock's time.
func fillRevocations(s *MemoryRevocations, n int, now time.Time) {
	ctx := context.Background()
	until := now.Add(8 * time.Hour)
	for i := range n {
		id := strconv.Itoa(i) + "-0123456789abcdefghij"[:22-len(strconv.Itoa(i))]
		switch i % 3 {
		case 0:
			_ = s.RevokeSignIn(ctx, id, until)
		case 1:
			_ = s.RevokeSession(ctx, id, until)
		default:
			_ = s.RevokeSubject(ctx, "user-"+id, now, until)
		}
	}
}

// BenchmarkHotPathRevocation: BenchmarkHotPath with revocation on, the
// check answered from memory holding 85,000 revocations (the fleet of the
// README's sizing: 10,000 an hour over 8.5 hours). Compare with
// BenchmarkHotPath in the same run.
func BenchmarkHotPathRevocation(b *testing.B) {
	st := &MemoryRevocations{}
	m, clk := newBenchManagerConfig(b, Config{Revocation: Revocation{Store: st}}, nil)
	st.Now = clk.Now
	fillRevocations(st, 85_000, clk.Now())
	benchHotPath(b, m)
}
