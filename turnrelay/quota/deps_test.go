package quota_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps quota pure: standard library only.
func TestDeps(t *testing.T) { depstest.Check(t, depstest.Rules{}) }
