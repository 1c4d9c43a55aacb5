package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkStats is what one wrk run reports.
type wrkStats struct {
	requests int64         // completed
	elapsed  time.Duration // wrk's own measured time
	rate     float64       // Requests/sec
	p50, p99 time.Duration // from --latency
	errors   int64         // non-2xx/3xx responses and socket errors
}

// wrkSeconds is d as wrk's -d argument: whole seconds, at least one (wrk
// has no sub-second unit).
func wrkSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))) + "s"
}

// driveWrk runs wrk against ep for d with conns connections on threads
// threads, every request carrying cookie, and returns wrk's figures and the
// CPU time wrk itself used.
func driveWrk(ctx context.Context, wrk, base string, ep endpoint, cookie string, conns, threads int, d time.Duration) (wrkStats, time.Duration, error) {
	args := []string{
		"-t", strconv.Itoa(min(threads, conns)),
		"-c", strconv.Itoa(conns),
		"-d", wrkSeconds(d),
		"--timeout", "10s",
		"--latency",
		"-H", "Cookie: " + cookie,
		base + ep.path,
	}
	// wrk stops by itself after -d; the context is a safety net.
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrk, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return wrkStats{}, 0, fmt.Errorf("%s: wrk: %w: %s", ep.name, err, strings.TrimSpace(stderr.String()))
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	st, err := parseWrk(stdout.String())
	if err != nil {
		return st, cpu, fmt.Errorf("%s: %w\nwrk printed:\n%s", ep.name, err, stdout.String())
	}
	return st, cpu, nil
}

// parseWrk reads wrk 4's report (run with --latency).
func parseWrk(out string) (wrkStats, error) {
	var st wrkStats
	var haveRate, haveReq, have50, have99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "50%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return st, err
			}
			st.p50, have50 = d, true
		case len(f) == 2 && f[0] == "99%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return st, err
			}
			st.p99, have99 = d, true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return st, fmt.Errorf("wrk request count %q: %w", f[0], err)
			}
			d, err := parseWrkDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return st, err
			}
			st.requests, st.elapsed, haveReq = n, d, true
		case len(f) == 2 && f[0] == "Requests/sec:":
			r, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return st, fmt.Errorf("wrk rate %q: %w", f[1], err)
			}
			st.rate, haveRate = r, true
		case len(f) == 5 && f[0] == "Non-2xx" && f[3] == "responses:":
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return st, fmt.Errorf("wrk non-2xx count %q: %w", f[4], err)
			}
			st.errors += n
		case len(f) > 2 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				if err != nil {
					return st, fmt.Errorf("wrk socket errors %q: %w", f[i], err)
				}
				st.errors += n
			}
		}
	}
	if !haveRate || !haveReq || !have50 || !have99 {
		return st, errors.New("wrk's report lacks requests, Requests/sec or the 50%/99% latency lines")
	}
	return st, nil
}

// parseWrkDuration reads wrk's durations: 812.00us, 1.23ms, 5.00s, 1.02m.
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   float64
	}{{"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 {
				break
			}
			return time.Duration(v * u.unit), nil
		}
	}
	return 0, fmt.Errorf("wrk duration %q", s)
}
