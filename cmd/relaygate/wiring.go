package main

import (
	"context"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/selector"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// picker is api.Picker over the current snapshot, the prefix measurements
// and this replica's memory of previous primaries.
type picker struct {
	snaps        *store.Snapshots
	primaries    *store.Primaries
	now          func() time.Time
	exploreShare float64       // share of answers whose backup explores, [0, 1)
	rand         func() uint64 // uniform random bits; injected for tests
}

func (p *picker) Pick(client relay.Client, want []relay.Transport, measured []relay.Measurement) (relay.Pair, error) {
	now := p.now()
	req := selector.Request{Client: client, Transports: want, Measurements: measured}
	if client.Prefix.IsValid() {
		req.PrefixMeasurements = p.snaps.PrefixMeasurements(client.Prefix, now)
		req.Previous = p.primaries.Get(client.Prefix)
	}
	if p.exploreShare > 0 && float64(p.rand()>>11)/(1<<53) < p.exploreShare {
		req.Explore = p.rand() | 1
	}
	pair, err := selector.Rank(p.snaps.Load(), req, now)
	if err == nil && client.Prefix.IsValid() {
		p.primaries.Set(client.Prefix, pair.Primary.Relay.ID)
	}
	return pair, err
}

// pokingRegistry makes this replica see its own writes: a heartbeat that
// changes what selection depends on (a relay new to the snapshot, or one
// starting or stopping to drain) and an operator's drain mark refresh the
// snapshot before the request returns (concurrent ones share refreshes, see
// Snapshots.Sync), so a relay that registers can be selected by the very
// next request. Routine heartbeats (load figures) only
// poke the background refresh: rebuilding the snapshot per heartbeat would
// cost O(relays) each, thousands of times a second in a large deployment.
// Other replicas see every write within a refresh interval.
type pokingRegistry struct {
	store.Registry
	snaps *store.Snapshots
}

func (r pokingRegistry) Heartbeat(ctx context.Context, rl relay.Relay, ttl time.Duration) error {
	if err := r.Registry.Heartbeat(ctx, rl, ttl); err != nil {
		return err
	}
	if old, ok := r.snaps.Load().Relay(rl.ID); !ok || old.Draining != rl.Draining || !old.Fresh(time.Now()) {
		return r.snaps.Sync(ctx)
	}
	r.snaps.Poke()
	return nil
}

func (r pokingRegistry) SetDrained(ctx context.Context, id string, drained bool) error {
	if err := r.Registry.SetDrained(ctx, id, drained); err != nil {
		return err
	}
	return r.snaps.Sync(ctx)
}

// credMinter is api.Minter over turncred.
type credMinter struct{ m *turncred.Minter }

func (c credMinter) Mint(subject string, ttl time.Duration, now time.Time) relay.Credential {
	cr := c.m.Mint(subject, ttl, now)
	return relay.Credential{Username: cr.Username, Password: cr.Password, Expires: cr.Expires}
}
