package monitoring

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: the extractor is standard library only; the tests may link
// what they need to run and scrape the binaries.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
