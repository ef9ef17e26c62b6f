package api

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps api off the implementations: it declares interfaces,
// package gateway satisfies them and cmd/relaygate wires it in.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true, Allow: []string{depstest.Module + "relay", depstest.Module + "wire", depstest.Module + "openapi", depstest.Module + "client", depstest.Module + "internal/jwtkey", depstest.Module + "internal/metric"}})
}
