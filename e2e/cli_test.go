package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBinariesHelpVersionUsage runs every built binary as an operator
// would: --help exits 0 and names each flag's environment variable (the
// daemons') or the commands (relayctl); --version prints one line on stdout
// with the Go version and exits 0; a usage error (unknown flag, a bad
// --config file) exits 2, as relayctl's do.
func TestBinariesHelpVersionUsage(t *testing.T) {
	badConfig := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("listen-host: 127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		help []string // in --help's output
	}{
		{name: "relaygate", help: []string{"[$RELAYGATE_REDIS_URL]", "[$RELAYGATE_CONFIG]", "--version", "Exit status"}},
		{name: "relaynode", help: []string{"[$RELAYNODE_SECRETS]", "[$RELAYNODE_CONFIG]", "--version", "Exit status"}},
		{name: "relayctl", help: []string{"Commands:", "RELAYCTL_GATEWAY", "Exit codes:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := buildCmd(t, tt.name)
			code, stdout, stderr := runBin(t, bin, "--help")
			out := stdout + stderr // the flag package prints help to stderr
			if code != 0 {
				t.Errorf("%s --help exited %d:\n%s", tt.name, code, out)
			}
			for _, w := range tt.help {
				if !strings.Contains(out, w) {
					t.Errorf("%s --help lacks %q:\n%s", tt.name, w, out)
				}
			}

			code, stdout, stderr = runBin(t, bin, "--version")
			if code != 0 || !strings.HasPrefix(stdout, tt.name+" ") || !strings.Contains(stdout, " "+runtime.Version()+" ") ||
				strings.Count(stdout, "\n") != 1 || stderr != "" {
				t.Errorf("%s --version = %d, stdout %q, stderr %q; want 0 and one line naming %s and %s",
					tt.name, code, stdout, stderr, tt.name, runtime.Version())
			}

			if code, _, stderr = runBin(t, bin, "--no-such-flag"); code != 2 {
				t.Errorf("%s --no-such-flag exited %d, want 2:\n%s", tt.name, code, stderr)
			}
			if tt.name == "relayctl" {
				return // no config file
			}
			code, _, stderr = runBin(t, bin, "--config", badConfig)
			if code != 2 || !strings.Contains(stderr, "bad.yaml:1: listen-host: unknown key") {
				t.Errorf("%s --config with an unknown key exited %d, want 2 naming the key and line:\n%s", tt.name, code, stderr)
			}
		})
	}
}

// runBin runs bin with args, no environment of relaygate's, and returns
// its exit status and output.
func runBin(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return code, out.String(), errOut.String()
}
