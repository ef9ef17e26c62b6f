package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// staticExpiry is the ExpiresAt of a static relay: never. It is the latest
// time RFC 3339 can write, so operators read it as what it is.
var staticExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// SetStatic replaces this replica's static relays with rs: relays the
// operator lists (package staticrelay reads them from --static-relays),
// such as stock coturn servers sharing the TURN secret, that never
// heartbeat. They are in the snapshot, and so in selection and in the
// prober's targets, before SetStatic returns; a relay no longer in rs
// leaves at once.
//
// Static relays live in this replica's memory and are merged into its
// snapshot; they are never written to the store. Every replica reads the
// same file, so writing them would only add a second source of truth that
// could disagree with it (a replica with an older file rewriting what a
// newer one removed), and a relay that never heartbeats would need a
// record that never expires, which the store's TTL model does not have.
// So they do not depend on the store at all: they stay selectable however
// long it is unreachable, and their probe results (this replica's alone)
// are not stored either.
//
// Each is marked relay.Relay.Static, never expires (its LastSeen is now,
// its ExpiresAt the year 9999), and is judged by this replica's probes
// alone: not selected until a probe finds it up (see relay.Relay.Down),
// scored as half full since it reports no load. A static relay whose ID a
// heartbeating relay also uses wins over it on this replica.
//
// SetStatic refuses the whole set, changing nothing, when an ID is empty
// or repeated, or when a relay has an address outside the
// public Internet in a network Config.AllowRelayNetworks does not allow
// (the *AddressError of each such relay, joined): the same check as
// Heartbeat's. It does not check the other fields: the caller has (the
// file's entries are heartbeat bodies and pass the heartbeat's
// validation, as api checks a heartbeat before Heartbeat).
func (g *Gateway) SetStatic(rs []relay.Relay) error {
	var errs []error
	seen := make(map[string]bool, len(rs))
	now := g.now()
	static := make(map[string]relay.Relay, len(rs))
	for _, r := range rs {
		switch {
		case r.ID == "":
			errs = append(errs, fmt.Errorf("%w: a relay without an id", ErrStatic))
			continue
		case seen[r.ID]:
			errs = append(errs, fmt.Errorf("%w: relay %q listed twice", ErrStatic, r.ID))
			continue
		}
		seen[r.ID] = true
		if err := g.checkAddresses(r); err != nil {
			errs = append(errs, err)
			continue
		}
		r = r.Clone()
		r.Country = g.countryOf(r)
		r.Static, r.LastSeen, r.ExpiresAt = true, now, staticExpiry
		r.Load, r.Draining, r.Probe = relay.Load{}, false, relay.Probe{}
		static[r.ID] = r
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	g.snaps.SetStatic(static)
	return nil
}

// relaysWithStatic merges this replica's static relays, from the
// snapshot, into rs (the store's), the static entry winning an ID both
// have, sorted by ID.
func (g *Gateway) relaysWithStatic(rs []relay.Relay) []relay.Relay {
	snap := g.snaps.Load()
	var static []relay.Relay
	for _, r := range snap.Relays() {
		if r.Static {
			static = append(static, r)
		}
	}
	if len(static) == 0 {
		return rs
	}
	rs = slices.DeleteFunc(rs, func(r relay.Relay) bool {
		s, ok := snap.Relay(r.ID)
		return ok && s.Static
	})
	rs = append(rs, static...)
	slices.SortFunc(rs, func(a, b relay.Relay) int { return strings.Compare(a.ID, b.ID) })
	return rs
}

// staticRelay returns the static relay id from the snapshot, if there is
// one.
func (g *Gateway) staticRelay(id string) (relay.Relay, bool) {
	r, ok := g.snaps.Load().Relay(id)
	return r, ok && r.Static
}

// Relay returns one relay: a static one from the snapshot, else a fresh
// one from the store, as store.Registry.Relay.
func (g *Gateway) Relay(ctx context.Context, id string) (relay.Relay, error) {
	if r, ok := g.staticRelay(id); ok {
		return r, nil
	}
	return g.store.Relay(ctx, id)
}

// Relays returns every fresh relay from the store, as
// store.Registry.Relays, and this replica's static relays, sorted by ID.
func (g *Gateway) Relays(ctx context.Context) ([]relay.Relay, error) {
	rs, err := g.store.Relays(ctx)
	if err != nil {
		return nil, err
	}
	return g.relaysWithStatic(rs), nil
}
