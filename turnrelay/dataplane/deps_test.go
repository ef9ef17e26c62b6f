package dataplane_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps keeps the data plane off pion and the control plane: sockets
// (golang.org/x/net, x/sys), the peer filter and the bandwidth budget only.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Allow: []string{
		"golang.org/x/net/...", "golang.org/x/sys/...",
		depstest.Module + "netpolicy", depstest.Module + "turnrelay/quota",
	}})
}
