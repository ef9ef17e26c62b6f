package gateway

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: gateway sits between api and store (STYLE.md §1). It never
// imports api, which declares the interfaces it satisfies, nor anything
// HTTP.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true,
		Ours: []string{"relay", "selector", "store", "probe", "netpolicy", "turnrelay/turncred", "internal/metric"}})
}
