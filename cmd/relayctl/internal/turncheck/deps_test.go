package turncheck

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: pion's TURN client and the credential scheme, nothing else of
// ours (no api, store or gateway wire types).
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{
		depstest.Module + "turnrelay/turncred",
		"github.com/pion/...",
		"github.com/wlynxg/anet",
		"golang.org/x/crypto/...",
		"golang.org/x/net/...",
		"golang.org/x/sys/...",
		"golang.org/x/time/...",
	}})
}
