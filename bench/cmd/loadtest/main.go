// Command loadtest drives a real net/http server on the loopback interface
// with many concurrent keep-alive clients and reports requests/s and p50/p99
// latency for three endpoints, in turn:
//
//   - a plain handler, no middleware;
//   - a page behind the jwesession middleware that never touches the session;
//   - a page behind the middleware that reads the session (every client
//     carries a valid session cookie).
//
// and each endpoint's requests/s as a fraction of the plain handler's. Every
// client sends the same cookie to all three, so only the server's work
// differs. Server and clients share this process (and the machine's
// cores), so the figures are a comparison, not a capacity.
//
//	go run ./cmd/loadtest [-duration 5s] [-conns 64] [-warmup 500ms] [-max-requests 2000000] [-cpuprofile FILE]
//
// It listens on 127.0.0.1 only, on a port the system picks, and stops by
// itself: each endpoint is driven for -duration (at most 2 minutes) or
// -max-requests requests (at most 10 million), whichever comes first.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/bench/internal/claims"
)

// Hard limits, whatever the flags say.
const (
	maxDuration    = 2 * time.Minute
	maxWarmup      = 30 * time.Second
	maxConns       = 1024
	maxRequestsCap = 10_000_000
)

// benchData and benchValue are the comparison benchmarks' claims.
type benchData = claims.Data

var benchValue = claims.Value()

// config is one load test.
type config struct {
	duration    time.Duration // per endpoint, measured
	warmup      time.Duration // per endpoint, before measuring
	conns       int           // concurrent clients, each with its own keep-alive connection
	maxRequests int64         // per endpoint, in the warm-up and again in the measured phase
}

func (c config) validate() error {
	switch {
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("-duration must be more than 0 and at most %v", maxDuration)
	case c.warmup < 0 || c.warmup > maxWarmup:
		return fmt.Errorf("-warmup must be 0 to %v", maxWarmup)
	case c.conns < 1 || c.conns > maxConns:
		return fmt.Errorf("-conns must be 1 to %d", maxConns)
	case c.maxRequests < 1 || c.maxRequests > maxRequestsCap:
		return fmt.Errorf("-max-requests must be 1 to %d", maxRequestsCap)
	}
	return nil
}

// endpoint is one of the server's pages.
type endpoint struct {
	name, path string
}

var endpoints = []endpoint{
	{"plain handler", "/plain"},
	{"untouched page behind the middleware", "/untouched"},
	{"session read behind the middleware", "/read"},
}

// result is one endpoint's measurement.
type result struct {
	endpoint
	requests int64         // completed in the measured phase
	errors   int64         // transport errors, non-200, or an unexpected Set-Cookie
	elapsed  time.Duration // of the measured phase
	rate     float64       // requests per second
	p50, p99 time.Duration // client-side latency
	cpuPerOp time.Duration // process CPU (server + clients) per request, 0 if unknown
}

// newServer returns the handler: the three endpoints and /signin, which
// hands out the cookie the clients carry.
func newServer(m *jwesession.Manager[benchData]) http.Handler {
	body := []byte("ok\n")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	})
	mux.Handle("GET /untouched", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	})))
	mux.Handle("GET /read", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if d, ok := s.Get(); !ok || d.User != benchValue.User {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write(body)
	})))
	mux.Handle("POST /signin", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r.Context())
		if err == nil {
			err = s.SignIn(benchValue)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	return mux
}

