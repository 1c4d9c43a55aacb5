// Command loadtest drives a real net/http server on the loopback interface
// with many concurrent keep-alive clients and reports requests/s and p50/p99
// latency for six endpoints:
//
//   - a plain handler, no middleware;
//   - the plain handler setting the two headers jwesession adds to a
//     response that read a session (Cache-Control: private, no-cache and
//     Vary: Cookie), to show what they cost on their own;
//   - a page behind the jwesession middleware that never touches the session;
//   - a page behind the middleware that reads the session;
//   - a page that reads a gorilla/sessions CookieStore session;
//   - a page that reads an scs v2 session (memory store, LoadAndSave);
//
// and each endpoint's requests/s as a fraction of the plain handler's and of
// the plain handler with the two cache headers (the reference of a session
// read: the headers are a product rule), with the server CPU per request
// each adds over that reference. Every
// client carries a valid session cookie of each library and sends the same
// Cookie header to every endpoint, so only the server's work differs. The load comes from wrk (-client wrk, the default when wrk is on
// the PATH), a separate process as in production, or from Go clients in
// this process (-client go), which spend CPU in net/http's client on the
// same cores as the server. Either way the server and the load generator
// share the machine, so the figures are a comparison, not a capacity.
//
//	go run ./cmd/loadtest [-claims basic|rich] [-client auto|wrk|go] [-rounds 5] [-duration 2s] [-conns 64] [-warmup 1s] [-max-requests 2000000] [-cpuprofile FILE]
//
// -claims picks the session data every library holds: the five flat
// fields of the benchmarks (basic, the default) or the eleven-field
// profile with slices and a nested struct (rich).
//
// After a warm-up of each endpoint it measures in rounds: every round drives
// each endpoint once for -duration, in an order that rotates from round to
// round, and compares each endpoint's requests/s with the plain handler's in
// the same round. It reports the medians over the rounds.
//
// It listens on 127.0.0.1 only, on a port the system picks, and stops by
// itself: each phase lasts -duration (at most 2 minutes; whole seconds with
// wrk) or, with Go clients, -max-requests requests (at most 10 million),
// whichever comes first, for at most 20 rounds. The server counts every response to the
// measured endpoints that is not a 200 or carries a Set-Cookie as a failure.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"
	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/bench/internal/claims"
)

// Hard limits, whatever the flags say.
const (
	maxDuration    = 2 * time.Minute
	maxWarmup      = 30 * time.Second
	maxConns       = 1024
	maxRounds      = 20
	maxRequestsCap = 10_000_000
)

// config is one load test.
type config struct {
	duration    time.Duration // per endpoint, measured
	warmup      time.Duration // per endpoint, before measuring
	conns       int           // concurrent clients, each with its own keep-alive connection
	rounds      int           // measured rounds, each driving every endpoint once
	maxRequests int64         // per endpoint and phase (Go clients only)
	client      string        // "go", or the path of wrk
	wrkThreads  int           // wrk's -t
	claims      string        // the session data: "basic" (the default) or "rich"
	labels      bool          // label each request's CPU samples with its path (-cpuprofile)
}

func (c config) validate() error {
	switch {
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("-duration must be more than 0 and at most %v", maxDuration)
	case c.warmup < 0 || c.warmup > maxWarmup:
		return fmt.Errorf("-warmup must be 0 to %v", maxWarmup)
	case c.rounds < 1 || c.rounds > maxRounds:
		return fmt.Errorf("-rounds must be 1 to %d", maxRounds)
	case c.conns < 1 || c.conns > maxConns:
		return fmt.Errorf("-conns must be 1 to %d", maxConns)
	case c.maxRequests < 1 || c.maxRequests > maxRequestsCap:
		return fmt.Errorf("-max-requests must be 1 to %d", maxRequestsCap)
	case c.client == "":
		return errors.New("no client: go, or the path of wrk")
	case c.client != "go" && (c.wrkThreads < 1 || c.wrkThreads > 64):
		return errors.New("-wrk-threads must be 1 to 64")
	case c.claims != "" && c.claims != claims.Name[claims.Data]() && c.claims != claims.Name[claims.Rich]():
		return errors.New("-claims must be basic or rich")
	}
	return nil
}

// endpoint is one of the server's pages.
type endpoint struct {
	name, path string
}

var endpoints = []endpoint{
	{"plain handler", "/plain"},
	{"plain handler + the two cache headers", "/plain-headers"},
	{"untouched page behind the middleware", "/untouched"},
	{"session read behind the middleware", "/read"},
	{"gorilla/sessions CookieStore read", "/gorilla"},
	{"scs v2 read (memory store)", "/scs"},
}

