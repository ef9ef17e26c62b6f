package filepoll

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: the standard library only.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{})
}
