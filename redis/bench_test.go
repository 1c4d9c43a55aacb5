package redis

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/redis/internal/redistest"
	"github.com/redis/rueidis"
)

// benchInstance is a manager on st (nil: revocation off) and a signed-in
// cookie.
func benchInstance(b *testing.B, st jwesession.RevocationStore) (http.Handler, string) {
	b.Helper()
	kr, err := jwesession.KeyringFromSecret(testSecret)
	if err != nil {
		b.Fatal(err)
	}
	cfg := jwesession.Config{DevelopmentCookies: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if st != nil {
		cfg.Revocation.Store = st
	}
	m, err := jwesession.New[user](cfg, kr)
	if err != nil {
		b.Fatal(err)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		if r.Method == "POST" {
			_ = s.SignIn(user{Name: "alice"})
			return
		}
		if _, ok := s.Get(); !ok {
			b.Fatalf("not served: %v", s.Err())
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	c := rec.Result().Cookies()[0]
	return h, c.Name + "=" + c.Value
}

// newBenchStore returns a current store on srv with n revocations in force
// (written in pipelined batches).
func newBenchStore(b *testing.B, srv *redistest.Server, n int) *Store {
	b.Helper()
	st, err := New(storeConfig([]string{srv.Addr()}, prefix()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	c, err := st.conn()
	if err != nil {
		b.Fatal(err)
	}
	fillLog(b, st, c, n)
	return st
}

// fillLog writes n revocations through the store's script: a third each
// sign-ins, session ids and subjects, as the sizing assumes.
func fillLog(b *testing.B, st *Store, c rueidis.Client, n int) {
	b.Helper()
	now := time.Now().Unix()
	until := strconv.FormatInt(now+8*3600, 10)
	nowS := strconv.FormatInt(now, 10)
	horizon := "{" + st.cfg.KeyPrefix + "}:horizon"
	for i := 0; i < n; i += 1000 {
		var batch []rueidis.LuaExec
		for j := i; j < min(n, i+1000); j++ {
			kind, id := []byte{'i', 's', 'u'}[j%3], benchID(j)
			batch = append(batch, rueidis.LuaExec{Keys: []string{st.key(kind, id), st.log, horizon}, Args: []string{string(kind), id, nowS, until, nowS}})
		}
		for _, r := range revokeScript.ExecMulti(context.Background(), c, batch...) {
			if err := r.Error(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// benchID is a 22-character id, like the library's.
func benchID(i int) string {
	s := strconv.Itoa(i)
	return s + strings.Repeat("x", 22-len(s))
}

func waitCurrentStore(b *testing.B, st *Store) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !st.Current() {
		if time.Now().After(deadline) {
			b.Fatal("store not current")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkHotPath: a request reading a valid session, revocation off and
// on (Redis store, copy current, 85,000 revocations in it: the sizing's
// fleet). Compare the two in the same run.
func BenchmarkHotPath(b *testing.B) {
	b.Run("Off", func(b *testing.B) {
		h, cookie := benchInstance(b, nil)
		runBench(b, h, cookie)
	})
	b.Run("RedisWarm", func(b *testing.B) {
		srv := redistest.StartServer(b)
		st := newBenchStore(b, srv, 85_000)
		waitCurrentStore(b, st)
		h, cookie := benchInstance(b, st)
		before := st.Stats()
		runBench(b, h, cookie)
		after := st.Stats()
		b.ReportMetric(float64(after.ColdChecks-before.ColdChecks)/float64(b.N), "redis-checks/op")
	})
}

func runBench(b *testing.B, h http.Handler, cookie string) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkCheck: one check, from the copy and from Redis (the copy not
// current: one MGET round trip on loopback).
func BenchmarkCheck(b *testing.B) {
	srv := redistest.StartServer(b)
	st := newBenchStore(b, srv, 1000)
	waitCurrentStore(b, st)
	ref := jwesession.SessionRef{SessionID: benchID(1_000_001), SignInID: benchID(1_000_002), Subject: "alice", IssuedAt: time.Now(), SignedInAt: time.Now()}
	ctx := context.Background()
	for _, cold := range []bool{false, true} {
		b.Run(map[bool]string{false: "Copy", true: "ColdRoundTrip"}[cold], func(b *testing.B) {
			st.cold.Store(cold)
			defer st.cold.Store(false)
			b.ReportAllocs()
			for b.Loop() {
				if revoked, err := st.Revoked(ctx, ref); err != nil || revoked {
					b.Fatal(revoked, err)
				}
			}
		})
	}
}

// BenchmarkRevoke: the cost of one revocation (the script: record key, log
// entry, trim), one round trip, as RevokeSignIn pays it from a handler,
// with the append-only file synced on every write and once a second.
func BenchmarkRevoke(b *testing.B) {
	for _, fsync := range []string{"always", "everysec"} {
		b.Run("Fsync"+fsync, func(b *testing.B) {
			srv := redistest.StartServer(b, "--appendfsync", fsync)
			st := newBenchStore(b, srv, 0)
			ctx := context.Background()
			until := time.Now().Add(8 * time.Hour)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if err := st.RevokeSignIn(ctx, benchID(i), until); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScale holds the per-instance state of the README's sizing on
// this machine: one instance's copy of 85,000 revocations in force
// (10,000 an hour over 8.5 hours, fleet-wide), read from Redis by a
// starting instance, and checks of one million distinct sessions against
// it. It reports the copy's heap per record, the start-up catch-up time,
// Redis's memory per record, and the check's cost over a million
// sessions.
func BenchmarkScale(b *testing.B) {
	const records, sessions = 85_000, 1_000_000
	srv := redistest.StartServer(b)
	usedBefore := usedMemory(b, srv)
	writer := newBenchStore(b, srv, records)
	redisPerRecord := float64(usedMemory(b, srv)-usedBefore) / records

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc
	start := time.Now()
	st, err := New(storeConfig([]string{srv.Addr()}, writer.cfg.KeyPrefix))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	waitCurrentStore(b, st)
	catchUp := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	copyBytes := float64(ms.HeapAlloc) - float64(heapBefore)
	if n := st.Stats().Records; n != records {
		b.Fatalf("copy holds %d records, want %d", n, records)
	}

	refs := make([]jwesession.SessionRef, sessions)
	now := time.Now()
	for i := range refs {
		// Every 30th session is one the log revoked.
		refs[i] = jwesession.SessionRef{SessionID: benchID(sessions + 2*i), SignInID: benchID(sessions + 2*i + 1), Subject: "user-" + strconv.Itoa(i%400_000), IssuedAt: now, SignedInAt: now.Add(-time.Hour)}
		if i%30 == 0 {
			refs[i].SignInID = benchID(3 * (i % (records / 3)))
		}
	}
	ctx := context.Background()
	revoked := 0
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		r, err := st.Revoked(ctx, refs[i%sessions])
		if err != nil {
			b.Fatal(err)
		}
		if r {
			revoked++
		}
		i++
	}
	b.StopTimer()
	if i >= sessions && revoked == 0 {
		b.Fatal("no revoked session found")
	}
	b.ReportMetric(copyBytes/records, "copy-B/record")
	b.ReportMetric(copyBytes/(1<<20), "copy-MiB")
	b.ReportMetric(redisPerRecord, "redis-B/record")
	b.ReportMetric(float64(catchUp.Milliseconds()), "catch-up-ms")
	if s := st.Stats(); s.ColdChecks > 0 {
		b.Fatalf("%d checks reached Redis", s.ColdChecks)
	}
}

// usedMemory returns Redis's used_memory.
func usedMemory(b *testing.B, srv *redistest.Server) int64 {
	b.Helper()
	for _, line := range strings.Split(srv.MustCLI("INFO", "memory"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory")
	return 0
}
