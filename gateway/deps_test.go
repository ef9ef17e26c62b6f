package gateway

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: gateway sits between api and store (STYLE.md §1). It never
// imports api, which declares the interfaces it satisfies, nor anything
// HTTP.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true, Allow: []string{
		depstest.Module + "relay",
		depstest.Module + "selector",
		depstest.Module + "store",
		depstest.Module + "probe",
		depstest.Module + "turnrelay/turncred",
	}})
}
