package storetest

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
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

// reporter is the reporter of the suite's measurements unless a test
// names others.
const reporter = "alice-pseudonym"

func (e *env) add(p netip.Prefix, ms ...relay.Measurement) {
	e.t.Helper()
	e.addBy(p, reporter, ms...)
}

func (e *env) addBy(p netip.Prefix, reporter string, ms ...relay.Measurement) {
	e.t.Helper()
	if err := e.s.AddMeasurements(e.t.Context(), p, reporter, ms); err != nil {
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

// wantAggregate fails unless got matches want, reporter by reporter in
// order: floats closely, IDs, sample counts and times exactly.
func (e *env) wantAggregate(what string, got, want relay.Aggregate) {
	e.t.Helper()
	if got.Samples != want.Samples || !got.Updated.Equal(want.Updated) || len(got.Reporters) != len(want.Reporters) {
		e.t.Fatalf("%s = %+v,\nwant %+v", what, got, want)
	}
	for i, g := range got.Reporters {
		w := want.Reporters[i]
		if g.ID != w.ID || !closeTo(g.RTTMillis, w.RTTMillis) || !closeTo(g.Loss, w.Loss) || !closeTo(g.Weight, w.Weight) || !g.Updated.Equal(w.Updated) {
			e.t.Fatalf("%s: reporter %d = %+v,\nwant %+v", what, i, g, w)
		}
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
			want = want.Add(reporter, m, e.clock.Now(), aggCfg)
			e.add(prefixA, m)
			got, _ := e.measurements(time.Time{})
			e.wantAggregate(fmt.Sprintf("after sample %d", i), got[prefixA]["fra-1"], want)
			if g := got[prefixA]["fra-1"].Reporters[0].RTTMillis; i == 1 && !(g < prev.Reporters[0].RTTMillis && g > st.rtt) {
				e.t.Fatalf("mean RTT %v after %v then %v: want it to move toward the new sample", g, prev.Reporters[0].RTTMillis, st.rtt)
			}
		}
	}},
	{name: "one call folds several relays and repeats in order", run: func(e *env) {
		ms := []relay.Measurement{measurement("fra-1", 30, 0), measurement("ams-2", 50, 0.1), measurement("fra-1", 10, 0)}
		e.add(prefixB, ms...)
		now := e.clock.Now()
		want := map[string]relay.Aggregate{}
		for _, m := range ms {
			want[m.RelayID] = want[m.RelayID].Add(reporter, m, now, aggCfg)
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
	{name: "aggregates are trusted only with enough distinct reporters", run: func(e *env) {
		for range 50 { // one reporter, however often, is one reporter
			e.add(prefixA, measurement("fra-1", 1, 0))
			e.clock.Advance(time.Millisecond)
		}
		for i := 1; i < aggCfg.MinReporters; i++ {
			got, _ := e.measurements(time.Time{})
			if m, ok := got[prefixA]["fra-1"].Trusted("fra-1", e.clock.Now(), aggCfg); ok {
				e.t.Fatalf("with %d reporters: Trusted() = %+v, true; want untrusted", i, m)
			}
			if n := got[prefixA]["fra-1"].Counted(e.clock.Now(), aggCfg); n != i {
				e.t.Fatalf("Counted() = %d, want %d", n, i)
			}
			e.addBy(prefixA, fmt.Sprintf("reporter-%d", i), measurement("fra-1", 30, 0.01))
			e.clock.Advance(time.Second)
		}
		got, _ := e.measurements(time.Time{})
		m, ok := got[prefixA]["fra-1"].Trusted("fra-1", e.clock.Now(), aggCfg)
		if !ok || m.RelayID != "fra-1" || (m.RTT-30*time.Millisecond).Abs() > time.Microsecond || !closeTo(m.Loss, 0.01) {
			e.t.Fatalf("with %d reporters: Trusted() = %+v, %v; want their median, 30ms, 1%% loss, true", aggCfg.MinReporters, m, ok)
		}
		if s := got[prefixA]["fra-1"].Samples; s != 50+aggCfg.MinReporters-1 {
			e.t.Fatalf("Samples = %d, want every one counted, %d", s, 50+aggCfg.MinReporters-1)
		}
	}},
	{name: "an aggregate keeps the most recently heard reporters", run: func(e *env) {
		var want relay.Aggregate
		for i := range relay.MaxReporters + 3 {
			r := fmt.Sprintf("reporter-%02d", i)
			m := measurement("fra-1", float64(10+i), 0)
			want = want.Add(r, m, e.clock.Now(), aggCfg)
			e.addBy(prefixA, r, m)
			e.clock.Advance(time.Second)
		}
		got, _ := e.measurements(time.Time{})
		e.wantAggregate("after more reporters than fit", got[prefixA]["fra-1"], want)
		if n := len(got[prefixA]["fra-1"].Reporters); n != relay.MaxReporters {
			e.t.Fatalf("%d reporters kept, want %d", n, relay.MaxReporters)
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
		const workers, perWorker = relay.MaxReporters, 25
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for range perWorker {
					ms := []relay.Measurement{measurement("a", float64(w+1), 0), measurement("b", 10, 0.5)}
					if err := e.s.AddMeasurements(e.t.Context(), prefixA, fmt.Sprintf("worker-%d", w), ms); err != nil {
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
		// The clock stands still, so nothing decays: each worker is one
		// reporter with every one of its samples, and its RTT to a.
		for id, agg := range got[prefixA] {
			if agg.Samples != workers*perWorker || len(agg.Reporters) != workers {
				e.t.Fatalf("%s: %d samples from %d reporters, want %d from %d", id, agg.Samples, len(agg.Reporters), workers*perWorker, workers)
			}
			rtts := map[float64]bool{}
			for _, r := range agg.Reporters {
				if r.Weight != perWorker || (id == "b" && (r.RTTMillis != 10 || r.Loss != 0.5)) {
					e.t.Fatalf("%s: reporter %+v, want weight %d (and b at 10 ms, 50%% loss)", id, r, perWorker)
				}
				rtts[r.RTTMillis] = true
			}
			if id == "a" && len(rtts) != workers {
				e.t.Fatalf("a: reporters' RTTs %v, want %d distinct, one per worker", rtts, workers)
			}
		}
		if len(got[prefixA]) != 2 {
			e.t.Fatalf("relays = %q, want a and b", relayIDs(got[prefixA]))
		}
	}},
	{name: "invalid measurements are refused without naming the prefix", run: func(e *env) {
		tooMany := make([]relay.Measurement, store.MaxMeasurementsPerAdd+1)
		for i := range tooMany {
			tooMany[i] = measurement("fra-1", 30, 0)
		}
		long := strings.Repeat("p", store.MaxReporterLen+1)
		tests := []struct {
			name     string
			prefix   netip.Prefix
			reporter string
			ms       []relay.Measurement
		}{
			{"zero prefix", netip.Prefix{}, reporter, measure("fra-1", 30)},
			{"unmasked", netip.MustParsePrefix("203.0.113.77/24"), reporter, measure("fra-1", 30)},
			{"ipv4 /16", netip.MustParsePrefix("203.0.0.0/16"), reporter, measure("fra-1", 30)},
			{"ipv4 /32", netip.MustParsePrefix("203.0.113.77/32"), reporter, measure("fra-1", 30)},
			{"ipv4-mapped", netip.MustParsePrefix("::ffff:203.0.113.0/120"), reporter, measure("fra-1", 30)},
			{"ipv6 /64", netip.MustParsePrefix("2001:db8:7:1::/64"), reporter, measure("fra-1", 30)},
			{"ipv6 /32", netip.MustParsePrefix("2001:db8::/32"), reporter, measure("fra-1", 30)},
			{"empty reporter", prefixA, "", measure("fra-1", 30)},
			{"long reporter", prefixA, long, measure("fra-1", 30)},
			{"reporter with a space", prefixA, "alice smith", measure("fra-1", 30)},
			{"reporter with a quote", prefixA, `alice"`, measure("fra-1", 30)},
			{"empty relay id", prefixA, reporter, measure("", 30)},
			{"long relay id", prefixA, reporter, measure(strings.Repeat("r", 257), 30)},
			{"too many", prefixA, reporter, tooMany},
		}
		for _, tt := range tests {
			err := e.s.AddMeasurements(e.t.Context(), tt.prefix, tt.reporter, tt.ms)
			if !errors.Is(err, store.ErrInvalid) {
				e.t.Errorf("AddMeasurements(%s) error = %v, want ErrInvalid", tt.name, err)
				continue
			}
			if tt.prefix.IsValid() && (strings.Contains(err.Error(), tt.prefix.Addr().String()) || strings.Contains(err.Error(), "203.0.113")) {
				e.t.Errorf("AddMeasurements(%s) error %q names the prefix", tt.name, err)
			}
			if len(tt.reporter) > 8 && strings.Contains(err.Error(), tt.reporter[:8]) {
				e.t.Errorf("AddMeasurements(%s) error %q names the reporter", tt.name, err)
			}
		}
		if err := e.s.AddMeasurements(e.t.Context(), prefixA, reporter, nil); err != nil {
			e.t.Errorf("AddMeasurements(no measurements) error = %v, want nil", err)
		}
		got, _ := e.measurements(time.Time{})
		wantPrefixes(e.t, "after refused adds", got)
	}},
	{name: "returned measurements do not alias the store", run: func(e *env) {
		e.add(prefixA, measurement("fra-1", 30, 0))
		got, _ := e.measurements(time.Time{})
		want := got[prefixA]["fra-1"]
		want.Reporters = slices.Clone(want.Reporters)
		got[prefixA]["fra-1"].Reporters[0] = relay.Reporter{}
		got[prefixA]["fra-1"] = relay.Aggregate{}
		delete(got, prefixA)
		again, _ := e.measurements(time.Time{})
		if !reflect.DeepEqual(again[prefixA]["fra-1"], want) {
			e.t.Fatalf("after changing a returned map: %+v, want %+v", again[prefixA]["fra-1"], want)
		}
	}},
}
