package heartbeat_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: the heartbeat client needs the standard library, the shared
// vocabulary and the wire contract only.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{depstest.Module + "relay", depstest.Module + "wire"}})
}
