package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/selector"
)

// preCallBudget is how long a client may spend measuring candidates before
// its first call: one STUN round trip to each, in parallel; a candidate
// that has not answered by then is left out.
const preCallBudget = 300 * time.Millisecond

// firstCalls is the --first-call mode's result: the regret of each prefix's
// first call (no measurement of the prefix anywhere yet), placed from GeoIP
// alone and after measuring the candidates the gateway offers.
type firstCalls struct {
	w             *world
	geo, pre      []float64 // regret, ms, by prefix
	measured      []int     // candidates that answered within the budget, by prefix
	offered       int       // candidates offered per client (selector.MaxCandidates)
	relays, sites int
}

// simulateFirstCalls places the first call of one client per prefix, in the
// relays' state of the first round, both ways.
func simulateFirstCalls(ctx context.Context, cfg config) (*firstCalls, error) {
	w := newWorld(cfg)
	st := w.evolve(0, nil)
	out := &firstCalls{w: w, geo: make([]float64, len(w.prefixes)), pre: make([]float64, len(w.prefixes)),
		measured: make([]int, len(w.prefixes)), offered: selector.MaxCandidates, relays: len(w.relays), sites: w.sites}
	sc := newScratch(len(w.relays))
	for p := range w.prefixes {
		if p%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pf := &w.prefixes[p]
		cl := &w.clients[pf.first]
		rng := seeded(cfg.Seed^0x6669727374, uint64(p)) //nolint:gosec // G115: prefix p counts from 0 (0x6669727374: "first")
		best := w.paths(st, pf, sc)
		regret := func(pair relay.Pair) float64 {
			ri := w.relayIdx[pair.Primary.Relay.ID]
			return sc.path[ri] + st.relays[ri].costMS - best
		}
		who := relay.Client{Prefix: relay.ClientPrefix(cl.addr), Location: pf.geo, Located: true}
		geo, err := selector.Rank(st.snap, selector.Request{Client: who}, st.now)
		if err != nil {
			return nil, fmt.Errorf("prefix %d: rank geo: %w", p, err)
		}
		// Before the call: one STUN binding to each candidate (what GET
		// /v1/candidates lists), sent together, answers awaited for the
		// budget; loss is not measured by a single round trip.
		var ms []relay.Measurement
		for _, c := range selector.Candidates(st.snap, who, nil, relay.Jurisdiction{}, st.now, selector.MaxCandidates) {
			ri := w.relayIdx[c.ID]
			base := sc.path[ri] + cl.lastMile + st.relays[ri].delayMS
			rtt := base + rng.ExpFloat64()*(0.5+0.03*base)
			if rng.Float64() < 0.05 {
				rtt += 5 + 45*rng.Float64()
			}
			if rng.Float64() < 1-(1-st.relays[ri].loss)*(1-pf.accessLoss) || ms2d(rtt) > preCallBudget {
				continue // lost, or too slow for the budget
			}
			ms = append(ms, relay.Measurement{RelayID: c.ID, RTT: ms2d(rtt)})
		}
		pre, err := selector.Rank(st.snap, selector.Request{Client: who, Measurements: ms}, st.now)
		if err != nil {
			return nil, fmt.Errorf("prefix %d: rank pre-call: %w", p, err)
		}
		out.geo[p], out.pre[p], out.measured[p] = regret(geo), regret(pre), len(ms)
	}
	return out, nil
}

func ms2d(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }

// quantiles returns the p50, p95, p99 and mean of the xs for which keep
// holds.
func quantiles(xs []float64, keep func(int) bool) (p50, p95, p99, mean float64, n int) {
	var v []float64
	for i, x := range xs {
		if keep(i) {
			v = append(v, x)
			mean += x
		}
	}
	if len(v) == 0 {
		return 0, 0, 0, 0, 0
	}
	slices.Sort(v)
	q := func(p float64) float64 { return v[min(len(v)-1, int(p*float64(len(v))))] }
	return q(0.50), q(0.95), q(0.99), mean / float64(len(v)), len(v)
}

// print writes the first-call table.
func (f *firstCalls) print(out io.Writer) error {
	cfg := f.w.cfg
	wrong := 0
	answered := 0
	for p := range f.w.prefixes {
		if f.w.prefixes[p].geoWrong {
			wrong++
		}
		answered += f.measured[p]
	}
	fmt.Fprintf(out, "relaysim seed=%d --first-call: %d relays at %d sites; the first call of one client in each of %d /24 prefixes, none measured before (GeoIP wrong for %.1f %%)\n",
		cfg.Seed, f.relays, f.sites, len(f.w.prefixes), 100*float64(wrong)/float64(len(f.w.prefixes)))
	fmt.Fprintf(out, "pre-call: one STUN round trip to each of the %d candidate sites the gateway offers, %v budget; %.1f answered per client\n",
		f.offered, preCallBudget, float64(answered)/float64(len(f.w.prefixes)))
	fmt.Fprintln(out, "regret = effective RTT of the primary minus the best eligible relay's (ms)")
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "first call\tprefixes\tp50\tp95\tp99\tmean\t")
	for _, k := range []struct {
		name string
		keep func(int) bool
	}{{"all", func(int) bool { return true }}, {"GeoIP right", func(p int) bool { return !f.w.prefixes[p].geoWrong }},
		{"GeoIP wrong", func(p int) bool { return f.w.prefixes[p].geoWrong }}} {
		for _, s := range []struct {
			name string
			xs   []float64
		}{{"GeoIP only", f.geo}, {"measured first", f.pre}} {
			p50, p95, p99, mean, n := quantiles(s.xs, k.keep)
			fmt.Fprintf(tw, "%s, %s\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t\n", k.name, s.name, n, p50, p95, p99, mean)
		}
	}
	return tw.Flush()
}
