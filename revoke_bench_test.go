package jwesession

import (
	"context"
	"strconv"
	"sync"
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

// BenchmarkRevocationCheckParallel: the check every request makes with
// revocation on, from every P at once (run with -cpu 1,2,…), against
// 85,000 records: MemoryRevocations, whose read lock is the P's own slot,
// and the same check inside one sync.RWMutex's read lock, which every core
// takes on one cache line (what MemoryRevocations had before): cpu-ns/op
// stays flat for the first, and the second's excess is what the shared
// line costs.
func BenchmarkRevocationCheckParallel(b *testing.B) {
	clk := newTestClock()
	st := &MemoryRevocations{Now: clk.Now}
	fillRevocations(st, 85_000, clk.Now())
	ref := SessionRef{SessionID: "s-not-revoked", SignInID: "i-not-revoked", Subject: "alice", IssuedAt: clk.Now(), SignedInAt: clk.Now()}
	b.Run("spread", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if revoked, _ := st.Revoked(context.Background(), ref); revoked {
					b.Error("revoked")
				}
			}
		})
		reportCPUPerOp(b)
	})
	b.Run("single", func(b *testing.B) {
		var mu sync.RWMutex
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.RLock()
				revoked, _ := st.Revoked(context.Background(), ref)
				mu.RUnlock()
				if revoked {
					b.Error("revoked")
				}
			}
		})
		reportCPUPerOp(b)
	})
}
