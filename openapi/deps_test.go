package openapi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps package openapi a leaf: it is imported by api and by tests,
// so it must pull in nothing but the standard library.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/relaygate/relaygate/openapi" {
			t.Errorf("openapi imports %s; it may import only the standard library", pkg)
		}
	}
}
