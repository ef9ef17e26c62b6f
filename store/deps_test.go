package store_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: store is persistence only and may import only relay from this
// module (STYLE.md §1); what keeps snapshots of it for selection is gateway's.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{
		Packages:     []string{".", "./storetest"},
		Allow:        []string{depstest.Module + "relay"},
		InternalOnly: true,
	})
}
