package gateway_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/relay"
)

// TestRecordedMeasurementsSteerPicks: reports of relays the Gateway knows
// reach the store under the client's prefix (unknown relays and clients
// without a prefix are left out), and once trusted they steer that
// prefix's picks.
func TestRecordedMeasurementsSteerPicks(t *testing.T) {
	inBubble(t, gateway.Config{}, func(t *testing.T, f *fixture) {
		f.run()
		f.heartbeat(fra1())
		f.heartbeat(ams2())
		if primary, _ := f.pick(berlin); primary != "fra-1" {
			t.Fatalf("by distance the primary is %q, want fra-1", primary)
		}
		noPrefix := berlin
		noPrefix.Prefix = netip.Prefix{}
		f.gw.Record(noPrefix, []relay.Measurement{{RelayID: "fra-1", RTT: 90 * time.Millisecond}})
		for range 3 { // three samples: relay.AggregateConfig's floor
			f.gw.Record(berlin, []relay.Measurement{
				{RelayID: "ams-2", RTT: 4 * time.Millisecond},
				{RelayID: "fra-1", RTT: 40 * time.Millisecond},
				{RelayID: "nope-1", RTT: time.Millisecond},
			})
		}
		synctest.Wait()
		got, _, err := f.store.Measurements(t.Context(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[berlin.Prefix]) != 2 || got[berlin.Prefix]["ams-2"].Samples != 3 {
			t.Fatalf("stored measurements = %+v, want ams-2 and fra-1 with 3 samples each for the client's prefix only", got)
		}
		time.Sleep(time.Second) // fake time: one refresh interval
		synctest.Wait()
		p, err := f.gw.Pick(berlin, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Primary.Relay.ID != "ams-2" || p.Primary.Basis != relay.BasisMeasured {
			t.Errorf("after the reports the primary is %s (%s), want ams-2 (measured)", p.Primary.Relay.ID, p.Primary.Basis)
		}
	})
}

// TestRecordDropsWhenTheQueueIsFull: Record never waits; what does not fit
// is counted.
func TestRecordDropsWhenTheQueueIsFull(t *testing.T) {
	f := newFixtureWith(t, gateway.Config{MeasurementQueue: 2}, gateway.Deps{}, fra1())
	for range 5 { // no Run: nothing drains the queue
		f.gw.Record(berlin, []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}})
	}
	if got := f.metric("relaygate_measurements_dropped_total"); got != 3 {
		t.Errorf("relaygate_measurements_dropped_total = %v, want 3", got)
	}
}
