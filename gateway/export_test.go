package gateway

import (
	"context"
	"log/slog"

	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/selector"
)

// Test-only hooks.

// ProbeTargetsForTest returns what the prober would probe now.
func (g *Gateway) ProbeTargetsForTest() []probe.Target { return g.probeTargets() }

// ProbeReporterForTest returns the report func Run gives the prober.
func (g *Gateway) ProbeReporterForTest(ctx context.Context, log *slog.Logger) func([]probe.Result) {
	return g.probeReporter(ctx, log)
}

// SnapshotForTest returns the snapshot selection reads now.
func (g *Gateway) SnapshotForTest() *selector.Snapshot { return g.snaps.Load() }
