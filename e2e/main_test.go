package e2e

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
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

// startProc starts argv with extra environment. When stdout is not nil it
// gets the child's stdout; stderr always goes to the proc's logs. The child
// gets SIGTERM when the test ends (SIGKILL 10s later) and must have exited
// by then; its logs are printed if the test failed.
func startProc(t *testing.T, name string, env []string, stdin io.Reader, stdout io.Writer, argv ...string) *testenv.Proc {
	t.Helper()
	cmd := exec.CommandContext(context.WithoutCancel(t.Context()), argv[0], argv[1:]...) // stopped by Cleanup, with SIGTERM first
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	p, err := testenv.StartProc(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- %s (pid %d) output:\n%s", name, cmd.Process.Pid, testenv.Tail(p.Logs.String(), 60))
		}
	})
	return p
}

// waitLog waits up to 30s until a JSON log line of p has msg, and returns
// that line's field. It fails the test when p exits first or the time
// passes.
func waitLog(t *testing.T, p *testenv.Proc, msg, field string) string {
	t.Helper()
	m, err := p.WaitLog(msg, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m[field].(string)
	return v
}

// requireCleanExit checks that p exited with status 0 and reported no data race.
func requireCleanExit(t *testing.T, p *testenv.Proc) {
	t.Helper()
	if strings.Contains(p.Logs.String(), "WARNING: DATA RACE") {
		t.Errorf("%s reported a data race:\n%s", p.Name, testenv.Tail(p.Logs.String(), 80))
	}
	if err := p.Err(); err != nil {
		t.Errorf("%s exited with %v", p.Name, err)
	}
}

// stopClean stops p with SIGTERM and requires a clean exit.
func stopClean(t *testing.T, p *testenv.Proc) {
	t.Helper()
	if err := p.Stop(10 * time.Second); err != nil {
		t.Error(err)
	}
	requireCleanExit(t, p)
}

// Secrets used by the tests (test-only values).
const (
	userJWTSecret = "e2e-user-jwt-secret-0123456789abcdef"
	nodeJWTSecret = "e2e-node-jwt-secret-0123456789abcdef"
)
