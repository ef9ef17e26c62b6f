package turnrelay_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps turnrelay off the gateway's packages: of ours it may use
// the shared vocabulary (relay) and its own parts (turncred, peerfilter,
// quota, dataplane, heartbeat); outside, pion (the control plane),
// prometheus (metrics) and golang.org/x (sockets) with their dependencies.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{
		Packages: []string{".", "./relaytest"},
		Allow: []string{
			depstest.Module + "relay", depstest.Module + "wire", depstest.Module + "turnrelay/...",
			"github.com/pion/...", "github.com/prometheus/...", "golang.org/x/...",
			"google.golang.org/protobuf/...", "github.com/beorn7/perks/...", "github.com/cespare/xxhash/...",
			"github.com/munnerz/goautoneg", "go.yaml.in/yaml/...", "github.com/wlynxg/anet", "github.com/kylelemons/godebug/...",
		},
	})
}
