package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
)

// RunUsage runs the conformance suite of store.Usage. newStore must return
// a new, empty store on cfg.Now and register its cleanup with t.
func RunUsage(t *testing.T, newStore func(t *testing.T, cfg Config) store.Usage) {
	t.Helper()
	hour := T0.Truncate(time.Hour)
	u := func(to, from uint64, secs int) relay.Usage {
		return relay.Usage{BytesToPeer: to, BytesFromPeer: from, AllocationTime: time.Duration(secs) * time.Second}
	}
	report := func(epoch string, seq uint64, entries ...relay.UsageEntry) relay.UsageReport {
		return relay.UsageReport{Epoch: epoch, Seq: seq, Entries: entries}
	}
	entry := func(p string, us relay.Usage) relay.UsageEntry { return relay.UsageEntry{Pseudonym: p, Usage: us} }
	tests := []struct {
		name string
		run  func(t *testing.T, clock *Clock, s store.Usage)
	}{
		{name: "reports read back per hour, per user and per relay", run: func(t *testing.T, clock *Clock, s store.Usage) {
			add(t, s, "fra-1", report("e1", 1, entry("alice", u(100, 200, 10)), entry("bob", u(1, 2, 3))))
			add(t, s, "ams-1", report("e9", 1, entry("alice", u(1000, 2000, 60))))
			clock.Advance(time.Hour)
			add(t, s, "fra-1", report("e1", 2, entry("alice", u(5, 6, 7))))
			wantUsage(t, s, []string{"alice"}, hour.Add(-time.Hour), hour.Add(3*time.Hour),
				relay.UsagePeriod{Start: hour, Usage: u(1100, 2200, 70)},
				relay.UsagePeriod{Start: hour.Add(time.Hour), Usage: u(5, 6, 7)})
			wantUsage(t, s, []string{"bob"}, hour, hour.Add(2*time.Hour), relay.UsagePeriod{Start: hour, Usage: u(1, 2, 3)})
			wantUsage(t, s, []string{"carol"}, hour, hour.Add(2*time.Hour))
			wantRelays(t, s, hour, hour.Add(2*time.Hour),
				relay.UsageOnRelay{RelayID: "ams-1", Usage: u(1000, 2000, 60)},
				relay.UsageOnRelay{RelayID: "fra-1", Usage: u(106, 208, 20)})
			wantRelays(t, s, hour.Add(time.Hour), hour.Add(2*time.Hour), relay.UsageOnRelay{RelayID: "fra-1", Usage: u(5, 6, 7)})
		}},
		{name: "a report is counted once", run: func(t *testing.T, clock *Clock, s store.Usage) {
			r := report("e1", 3, entry("alice", u(100, 200, 10)))
			add(t, s, "fra-1", r)
			add(t, s, "fra-1", r)                                           // a retry
			add(t, s, "fra-1", report("e1", 2, entry("alice", u(9, 9, 9)))) // late, older
			add(t, s, "ams-1", r)                                           // another relay's report with the same numbers
			add(t, s, "fra-1", report("e2", 1, entry("alice", u(1, 1, 1)))) // the relay restarted
			wantUsage(t, s, []string{"alice"}, hour, hour.Add(time.Hour), relay.UsagePeriod{Start: hour, Usage: u(201, 401, 21)})
			wantRelays(t, s, hour, hour.Add(time.Hour),
				relay.UsageOnRelay{RelayID: "ams-1", Usage: u(100, 200, 10)},
				relay.UsageOnRelay{RelayID: "fra-1", Usage: u(101, 201, 11)})
		}},
		{name: "several pseudonyms are summed", run: func(t *testing.T, clock *Clock, s store.Usage) {
			add(t, s, "fra-1", report("e1", 1, entry("old-key-alice", u(1, 2, 3)), entry("alice", u(10, 20, 30)), entry("bob", u(7, 7, 7))))
			wantUsage(t, s, []string{"alice", "old-key-alice"}, hour, hour.Add(time.Hour), relay.UsagePeriod{Start: hour, Usage: u(11, 22, 33)})
		}},
		{name: "ranges are whole hours", run: func(t *testing.T, clock *Clock, s store.Usage) {
			add(t, s, "fra-1", report("e1", 1, entry("alice", u(1, 2, 3))))
			wantUsage(t, s, []string{"alice"}, hour.Add(30*time.Minute), hour.Add(31*time.Minute), relay.UsagePeriod{Start: hour, Usage: u(1, 2, 3)})
			wantUsage(t, s, []string{"alice"}, hour.Add(time.Hour), hour.Add(2*time.Hour))
			wantUsage(t, s, []string{"alice"}, hour.Add(-time.Hour), hour)
		}},
		{name: "hours past retention are gone", run: func(t *testing.T, clock *Clock, s store.Usage) {
			add(t, s, "fra-1", report("e1", 1, entry("alice", u(1, 2, 3))))
			clock.Advance(store.UsageRetention - time.Hour)
			wantUsage(t, s, []string{"alice"}, hour, hour.Add(time.Hour), relay.UsagePeriod{Start: hour, Usage: u(1, 2, 3)})
			clock.Advance(2 * time.Hour)
			add(t, s, "fra-1", report("e1", 2, entry("alice", u(4, 5, 6))))
			wantUsage(t, s, []string{"alice"}, hour, clock.Now().Add(time.Hour),
				relay.UsagePeriod{Start: clock.Now().Truncate(time.Hour), Usage: u(4, 5, 6)})
			wantRelays(t, s, hour, clock.Now().Add(time.Hour),
				relay.UsageOnRelay{RelayID: "fra-1", Usage: u(4, 5, 6)})
		}},
		{name: "invalid arguments", run: func(t *testing.T, clock *Clock, s store.Usage) {
			ok := entry("alice", u(1, 1, 1))
			for _, c := range []struct {
				name, relayID string
				rep           relay.UsageReport
			}{
				{"no relay id", "", report("e1", 1, ok)},
				{"no epoch", "fra-1", report("", 1, ok)},
				{"seq 0", "fra-1", report("e1", 0, ok)},
				{"pseudonym with a colon", "fra-1", report("e1", 1, entry("a:b", u(1, 1, 1)))},
				{"empty pseudonym", "fra-1", report("e1", 1, entry("", u(1, 1, 1)))},
				{"duplicate pseudonym", "fra-1", report("e1", 1, ok, ok)},
				{"bytes over 2^53", "fra-1", report("e1", 1, entry("alice", u(1<<53+1, 0, 0)))},
				{"negative time", "fra-1", report("e1", 1, entry("alice", u(0, 0, -1)))},
			} {
				if err := s.AddUsage(t.Context(), c.relayID, c.rep); !errors.Is(err, store.ErrInvalid) {
					t.Errorf("AddUsage(%s) error = %v, want ErrInvalid", c.name, err)
				}
			}
			many := make([]string, store.MaxUsagePseudonyms+1)
			for i := range many {
				many[i] = fmt.Sprint("p", i)
			}
			for _, c := range []struct {
				name       string
				pseudonyms []string
				from, to   time.Time
			}{
				{"no pseudonym", nil, hour, hour.Add(time.Hour)},
				{"too many pseudonyms", many, hour, hour.Add(time.Hour)},
				{"empty range", []string{"alice"}, hour, hour},
				{"reversed range", []string{"alice"}, hour.Add(time.Hour), hour},
			} {
				if _, err := s.UsageOf(t.Context(), c.pseudonyms, c.from, c.to); !errors.Is(err, store.ErrInvalid) {
					t.Errorf("UsageOf(%s) error = %v, want ErrInvalid", c.name, err)
				}
			}
			if _, err := s.RelayUsage(t.Context(), hour, hour); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("RelayUsage(empty range) error = %v, want ErrInvalid", err)
			}
			wantRelays(t, s, hour, hour.Add(time.Hour))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(T0)
			tt.run(t, clock, newStore(t, Config{Now: clock.Now}))
		})
	}
}

func add(t *testing.T, s store.Usage, relayID string, r relay.UsageReport) {
	t.Helper()
	if err := s.AddUsage(t.Context(), relayID, r); err != nil {
		t.Fatalf("AddUsage(%q, seq %d) error = %v", relayID, r.Seq, err)
	}
}

func wantUsage(t *testing.T, s store.Usage, pseudonyms []string, from, to time.Time, want ...relay.UsagePeriod) {
	t.Helper()
	got, err := s.UsageOf(t.Context(), pseudonyms, from, to)
	if err != nil {
		t.Fatalf("UsageOf(%q, %v, %v) error = %v", pseudonyms, from, to, err)
	}
	if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
		t.Fatalf("UsageOf(%q, %v, %v) = %+v, want %+v", pseudonyms, from, to, got, want)
	}
}

func wantRelays(t *testing.T, s store.Usage, from, to time.Time, want ...relay.UsageOnRelay) {
	t.Helper()
	got, err := s.RelayUsage(t.Context(), from, to)
	if err != nil {
		t.Fatalf("RelayUsage(%v, %v) error = %v", from, to, err)
	}
	if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
		t.Fatalf("RelayUsage(%v, %v) = %+v, want %+v", from, to, got, want)
	}
}
