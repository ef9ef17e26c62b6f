package metric_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: metric is a leaf over client_golang.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{"github.com/prometheus/...", "golang.org/x/sys/...", "google.golang.org/protobuf/...", "github.com/beorn7/perks/...", "github.com/cespare/xxhash/...", "github.com/munnerz/goautoneg", "go.yaml.in/yaml/...", "github.com/kylelemons/godebug/..."}})
}
