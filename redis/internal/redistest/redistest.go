// Package redistest starts redis-server processes for tests: a server,
// a three-master Cluster, a Sentinel, each on free loopback ports with a
// temporary directory of its own, stopped when the test ends.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Without redis-server (Debian's package redis-server) the tests skip,
// except under CI=true, where they fail.

// RequireProgram returns the path of name, or skips the test (fails it
// under CI=true) when it is not installed.
func RequireProgram(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found: install it with `apt-get install -y redis-server`", name)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a missing program fails the test)", msg)
	}
	t.Skipf("skipping: %s", msg)
	return ""
}

// Server is one redis-server process.
type Server struct {
	t    testing.TB
	dir  string
	Port int
	args []string
	cmd  *exec.Cmd
}

// FreePort returns a loopback port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartServer starts a persistent (appendonly) redis-server on a free
// loopback port, stopped when the test ends.
func StartServer(t testing.TB, extra ...string) *Server {
	t.Helper()
	RequireProgram(t, "redis-server")
	s := &Server{t: t, dir: t.TempDir(), Port: FreePort(t), args: extra}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's HOST:PORT.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Start runs the server (again, on the same port and directory) and waits
// until it answers.
func (s *Server) Start() {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--daemonize", "no", "--logfile", filepath.Join(s.dir, "redis.log"),
	}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out, err := s.CLI("PING"); err == nil && strings.TrimSpace(out) == "PONG" {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server on %d did not answer in 10s:\n%s", s.Port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server (SIGTERM: it flushes its append-only file) and
// waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// CLI runs redis-cli against the server.
func (s *Server) CLI(args ...string) (string, error) {
	out, err := exec.Command("redis-cli", append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port)}, args...)...).CombinedOutput()
	return string(out), err
}

// MustCLI is cli, failing the test on an error.
func (s *Server) MustCLI(args ...string) string {
	s.t.Helper()
	out, err := s.CLI(args...)
	if err != nil {
		s.t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(out)
}

// StartCluster starts three masters with cluster mode on and joins them.
func StartCluster(t testing.TB) []*Server {
	t.Helper()
	RequireProgram(t, "redis-cli")
	var nodes []*Server
	var addrs []string
	for range 3 {
		n := StartServer(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		nodes = append(nodes, n)
		addrs = append(addrs, n.Addr())
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range nodes {
		for !strings.Contains(n.MustCLI("CLUSTER", "INFO"), "cluster_state:ok") {
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok after 20s: %s", n.MustCLI("CLUSTER", "INFO"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nodes
}

// StartSentinel starts one Sentinel watching the master srv as "main".
func StartSentinel(t testing.TB, master *Server) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), Port: FreePort(t)}
	conf := filepath.Join(s.dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor main 127.0.0.1 %d 1\nsentinel resolve-hostnames no\n", s.Port, s.dir, master.Port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command("redis-server", conf, "--sentinel", "--logfile", filepath.Join(s.dir, "sentinel.log"))
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := s.CLI("SENTINEL", "get-master-addr-by-name", "main")
		if err == nil && strings.Contains(out, strconv.Itoa(master.Port)) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sentinel not ready: %v %s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
