package api

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps api off the implementations: it declares interfaces and
// cmd/relaygate wires store, probe and turnrelay to them.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true, Allow: []string{depstest.Module + "relay", depstest.Module + "wire", depstest.Module + "openapi", depstest.Module + "client"}})
}
