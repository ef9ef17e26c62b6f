package relay_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: relay is a leaf, standard library only.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
