package jwtkey

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: the standard library only (no JWT library: it names algorithms,
// its users map them to theirs).
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{})
}
