package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/selector"
)

// The strategies compared, in table order.
const (
	stratGeo      = iota // Rank with the GeoIP location only
	stratMeasured        // plus the prefix's trusted measurement aggregates
	stratShipped         // plus Previous (hysteresis) and Explore, as relaygate does
	nStrategies
)

var strategyNames = [nStrategies]string{"geo-only", "measured", "shipped"}

// answer is what one strategy gave one client in one scored round.
type answer struct {
	regret   float32 // ms of effective RTT above the best eligible relay
	sameSite bool    // backup at the primary's site
	noBackup bool
	changed  bool // primary differs from this client's previous scored round
	measured bool // primary's basis is measured
}

// prefixState is what the gateway keeps about one prefix, and the clients'
// own memory; only the worker simulating the prefix touches it.
type prefixState struct {
	aggs []agg
	prev string // the live gateway's previous primary for the prefix
}

type agg struct {
	relay int
	a     relay.Aggregate
}

// outcome is everything a simulation found.
type outcome struct {
	w        *world
	answers  [nStrategies][]answer // [round*clients+client]
	elapsed  time.Duration
	coverage float64 // mean relays with trusted aggregates per prefix at the end
}

// simulate runs the warm-up and the scored rounds.
func simulate(ctx context.Context, cfg config) (*outcome, error) {
	start := time.Now()
	w := newWorld(cfg)
	out := &outcome{w: w}
	nc := len(w.clients)
	for s := range out.answers {
		out.answers[s] = make([]answer, cfg.Rounds*nc)
	}
	states := make([]prefixState, len(w.prefixes))
	prevPrim := make([][nStrategies]int32, nc)
	var st *roundState
	for k := range cfg.Warmup + cfg.Rounds {
		st = w.evolve(k, st)
		var next atomic.Int64
		errs := make([]error, cfg.Workers)
		var wg sync.WaitGroup
		for wi := range cfg.Workers {
			wg.Go(func() {
				sc := newScratch(len(w.relays))
				for ctx.Err() == nil {
					lo := int(next.Add(32)) - 32
					if lo >= len(w.prefixes) {
						return
					}
					for p := lo; p < min(lo+32, len(w.prefixes)); p++ {
						if err := w.round(k, st, p, &states[p], prevPrim, out, sc); err != nil {
							errs[wi] = err
							return
						}
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	n := 0
	for p := range states {
		for _, a := range states[p].aggs {
			if _, ok := a.a.Trusted("", st.now, relay.AggregateConfig{}); ok {
				n++
			}
		}
	}
	out.coverage = float64(n) / float64(len(states))
	out.elapsed = time.Since(start)
	return out, nil
}

// scratch is one worker's reusable memory.
type scratch struct {
	path []float64 // ms of fibre RTT from the prefix to each relay
	pm   []relay.Measurement
	ping [pingsPerReport]float64
}

func newScratch(relays int) *scratch { return &scratch{path: make([]float64, relays)} }

// paths sets sc.path to the fibre RTT from prefix pf to each relay and
// returns the best eligible relay's effective RTT (path plus cost).
func (w *world) paths(st *roundState, pf *prefix, sc *scratch) float64 {
	nc := len(cities)
	best := math.Inf(1)
	for i := range w.relays {
		r := &w.relays[i]
		sc.path[i] = 2 * distKM(pf.pos, r.pos) * float64(w.infl[pf.city*nc+r.city]) / fibreKMPerMS
		if rs := &st.relays[i]; rs.eligible {
			best = min(best, sc.path[i]+rs.costMS)
		}
	}
	return best
}

// round simulates every client of prefix p in round k: the live gateway's
// answer (the shipped strategy), in scored rounds also the other two, and
// the client's report of what it measured to the relays it was given.
func (w *world) round(k int, st *roundState, p int, ps *prefixState, prevPrim [][nStrategies]int32, out *outcome, sc *scratch) error {
	cfg := w.cfg
	pf := &w.prefixes[p]
	rng := seeded(cfg.Seed^0x636c69656e74, uint64(k)<<32|uint64(p)) //nolint:gosec // G115: round k and prefix p count from 0 (0x636c69656e74: "client")
	best := w.paths(st, pf, sc)
	scored := k >= cfg.Warmup
	e := k - cfg.Warmup
	for j := range pf.n {
		ci := pf.first + j
		cl := &w.clients[ci]
		// The prefix's trusted aggregates, else the client's own reports,
		// as the gateway's picks for that client's user go.
		sc.pm = sc.pm[:0]
		for _, a := range ps.aggs {
			id := w.relays[a.relay].id
			if m, ok := a.a.Trusted(id, st.now, relay.AggregateConfig{}); ok {
				sc.pm = append(sc.pm, m)
			} else if m, ok := a.a.Own(cl.user, id, st.now, relay.AggregateConfig{}); ok {
				sc.pm = append(sc.pm, m)
			}
		}
		who := relay.Client{Prefix: relay.ClientPrefix(cl.addr), Location: pf.geo, Located: true}
		live := selector.Request{Client: who, PrefixMeasurements: sc.pm, Previous: ps.prev}
		if rng.Float64() < cfg.Explore {
			live.Explore = rng.Uint64() | 1
		}
		shipped, err := selector.Rank(st.snap, live, st.now)
		if err != nil {
			return fmt.Errorf("round %d: rank: %w", k, err)
		}
		ps.prev = shipped.Primary.Relay.ID
		if scored {
			geo, err := selector.Rank(st.snap, selector.Request{Client: who}, st.now)
			if err != nil {
				return fmt.Errorf("round %d: rank geo: %w", k, err)
			}
			measured, err := selector.Rank(st.snap, selector.Request{Client: who, PrefixMeasurements: sc.pm}, st.now)
			if err != nil {
				return fmt.Errorf("round %d: rank measured: %w", k, err)
			}
			for s, pair := range [nStrategies]relay.Pair{geo, measured, shipped} {
				ri := w.relayIdx[pair.Primary.Relay.ID]
				a := answer{
					regret:   float32(sc.path[ri] + st.relays[ri].costMS - best),
					noBackup: pair.Backup == nil,
					measured: pair.Primary.Basis == relay.BasisMeasured,
				}
				if pair.Backup != nil {
					a.sameSite = pair.Backup.Relay.Site == pair.Primary.Relay.Site
				}
				r32 := int32(ri) //nolint:gosec // G115: a relay index, below --relays' maximum of 30000
				if e > 0 {
					a.changed = prevPrim[ci][s] != r32
				}
				prevPrim[ci][s] = r32
				out.answers[s][e*len(w.clients)+ci] = a
			}
		}
		// The client measures the relays it was given (a STUN binding to
		// each, then getStats during the call) and reports them; the
		// gateway folds the report into the prefix's aggregates.
		w.report(rng, st, ps, cl, pf, sc, shipped.Primary.Relay.ID)
		if shipped.Backup != nil {
			w.report(rng, st, ps, cl, pf, sc, shipped.Backup.Relay.ID)
		}
	}
	return nil
}
