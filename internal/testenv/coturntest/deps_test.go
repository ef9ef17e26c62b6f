package coturntest

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: of this module, coturntest links testenv only, with the
// devtoken signer under it (pion/stun, for its readiness probe, brings its
// own dependencies).
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true, Ours: []string{"internal/testenv", "internal/devtoken"}})
}
