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
		f.gw.Record(noPrefix, "alice", []relay.Measurement{{RelayID: "fra-1", RTT: 90 * time.Millisecond}})
		for _, user := range []string{"alice", "bob", "carol"} { // three reporters: relay.AggregateConfig's floor
			f.gw.Record(berlin, user, []relay.Measurement{
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
		if len(got) != 1 || len(got[berlin.Prefix]) != 2 || len(got[berlin.Prefix]["ams-2"].Reporters) != 3 {
			t.Fatalf("stored measurements = %+v, want ams-2 and fra-1 from 3 reporters each for the client's prefix only", got)
		}
		time.Sleep(time.Second) // fake time: one refresh interval
		synctest.Wait()
		p, err := f.gw.Pick(berlin, "alice", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Primary.Relay.ID != "ams-2" || p.Primary.Basis != relay.BasisMeasured {
			t.Errorf("after the reports the primary is %s (%s), want ams-2 (measured)", p.Primary.Relay.ID, p.Primary.Basis)
		}
	})
}

// TestOneReporterCannotSteerItsPrefix: a thousand reports from one user
// leave its prefix's picks for others as they were (its own follow its own
// figures); the same from three users move them for everyone.
func TestOneReporterCannotSteerItsPrefix(t *testing.T) {
	inBubble(t, gateway.Config{}, func(t *testing.T, f *fixture) {
		f.run()
		f.heartbeat(fra1())
		f.heartbeat(ams2())
		report := func(user string) {
			f.gw.Record(berlin, user, []relay.Measurement{{RelayID: "ams-2", RTT: time.Millisecond}, {RelayID: "fra-1", RTT: 300 * time.Millisecond}})
			synctest.Wait() // the writer takes it before the next: the queue never fills
		}
		for range 1000 {
			report("mallory")
		}
		time.Sleep(time.Second) // fake time: one refresh interval
		synctest.Wait()
		got, _, err := f.store.Measurements(t.Context(), time.Time{})
		if err != nil || got[berlin.Prefix]["ams-2"].Samples != 1000 {
			t.Fatalf("stored = %+v, %v; want all 1000 of mallory's samples", got[berlin.Prefix]["ams-2"], err)
		}
		if primary, _ := f.pickFor(berlin, "alice"); primary != "fra-1" {
			t.Fatalf("after mallory's 1000 reports alice's primary is %q, want fra-1 still", primary)
		}
		report("bob")
		report("carol")
		time.Sleep(time.Second)
		synctest.Wait()
		if primary, _ := f.pickFor(berlin, "alice"); primary != "ams-2" {
			t.Errorf("after three users' reports alice's primary is %q, want ams-2", primary)
		}
	})
}

// TestOwnReportsSteerOwnPicks: a user alone in its network still gets what
// its own reports say is best, and only it.
func TestOwnReportsSteerOwnPicks(t *testing.T) {
	inBubble(t, gateway.Config{}, func(t *testing.T, f *fixture) {
		f.run()
		f.heartbeat(fra1())
		f.heartbeat(ams2())
		f.gw.Record(berlin, "mallory", []relay.Measurement{{RelayID: "ams-2", RTT: time.Millisecond}, {RelayID: "fra-1", RTT: 300 * time.Millisecond}})
		time.Sleep(time.Second) // fake time: one refresh interval
		synctest.Wait()
		p, err := f.gw.Pick(berlin, "alice", nil, nil)
		if err != nil || p.Primary.Relay.ID != "fra-1" || p.Primary.Basis != relay.BasisGeo {
			t.Fatalf("alice's pick = %+v, %v; want fra-1 by distance", p.Primary, err)
		}
		p, err = f.gw.Pick(berlin, "mallory", nil, nil)
		if err != nil || p.Primary.Relay.ID != "ams-2" || p.Primary.Basis != relay.BasisMeasured {
			t.Fatalf("mallory's pick = %+v, %v; want ams-2 by its own figures", p.Primary, err)
		}
	})
}

// TestRecordDropsWhenTheQueueIsFull: Record never waits; what does not fit
// is counted.
func TestRecordDropsWhenTheQueueIsFull(t *testing.T) {
	f := newFixtureWith(t, gateway.Config{MeasurementQueue: 2}, gateway.Deps{}, fra1())
	for range 5 { // no Run: nothing drains the queue
		f.gw.Record(berlin, "alice", []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}})
	}
	if got := f.metric("relaygate_measurements_dropped_total"); got != 3 {
		t.Errorf("relaygate_measurements_dropped_total = %v, want 3", got)
	}
}
