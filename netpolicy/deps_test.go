package netpolicy_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps netpolicy a leaf: standard library only.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
