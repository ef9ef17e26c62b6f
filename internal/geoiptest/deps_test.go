package geoiptest

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: geoiptest links mmdbwriter and the standard library, nothing else
// of ours.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true})
}
