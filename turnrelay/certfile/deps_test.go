package certfile_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps certfile on the standard library.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
