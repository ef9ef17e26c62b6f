package probe

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps probe self-contained: pion/stun and what it pulls in, none
// of this module's other packages.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{
		"github.com/pion/stun/v4/...",
		"github.com/pion/transport/v5/...",
		"github.com/pion/dtls/v3/...",
		"github.com/pion/logging",
		"github.com/wlynxg/anet",
		"golang.org/x/crypto/...",
		"golang.org/x/sys/...",
	}})
}
