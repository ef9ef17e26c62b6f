package selector

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps selector pure: the shared vocabulary and the standard
// library only.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{depstest.Module + "relay"}})
}
