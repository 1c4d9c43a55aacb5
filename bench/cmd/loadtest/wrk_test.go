package main

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/bench/internal/claims"
)

// A report as wrk 4.1 prints it with --latency (figures chosen by hand).
const wrkSample = `Running 2s test @ http://127.0.0.1:41234/read
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms    1.10ms  21.33ms   88.02%
    Req/Sec    41.80k     2.05k   44.12k    75.00%
  Latency Distribution
     50%  812.00us
     75%    1.75ms
     90%    2.61ms
     99%    1.02s
  83166 requests in 2.00s, 13.26MB read
  Non-2xx or 3xx responses: 7
  Socket errors: connect 1, read 2, write 0, timeout 3
Requests/sec:  41583.12
Transfer/sec:      6.63MB
`

func TestParseWrk(t *testing.T) {
	st, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkStats{requests: 83166, elapsed: 2 * time.Second, rate: 41583.12, p50: 812 * time.Microsecond, p99: 1020 * time.Millisecond, errors: 7 + 1 + 2 + 3}
	if st != want {
		t.Errorf("parsed %+v\nwant   %+v", st, want)
	}
	// Without errors, wrk prints neither error line.
	clean := strings.Replace(strings.Replace(wrkSample, "  Non-2xx or 3xx responses: 7\n", "", 1), "  Socket errors: connect 1, read 2, write 0, timeout 3\n", "", 1)
	if st, err := parseWrk(clean); err != nil || st.errors != 0 {
		t.Errorf("clean report: %+v, %v", st, err)
	}
	for _, drop := range []string{"     50%", "     99%", "  83166 requests", "Requests/sec:"} {
		var kept []string
		for _, line := range strings.Split(wrkSample, "\n") {
			if !strings.HasPrefix(line, drop) {
				kept = append(kept, line)
			}
		}
		if _, err := parseWrk(strings.Join(kept, "\n")); err == nil {
			t.Errorf("a report without %q was accepted", strings.TrimSpace(drop))
		}
	}
	if _, err := parseWrk(strings.Replace(wrkSample, "812.00us", "812.00xs", 1)); err == nil {
		t.Error("a latency in an unknown unit was accepted")
	}
}

func TestWrkSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "1s", 300 * time.Millisecond: "1s", time.Second: "1s", 1500 * time.Millisecond: "2s", 5 * time.Second: "5s",
	} {
		if got := wrkSeconds(d); got != want {
			t.Errorf("wrkSeconds(%v) = %s, want %s", d, got, want)
		}
	}
	for d, want := range map[time.Duration]time.Duration{0: 0, 300 * time.Millisecond: time.Second, 2 * time.Second: 2 * time.Second, 2100 * time.Millisecond: 3 * time.Second} {
		if got := roundSeconds(d); got != want {
			t.Errorf("roundSeconds(%v) = %v, want %v", d, got, want)
		}
	}
}

// TestSummarize: medians over rounds, the ratio taken round by round.
func TestSummarize(t *testing.T) {
	ep := func(i int) endpoint { return endpoints[i] }
	rounds := [][]result{
		{{endpoint: ep(0), requests: 100, rate: 100, p50: 3}, {endpoint: ep(0), requests: 200, rate: 200, p50: 1}, {endpoint: ep(0), requests: 50, rate: 50, p50: 2}},
		{{endpoint: ep(1), requests: 90, rate: 90, p50: 4, errors: 1, srvPerOp: 30}, {endpoint: ep(1), requests: 100, rate: 100, p50: 5, srvPerOp: 20}, {endpoint: ep(1), requests: 50, rate: 50, p50: 6, srvPerOp: 40}},
		{{endpoint: ep(3), requests: 81, rate: 81, srvPerOp: 36}, {endpoint: ep(3), requests: 95, rate: 95, srvPerOp: 21}, {endpoint: ep(3), requests: 40, rate: 40, srvPerOp: 50}},
	}
	got := summarize(rounds)
	if len(got) != 3 {
		t.Fatalf("%d results", len(got))
	}
	// Plain: rates 100, 200, 50 -> median 100; every ratio 1.
	if got[0].rate != 100 || got[0].requests != 350 || got[0].p50 != 2 || got[0].ratio != 1 {
		t.Errorf("plain: %+v", got[0])
	}
	// Second: ratios 0.9, 0.5, 1.0 -> median 0.9 (the ratio of the medians, 90/100, happens to agree; the per-round list must not).
	if got[1].ratio != 0.9 || got[1].rate != 90 || got[1].requests != 240 || got[1].errors != 1 || got[1].p50 != 5 {
		t.Errorf("second: %+v", got[1])
	}
	if want := []float64{0.9, 0.5, 1}; len(got[1].ratios) != 3 || got[1].ratios[0] != want[0] || got[1].ratios[1] != want[1] || got[1].ratios[2] != want[2] {
		t.Errorf("per-round ratios %v, want %v", got[1].ratios, want)
	}
	// The read against the cache-header reference, round by round: 81/90,
	// 95/100, 40/50 -> 0.9, 0.95, 0.8, median 0.9; server CPU over it 6, 1,
	// 10 -> median 6 (the medians' difference, 36-30, agrees by chance).
	if want := []float64{0.9, 0.95, 0.8}; got[2].ref != 0.9 || len(got[2].refs) != 3 || got[2].refs[1] != want[1] || got[2].refs[2] != want[2] || got[2].srvOver != 6 {
		t.Errorf("read against the reference: %+v", got[2])
	}
	if got[1].ref != 1 || got[1].srvOver != 0 {
		t.Errorf("the reference against itself: %+v", got[1])
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of 1..4 = %v", m)
	}
}

