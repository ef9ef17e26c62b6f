package cmdline

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: the standard library, and a YAML parser for config files.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{"go.yaml.in/yaml/v3"}})
}
