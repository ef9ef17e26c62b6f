package gateway

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"

	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
)

// probeTargets lists what the prober measures: each relay's STUN/TURN UDP
// address in the snapshot, IPv4 first, among the addresses the relay may
// have (Config.AllowRelayNetworks): Heartbeat refuses others, and this
// keeps the prober off them whatever put them in the store (another
// replica's settings, an older gateway). Relays without UDP, or without
// such an address, are judged by heartbeats alone.
func (g *Gateway) probeTargets() []probe.Target {
	relays := g.snaps.Load().Relays()
	out := make([]probe.Target, 0, len(relays))
	for _, r := range relays {
		if r.Ports[relay.UDP] == 0 {
			continue
		}
		if addr, ok := g.probeAddr(r.Addresses); ok {
			out = append(out, probe.Target{RelayID: r.ID, Addr: netip.AddrPortFrom(addr, r.Ports[relay.UDP])})
		}
	}
	return out
}

// probeAddr is the first allowed IPv4 address of addrs, else its first
// allowed address.
func (g *Gateway) probeAddr(addrs []netip.Addr) (netip.Addr, bool) {
	var first netip.Addr
	for _, a := range addrs {
		if !g.relayNets.Allowed(a) {
			continue
		}
		if a.Is4() {
			return a, true
		}
		if !first.IsValid() {
			first = a
		}
	}
	return first, first.IsValid()
}

// probeReporter returns the prober's report func: it merges the results
// into the snapshot at once, so that selection sees a relay go down
// whether or not the store answers, then stores them as this replica's
// probe view, static relays' results left out (the store does not know
// them; see SetStatic). ctx is Run's; the prober calls report from one
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
		g.snaps.RecordProbes(m)
		g.metrics.probed(g.snaps.Load(), rs)
		snap := g.snaps.Load()
		maps.DeleteFunc(m, func(id string, _ relay.Probe) bool {
			r, ok := snap.Relay(id)
			return ok && r.Static
		})
		if len(m) == 0 {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := g.store.RecordProbes(sctx, m)
		cancel()
		outage.note(ctx, err)
	}
}
