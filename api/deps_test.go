package api

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps api off the implementations: it declares interfaces and
// cmd/relaygate wires store, probe and turnrelay to them.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/relaygate/relaygate/"
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, mod) {
			continue
		}
		switch strings.TrimPrefix(p, mod) {
		case "api", "selector", "openapi":
		default:
			t.Errorf("api imports %s; only selector and openapi are allowed", p)
		}
	}
}
