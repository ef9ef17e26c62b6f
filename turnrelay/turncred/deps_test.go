package turncred

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps turncred on the standard library: both binaries import it.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
