package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// demoPkg is the demo command, built from this module (the replace
// directive points it at the working tree).
const demoPkg = "github.com/jwesession/jwesession/cmd/jwesession-demo"

// unsafeTag selects the demo's test-only leaky wrapper (wrap_unsafe.go).
const unsafeTag = "jwesession_unsafe_demo"

// testSecret is the demo's secret in every test: fixed, so a failure can be
// replayed, and random-looking enough to pass the weak-secret check.
const testSecret = "e2e-Xq7vKp2mR9sT4wYb6nJc8dLf3hGz5aUe"

// binDir holds the demo binaries built for this test process.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jwesession-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// programDirs are searched after PATH: Debian installs nginx in /usr/sbin,
// which is not on every user's PATH.
var programDirs = []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// installHint says which Debian package provides a program.
var installHint = map[string]string{
	"nginx":    "apt-get install nginx-light",
	"chromium": "apt-get install chromium",
}

// lookProgram finds name on PATH or in programDirs.
func lookProgram(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, d := range programDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// requireProgram returns the path of the program name. When it is missing
// the test is skipped with a message saying how to install it, except under
// CI=true, where a missing program fails the run: CI must never go green
// by skipping the suite.
func requireProgram(t testing.TB, name string) string {
	t.Helper()
	if p, ok := lookProgram(name); ok {
		return p
	}
	hint := installHint[name]
	if hint == "" {
		hint = "install it"
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("e2e: %s not found on PATH or in %v, and CI=true: CI must install it (%s)", name, programDirs, hint)
		return ""
	}
	t.Skipf("e2e: skipping: %s not found on PATH or in %v (%s to run this test; under CI=true this is a failure)", name, programDirs, hint)
	return ""
}

var (
	buildMu    sync.Mutex
	buildCache = map[string]string{}
)

// buildDemo builds the demo (with the given build tags) once per test
// process and returns the binary's path.
func buildDemo(t testing.TB, tags string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[tags]; ok {
		return p
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("e2e: the go command is needed to build the demo: %v", err)
	}
	name := "demo"
	if tags != "" {
		name += "-" + strings.ReplaceAll(tags, ",", "-")
	}
	out := filepath.Join(binDir, name)
	args := []string{"build", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, demoPkg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("e2e: go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	buildCache[tags] = out
	return out
}

// demo is a running demo process.
type demo struct {
	URL    string // http://127.0.0.1:PORT
	Addr   string // 127.0.0.1:PORT
	Cookie string // the cookie name it announced
	stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDemo starts the demo binary on 127.0.0.1 with a free port and the
// given extra flags, waits for its start-up line, and stops it when the
// test ends.
func startDemo(t testing.TB, bin string, flags ...string) *demo {
	t.Helper()
	args := append([]string{"-addr", "127.0.0.1:0"}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "JWESESSION_SECRET="+testSecret)
	cmd.Env = withoutEnv(cmd.Env, "JWESESSION_KEYS")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: starting the demo: %v", err)
	}
	d := &demo{stderr: &syncBuffer{}}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("demo %v stderr:\n%s", args, d.stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		defer close(exited)
		defer func() { _ = cmd.Wait() }()
		sc := bufio.NewScanner(pr)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(d.stderr, line)
			if !announced && strings.HasPrefix(line, "jwesession-demo listening on ") {
				announced = true
				lines <- line
			}
		}
		_, _ = io.Copy(d.stderr, pr)
	}()
	select {
	case line := <-lines:
		// jwesession-demo listening on http://HOST:PORT (cookie NAME, development cookies)
		rest := strings.TrimPrefix(line, "jwesession-demo listening on ")
		u, paren, ok := strings.Cut(rest, " (cookie ")
		if !ok {
			t.Fatalf("e2e: unexpected start-up line %q", line)
		}
		d.URL = u
		d.Addr = strings.TrimPrefix(u, "http://")
		d.Cookie, _, _ = strings.Cut(paren, ",")
	case <-exited:
		t.Fatalf("e2e: the demo exited before announcing its address:\n%s", d.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("e2e: the demo did not announce its address within 20s:\n%s", d.stderr.String())
	}
	waitHTTP(t, d.URL+"/healthz", 10*time.Second)
	return d
}

// withoutEnv drops the variable name from env.
func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// waitHTTP polls url until it answers 200 or the timeout passes.
func waitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Errorf("status %d", resp.StatusCode)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("e2e: %s not ready after %v: %v", url, timeout, last)
}

// freePort returns a TCP port on host that was free a moment ago.
func freePort(t testing.TB, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// isTokenName reports whether the cookie name holds the session token of
// the cookie name base (with its prefix, as the demo announced it): base
// itself or a chunk base.N. The companion (~r.) and the tombstone (~t.)
// are not the session: a sign-out leaves its tombstone behind, and a
// refreshed session carries its companion.
func isTokenName(name, base string) bool {
	if name == base {
		return true
	}
	n, ok := strings.CutPrefix(name, base+".")
	if !ok || n == "" {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// tombstoneName returns the name of the tombstone cookie for the session
// cookie name (with its prefix): __Host-session -> __Host-~t.session.
func tombstoneName(cookie string) string {
	if rest, ok := strings.CutPrefix(cookie, "__Host-"); ok {
		return "__Host-~t." + rest
	}
	return "~t." + cookie
}
