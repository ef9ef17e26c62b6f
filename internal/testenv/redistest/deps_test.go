package redistest

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: of this module, redistest links internal/testenv alone, with
// the devtoken signer under it (and outside it go-redis, with what go-redis
// needs).
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true, Ours: []string{"internal/testenv", "internal/devtoken"}})
}
