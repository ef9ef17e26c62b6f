package heartbeat_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: the heartbeat client needs the standard library and the shared
// vocabulary (the transport table) only.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{depstest.Module + "relay"}})
}
