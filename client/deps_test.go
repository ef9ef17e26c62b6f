package client

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: the client package is an embed and nothing else.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
