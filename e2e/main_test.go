package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	code := m.Run()
	for _, c := range built {
		if err := c.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// built are relaynode, relaygate and relayctl, each built at most once per test
// binary, with the race detector when the tests run with it, so a race
// inside a child process fails the test too (the child exits 66).
var built = map[string]*testenv.Commands{
	"relaynode": {Pkgs: []string{"github.com/relaygate/relaygate/cmd/relaynode"}, Race: raceEnabled},
	"relaygate": {Pkgs: []string{"github.com/relaygate/relaygate/cmd/relaygate"}, Race: raceEnabled},
	"relayctl":  {Pkgs: []string{"github.com/relaygate/relaygate/cmd/relayctl"}, Race: raceEnabled},
}

// buildCmd returns the path of cmd/<name> built from this tree (see
// built). RELAYGATE_E2E_BINARIES names a directory of prebuilt binaries to
// use instead.
func buildCmd(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("RELAYGATE_E2E_BINARIES")
	if dir == "" {
		return built[name].Path(t, name)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("RELAYGATE_E2E_BINARIES: %v", err)
	}
	return p
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
	return testenv.StartProcStopAtCleanup(t, name, cmd)
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
	userJWTSecret  = "e2e-user-jwt-secret-0123456789abcdef"
	nodeJWTSecret  = "e2e-node-jwt-secret-0123456789abcdef"
	adminJWTSecret = "e2e-admin-jwt-secret-0123456789abcdef"
)
