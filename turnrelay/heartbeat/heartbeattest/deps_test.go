package heartbeattest_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: the fake gateway is standard library only.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
