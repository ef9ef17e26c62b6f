package store_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: store may import only selector from this module (STYLE.md §1).
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{
		Packages:     []string{".", "./storetest"},
		Allow:        []string{depstest.Module + "relay", depstest.Module + "selector"}, // selector until the snapshots move out
		InternalOnly: true,
	})
}