// TestServerCountsFailures: the server itself counts a response to a
// measured endpoint that is not a 200 or that sets a cookie.
func TestServerCountsFailures(t *testing.T) {
	kr, err := jwesession.KeyringFromSecret(rand.Text() + rand.Text())
	if err != nil {
		t.Fatal(err)
	}
	m, err := jwesession.New[claims.Data](jwesession.Config{RefreshAfter: time.Hour, IdleTimeout: 2 * time.Hour}, kr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPeers()
	if err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	h := newServer(m, p, &failed)
	do := func(method, path, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "https://127.0.0.1"+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	var cookies []string
	for _, path := range []string{"/signin", "/signin/gorilla", "/signin/scs"} {
		signin := do("POST", path, "")
		if signin.Code != http.StatusNoContent || failed.Load() != 0 || len(signin.Result().Cookies()) != 1 {
			t.Fatalf("%s: %d, failed %d, Set-Cookie %q", path, signin.Code, failed.Load(), signin.Header()["Set-Cookie"])
		}
		cookies = append(cookies, strings.SplitN(signin.Header().Get("Set-Cookie"), ";", 2)[0])
	}
	cookie := strings.Join(cookies, "; ")
	for _, ep := range endpoints {
		path := ep.path
		if rec := do("GET", path, cookie); rec.Code != http.StatusOK || failed.Load() != 0 {
			t.Fatalf("%s with a valid cookie: %d, failed %d", path, rec.Code, failed.Load())
		}
	}
	// The reference row sets what the middleware sets on a read.
	ref, read := do("GET", "/plain-headers", cookie), do("GET", "/read", cookie)
	for _, name := range []string{"Cache-Control", "Vary"} {
		if got, want := ref.Header()[name], read.Header()[name]; len(want) == 0 || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: /plain-headers sets %q, a session read gets %q", name, got, want)
		}
	}
	// Without their session, each reading endpoint fails once.
	for i, path := range []string{"/read", "/gorilla", "/scs"} {
		do("GET", path, "")
		if failed.Load() != int64(i+1) {
			t.Errorf("%s without a session: failed %d in all, want %d", path, failed.Load(), i+1)
		}
	}
	failed.Store(0)
	do("GET", "/read", cookies[0]+"x") // a bad cookie: 401 and a deletion
	if failed.Load() != 1 {
		t.Errorf("a 401 with a Set-Cookie counted %d, want 1", failed.Load())
	}
}

// TestLoadTestWrk runs the program briefly with wrk as the load generator.
// Without wrk it skips, except under CI=true, where it fails: CI installs
// wrk.
func TestLoadTestWrk(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a loopback server for a few seconds")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		msg := "wrk is not on the PATH (Debian: apt-get install wrk)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: failing instead of skipping)")
		}
		t.Skip(msg)
	}
	res, out := runBriefly(t, config{duration: time.Second, conns: 4, maxRequests: 1, client: wrk, wrkThreads: 1, rounds: 1})
	for _, r := range res {
		// maxRequests does not bound wrk: more than one request each;
		// the CPU figures are known (server and wrk are apart).
		if r.requests <= 1 || r.srvPerOp <= 0 || r.cpuPerOp < r.srvPerOp {
			t.Errorf("%s: %+v", r.name, r)
		}
	}
	if !strings.Contains(out, "from wrk") {
		t.Error("the report does not say wrk made the load")
	}
}