// headersRef is the index in endpoints of the plain handler with the two
// cache headers: the reference a session read is held to.
const headersRef = 1

// gorilla/sessions and scs keep values as interface{} and gob them.
func init() {
	gob.Register(claims.Data{})
	gob.Register(claims.Rich{})
}

// Cookie names of the peers (jwesession's is its default).
const (
	gorillaCookie = "gorilla-session"
	scsCookie     = "scs-session"
)

// peers are the session libraries compared under the same load.
type peers struct {
	gorilla *sessions.CookieStore
	scs     *scs.SessionManager
}

// newPeers configures gorilla/sessions and scs as their documentation
// recommends, with fresh random keys.
func newPeers() (*peers, error) {
	var hashKey, blockKey [32]byte
	if _, err := rand.Read(hashKey[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(blockKey[:]); err != nil {
		return nil, err
	}
	g := sessions.NewCookieStore(hashKey[:], blockKey[:])
	g.Options = &sessions.Options{Path: "/", MaxAge: int((8 * time.Hour) / time.Second), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	sm := scs.New()
	sm.Lifetime = 8 * time.Hour
	sm.Cookie.Name = scsCookie
	sm.Cookie.Secure = true
	return &peers{gorilla: g, scs: sm}, nil
}

// result is one endpoint's measurement: one phase, or the medians of
// several rounds.
type result struct {
	endpoint
	ratios   []float64     // requests/s ÷ the plain handler's in the same round, per round
	ratio    float64       // their median
	refs     []float64     // requests/s ÷ the plain handler with the cache headers', per round
	ref      float64       // their median
	srvOver  time.Duration // the server CPU per request over that handler's, the median of the rounds' differences
	requests int64         // completed in the measured phase(s)
	errors   int64         // transport errors, and responses the server counted as failed (not 200, or a Set-Cookie)
	elapsed  time.Duration // of the measured phase
	rate     float64       // requests per second
	p50, p99 time.Duration // client-side latency
	cpuPerOp time.Duration // CPU (server + clients) per request, 0 if unknown
	srvPerOp time.Duration // the server's share, 0 if unknown (clients in the server's process)
}

// newServer returns the handler: the measured endpoints, and /signin,
// /signin/gorilla and /signin/scs, which hand out the cookies the clients
// carry. Each response to a measured endpoint that is not a 200 or carries
// a Set-Cookie adds one to failed.
func newServer[D claims.Claims](m *jwesession.Manager[D], p *peers, failed *atomic.Int64) http.Handler {
	body := []byte("ok\n")
	value := claims.Sample[D]()
	key := value.Key()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	})
	mux.HandleFunc("GET /plain-headers", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "private, no-cache")
		h.Set("Vary", "Cookie")
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
		if d, ok := s.Get(); !ok || d.Key() != key {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write(body)
	})))
	mux.Handle("POST /signin", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r.Context())
		if err == nil {
			err = s.SignIn(value)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.HandleFunc("GET /gorilla", func(w http.ResponseWriter, r *http.Request) {
		s, err := p.gorilla.Get(r, gorillaCookie)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if d, ok := s.Values["data"].(D); !ok || d.Key() != key {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write(body)
	})
	mux.HandleFunc("POST /signin/gorilla", func(w http.ResponseWriter, r *http.Request) {
		s, _ := p.gorilla.New(r, gorillaCookie)
		s.Values["data"] = value
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("GET /scs", p.scs.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, ok := p.scs.Get(r.Context(), "data").(D); !ok || d.Key() != key {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write(body)
	})))
	mux.Handle("POST /signin/scs", p.scs.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.scs.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		p.scs.Put(r.Context(), "data", value)
		w.WriteHeader(http.StatusNoContent)
	})))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/signin") {
			mux.ServeHTTP(w, r)
			return
		}
		sw := statusWriter{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(&sw, r)
		if sw.status != http.StatusOK || len(w.Header()["Set-Cookie"]) != 0 {
			failed.Add(1)
		}
	})
}

