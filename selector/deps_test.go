package selector

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps selector a leaf: the standard library only.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const self = "github.com/relaygate/relaygate/selector"
	for _, dep := range strings.Fields(string(out)) {
		if dep != self {
			t.Errorf("selector imports %s; it may import the standard library only", dep)
		}
	}
}
