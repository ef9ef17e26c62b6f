package gateway

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
)

// probeTargets lists what the prober measures: each relay's STUN/TURN UDP
// address in the snapshot, IPv4 first. Relays without UDP are judged by
// heartbeats alone.
func (g *Gateway) probeTargets() []probe.Target {
	relays := g.snaps.Load().Relays()
	out := make([]probe.Target, 0, len(relays))
	for _, r := range relays {
		if r.Ports[relay.UDP] == 0 || len(r.Addresses) == 0 {
			continue
		}
		addr := r.Addresses[0]
		for _, a := range r.Addresses {
			if a.Is4() {
				addr = a
				break
			}
		}
		out = append(out, probe.Target{RelayID: r.ID, Addr: netip.AddrPortFrom(addr, r.Ports[relay.UDP])})
	}
	return out
}

// probeReporter returns the prober's report func: it stores the results as
// this replica's probe view and asks for a refresh, so that selection sees
// a relay go down at once. ctx is Run's; the prober calls report from one
// goroutine at a time.
func (g *Gateway) probeReporter(ctx context.Context, log *slog.Logger) func([]probe.Result) {
	outage := outageLog{log: log, failed: "storing probe results fails"}
	return func(rs []probe.Result) {
		m := make(map[string]relay.Probe, len(rs))
		for _, r := range rs {
			m[r.RelayID] = relay.Probe{
				Health: relay.Health(r.Health), RTT: r.RTT, MinRTT: r.MinRTT,
				Jitter: r.Jitter, Loss: r.Loss, ProbedAt: r.ProbedAt,
			}
		}
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := g.store.RecordProbes(sctx, m)
		cancel()
		outage.note(ctx, err)
		if err == nil {
			g.snaps.Poke()
		}
	}
}
