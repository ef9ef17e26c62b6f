// Package redistest starts real Redis deployments for tests from the
// redis-server binary: a standalone server (Start), a Cluster of masters
// (StartCluster) and a Sentinel set of a master, replicas and sentinels
// (StartSentinel). Every server listens on a free loopback port, keeps its
// files in the test's t.TempDir(), logs to a buffer that is attached to
// the test's output when the test fails, and is stopped in t.Cleanup. Only
// processes the package started are ever signalled.
//
// Start-up waits are bounded (StartTimeout): a deployment that is not
// ready by then fails the test with the servers' logs, never hangs it.
// Tests skip when redis-server is not on PATH (CI installs it: .ci/run).
//
// It is for tests only. It may import go-redis, internal/testenv and the
// standard library, nothing else.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/internal/testenv"
)

// StartTimeout bounds how long a deployment may take to be ready: servers
// up, a Cluster agreeing on its slots, sentinels knowing each other and the
// replicas. On loopback it takes a second or two (Sentinel: up to five,
// its discovery runs on two-second hellos); the rest is for a loaded
// machine.
const StartTimeout = 30 * time.Second

// startAttempts is how often a server is started on fresh ports when the
// ones picked were taken meanwhile (another test, another process).
const startAttempts = 3

// pollEvery is the poll period of the start-up and failover waits.
const pollEvery = 50 * time.Millisecond

// Server is one redis-server process a test started.
type Server struct {
	Addr string // 127.0.0.1:Port
	Port int
	Dir  string // its working directory, in the test's TempDir
	bus  int    // a second free port, the Cluster bus of cluster nodes
	name string
	proc *testenv.Proc
	c    *redis.Client
	sc   *redis.SentinelClient // of sentinels
}

// Logs returns what the server has logged so far.
func (s *Server) Logs() string { return s.proc.Logs.String() }

// Kill stops the server with SIGKILL, as a crash would, and waits for it
// to exit.
func (s *Server) Kill() error { return s.proc.Kill() }

// Exited reports whether the server has exited.
func (s *Server) Exited() bool { return s.proc.Exited() }

// Client returns the server's own client (of this server alone, no
// retries), which the package closes when the test ends.
func (s *Server) Client() *redis.Client { return s.c }

// clientOptions are those of the package's clients of one server: no
// retries, so that a poll sees each failure.
func clientOptions(addr string) *redis.Options {
	return &redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second}
}

// binary returns the redis-server binary, skipping the test when there is
// none.
func binary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	return bin
}

// Start starts a standalone redis-server with conf (extra configuration
// directives, one a line, say "replicaof 127.0.0.1 6379") and waits until
// it answers PING.
func Start(tb testing.TB, conf ...string) *Server {
	tb.Helper()
	return start(tb, "redis", func(port, _ int) []string { return conf }, false)
}

// start starts a server whose configuration beyond the common directives
// extra returns for its port and a second free port (the Cluster bus),
// retrying on fresh ports when the server exits before it answers (ports
// taken meanwhile). sentinel starts it in Sentinel mode.
func start(tb testing.TB, name string, extra func(port, port2 int) []string, sentinel bool) *Server {
	tb.Helper()
	bin := binary(tb)
	var errs []error
	for attempt := range startAttempts {
		port, port2 := testenv.FreeTCPPort(tb), testenv.FreeTCPPort(tb)
		dir := filepath.Join(tb.TempDir(), fmt.Sprintf("%s-%d", name, port))
		if err := os.Mkdir(dir, 0o700); err != nil {
			tb.Fatal(err)
		}
		conf := append([]string{
			"bind 127.0.0.1",
			"port " + strconv.Itoa(port),
			"dir " + dir,
			"daemonize no",
			`logfile ""`,
			`save ""`,
			"appendonly no",
		}, extra(port, port2)...)
		file := filepath.Join(dir, "redis.conf")
		if err := os.WriteFile(file, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
		args := []string{file}
		if sentinel {
			args = append(args, "--sentinel") // what redis-sentinel is: the same binary
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, Dir: dir, bus: port2, name: fmt.Sprintf("%s %d", name, port)}
		// Not the test's context: that ends before the cleanup that stops
		// the server and shows its logs.
		cmd := exec.CommandContext(context.Background(), bin, args...) //nolint:gosec // G204: redis-server from PATH on a config this test wrote
		cmd.Dir = dir
		dieWithParent(cmd)
		p, err := testenv.StartProc(s.name, cmd)
		if err != nil {
			tb.Fatal(err)
		}
		s.proc, s.c = p, redis.NewClient(clientOptions(s.Addr))
		if sentinel {
			s.sc = redis.NewSentinelClient(clientOptions(s.Addr))
		}
		tb.Cleanup(func() {
			_ = s.c.Close()
			if s.sc != nil {
				_ = s.sc.Close()
			}
			if err := s.Kill(); err != nil {
				tb.Error(err)
			}
			if tb.Failed() {
				tb.Logf("%s logs:\n%s", s.name, testenv.Tail(s.Logs(), 60))
			}
		})
		err = testenv.Poll(StartTimeout, pollEvery, func() error {
			if p.Exited() {
				return errExited
			}
			return s.c.Ping(tb.Context()).Err()
		})
		if err == nil {
			return s
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt+1, err))
		if !errors.Is(err, errExited) {
			break // up but not answering: new ports will not help
		}
	}
	tb.Fatalf("%s did not start: %v", name, errors.Join(errs...))
	return nil
}

// errExited means a server exited before it answered.
var errExited = errors.New("exited before answering (port taken?)")

// waitFor polls cond until it returns nil, failing tb after timeout with
// cond's last error and the logs of servers.
func waitFor(tb testing.TB, what string, timeout time.Duration, servers []*Server, cond func(ctx context.Context) error) {
	tb.Helper()
	err := testenv.Poll(timeout, pollEvery, func() error { return cond(tb.Context()) })
	if err != nil {
		var logs strings.Builder
		for _, s := range servers {
			fmt.Fprintf(&logs, "\n--- %s:\n%s", s.name, testenv.Tail(s.Logs(), 30))
		}
		tb.Fatalf("waiting for %s: %v%s", what, err, logs.String())
	}
}

// infoField returns field's value in an INFO reply.
func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}
