package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestLoadTest runs the program briefly with few connections and Go
// clients, two rounds: every endpoint with a positive rate and no failed
// request. No time is asserted: the machine is shared.
func TestLoadTest(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a loopback server for a few seconds")
	}
	res, out := runBriefly(t, config{duration: 500 * time.Millisecond, warmup: 100 * time.Millisecond, conns: 4, maxRequests: 1_000_000, client: "go", rounds: 2})
	for _, r := range res {
		if r.requests <= 0 {
			t.Errorf("%s: %+v", r.name, r)
		}
	}
	for _, want := range []string{"| plain handler |", "| plain handler + the two cache headers |", "| untouched page behind the middleware |", "| session read behind the middleware |", "| gorilla/sessions CookieStore read |", "| scs v2 read (memory store) |", "requests/s ÷ plain", "÷ plain + headers", "claims=basic"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The other claims shape, one brief round.
	_, out = runBriefly(t, config{duration: 200 * time.Millisecond, conns: 2, maxRequests: 1_000_000, client: "go", rounds: 1, claims: "rich"})
	if !strings.Contains(out, "claims=rich") {
		t.Error("the report does not name the claims")
	}
}

// TestRequestCap: the hard cap on requests ends a phase before its time.
func TestRequestCap(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	res, err := run(context.Background(), config{duration: time.Minute, conns: 2, maxRequests: 50, client: "go", rounds: 1}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.requests > 50 || r.requests == 0 {
			t.Errorf("%s: %d requests with a cap of 50", r.name, r.requests)
		}
	}
	if time.Since(start) > 50*time.Second {
		t.Error("the request cap did not end the phases")
	}
}

func TestLimits(t *testing.T) {
	ok := config{duration: time.Second, conns: 1, maxRequests: 1, client: "go", rounds: 1}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []config{
		{duration: 0, conns: 1, maxRequests: 1, client: "go", rounds: 1},
		{duration: 3 * time.Minute, conns: 1, maxRequests: 1, client: "go", rounds: 1},
		{duration: time.Second, conns: 0, maxRequests: 1, client: "go", rounds: 1},
		{duration: time.Second, conns: 5000, maxRequests: 1, client: "go", rounds: 1},
		{duration: time.Second, conns: 1, maxRequests: 0, client: "go", rounds: 1},
		{duration: time.Second, conns: 1, maxRequests: 20_000_000, client: "go", rounds: 1},
		{duration: time.Second, warmup: time.Hour, conns: 1, maxRequests: 1, client: "go", rounds: 1},
		{duration: time.Second, conns: 1, maxRequests: 1, client: "go", rounds: 0},
		{duration: time.Second, conns: 1, maxRequests: 1, client: "go", rounds: 21},
		{duration: time.Second, conns: 1, maxRequests: 1, client: "", rounds: 1},
		{duration: time.Second, conns: 1, maxRequests: 1, client: "/usr/bin/wrk", wrkThreads: 0, rounds: 1},
		{duration: time.Second, conns: 1, maxRequests: 1, client: "go", rounds: 1, claims: "huge"},
	} {
		if _, err := run(context.Background(), c, &bytes.Buffer{}); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// runBriefly runs the program with cfg and checks what every run must
// give: a result per endpoint, each with a positive rate, no failed
// request and p99 >= p50 > 0. It returns the results and the report.
func runBriefly(t *testing.T, cfg config) ([]result, string) {
	t.Helper()
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(endpoints) {
		t.Fatalf("%d results, want %d", len(res), len(endpoints))
	}
	for _, r := range res {
		if r.rate <= 0 || r.errors != 0 || r.p50 <= 0 || r.p99 < r.p50 {
			t.Errorf("%s: %+v", r.name, r)
		}
	}
	return res, out.String()
}
