package peerfilter_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps peerfilter a leaf: standard library only.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
