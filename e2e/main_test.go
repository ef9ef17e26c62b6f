package e2e

import (
	"context"
	"encoding/json"
	"errors"
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

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

// helperEnv selects a helper mode when the test binary is re-executed
// inside a network namespace (see TestMain).
const helperEnv = "RELAYGATE_E2E_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	code := m.Run()
	cleanupBinaries()
	os.Exit(code)
}

// binDir holds the binaries built for this test binary's run.
var binDir struct {
	once sync.Once
	path string
	err  error
}

// builtBinary is one binary built at most once per test binary.
type builtBinary struct {
	once sync.Once
	path string
	err  error
}

var built = map[string]*builtBinary{"relaynode": {}, "relaygate": {}}

// cleanupBinaries removes what buildCmd built.
func cleanupBinaries() {
	if binDir.path != "" {
		os.RemoveAll(binDir.path)
	}
}

// buildCmd returns the path of cmd/<name> built from this tree, with the race
// detector when the tests run with it, so a race inside a child process
// fails the test too (the child exits 66). RELAYGATE_E2E_BINARIES names a
// directory of prebuilt binaries to use instead.
func buildCmd(t *testing.T, name string) string {
	t.Helper()
	b := built[name]
	b.once.Do(func() {
		if dir := os.Getenv("RELAYGATE_E2E_BINARIES"); dir != "" {
			b.path = filepath.Join(dir, name)
			_, b.err = os.Stat(b.path)
			return
		}
		binDir.once.Do(func() { binDir.path, binDir.err = os.MkdirTemp("", "relaygate-e2e-bin-") })
		if b.err = binDir.err; b.err != nil {
			return
		}
		var bins map[string]string
		if bins, b.err = testenv.BuildCommands(binDir.path, raceEnabled, "github.com/relaygate/relaygate/cmd/"+name); b.err != nil {
			return
		}
		b.path = bins[name]
	})
	if b.err != nil {
		t.Fatalf("building %s: %v", name, b.err)
	}
	return b.path
}

// proc is a child process the test started; it is stopped in Cleanup.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *testenv.Buffer // stdout and stderr, unless the caller took stdout
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// startProc starts argv with extra environment. When stdout is not nil it
// gets the child's stdout; stderr always goes to the proc's logs. The child
// gets SIGTERM when the test ends (SIGKILL 10s later) and must have exited
// by then; its logs are printed if the test failed.
func startProc(t *testing.T, name string, env []string, stdin io.Reader, stdout io.Writer, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), logs: &testenv.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdin = stdin
	p.cmd.Stdout = p.logs
	if stdout != nil {
		p.cmd.Stdout = stdout
	}
	p.cmd.Stderr = p.logs
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- %s (pid %d) output:\n%s", name, p.cmd.Process.Pid, tail(p.logs.String(), 60))
		}
	})
	return p
}

// stop sends SIGTERM, then SIGKILL after 10s, and waits for the exit.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not stop within 10s of SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the child has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitLog waits until a JSON log line of the child has msg, and returns
// that line's field. It fails the test when the child exits first or
// timeout passes.
func (p *proc) waitLog(t *testing.T, msg, field string, timeout time.Duration) string {
	t.Helper()
	m, err := testenv.WaitLog(p.logs, msg, p.done, timeout)
	switch {
	case errors.Is(err, testenv.ErrExited):
		t.Fatalf("%s exited (%v) before logging %q:\n%s", p.name, p.err, msg, tail(p.logs.String(), 40))
	case errors.Is(err, testenv.ErrTimeout):
		t.Fatalf("%s did not log %q within %v:\n%s", p.name, msg, timeout, tail(p.logs.String(), 40))
	}
	v, _ := m[field].(string)
	return v
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// requireCleanExit checks that p exited with status 0 and reported no data race.
func requireCleanExit(t *testing.T, p *proc) {
	t.Helper()
	if strings.Contains(p.logs.String(), "WARNING: DATA RACE") {
		t.Errorf("%s reported a data race:\n%s", p.name, tail(p.logs.String(), 80))
	}
	if p.err != nil {
		t.Errorf("%s exited with %v", p.name, p.err)
	}
}

// stopClean stops p with SIGTERM and requires a clean exit.
func stopClean(t *testing.T, p *proc) {
	t.Helper()
	p.stop(t)
	requireCleanExit(t, p)
}

// Secrets used by the tests (test-only values).
const (
	userJWTSecret = "e2e-user-jwt-secret-0123456789abcdef"
	nodeJWTSecret = "e2e-node-jwt-secret-0123456789abcdef"
)

// fetchCredentials POSTs /v1/credentials on gateway with a user token.
func fetchCredentials(ctx context.Context, client *http.Client, gateway, userToken string) (wire.Credentials, error) {
	var c wire.Credentials
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gateway+"/v1/credentials", strings.NewReader(`{"ttl_seconds": 600}`))
	if err != nil {
		return c, err
	}
	req.Header.Set("Authorization", "Bearer "+userToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("POST /v1/credentials: %s: %s", resp.Status, body)
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, fmt.Errorf("POST /v1/credentials: %w: %s", err, body)
	}
	if c.Username == "" || c.Credential == "" || len(c.ICEServers) == 0 {
		return c, fmt.Errorf("POST /v1/credentials: incomplete answer %s", body)
	}
	return c, nil
}

// freeUDPTCPPort returns a loopback port that is free for UDP and TCP at
// the time of the call (the caller binds it right away; a clash fails fast).
func freeUDPTCPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatal("no free UDP+TCP port on 127.0.0.1")
	return 0
}
