package turnrelay_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// serverDeps are what turnrelay may link: of ours the shared vocabulary
// (relay, wire), the address policy it shares with the gateway (netpolicy)
// and its own parts (turncred, quota, dataplane, heartbeat); outside, pion
// (the control plane), prometheus (metrics) and golang.org/x (sockets) with
// their dependencies.
var serverDeps = []string{
	depstest.Module + "relay", depstest.Module + "wire", depstest.Module + "netpolicy", depstest.Module + "turnrelay/...", depstest.Module + "internal/metric",
	"github.com/pion/...", "github.com/prometheus/...", "golang.org/x/...",
	"google.golang.org/protobuf/...", "github.com/beorn7/perks/...", "github.com/cespare/xxhash/...",
	"github.com/munnerz/goautoneg", "go.yaml.in/yaml/...", "github.com/wlynxg/anet", "github.com/kylelemons/godebug/...",
}

// TestDeps keeps turnrelay off the gateway's packages. relaytest, which
// only tests link, may use the module's testenv (and its devtoken) besides.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: serverDeps})
	depstest.Check(t, depstest.Rules{
		Packages: []string{"./relaytest"},
		Allow:    append([]string{depstest.Module + "internal/testenv", depstest.Module + "internal/devtoken", "github.com/golang-jwt/jwt/v5"}, serverDeps...),
	})
}
