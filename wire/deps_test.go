package wire_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: wire is a leaf beside relay; it imports relay and the standard
// library only.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{depstest.Module + "relay"}})
}
