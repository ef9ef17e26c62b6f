package storetest

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
)

// Client prefixes for the suite, as relay.ClientPrefix returns them.
var (
	prefixA = netip.MustParsePrefix("203.0.113.0/24")
	prefixB = netip.MustParsePrefix("2001:db8:7::/48")
	prefixC = netip.MustParsePrefix("198.51.100.0/24")
	prefixD = netip.MustParsePrefix("192.0.2.0/24")
)

// aggCfg is the aggregate config stores under test use: the defaults.
var aggCfg = relay.AggregateConfig{}.WithDefaults()

// measurement is one client measurement of relayID.
func measurement(relayID string, rttMS, loss float64) relay.Measurement {
	return relay.Measurement{RelayID: relayID, RTT: time.Duration(rttMS * float64(time.Millisecond)), Loss: loss}
}

// measure is a list of one lossless measurement.
func measure(relayID string, rttMS float64) []relay.Measurement {
	return []relay.Measurement{measurement(relayID, rttMS, 0)}
}

func (e *env) add(p netip.Prefix, ms ...relay.Measurement) {
	e.t.Helper()
	if err := e.s.AddMeasurements(e.t.Context(), p, ms); err != nil {
		e.t.Fatalf("AddMeasurements(%d measurements) error = %v", len(ms), err)
	}
}

func (e *env) measurements(since time.Time) (map[netip.Prefix]map[string]relay.Aggregate, time.Time) {
	e.t.Helper()
	got, cursor, err := e.s.Measurements(e.t.Context(), since)
	if err != nil {
		e.t.Fatalf("Measurements(%v) error = %v", since, err)
	}
	if cursor.After(e.clock.Now()) {
		e.t.Fatalf("Measurements() cursor = %v, after the store's now %v", cursor, e.clock.Now())
	}
	return got, cursor
}

// wantPrefixes fails unless got holds exactly the prefixes want.
func wantPrefixes(t interface {
	Helper()
	Fatalf(string, ...any)
}, what string, got map[netip.Prefix]map[string]relay.Aggregate, want ...netip.Prefix) {
	t.Helper()
	var ps []string
	for p := range got {
		ps = append(ps, p.String())
	}
	var ws []string
	for _, p := range want {
		ws = append(ws, p.String())
	}
	slices.Sort(ps)
	slices.Sort(ws)
	if !slices.Equal(ps, ws) {
		t.Fatalf("%s: prefixes = %q, want %q", what, ps, ws)
	}
}

