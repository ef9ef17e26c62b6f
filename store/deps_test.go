package store_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the package's edges as STYLE.md §1 draws them:
// store and store/storetest may import selector (for its value types) and
// nothing else of this module — never api, probe, turnrelay or cmd.
func TestDependencies(t *testing.T) {
	const module = "github.com/relaygate/relaygate"
	allowed := map[string]bool{
		module + "/store":           true,
		module + "/store/storetest": true,
		module + "/selector":        true,
	}
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}}",
		module+"/store", module+"/store/storetest").Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if (pkg == module || strings.HasPrefix(pkg, module+"/")) && !allowed[pkg] {
			t.Errorf("store depends on %s; it may import only selector from this module", pkg)
		}
	}
}
