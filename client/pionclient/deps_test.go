package pionclient_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: pionclient is what an app links, so it stays small: of ours
// the wire shapes (and relay beneath them), outside pion and what pion
// itself needs. Never the gateway's or the relay's own packages.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{
		Ours: []string{"wire", "relay"},
		Allow: []string{
			"github.com/pion/...", "golang.org/x/...",
			"github.com/google/uuid", "github.com/wlynxg/anet",
		},
	})
}