// run starts the server, drives each endpoint in turn, prints the report to
// out and returns the results.
func run(ctx context.Context, cfg config, out io.Writer) ([]result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// A safety net on top of the per-phase bounds.
	ctx, cancel := context.WithTimeout(ctx, time.Duration(len(endpoints))*(cfg.duration+cfg.warmup)+time.Minute)
	defer cancel()

	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, err
	}
	kr, err := jwesession.KeyringFromSecret(base64.RawURLEncoding.EncodeToString(secret[:]))
	if err != nil {
		return nil, err
	}
	// Refresh well after the longest run, so reads never re-issue the
	// cookie (the clients do not take a new one).
	m, err := jwesession.New[benchData](jwesession.Config{
		IdleTimeout:  2 * time.Hour,
		RefreshAfter: time.Hour,
		Logger:       slog.New(slog.DiscardHandler),
	}, kr)
	if err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: newServer(m), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		<-served
	}()
	base := "http://" + ln.Addr().String()

	tr := &http.Transport{
		MaxIdleConns:        cfg.conns,
		MaxIdleConnsPerHost: cfg.conns,
		MaxConnsPerHost:     cfg.conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr} // bounded by ctx

	cookie, err := signIn(ctx, client, base, m.CookieName())
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(out, "Loopback load test: %d keep-alive connections, %v per endpoint after a %v warm-up, server and clients in one process, GOMAXPROCS %d, %s.\n\n",
		cfg.conns, cfg.duration, cfg.warmup, runtime.GOMAXPROCS(0), runtime.Version())
	var results []result
	for _, ep := range endpoints {
		if cfg.warmup > 0 {
			if _, err := drive(ctx, client, base, ep, cookie, cfg.conns, cfg.warmup, cfg.maxRequests); err != nil {
				return nil, err
			}
		}
		r, err := drive(ctx, client, base, ep, cookie, cfg.conns, cfg.duration, cfg.maxRequests)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	report(out, results)
	for _, r := range results {
		if r.errors > 0 {
			return results, fmt.Errorf("%s: %d failed requests", r.name, r.errors)
		}
	}
	return results, nil
}

// signIn asks the server for a session and returns the Cookie header that
// carries it.
func signIn(ctx context.Context, client *http.Client, base, name string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/signin", nil)
	if err != nil {
		return "", err
	}
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == name && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("sign-in: status %d and no %s cookie", res.StatusCode, name)
}

// drive runs conns clients against ep for d or until maxRequests requests
// have been sent, and measures.
func drive(ctx context.Context, client *http.Client, base string, ep endpoint, cookie string, conns int, d time.Duration, maxRequests int64) (result, error) {
	r := result{endpoint: ep}
	var sent, errs atomic.Int64
	lats := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	start := time.Now()
	deadline := start.Add(d)
	for i := range conns {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, "GET", base+ep.path, nil)
			if err != nil {
				errs.Add(1)
				return
			}
			req.Header.Set("Cookie", cookie)
			own := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil && time.Now().Before(deadline) && sent.Add(1) <= maxRequests {
				t0 := time.Now()
				// The request is reused once the previous body is
				// closed, as http.RoundTripper allows.
				res, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				own = append(own, time.Since(t0))
				if res.StatusCode != http.StatusOK || len(res.Header.Values("Set-Cookie")) != 0 {
					errs.Add(1)
				}
			}
			lats[i] = own
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	cpu := cpuTime() - cpu0
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("%s: %w", ep.name, err)
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	r.requests = int64(len(all))
	r.errors = errs.Load()
	if r.requests == 0 {
		return r, errors.New(ep.name + ": no request completed")
	}
	r.rate = float64(r.requests) / r.elapsed.Seconds()
	r.p50 = all[(len(all)-1)*50/100]
	r.p99 = all[(len(all)-1)*99/100]
	if cpu > 0 {
		r.cpuPerOp = cpu / time.Duration(r.requests)
	}
	return r, nil
}

// report prints the results as a markdown table.
func report(out io.Writer, results []result) {
	fmt.Fprintln(out, "| endpoint | requests | requests/s | p50 | p99 | CPU per request | requests/s ÷ plain |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range results {
		ratio := "—"
		if len(results) > 0 && results[0].rate > 0 {
			ratio = fmt.Sprintf("%.3f", r.rate/results[0].rate)
		}
		cpu := "—"
		if r.cpuPerOp > 0 {
			cpu = fmt.Sprintf("%.1f µs", float64(r.cpuPerOp)/1e3)
		}
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s | %s | %s |\n", r.name, r.requests, r.rate, us(r.p50), us(r.p99), cpu, ratio)
	}
	for _, r := range results {
		if r.errors > 0 {
			fmt.Fprintf(out, "\n%s: %d failed requests (transport error, status other than 200, or a Set-Cookie on a read)\n", r.name, r.errors)
		}
	}
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }

func main() {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "how long to drive each endpoint (at most 2m)")
	flag.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "unmeasured load before each endpoint's measurement (at most 30s)")
	flag.IntVar(&cfg.conns, "conns", 64, "concurrent clients, each on its own keep-alive connection (at most 1024)")
	flag.Int64Var(&cfg.maxRequests, "max-requests", 2_000_000, "hard cap on the requests sent to each endpoint per phase (at most 10000000)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server and clients) to this file")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "loadtest: unexpected arguments:", flag.Args())
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
	}
	_, err := run(context.Background(), cfg, os.Stdout)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}
