package gateway

import (
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/selector"
)

// Pick is PickWithin under the operator's jurisdiction policy alone.
func (g *Gateway) Pick(client relay.Client, subject string, want []relay.Transport, measured []relay.Measurement) (relay.Pair, error) {
	return g.PickWithin(client, subject, want, measured, relay.Jurisdiction{})
}

// PickWithin chooses the primary and backup relay for client, whose user is
// subject (a user token's), from the current snapshot, its prefix's
// measurements (with the user's own reports where the prefix's are not
// trusted, see prefixMeasurements) and the primary its prefix was last
// given, and remembers the new primary. A share of answers
// (Config.ExploreShare) get an exploring backup. While the store is
// unreachable, relays are judged fresh as of the last good refresh, for
// Config.StoreGrace. It does no I/O.
//
// Every relay it returns is in a country that both Config.Jurisdiction
// (the operator's policy) and within (the token's and the request's)
// permit: within can only narrow the operator's policy. When relays are
// eligible but none is permitted, the error is
// relay.ErrOutsideJurisdiction.
func (g *Gateway) PickWithin(client relay.Client, subject string, want []relay.Transport, measured []relay.Measurement, within relay.Jurisdiction) (relay.Pair, error) {
	now := g.now()
	req := selector.Request{Client: client, Transports: want, Measurements: measured, Within: g.cfg.Jurisdiction.Narrow(within)}
	if client.Prefix.IsValid() {
		req.PrefixMeasurements, _ = g.snaps.PrefixMeasurements(client.Prefix, subject, now)
		req.Previous = g.primaries.Get(client.Prefix)
	}
	if g.cfg.ExploreShare > 0 && float64(g.rand()>>11)/(1<<53) < g.cfg.ExploreShare {
		req.Explore = g.rand() | 1
	}
	pair, err := selector.Rank(g.snaps.Load(), req, g.snaps.judgeAt(now))
	if err == nil && client.Prefix.IsValid() {
		g.primaries.Set(client.Prefix, pair.Primary.Relay.ID)
	}
	g.metrics.selected(pair, err)
	return pair, err
}

// Candidates lists the relays (one per site, at most
// selector.MaxCandidates) a client should measure before its first call
// and send back inline with its credentials request: half the sites
// nearest its location, half spread over the world (see
// selector.Candidates). Only relays PickWithin could choose for it are
// listed, under the same policies: want (any when empty), the operator's
// jurisdiction narrowed by within, freshness as PickWithin judges it. It
// does no I/O.
func (g *Gateway) Candidates(client relay.Client, want []relay.Transport, within relay.Jurisdiction) []relay.Relay {
	now := g.now()
	return selector.Candidates(g.snaps.Load(), client, want, g.cfg.Jurisdiction.Narrow(within), g.snaps.judgeAt(now), selector.MaxCandidates)
}
