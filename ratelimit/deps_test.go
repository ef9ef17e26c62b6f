package ratelimit_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: ratelimit is a leaf of ours: the API declares the interface it
// implements, cmd/relaygate wires it.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true})
}
