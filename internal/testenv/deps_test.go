package testenv

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: testenv links devtoken (so golang-jwt), a YAML parser (for the deployment
// examples) and the standard library, nothing else.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Ours: []string{"internal/devtoken"}, Allow: []string{"github.com/golang-jwt/jwt/v5", "go.yaml.in/yaml/v3"}})
}
