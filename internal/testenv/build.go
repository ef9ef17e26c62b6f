package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
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
