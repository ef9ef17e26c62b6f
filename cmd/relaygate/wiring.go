package main

import (
	"context"
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/selector"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// locator finds a client on the map; geoip.DB implements it.
type locator interface {
	Locate(netip.Addr) (selector.Location, bool)
}

// picker is api.Picker over the current snapshot and GeoIP.
type picker struct {
	snaps *store.Snapshots
	geo   locator // nil: no database, every client unlocated
	now   func() time.Time
}

func (p *picker) Pick(c api.Addr, want []selector.Transport, measured []selector.Measurement) (selector.Pair, error) {
	client := selector.Client{Addr: c.IP()}
	if p.geo != nil && c.IP().IsValid() {
		client.Location, client.Located = p.geo.Locate(c.IP())
	}
	return selector.Rank(p.snaps.Load(), selector.Request{Client: client, Transports: want, Measurements: measured}, p.now())
}

// pokingRegistry refreshes the local snapshot right after a heartbeat or a
// drain lands here, so this replica sees its own writes at once; other
// replicas see them within a refresh interval.
type pokingRegistry struct {
	store.Registry
	snaps *store.Snapshots
}

func (r pokingRegistry) Heartbeat(ctx context.Context, rl selector.Relay, ttl time.Duration) error {
	err := r.Registry.Heartbeat(ctx, rl, ttl)
	if err == nil {
		r.snaps.Poke()
	}
	return err
}

func (r pokingRegistry) SetDrained(ctx context.Context, id string, drained bool) error {
	err := r.Registry.SetDrained(ctx, id, drained)
	if err == nil {
		r.snaps.Poke()
	}
	return err
}

// credMinter is api.Minter over turncred.
type credMinter struct{ m *turncred.Minter }

func (c credMinter) Mint(subject string, ttl time.Duration, now time.Time) api.Credential {
	cr := c.m.Mint(subject, ttl, now)
	return api.Credential{Username: cr.Username, Password: cr.Password, Expires: cr.Expires}
}
