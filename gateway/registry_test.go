package gateway_test

import (
	"errors"
	"maps"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store/storetest"
)

// TestHeartbeatIsSelectableAtOnce: with no refresh loop running, a relay
// that registers, and one that comes back after expiring, is selectable as
// soon as Heartbeat returns.
func TestHeartbeatIsSelectableAtOnce(t *testing.T) {
	f := newFixture(t)
	f.heartbeat(fra1())
	if primary, _ := f.pick(berlin); primary != "fra-1" {
		t.Fatalf("primary = %q right after the heartbeat, want fra-1", primary)
	}
	f.clk.Advance(storetest.TTL)
	if _, err := f.gw.Pick(berlin, "alice", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
		t.Fatalf("Pick() after the TTL: error = %v, want ErrNoCandidate", err)
	}
	f.heartbeat(fra1())
	if primary, _ := f.pick(berlin); primary != "fra-1" {
		t.Errorf("primary = %q right after the relay came back, want fra-1", primary)
	}
}

// TestDrainIsSeenAtOnce: an operator's drain mark, and a relay starting to
// drain, leave selection as soon as the call returns; clearing the mark
// brings the relay back as soon.
func TestDrainIsSeenAtOnce(t *testing.T) {
	f := newFixture(t, fra1(), nyc1())
	ctx := t.Context()
	if err := f.gw.SetDrained(ctx, "fra-1", true); err != nil {
		t.Fatal(err)
	}
	if primary, backup := f.pick(berlin); primary != "nyc-1" || backup != "" {
		t.Fatalf("with fra-1 drained: %s/%s, want nyc-1 alone", primary, backup)
	}
	if err := f.gw.SetDrained(ctx, "fra-1", false); err != nil {
		t.Fatal(err)
	}
	if primary, _ := f.pick(berlin); primary != "fra-1" {
		t.Fatalf("with the mark cleared the primary is %q, want fra-1", primary)
	}
	draining := fra1()
	draining.Draining = true
	f.heartbeat(draining)
	if primary, _ := f.pick(berlin); primary != "nyc-1" {
		t.Errorf("with fra-1 draining the primary is %q, want nyc-1", primary)
	}
}

// TestRoutineHeartbeatRefreshesSoon: a heartbeat that changes only load
// figures does not wait for the refresh interval either: it pokes Run.
func TestRoutineHeartbeatRefreshesSoon(t *testing.T) {
	inBubble(t, gateway.Config{RefreshInterval: time.Hour}, func(t *testing.T, f *fixture) {
		f.run()
		f.heartbeat(fra1())
		synctest.Wait() // Run's first refresh is done; the next is an hour away
		busy := fra1()
		busy.Load.Allocations = busy.Capacity.Allocations // full: not eligible
		f.heartbeat(busy)
		synctest.Wait()
		if _, err := f.gw.Pick(berlin, "alice", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
			t.Errorf("Pick() after fra-1 reported itself full: error = %v, want ErrNoCandidate", err)
		}
	})
}

// TestRegistryReadsPassThrough: reads and errors are the store's, so api
// maps a missing relay to 404 and a closed store to "not ready".
func TestRegistryReadsPassThrough(t *testing.T) {
	f := newFixture(t, fra1())
	ctx := t.Context()
	if r, err := f.gw.Relay(ctx, "fra-1"); err != nil || r.ID != "fra-1" || !r.LastSeen.Equal(storetest.T0) {
		t.Errorf("Relay(fra-1) = %s (last seen %v), %v", r.ID, r.LastSeen, err)
	}
	if rs, err := f.gw.Relays(ctx); err != nil || len(rs) != 1 {
		t.Errorf("Relays() = %d relays, %v; want 1", len(rs), err)
	}
	var nf interface{ NotFound() bool }
	for name, err := range map[string]error{
		"Relay":      func() error { _, err := f.gw.Relay(ctx, "nope-1"); return err }(),
		"SetDrained": f.gw.SetDrained(ctx, "nope-1", true),
	} {
		if !errors.As(err, &nf) || !nf.NotFound() {
			t.Errorf("%s(nope-1) error = %v, want one that is NotFound()", name, err)
		}
	}
	if err := f.gw.Ping(ctx); err != nil {
		t.Errorf("Ping() = %v", err)
	}
	f.store.Close()
	if err := f.gw.Ping(ctx); err == nil {
		t.Error("Ping() on a closed store = nil")
	}
}