// labelled tags the CPU samples of each request's handler with its path
// (pprof's -tagfocus endpoint=/read), so a profile of the whole run shows
// what one endpoint spends. Only with -cpuprofile: labels cost time.
func labelled(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.Do(r.Context(), pprof.Labels("endpoint", r.URL.Path), func(context.Context) {
			h.ServeHTTP(w, r)
		})
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// run starts the server, drives each endpoint in turn, prints the report to
// out and returns the results.
func run(ctx context.Context, cfg config, out io.Writer) ([]result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.claims == claims.Name[claims.Rich]() {
		return runWith[claims.Rich](ctx, cfg, out)
	}
	return runWith[claims.Data](ctx, cfg, out)
}

// runWith is run with session data of type D.
func runWith[D claims.Claims](ctx context.Context, cfg config, out io.Writer) ([]result, error) {
	// A safety net on top of the per-phase bounds.
	ctx, cancel := context.WithTimeout(ctx, time.Duration(len(endpoints))*(time.Duration(cfg.rounds)*(cfg.duration+time.Second)+cfg.warmup+time.Second)+time.Minute)
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
	m, err := jwesession.New[D](jwesession.Config{
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
	var failed atomic.Int64
	p, err := newPeers()
	if err != nil {
		return nil, err
	}
	h := newServer(m, p, &failed)
	if cfg.labels {
		h = labelled(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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

	var cookies []string
	for _, si := range []struct{ path, name string }{{"/signin", m.CookieName()}, {"/signin/gorilla", gorillaCookie}, {"/signin/scs", scsCookie}} {
		c, err := signIn(ctx, client, base+si.path, si.name)
		if err != nil {
			return nil, err
		}
		cookies = append(cookies, c)
	}
	cookie := strings.Join(cookies, "; ")

	duration, warmup := cfg.duration, cfg.warmup
	load := "Go clients in the server's process"
	if cfg.client != "go" {
		duration, warmup = roundSeconds(duration), roundSeconds(warmup)
		load = fmt.Sprintf("wrk (%d thread(s), a separate process)", min(cfg.wrkThreads, cfg.conns))
	}
	fmt.Fprintf(out, "Loopback load test: %d keep-alive connections from %s, %v per endpoint after a %v warm-up, GOMAXPROCS %d, %d CPUs, %s, claims=%s.\n\n",
		cfg.conns, load, duration, warmup, runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version(), claims.Name[D]())
	// Warm every endpoint up, then measure in rounds, each endpoint once
	// per round in a rotating order, so a slow spell of this shared
	// machine lands on every endpoint alike; each round's rates are
	// compared with the same round's plain handler.
	if warmup > 0 {
		for _, ep := range endpoints {
			if _, err := driveWith(ctx, cfg, client, base, ep, cookie, warmup); err != nil {
				return nil, err
			}
		}
	}
	rounds := make([][]result, len(endpoints))
	for round := range cfg.rounds {
		for j := range endpoints {
			i := (j + round) % len(endpoints)
			failed.Store(0)
			r, err := driveWith(ctx, cfg, client, base, endpoints[i], cookie, duration)
			if err != nil {
				return nil, err
			}
			r.errors += failed.Load()
			rounds[i] = append(rounds[i], r)
		}
	}
	results := summarize(rounds)
	report(out, results)
	for _, r := range results {
		if r.errors > 0 {
			return results, fmt.Errorf("%s: %d failed requests", r.name, r.errors)
		}
	}
	return results, nil
}

// signIn asks url for a session and returns the name=value pair of its
// cookie.
func signIn(ctx context.Context, client *http.Client, url, name string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, nil)
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
	return "", fmt.Errorf("sign-in at %s: status %d and no %s cookie", url, res.StatusCode, name)
}

// roundSeconds rounds a positive d up to whole seconds, as wrk runs.
func roundSeconds(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return max(time.Second, (d + time.Second - 1).Truncate(time.Second))
}

// driveWith drives ep for d with the configured client.
func driveWith(ctx context.Context, cfg config, client *http.Client, base string, ep endpoint, cookie string, d time.Duration) (result, error) {
	if cfg.client == "go" {
		return drive(ctx, client, base, ep, cookie, cfg.conns, d, cfg.maxRequests)
	}
	cpu0 := cpuTime()
	st, wrkCPU, err := driveWrk(ctx, cfg.client, base, ep, cookie, cfg.conns, cfg.wrkThreads, d)
	serverCPU := cpuTime() - cpu0
	if err != nil {
		return result{endpoint: ep}, err
	}
	r := result{endpoint: ep, requests: st.requests, errors: st.errors, elapsed: st.elapsed, rate: st.rate, p50: st.p50, p99: st.p99}
	if r.requests == 0 {
		return r, errors.New(ep.name + ": no request completed")
	}
	if serverCPU > 0 {
		r.cpuPerOp = (serverCPU + wrkCPU) / time.Duration(r.requests)
		r.srvPerOp = serverCPU / time.Duration(r.requests)
	}
	return r, nil
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
				// The server counts a status other than 200 or a
				// Set-Cookie; the client counts transport errors.
				own = append(own, time.Since(t0))
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

// summarize turns each endpoint's rounds into one result: requests and
// errors summed, the other figures the median over the rounds, and the ratio
// to the plain handler (endpoints[0]) taken round by round.
func summarize(rounds [][]result) []result {
	out := make([]result, len(rounds))
	for i, rs := range rounds {
		r := result{endpoint: rs[0].endpoint}
		var rates, p50s, p99s, cpus, srvs, over []float64
		for k, x := range rs {
			r.requests += x.requests
			r.errors += x.errors
			r.elapsed += x.elapsed
			rates = append(rates, x.rate)
			p50s = append(p50s, float64(x.p50))
			p99s = append(p99s, float64(x.p99))
			cpus = append(cpus, float64(x.cpuPerOp))
			srvs = append(srvs, float64(x.srvPerOp))
			if plain := rounds[0][k].rate; plain > 0 {
				r.ratios = append(r.ratios, x.rate/plain)
			}
			if len(rounds) > headersRef {
				ref := rounds[headersRef][k]
				if ref.rate > 0 {
					r.refs = append(r.refs, x.rate/ref.rate)
				}
				if x.srvPerOp > 0 && ref.srvPerOp > 0 {
					over = append(over, float64(x.srvPerOp-ref.srvPerOp))
				}
			}
		}
		r.rate = median(rates)
		r.p50, r.p99 = time.Duration(median(p50s)), time.Duration(median(p99s))
		r.cpuPerOp, r.srvPerOp = time.Duration(median(cpus)), time.Duration(median(srvs))
		r.ratio, r.ref = median(r.ratios), median(r.refs)
		r.srvOver = time.Duration(median(over))
		out[i] = r
	}
	return out
}

// median of v, 0 when empty; v is left as it was.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Sorted(slices.Values(v))
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// report prints the results as a markdown table.
func report(out io.Writer, results []result) {
	fmt.Fprintln(out, "| endpoint | requests | requests/s | p50 | p99 | CPU per request | server's share | server CPU over plain + headers | requests/s ÷ plain | ÷ plain + headers | ÷ plain + headers, per round |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for i, r := range results {
		per := make([]string, len(r.refs))
		for k, x := range r.refs {
			per[k] = fmt.Sprintf("%.3f", x)
		}
		over := "—"
		if i > headersRef && r.srvPerOp > 0 {
			over = fmt.Sprintf("%+.1f µs", float64(r.srvOver)/1e3)
		}
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %.3f | %.3f | %s |\n", r.name, r.requests, r.rate, us(r.p50), us(r.p99), cpuUS(r.cpuPerOp), cpuUS(r.srvPerOp), over, r.ratio, r.ref, strings.Join(per, " "))
	}
	if len(results) > 0 && len(results[0].ratios) > 1 {
		fmt.Fprintln(out, "\nMedians over the rounds; the ratios (and the server CPU over the reference) are taken round by round against the same round's plain handler, and plain handler + the two cache headers.")
	}
	for _, r := range results {
		if r.errors > 0 {
			fmt.Fprintf(out, "\n%s: %d failed requests (transport or socket error, status other than 200, or a Set-Cookie on a read)\n", r.name, r.errors)
		}
	}
}

// cpuUS prints a CPU time per request, or a dash when unknown.
func cpuUS(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f µs", float64(d)/1e3)
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }

func main() {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 2*time.Second, "how long to drive each endpoint in each round (at most 2m)")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured load before each endpoint's measurement (at most 30s)")
	flag.IntVar(&cfg.rounds, "rounds", 5, "measured rounds, each driving every endpoint for -duration (at most 20)")
	flag.IntVar(&cfg.conns, "conns", 64, "concurrent clients, each on its own keep-alive connection (at most 1024)")
	flag.Int64Var(&cfg.maxRequests, "max-requests", 2_000_000, "hard cap on the requests sent to each endpoint per phase (at most 10000000)")
	client := flag.String("client", "auto", "load generator: wrk (a separate process), go (clients in this process), or auto (wrk when it is on the PATH)")
	flag.IntVar(&cfg.wrkThreads, "wrk-threads", 1, "wrk's threads (-t)")
	flag.StringVar(&cfg.claims, "claims", "basic", "the session data: basic (five flat fields) or rich (eleven fields, slices, a nested struct)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server and clients) to this file, each handler's samples labelled endpoint=PATH")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "loadtest: unexpected arguments:", flag.Args())
		os.Exit(2)
	}
	switch *client {
	case "go":
		cfg.client = "go"
	case "wrk", "auto":
		path, err := exec.LookPath("wrk")
		switch {
		case err == nil:
			cfg.client = path
		case *client == "auto":
			fmt.Fprintln(os.Stderr, "loadtest: wrk is not on the PATH (Debian: apt-get install wrk); using Go clients in this process")
			cfg.client = "go"
		default:
			fmt.Fprintln(os.Stderr, "loadtest: -client wrk:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "loadtest: -client must be auto, wrk or go")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		cfg.labels = true
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
