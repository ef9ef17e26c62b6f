package secretmatch_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps the matcher small: the credential scheme and pion's STUN
// codec, not pion's TURN server.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{
		depstest.Module + "turnrelay/turncred", "github.com/pion/stun/...", "github.com/pion/dtls/...",
		"github.com/pion/transport/...", "github.com/pion/logging", "github.com/wlynxg/anet", "golang.org/x/...",
	}})
}
