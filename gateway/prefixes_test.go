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
	snaps.reporter = func(_ netip.Prefix, subject string) string { return "id-" + subject }
	home := netip.MustParsePrefix("198.51.100.0/24")
	m := []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}
	for _, reporter := range []string{"id-a", "id-b", "id-b", "id-b"} {
		if err := reg.AddMeasurements(ctx, home, reporter, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got, own := snaps.PrefixMeasurements(home, "c", clk.Now()); len(got) != 0 || own {
		t.Fatalf("for c after 2 reporters: %+v, own %v; want nothing (the floor is 3)", got, own)
	}
	if got, own := snaps.PrefixMeasurements(home, "a", clk.Now()); len(got) != 1 || !own || got[0].RTT != 20*time.Millisecond {
		t.Fatalf("for a after 2 reporters: %+v, own %v; want a's own fra-1 at 20ms", got, own)
	}
	clk.Advance(time.Second)
	if err := reg.AddMeasurements(ctx, home, "id-c", m); err != nil {
		t.Fatal(err)
	}
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	got, own := snaps.PrefixMeasurements(home, "d", clk.Now())
	if len(got) != 1 || own || got[0].RelayID != "fra-1" || got[0].RTT != 20*time.Millisecond {
		t.Fatalf("PrefixMeasurements() = %+v, own %v; want fra-1 at 20ms, trusted", got, own)
	}
	if other, _ := snaps.PrefixMeasurements(netip.MustParsePrefix("203.0.113.0/24"), "a", clk.Now()); other != nil {
		t.Errorf("another prefix sees %+v", other)
	}
	// Past MaxAge the aggregate is no longer used, and the cache forgets it.
	clk.Advance(3 * time.Hour)
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := snaps.PrefixMeasurements(home, "a", clk.Now()); len(got) != 0 || snaps.Prefixes() != 0 {
		t.Errorf("after MaxAge: %+v, %d prefixes held", got, snaps.Prefixes())
	}
}
