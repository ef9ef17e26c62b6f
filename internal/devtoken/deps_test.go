package devtoken

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: golang-jwt and the standard library, nothing of ours.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{"github.com/golang-jwt/jwt/v5"}})
}
