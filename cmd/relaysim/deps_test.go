package main

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps the simulator on the selector alone: it must rank exactly
// as the gateway does, with nothing of the gateway's I/O.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{depstest.Module + "selector", depstest.Module + "relay"}})
}
