package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// stats summarises one strategy's answers.
type stats struct {
	p50, p95, p99, mean float64 // regret, ms
	sameSite, noBackup  float64 // shares of answers
	changes             float64 // primary changes per answer after the first scored round
	measured            float64 // share of primaries on the measured basis
	best                float64 // share of primaries that are the best relay (regret under 0.05 ms)
	n                   int
}

// summarise computes stats over the answers for which keep(client) holds.
func (o *outcome) summarise(s int, keep func(c int) bool) stats {
	nc := len(o.w.clients)
	var rs []float64
	var st stats
	var changes, changeable int
	for i, a := range o.answers[s] {
		c := i % nc
		if !keep(c) {
			continue
		}
		rs = append(rs, float64(a.regret))
		st.mean += float64(a.regret)
		if a.sameSite {
			st.sameSite++
		}
		if a.noBackup {
			st.noBackup++
		}
		if a.measured {
			st.measured++
		}
		if a.regret < 0.05 {
			st.best++
		}
		if i >= nc {
			changeable++
			if a.changed {
				changes++
			}
		}
	}
	st.n = len(rs)
	if st.n == 0 {
		return st
	}
	slices.Sort(rs)
	q := func(p float64) float64 { return rs[min(len(rs)-1, int(p*float64(len(rs))))] }
	n := float64(st.n)
	st.p50, st.p95, st.p99, st.mean = q(0.50), q(0.95), q(0.99), st.mean/n
	st.sameSite, st.noBackup, st.measured, st.best = st.sameSite/n, st.noBackup/n, st.measured/n, st.best/n
	if changeable > 0 {
		st.changes = float64(changes) / float64(changeable)
	}
	return st
}

// print writes the report: the world, the main table, and regret by kind
// of client.
func (o *outcome) print(out io.Writer) error {
	w, cfg := o.w, o.w.cfg
	var kinds [4]int
	for _, r := range w.relays {
		kinds[r.kind]++
	}
	hostCities := 0
	for _, h := range w.relayCity {
		if h {
			hostCities++
		}
	}
	wrong := 0
	for _, p := range w.prefixes {
		if p.geoWrong {
			wrong += p.n
		}
	}
	gw := cfg.Gateway
	if gw == "" {
		gw = "none"
	}
	fmt.Fprintf(out, "relaysim seed=%d: %d relays in %d cities at %d sites (%d overloaded, %d lossy, %d down), probes from %s\n",
		cfg.Seed, len(w.relays), hostCities, w.sites, kinds[kindOverloaded], kinds[kindLossy], kinds[kindDown], gw)
	fmt.Fprintf(out, "%d clients near %d cities in %d /24 prefixes, GeoIP wrong for %.1f %%\n",
		len(w.clients), len(cities), len(w.prefixes), 100*float64(wrong)/float64(len(w.clients)))
	fmt.Fprintf(out, "warm-up %d rounds, scored %d rounds, %v apart; explore share %.0f %%; %.1f trusted relays per prefix at the end\n",
		cfg.Warmup, cfg.Rounds, cfg.Interval, 100*cfg.Explore, o.coverage)
	fmt.Fprintf(out, "regret = effective RTT of the primary minus the best eligible relay's (ms; effective = path + relay queueing + %g ms per %% loss above %g %%)\n\n", lossCostMSPerPoint, 100*lossAudible)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tp50\tp95\tp99\tmean\tbest picked\tbackup same site\tno backup\tprimary changes\tprimary measured\t")
	all := func(int) bool { return true }
	for s := range nStrategies {
		st := o.summarise(s, all)
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f %%\t%.2f %%\t%.2f %%\t%.2f %%\t%.1f %%\t\n", strategyNames[s],
			st.p50, st.p95, st.p99, st.mean, 100*st.best, 100*st.sameSite, 100*st.noBackup, 100*st.changes, 100*st.measured)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out, "\nregret p50 / p95 (ms) by kind of client")
	geoRight := func(c int) bool { return !w.prefixes[w.prefixOf(c)].geoWrong }
	geoWrong := func(c int) bool { return w.prefixes[w.prefixOf(c)].geoWrong }
	slow := func(c int) bool { return w.clients[c].lastMile >= 15 }
	lossy := func(c int) bool { return w.prefixes[w.prefixOf(c)].accessLoss > 0 }
	groups := []struct {
		name string
		keep func(int) bool
	}{{"GeoIP right", geoRight}, {"GeoIP wrong", geoWrong}, {"access >= 15 ms", slow}, {"lossy access", lossy}}
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "strategy\t")
	for _, g := range groups {
		fmt.Fprintf(tw, "%s (%.1f %%)\t", g.name, 100*o.share(g.keep))
	}
	fmt.Fprintln(tw)
	for s := range nStrategies {
		fmt.Fprintf(tw, "%s\t", strategyNames[s])
		for _, g := range groups {
			st := o.summarise(s, g.keep)
			fmt.Fprintf(tw, "%.1f / %.1f\t", st.p50, st.p95)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// share is the fraction of clients for which keep holds.
func (o *outcome) share(keep func(int) bool) float64 {
	n := 0
	for c := range o.w.clients {
		if keep(c) {
			n++
		}
	}
	return float64(n) / float64(len(o.w.clients))
}

// prefixOf is the index of client c's prefix (binary search on first).
func (w *world) prefixOf(c int) int {
	i, ok := slices.BinarySearchFunc(w.prefixes, c, func(p prefix, c int) int { return p.first - c })
	if !ok {
		i--
	}
	return i
}
