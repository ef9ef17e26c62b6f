package gateway_test

import (
	"errors"
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
