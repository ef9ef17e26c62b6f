package turncred

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps turncred on the standard library: both binaries import it.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/relaygate/relaygate/turnrelay/turncred" {
			t.Errorf("turncred imports %s; it must use the standard library only", p)
		}
	}
}
