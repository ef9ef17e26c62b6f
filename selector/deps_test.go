package selector

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps selector the leaf: standard library only.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
