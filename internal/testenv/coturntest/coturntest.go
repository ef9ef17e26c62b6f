// Package coturntest starts stock coturn turnserver processes on loopback
// for tests that need a foreign TURN server: Debian's coturn, configured
// for the TURN REST scheme (use-auth-secret) that relaygate mints for.
package coturntest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/internal/testenv"
)

// Server is a running turnserver on 127.0.0.1.
type Server struct {
	Addr string // 127.0.0.1:port, UDP and TCP
	Port int
	Proc *testenv.Proc
	Log  string // its log file
}

// LogTail is the last n lines of the server's log file.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.Log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return testenv.Tail(string(b), n)
}

// Require skips the test when turnserver is not installed.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("turnserver"); err != nil {
		t.Skipf("turnserver is not installed (apt-get install coturn): %v", err)
	}
}

// Start runs turnserver on a free loopback port (UDP and TCP) with
// use-auth-secret under secret and realm, plus extra arguments, and waits
// until it answers STUN. It tries three ports before failing the test, and
// logs each failed try's log tail. The process is killed when the test
// ends.
func Start(t testing.TB, secret, realm string, extra ...string) *Server {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	for attempt := range 3 {
		port := testenv.FreeUDPTCPPort(t)
		s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, Log: filepath.Join(dir, fmt.Sprintf("coturn-%d.log", attempt))}
		// -n: no configuration file, everything is on the command line.
		args := append([]string{"-n",
			"--listening-ip=127.0.0.1", "--listening-port=" + strconv.Itoa(port), "--relay-ip=127.0.0.1",
			"--use-auth-secret", "--static-auth-secret=" + secret, "--realm=" + realm,
			"--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--no-rfc5780", "--fingerprint",
			"--userdb=" + filepath.Join(dir, fmt.Sprintf("turndb-%d", attempt)),
			"--pidfile=" + filepath.Join(dir, fmt.Sprintf("turnserver-%d.pid", attempt)),
			"--log-file=" + s.Log, "--simple-log", "--no-stdout-log"}, extra...)
		cmd := exec.CommandContext(t.Context(), "turnserver", args...) //nolint:gosec // G204: turnserver from PATH on arguments this package wrote
		s.Proc = testenv.StartProcUntilCleanup(t, fmt.Sprintf("turnserver :%d", port), cmd)
		if stunAnswers(s.Addr, s.Proc, 15*time.Second) {
			return s
		}
		t.Logf("turnserver on port %d does not answer STUN (exited: %v); its log:\n%s\nits output:\n%s",
			port, s.Proc.Exited(), s.LogTail(20), testenv.Tail(s.Proc.Logs.String(), 10))
		if err := s.Proc.Kill(); err != nil {
			t.Error(err)
		}
	}
	t.Fatal("turnserver does not answer STUN on three free ports")
	return nil
}

// stunAnswers sends STUN Binding requests to addr until one is answered,
// p exits or timeout passes. Each try comes from a new socket: coturn
// listens on one socket per relay thread (SO_REUSEPORT) and the kernel
// steers one source port to one of them, which may not be serving yet, so
// a fixed source port can miss a server that answers everyone else.
func stunAnswers(addr string, p *testenv.Proc, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && !p.Exited() {
		if stunAnswersOnce(addr) {
			return true
		}
	}
	return false
}

// stunAnswersOnce sends one STUN Binding request to addr and reports
// whether it is answered within 200 ms.
func stunAnswersOnce(addr string) bool {
	var d net.Dialer
	c, err := d.DialContext(context.Background(), "udp4", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if _, err := c.Write(req.Raw); err != nil {
		return false
	}
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		n, err := c.Read(buf)
		if err != nil {
			return false
		}
		res := &stun.Message{Raw: buf[:n]}
		if res.Decode() == nil && res.Type == stun.BindingSuccess && res.TransactionID == req.TransactionID {
			return true
		}
	}
}