// TestHeartbeatRefusesNonPublicAddresses: a relay naming an address outside
// the public Internet, in any of its IPv6 forms, is refused with an
// AddressError naming each such address by index and range, and nothing
// is written; an allowed network (here loopback, as a lab allows it) and
// public addresses pass.
func TestHeartbeatRefusesNonPublicAddresses(t *testing.T) {
	f := newFixtureWith(t, gateway.Config{AllowRelayNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, gateway.Deps{})
	tests := []struct {
		name    string
		addrs   []string
		refused map[int]string // index → range
	}{
		{name: "public IPv4 and IPv6", addrs: []string{"8.8.8.8", "2606:4700::1111"}},
		{name: "allowed loopback", addrs: []string{"127.0.0.1"}},
		{name: "cloud metadata", addrs: []string{"8.8.8.8", "169.254.169.254"}, refused: map[int]string{1: "169.254.0.0/16"}},
		{name: "private and CGNAT", addrs: []string{"10.0.0.1", "8.8.8.8", "100.64.0.1"}, refused: map[int]string{0: "10.0.0.0/8", 2: "100.64.0.0/10"}},
		{name: "documentation", addrs: []string{"203.0.113.5", "2001:db8::5"}, refused: map[int]string{0: "203.0.113.0/24", 1: "2001:db8::/32"}},
		{name: "IPv6 loopback and link-local", addrs: []string{"::1", "fe80::1"}, refused: map[int]string{0: "::/96", 1: "fe80::/10"}},
		{name: "multicast and reserved", addrs: []string{"224.0.0.1", "240.0.0.1"}, refused: map[int]string{0: "224.0.0.0/4", 1: "240.0.0.0/4"}},
		{name: "NAT64 and 6to4 of private", addrs: []string{"64:ff9b::a9fe:a9fe", "2002:c0a8:101::1"}, refused: map[int]string{0: "169.254.0.0/16", 1: "192.168.0.0/16"}},
		{name: "IPv4-mapped private", addrs: []string{"::ffff:10.0.0.1"}, refused: map[int]string{0: "10.0.0.0/8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := relayAt("x-1", "x", 50, 8)
			r.Addresses = nil
			for _, a := range tt.addrs {
				r.Addresses = append(r.Addresses, netip.MustParseAddr(a))
			}
			_, err := f.gw.Heartbeat(t.Context(), r, storetest.TTL)
			var ae *gateway.AddressError
			if tt.refused == nil {
				if err != nil {
					t.Fatalf("Heartbeat(%v) = %v, want nil", tt.addrs, err)
				}
				return
			}
			if !errors.As(err, &ae) {
				t.Fatalf("Heartbeat(%v) = %v, want an AddressError", tt.addrs, err)
			}
			got := map[int]string{}
			for _, ra := range ae.Refused {
				got[ra.Index] = ra.Range.String()
			}
			if !maps.Equal(got, tt.refused) {
				t.Errorf("refused = %v, want %v", got, tt.refused)
			}
			if keys := slices.Sorted(maps.Keys(ae.RefusedAddresses())); !slices.Equal(keys, slices.Sorted(maps.Keys(tt.refused))) {
				t.Errorf("RefusedAddresses() names %v, want %v", keys, slices.Sorted(maps.Keys(tt.refused)))
			}
		})
	}
	// The refused heartbeats wrote nothing: x-1's last accepted one named
	// 127.0.0.1.
	if r, err := f.store.Relay(t.Context(), "x-1"); err != nil || len(r.Addresses) != 1 || r.Addresses[0] != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("stored x-1 = %v, %v; want the allowed loopback heartbeat's", r.Addresses, err)
	}
}
