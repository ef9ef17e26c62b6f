package staticrelay

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: staticrelay reads a YAML file into relay values with wire's
// heartbeat contract, following the file with internal/filepoll, nothing
// else of ours.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Ours: []string{"relay", "wire", "internal/filepoll"}, Allow: []string{"go.yaml.in/yaml/v3"}})
}
