package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

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

// Commands are main packages that tests run as child processes, built once
// per test binary, on first use, into a temporary directory that TestMain
// removes after m.Run. The zero value with Pkgs set is ready to use.
type Commands struct {
	Pkgs []string // as BuildCommands takes them
	Race bool     // build with the race detector

	once sync.Once
	dir  string
	bins map[string]string
	err  error
}

// Path is the binary of the package named name (its last element),
// building all of Pkgs on the first call. It fails t when the build fails.
func (c *Commands) Path(t testing.TB, name string) string {
	t.Helper()
	c.once.Do(func() {
		if c.dir, c.err = os.MkdirTemp("", "relaygate-test-bin-"); c.err == nil {
			c.bins, c.err = BuildCommands(c.dir, c.Race, c.Pkgs...)
		}
	})
	if c.err != nil {
		t.Fatalf("building %v: %v", c.Pkgs, c.err)
	}
	p, ok := c.bins[name]
	if !ok {
		t.Fatalf("%s is not among the commands built, %v", name, c.Pkgs)
	}
	return p
}

// Remove deletes what Path built.
func (c *Commands) Remove() error {
	if c.dir == "" {
		return nil
	}
	return os.RemoveAll(c.dir)
}
