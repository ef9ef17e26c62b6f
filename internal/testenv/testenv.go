// Package testenv holds helpers shared by this module's tests: signing
// tokens, finding free loopback ports, collecting a child's output, building
// the module's commands, running them as child processes, waiting for their
// log lines, and polling for a state with a deadline (Eventually).
//
// It is for tests only. It may import golang-jwt and the standard library,
// nothing else.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SignToken signs an HS256 JWT for sub with secret, valid for ttl from now.
func SignToken(secret, sub string, ttl time.Duration) (string, error) {
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}).SignedString([]byte(secret))
}

// Token is SignToken that fails t on an error.
func Token(t testing.TB, secret, sub string, ttl time.Duration) string {
	t.Helper()
	s, err := SignToken(secret, sub, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, "udp")
}

// FreeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, "tcp")
}

// freePort binds port 0 of 127.0.0.1 on network ("udp" or "tcp"), closes
// it again and returns the port the kernel chose.
func freePort(t testing.TB, network string) int {
	t.Helper()
	var (
		lc   net.ListenConfig
		c    io.Closer
		addr net.Addr
		err  error
	)
	if network == "udp" {
		var pc net.PacketConn
		if pc, err = lc.ListenPacket(t.Context(), network, "127.0.0.1:0"); err == nil {
			c, addr = pc, pc.LocalAddr()
		}
	} else {
		var l net.Listener
		if l, err = lc.Listen(t.Context(), network, "127.0.0.1:0"); err == nil {
			c, addr = l, l.Addr()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return int(ap.Port())
}

// Buffer collects output, say a child's stderr, and is safe for concurrent
// use. Every Write wakes those waiting on a Snapshot's channel. The zero
// value is ready to use.
type Buffer struct {
	mu   sync.Mutex // guards b and wake
	b    bytes.Buffer
	wake chan struct{}
}

// Write appends p and wakes the waiters.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.b.Write(p)
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
	return n, err
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Snapshot returns what was written so far and a channel closed on the
// next Write.
func (b *Buffer) Snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wake == nil {
		b.wake = make(chan struct{})
	}
	return b.b.String(), b.wake
}

// BuildCommands builds the main packages pkgs (import paths or patterns
// such as "../cmd/relaynode") into dir, with the race detector when race is
// set, and returns each binary's path by its name (the package's last
// element). It needs no testing.T, so TestMain or a sync.Once can call it.
func BuildCommands(dir string, race bool, pkgs ...string) (map[string]string, error) {
	// go test puts the go command that runs it first on PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("find the go command: %w", err)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if race {
		args = append(args, "-race")
	}
	args = append(args, pkgs...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...) //nolint:gosec // G204: the go command from PATH; arguments built here from the caller's packages
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	bins := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		name := path.Base(filepath.ToSlash(p))
		bins[name] = filepath.Join(dir, name)
	}
	return bins, nil
}

// LogLine finds the first JSON log line in logs whose "msg" is msg.
func LogLine(logs, msg string) (map[string]any, bool) {
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			return m, true
		}
	}
	return nil, false
}

// Errors of WaitLog.
var (
	ErrExited  = errors.New("exited before logging it")
	ErrTimeout = errors.New("not logged in time")
)

// WaitLog waits until logs hold a JSON line whose "msg" is msg and returns
// it. It returns ErrExited when exited is closed first (after a last look at
// logs) and ErrTimeout when timeout passes; a nil exited never closes.
func WaitLog(logs *Buffer, msg string, exited <-chan struct{}, timeout time.Duration) (map[string]any, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s, wake := logs.Snapshot()
		if m, ok := LogLine(s, msg); ok {
			return m, nil
		}
		select {
		case <-wake:
		case <-exited:
			if m, ok := LogLine(logs.String(), msg); ok {
				return m, nil
			}
			return nil, ErrExited
		case <-deadline.C:
			return nil, ErrTimeout
		}
	}
}

// ListeningMsg is what relaygate logs, with its address in "addr", once it
// accepts connections.
const ListeningMsg = "relaygate listening"

// GatewayAddr waits for relaygate's ListeningMsg in logs and returns its
// address (host:port), as WaitLog does.
func GatewayAddr(logs *Buffer, exited <-chan struct{}, timeout time.Duration) (string, error) {
	m, err := WaitLog(logs, ListeningMsg, exited, timeout)
	if err != nil {
		return "", err
	}
	addr, _ := m["addr"].(string)
	return addr, nil
}

// RunUntilCleanup runs run (a Run method: long-lived work that returns nil
// once its ctx is done) in a goroutine until the test ends, then cancels
// its ctx, waits for it, and fails the test unless it returned nil.
func RunUntilCleanup(tb testing.TB, name string, run func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("%s = %v, want nil once ctx ends", name, err)
		}
	})
}

// WaitDone waits up to timeout for the result of what (say "run()", a func
// whose ctx the test cancelled) on done, and fails t with t.Errorf unless
// it is nil, or when it does not come in time. It does not stop the test,
// so it serves in Cleanup too.
func WaitDone(t testing.TB, what string, done <-chan error, timeout time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s = %v, want nil once its ctx is done", what, err)
		}
	case <-time.After(timeout):
		t.Errorf("%s did not return within %v of its ctx ending", what, timeout)
	}
}
