package gateway

import (
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

func TestSnapshotsPrefixMeasurements(t *testing.T) {
	clk := storetest.NewClock(storetest.T0)
	reg := storetest.NewMemory(t, store.MemoryConfig{Now: clk.Now})
	ctx := t.Context()
	snaps := testSnapshots(reg, clk.Now)
	home := netip.MustParsePrefix("198.51.100.0/24")
	m := []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}
	for range 2 {
		if err := reg.AddMeasurements(ctx, home, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got := snaps.PrefixMeasurements(home, clk.Now()); len(got) != 0 {
		t.Fatalf("trusted after 2 samples: %+v (the floor is 3)", got)
	}
	clk.Advance(time.Second)
	if err := reg.AddMeasurements(ctx, home, m); err != nil {
		t.Fatal(err)
	}
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	got := snaps.PrefixMeasurements(home, clk.Now())
	if len(got) != 1 || got[0].RelayID != "fra-1" || got[0].RTT != 20*time.Millisecond {
		t.Fatalf("PrefixMeasurements() = %+v, want fra-1 at 20ms", got)
	}
	if other := snaps.PrefixMeasurements(netip.MustParsePrefix("203.0.113.0/24"), clk.Now()); other != nil {
		t.Errorf("another prefix sees %+v", other)
	}
	// Past MaxAge the aggregate is no longer used, and the cache forgets it.
	clk.Advance(3 * time.Hour)
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got := snaps.PrefixMeasurements(home, clk.Now()); len(got) != 0 || snaps.Prefixes() != 0 {
		t.Errorf("after MaxAge: %+v, %d prefixes held", got, snaps.Prefixes())
	}
}
