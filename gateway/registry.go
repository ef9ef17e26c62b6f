package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Heartbeat records r in the store (see store.Registry.Heartbeat; its
// errors come back as they are) and makes this replica see its own write.
// It returns the operator's drain mark on the relay as this replica's
// snapshot has it after the write, for the relay to reassert (r.Drained)
// in its next heartbeats: then a store that loses its data gets the mark
// back from the relay. The rule (the store's own): while the store holds a
// fresh record of the relay its mark stands, so clearing a drain wins over
// a relay that has not heard of it yet; a reassertion restores the mark
// only when the store has no fresh record. Its one race: a relay hears of
// a change at its next heartbeat, so if the store loses its data (or the
// relay is away past its TTL) before then, the relay's older belief wins
// and a drain or undrain of that last interval is undone.
//
// A relay with an address outside the public Internet, in a network
// Config.AllowRelayNetworks does not allow, is refused with an
// *AddressError before anything is written.
//
// A heartbeat that changes what selection depends on (a relay new to the
// snapshot, expired from it, starting or stopping to drain, or reasserting
// a drain mark) is in the snapshot before Heartbeat returns (concurrent
// ones share refreshes), so a relay that registers can be selected by the
// very next request, and a reasserting relay hears the store's mark as of
// its write. Routine heartbeats (load figures) only ask Run for an early
// refresh: rebuilding the snapshot per heartbeat would cost O(relays)
// each, thousands of times a second in a large deployment; their answer's
// mark is at most a refresh interval old. Other replicas see every write
// within a refresh interval.
func (g *Gateway) Heartbeat(ctx context.Context, r relay.Relay, ttl time.Duration) (drained bool, err error) {
	if err := g.checkAddresses(r); err != nil {
		return false, err
	}
	r.Country = g.countryOf(r)
	if err := g.store.Heartbeat(ctx, r, ttl); err != nil {
		return false, err
	}
	if old, ok := g.snaps.Load().Relay(r.ID); ok && old.Draining == r.Draining && old.Fresh(g.now()) && !r.Drained {
		g.snaps.Poke()
		return old.Drained, nil
	}
	if err := g.sync(ctx); err != nil {
		return false, err
	}
	if now, ok := g.snaps.Load().Relay(r.ID); ok {
		return now.Drained, nil
	}
	return r.Drained, nil // not in the snapshot (it expired at once): the relay keeps what it believes
}

// countryOf is r's country: the one it names, else the one Deps.Countries
// finds for its first address it can place, else unknown.
func (g *Gateway) countryOf(r relay.Relay) relay.Country {
	if r.Country.Known() || g.countries == nil {
		return r.Country
	}
	for _, a := range r.Addresses {
		if c, ok := g.countries.Country(a); ok && c.Known() {
			return c
		}
	}
	return 0
}

// checkAddresses refuses r when any of its addresses is outside the public
// Internet and not in an allowed network.
func (g *Gateway) checkAddresses(r relay.Relay) error {
	var refused []RefusedAddress
	for i, a := range r.Addresses {
		if rng, denied := g.relayNets.DeniedBy(a); denied {
			refused = append(refused, RefusedAddress{Index: i, Addr: a, Range: rng})
		}
	}
	if refused != nil {
		return &AddressError{RelayID: r.ID, Refused: refused}
	}
	return nil
}

// SetDrained sets or clears an operator's drain mark in the store (see
// store.Registry.SetDrained; its errors, not-found among them, come back as
// they are) and returns once the snapshot has it.
func (g *Gateway) SetDrained(ctx context.Context, id string, drained bool) error {
	if err := g.store.SetDrained(ctx, id, drained); err != nil {
		return err
	}
	return g.sync(ctx)
}

// sync returns once the snapshot reflects every write completed before the
// call.
func (g *Gateway) sync(ctx context.Context) error {
	if err := g.snaps.Sync(ctx); err != nil {
		return fmt.Errorf("gateway: refresh relays after a write: %w", err)
	}
	return nil
}

// Ping reports whether the store is reachable.
func (g *Gateway) Ping(ctx context.Context) error {
	return g.store.Ping(ctx)
}

// SnapshotHealth reports, for readiness checks and operators, how old the
// relay snapshot selection reads is (since its last good refresh from the
// store; negative before the first), whether refreshing it has failed since
// (stale: the store is unreachable), and whether selection still serves it:
// a stale snapshot serves for Config.StoreGrace after its last good
// refresh, no longer.
func (g *Gateway) SnapshotHealth() (age time.Duration, stale, serving bool) {
	return g.snaps.Health(g.now())
}