// relayIDs returns the sorted keys of one prefix's aggregates.
func relayIDs(aggs map[string]relay.Aggregate) []string {
	ids := make([]string, 0, len(aggs))
	for id := range aggs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// closeTo reports whether x and y agree to nine significant digits: stores
// may fold in another floating-point implementation (Redis' Lua).
func closeTo(x, y float64) bool {
	return math.Abs(x-y) <= 1e-9*max(1, math.Abs(y))
}

// wantAggregate fails unless got matches want: floats closely, the sample
// count and time exactly.
func (e *env) wantAggregate(what string, got, want relay.Aggregate) {
	e.t.Helper()
	if !closeTo(got.RTTMillis, want.RTTMillis) || !closeTo(got.Loss, want.Loss) || !closeTo(got.Weight, want.Weight) ||
		got.Samples != want.Samples || !got.Updated.Equal(want.Updated) {
		e.t.Fatalf("%s = %+v,\nwant %+v", what, got, want)
	}
}

var measurementTests = []test{
	{name: "measurements fold like selector aggregates", run: func(e *env) {
		steps := []struct {
			after     time.Duration
			rtt, loss float64
		}{
			{0, 40, 0},
			{10 * time.Minute, 20, 0.02},
			{0, 25, 0},
			{45*time.Minute + 123*time.Nanosecond, 10, 0.5},
			{time.Hour, -5, 2}, // out of range: clamped as selector clamps
		}
		var want relay.Aggregate
		for i, st := range steps {
			e.clock.Advance(st.after)
			m := measurement("fra-1", st.rtt, st.loss)
			prev := want
			want = want.Add(m, e.clock.Now(), aggCfg)
			e.add(prefixA, m)
			got, _ := e.measurements(time.Time{})
			e.wantAggregate(fmt.Sprintf("after sample %d", i), got[prefixA]["fra-1"], want)
			if i == 1 && !(got[prefixA]["fra-1"].RTTMillis < prev.RTTMillis && got[prefixA]["fra-1"].RTTMillis > st.rtt) {
				e.t.Fatalf("mean RTT %v after %v then %v: want it to move toward the new sample", got[prefixA]["fra-1"].RTTMillis, prev.RTTMillis, st.rtt)
			}
		}
	}},
	{name: "one call folds several relays and repeats in order", run: func(e *env) {
		ms := []relay.Measurement{measurement("fra-1", 30, 0), measurement("ams-2", 50, 0.1), measurement("fra-1", 10, 0)}
		e.add(prefixB, ms...)
		now := e.clock.Now()
		want := map[string]relay.Aggregate{}
		for _, m := range ms {
			want[m.RelayID] = want[m.RelayID].Add(m, now, aggCfg)
		}
		got, _ := e.measurements(time.Time{})
		wantPrefixes(e.t, "Measurements", got, prefixB)
		if ids := relayIDs(got[prefixB]); !slices.Equal(ids, []string{"ams-2", "fra-1"}) {
			e.t.Fatalf("relays = %q, want ams-2, fra-1", ids)
		}
		for id, w := range want {
			e.wantAggregate(id, got[prefixB][id], w)
		}
	}},
	{name: "aggregates are trusted only after the sample floor", run: func(e *env) {
		for i := range aggCfg.MinSamples {
			got, _ := e.measurements(time.Time{})
			if m, ok := got[prefixA]["fra-1"].Trusted("fra-1", e.clock.Now(), aggCfg); ok {
				e.t.Fatalf("after %d samples: Trusted() = %+v, true; want untrusted", i, m)
			}
			e.add(prefixA, measurement("fra-1", 30, 0.01))
			e.clock.Advance(time.Second)
		}
		got, _ := e.measurements(time.Time{})
		m, ok := got[prefixA]["fra-1"].Trusted("fra-1", e.clock.Now(), aggCfg)
		if !ok || m.RelayID != "fra-1" || (m.RTT-30*time.Millisecond).Abs() > time.Microsecond || !closeTo(m.Loss, 0.01) {
			e.t.Fatalf("after %d samples: Trusted() = %+v, %v; want 30ms, 1%% loss, true", aggCfg.MinSamples, m, ok)
		}
	}},
	{name: "since cursor returns only prefixes measured since", run: func(e *env) {
		e.add(prefixA, measurement("fra-1", 30, 0))
		e.add(prefixB, measurement("fra-1", 30, 0))
		e.clock.Advance(10 * time.Second) // beyond the cursor's overlap
		got, c1 := e.measurements(time.Time{})
		wantPrefixes(e.t, "first read", got, prefixA, prefixB)

		e.clock.Advance(time.Second)
		e.add(prefixB, measurement("ams-2", 40, 0))
		e.clock.Advance(10 * time.Second)
		got, c2 := e.measurements(c1)
		wantPrefixes(e.t, "after measuring B", got, prefixB)
		if ids := relayIDs(got[prefixB]); !slices.Equal(ids, []string{"ams-2", "fra-1"}) {
			e.t.Fatalf("B's relays = %q, want all of them, ams-2 and fra-1", ids)
		}

		e.clock.Advance(10 * time.Second)
		got, c3 := e.measurements(c2)
		wantPrefixes(e.t, "with nothing new", got)

		// A write stamped just before a read but landing after it (a slow
		// gateway) is seen by the next read, thanks to the overlap.
		read := e.clock.Now()
		e.clock.Set(read.Add(-store.CursorOverlap / 2))
		e.add(prefixC, measurement("fra-1", 30, 0))
		e.clock.Set(read.Add(time.Second))
		got, _ = e.measurements(c3)
		wantPrefixes(e.t, "after a late write", got, prefixC)
	}},
	{name: "aggregates expire after the max age", run: func(e *env) {
		e.add(prefixA, measurement("old", 30, 0))
		e.clock.Advance(time.Hour)
		e.add(prefixA, measurement("new", 30, 0))
		e.add(prefixB, measurement("new", 30, 0))

		e.clock.Set(T0.Add(aggCfg.MaxAge))
		got, _ := e.measurements(time.Time{})
		wantPrefixes(e.t, "at the max age", got, prefixA, prefixB)
		if ids := relayIDs(got[prefixA]); !slices.Equal(ids, []string{"new", "old"}) {
			e.t.Fatalf("at the max age: A's relays = %q, want new, old", ids)
		}
		e.clock.Set(T0.Add(aggCfg.MaxAge + time.Nanosecond))
		got, _ = e.measurements(time.Time{})
		if ids := relayIDs(got[prefixA]); !slices.Equal(ids, []string{"new"}) {
			e.t.Fatalf("past old's max age: A's relays = %q, want new", ids)
		}
		e.clock.Set(T0.Add(time.Hour + aggCfg.MaxAge + time.Millisecond))
		got, _ = e.measurements(time.Time{})
		wantPrefixes(e.t, "past every max age", got)
		e.add(prefixC, measurement("new", 30, 0)) // lets a store collect
		got, _ = e.measurements(time.Time{})
		wantPrefixes(e.t, "after a new measurement", got, prefixC)
	}},
	{name: "a prefix keeps a bounded number of relays", run: func(e *env) {
		for i := range store.MaxRelaysPerPrefix {
			e.add(prefixA, measurement(fmt.Sprintf("r%02d", i), 30, 0))
			e.clock.Advance(time.Second)
		}
		e.add(prefixA, measurement("newest", 30, 0))
		got, _ := e.measurements(time.Time{})
		ids := relayIDs(got[prefixA])
		if len(ids) != store.MaxRelaysPerPrefix || slices.Contains(ids, "r00") || !slices.Contains(ids, "newest") || !slices.Contains(ids, "r01") {
			e.t.Fatalf("relays = %q, want %d without the oldest, r00", ids, store.MaxRelaysPerPrefix)
		}

		// Relays measured at one time: the smallest IDs go.
		var ms []relay.Measurement
		for i := range store.MaxRelaysPerPrefix + 6 {
			ms = append(ms, measurement(fmt.Sprintf("b%02d", i), 30, 0))
		}
		e.add(prefixB, ms...)
		got, _ = e.measurements(time.Time{})
		ids = relayIDs(got[prefixB])
		if len(ids) != store.MaxRelaysPerPrefix || ids[0] != "b06" {
			e.t.Fatalf("relays of a big batch = %d from %q, want %d from b06", len(ids), ids[0], store.MaxRelaysPerPrefix)
		}
	}},
	{name: "the least recently measured prefixes are evicted past the cap", maxPrefixes: 3, run: func(e *env) {
		for _, p := range []netip.Prefix{prefixA, prefixB, prefixC, prefixD} {
			e.add(p, measurement("fra-1", 30, 0))
			e.clock.Advance(time.Second)
		}
		got, _ := e.measurements(time.Time{})
		wantPrefixes(e.t, "after four prefixes", got, prefixB, prefixC, prefixD)
		e.add(prefixB, measurement("fra-1", 30, 0))
		e.clock.Advance(time.Second)
		e.add(prefixA, measurement("fra-1", 30, 0))
		got, _ = e.measurements(time.Time{})
		wantPrefixes(e.t, "after refreshing B and adding A", got, prefixA, prefixB, prefixD)
	}},
	{name: "concurrent adds lose no sample", run: func(e *env) {
		const workers, perWorker = 16, 25
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for range perWorker {
					ms := []relay.Measurement{measurement("a", float64(w+1), 0), measurement("b", 10, 0.5)}
					if err := e.s.AddMeasurements(e.t.Context(), prefixA, ms); err != nil {
						e.t.Errorf("AddMeasurements() error = %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if e.t.Failed() {
			return
		}
		got, _ := e.measurements(time.Time{})
		const n = workers * perWorker
		// The clock stands still, so nothing decays and the means are plain.
		e.wantAggregate("a", got[prefixA]["a"], relay.Aggregate{RTTMillis: 8.5, Weight: n, Samples: n, Updated: T0})
		e.wantAggregate("b", got[prefixA]["b"], relay.Aggregate{RTTMillis: 10, Loss: 0.5, Weight: n, Samples: n, Updated: T0})
	}},
	{name: "invalid measurements are refused without naming the prefix", run: func(e *env) {
		tooMany := make([]relay.Measurement, store.MaxMeasurementsPerAdd+1)
		for i := range tooMany {
			tooMany[i] = measurement("fra-1", 30, 0)
		}
		tests := []struct {
			name   string
			prefix netip.Prefix
			ms     []relay.Measurement
		}{
			{"zero prefix", netip.Prefix{}, measure("fra-1", 30)},
			{"unmasked", netip.MustParsePrefix("203.0.113.77/24"), measure("fra-1", 30)},
			{"ipv4 /16", netip.MustParsePrefix("203.0.0.0/16"), measure("fra-1", 30)},
			{"ipv4 /32", netip.MustParsePrefix("203.0.113.77/32"), measure("fra-1", 30)},
			{"ipv4-mapped", netip.MustParsePrefix("::ffff:203.0.113.0/120"), measure("fra-1", 30)},
			{"ipv6 /64", netip.MustParsePrefix("2001:db8:7:1::/64"), measure("fra-1", 30)},
			{"ipv6 /32", netip.MustParsePrefix("2001:db8::/32"), measure("fra-1", 30)},
			{"empty relay id", prefixA, measure("", 30)},
			{"long relay id", prefixA, measure(strings.Repeat("r", 257), 30)},
			{"too many", prefixA, tooMany},
		}
		for _, tt := range tests {
			err := e.s.AddMeasurements(e.t.Context(), tt.prefix, tt.ms)
			if !errors.Is(err, store.ErrInvalid) {
				e.t.Errorf("AddMeasurements(%s) error = %v, want ErrInvalid", tt.name, err)
				continue
			}
			if tt.prefix.IsValid() && (strings.Contains(err.Error(), tt.prefix.Addr().String()) || strings.Contains(err.Error(), "203.0.113")) {
				e.t.Errorf("AddMeasurements(%s) error %q names the prefix", tt.name, err)
			}
		}
		if err := e.s.AddMeasurements(e.t.Context(), prefixA, nil); err != nil {
			e.t.Errorf("AddMeasurements(no measurements) error = %v, want nil", err)
		}
		got, _ := e.measurements(time.Time{})
		wantPrefixes(e.t, "after refused adds", got)
	}},
	{name: "returned measurements do not alias the store", run: func(e *env) {
		e.add(prefixA, measurement("fra-1", 30, 0))
		got, _ := e.measurements(time.Time{})
		want := got[prefixA]["fra-1"]
		got[prefixA]["fra-1"] = relay.Aggregate{}
		delete(got, prefixA)
		again, _ := e.measurements(time.Time{})
		e.wantAggregate("after changing a returned map", again[prefixA]["fra-1"], want)
	}},
}
