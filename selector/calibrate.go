package selector

import (
	"math"
	"slices"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Calibration: measured RTTs and the geo model must be on one scale, and a
// prefix whose GeoIP location is wrong must not stay wrong. relaysim showed
// both: measured RTTs carry the client's access delay and the real route
// inflation, so unmeasured relays (geo estimates without either) looked
// better than measured ones; and a wrongly located prefix kept being sent
// to relays near the wrong place.
const (
	// A prefix whose fastest measured relay is more than 30 ms above the
	// model's floor has not found its neighbourhood yet (most clients sit
	// within a few hundred km of a relay, where access delay dominates): its
	// backup keeps exploring unmeasured regions. relaysim: 25-50 ms trade
	// exploration for p95 regret of wrongly located prefixes (27 vs 42 ms).
	lostMS = 30.0
	// The offset added to geo estimates is capped: beyond this the
	// measurements say more about the measuring client than the network.
	maxOffsetMS = 150.0
	// GeoIP keeps the client unless another place fits the measurements
	// better by more than this per measurement: residuals wander by that
	// much with route inflation and noise alone.
	placementSlackMS = 15.0
	// At most this many measurements are used to calibrate, and at least
	// two: one slow relay alone says as much about that relay as about the
	// client, so it must not move the client or every other estimate.
	maxCalibration = 64
	minCalibration = 2
)

// calSet is what calibrate works from: the usable measurements (RTT and
// relay) and the distinct places they were measured at (relays at one site
// share a place, and the model RTT to a place is computed once per try).
type calSet struct {
	n, places int
	rtt       [maxCalibration]float64 // ms
	rel       [maxCalibration]int32   // relay index
	at        [maxCalibration]uint8   // index into pos
	pos       [maxCalibration]vec3    // the distinct places, in order of first measurement

	d, g [maxCalibration]float64 // scratch: residuals, model RTT per place
}

// add appends a measurement of relay i at p, rtt ms; the caller checks
// that cs is not full.
func (cs *calSet) add(i int32, p vec3, rtt float64) {
	k := 0
	for k < cs.places && cs.pos[k] != p {
		k++
	}
	if k == cs.places {
		cs.pos[k] = p
		cs.places++
	}
	cs.rtt[cs.n], cs.rel[cs.n], cs.at[cs.n] = rtt, i, uint8(k) //nolint:gosec // G115: k < maxCalibration
	cs.n++
}

// calibrate looks at the relays the client (or its prefix) measured and
// sets r.offset, the median of measured minus modelled RTT, which the geo
// pass adds to every estimate. When GeoIP is missing or wrong (even the
// best measured relay is far slower than modelled), the client is placed at
// its best-measured relay instead, and r.lost is set if even then the best
// relay is far away: the backup then explores a region not measured yet.
func (r *ranking) calibrate(client vec3, geo bool) (vec3, bool) {
	var cs calSet
	for _, ms := range [][]relay.Measurement{r.req.Measurements, r.req.PrefixMeasurements} {
		for _, m := range ms {
			if cs.n == maxCalibration || m.RTT < 0 || math.IsNaN(m.Loss) {
				continue
			}
			i, ok := r.s.index(m.RelayID)
			if !ok || !r.s.locOf[i] || slices.Contains(cs.rel[:cs.n], i) {
				continue
			}
			cs.add(i, r.s.posOf[i], min(float64(m.RTT)/float64(time.Millisecond), maxMeasuredRTTMS))
		}
	}
	if cs.n < minCalibration {
		return client, geo
	}
	r.measuredN = uint64(cs.n) //nolint:gosec // G115: at most maxCalibration
	for k, i := range cs.rel[:cs.n] {
		r.measuredRegions[k] = r.s.regionOf[i]
	}
	// Where do the measurements place the client? At the right place every
	// relay's residual (measured minus modelled RTT) is about the same, the
	// client's access delay; at a wrong place they spread, and some go
	// negative (faster than light in fibre allows). Try each measured
	// place and region centres (see searchAnchors); the GeoIP location
	// keeps the client unless another place fits clearly better.
	fastest := slices.Min(cs.rtt[:cs.n])
	// Until some relay answers within lostMS of the model's floor, the
	// client has not found its neighbourhood: keep exploring.
	r.lost = fastest-geoBaseMS > lostMS
	r.exploreRegion = -1
	slack := placementSlackMS * float64(cs.n)
	geoCost := math.Inf(1)
	if geo {
		// A GeoIP location the measurements fit well needs no search.
		if geoCost = cs.placementCost(client); geoCost <= slack {
			r.offset = cs.medianDiff(client)
			return client, true
		}
	}
	bestPos, bestCost := cs.pos[0], math.Inf(1)
	exploreCost := math.Inf(1)
	try := func(c vec3, reg int32) float64 {
		cost := cs.placementCost(c)
		if cost < bestCost {
			bestPos, bestCost = c, cost
		}
		if reg >= 0 && cost < exploreCost && !slices.Contains(r.measuredRegions[:r.measuredN], reg) {
			r.exploreRegion, exploreCost = reg, cost
		}
		return cost
	}
	for _, p := range cs.pos[:cs.places] {
		try(p, -1)
	}
	anchor := func(j int32) (float64, bool) {
		reg := r.s.anchors[j]
		return try(r.s.regionPos[reg], reg), !slices.Contains(r.measuredRegions[:r.measuredN], reg)
	}
	if r.exhaustive {
		for j := range r.s.anchors {
			anchor(int32(j)) //nolint:gosec // G115: at most maxAnchors
		}
	} else {
		r.s.searchAnchors(anchor)
	}
	if geo && geoCost <= bestCost+slack {
		r.offset = cs.medianDiff(client)
		return client, true
	}
	r.recentred = true
	r.offset = cs.medianDiff(bestPos)
	return bestPos, true
}

// searchAnchors evaluates the anchors coarse to fine (see anchorTop): all of
// level 0, then, level by level, the children of the placeBeam anchors that
// fit best so far and of the placeBeam best in regions the client has not
// measured (where exploration goes). eval returns an anchor's placement cost (lower fits better) and whether
// its region is unmeasured.
func (s *Snapshot) searchAnchors(eval func(j int32) (float64, bool)) {
	var all, open beam
	try := func(j int32) {
		cost, unmeasured := eval(j)
		all.keep(j, cost)
		if unmeasured {
			open.keep(j, cost)
		}
	}
	top := min(anchorTop, len(s.anchors))
	for j := range int32(top) { //nolint:gosec // G115: at most anchorTop
		try(j)
	}
	for lo := top; lo < len(s.anchors); lo *= anchorFanout {
		hi := min(lo*anchorFanout, len(s.anchors))
		parents := all.append(open.append(make([]int32, 0, 2*placeBeam)))
		for i, p := range parents {
			if slices.Contains(parents[:i], p) {
				continue
			}
			for _, k := range s.anchorKids[p] {
				if int(k) >= lo && int(k) < hi {
					try(k)
				}
			}
		}
	}
}

// beam is the placeBeam anchors of lowest cost seen, best first.
type beam struct {
	n    int
	j    [placeBeam]int32
	cost [placeBeam]float64
}

// keep offers anchor j at cost.
func (b *beam) keep(j int32, cost float64) {
	if b.n == placeBeam && !(cost < b.cost[b.n-1]) {
		return
	}
	b.n = min(b.n+1, placeBeam)
	i := b.n - 1
	for ; i > 0 && cost < b.cost[i-1]; i-- {
		b.j[i], b.cost[i] = b.j[i-1], b.cost[i-1]
	}
	b.j[i], b.cost[i] = j, cost
}

// append appends the beam's anchors to js.
func (b *beam) append(js []int32) []int32 { return append(js, b.j[:b.n]...) }

// placementCost says how badly the measurements fit a client at c: the
// spread of the residuals (measured minus modelled RTT) around their
// median, plus a heavy charge for residuals below zero (the model's RTT is
// a floor no path beats).
func (cs *calSet) placementCost(c vec3) float64 {
	d := cs.residuals(c)
	med := median(d)
	cost := 0.0
	for _, x := range d {
		cost += math.Abs(x - med)
		if x < 0 {
			cost += -10 * x
		}
	}
	return cost
}

// residuals returns each measurement's measured minus modelled RTT for a
// client at c (in cs.d, overwritten by the next call); the model RTT to
// each place is computed once.
func (cs *calSet) residuals(c vec3) []float64 {
	for k, p := range cs.pos[:cs.places] {
		cs.g[k] = geoRTT(chord2(p, c))
	}
	d := cs.d[:cs.n]
	for i := range d {
		d[i] = cs.rtt[i] - cs.g[cs.at[i]]
	}
	return d
}

// median sorts d in place and returns its median.
func median(d []float64) float64 {
	slices.Sort(d)
	m := d[len(d)/2]
	if len(d)%2 == 0 {
		m = (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	return m
}

func chord2(a, b vec3) float64 {
	dx, dy, dz := a.x-b.x, a.y-b.y, a.z-b.z
	return dx*dx + dy*dy + dz*dz
}

// medianDiff is the median of measured minus modelled RTT, clamped to
// [0, maxOffsetMS]: the model is a floor, so a negative median is noise.
func (cs *calSet) medianDiff(client vec3) float64 {
	return min(max(median(cs.residuals(client)), 0), maxOffsetMS)
}

// exploreLost offers, as backup, a relay in the region not yet measured
// that the measurements fit best (calibrate's exploreRegion), or failing
// that a relay drawn uniformly from the regions none of the prefix's
// measurements covers, under a seed that changes as the prefix measures more
// relays: each new answer tries another region until the prefix's real
// neighbourhood is found.
func (r *ranking) exploreLost() {
	if r.best.cand < 0 {
		return
	}
	seed := r.prefixHash ^ (r.measuredN * 0x9e3779b97f4a7c15)
	site := r.s.cands[r.best.cand].site
	ok := func(c int32) bool {
		cd := &r.s.cands[c]
		return cd.site != site && !slices.Contains(r.measuredRegions[:r.measuredN], cd.region) && r.eligible(c)
	}
	pick, w := int32(-1), uint64(0)
	if r.exploreRegion >= 0 {
		// The likeliest region: its relays only, by rendezvous weight.
		for _, c := range r.s.regionCands[r.exploreRegion] {
			if x := rendezvous(seed, r.s.cands[c].hash); ok(c) && (pick < 0 || x > w) {
				pick, w = c, x
			}
		}
	}
	if pick < 0 {
		// Any candidate in an unmeasured region, uniformly under the seed:
		// O(1) expected (a pass over every candidate cost 10 µs at 10,000
		// relays, 0.9 ms at 100,000).
		pick = r.sampleCandidate(seed, ok)
	}
	if pick < 0 {
		return
	}
	if e, ok := r.scoreOf(pick); ok {
		r.other = e
	}
}

// sampleCandidate returns a candidate satisfying ok, uniformly at random
// under seed: up to 32 random probes (rejection sampling, O(1) expected
// while most candidates qualify), then a scan from a random start so that
// a rare qualifying candidate is still found. -1 when none qualifies.
func (r *ranking) sampleCandidate(seed uint64, ok func(int32) bool) int32 {
	n := uint64(len(r.s.cands))
	if n == 0 {
		return -1
	}
	at := func(x uint64) int32 { return int32(x % n) } //nolint:gosec // G115: below n, the number of candidates, whose indices are int32s
	for i := range uint64(32) {
		if c := at(rendezvous(seed, i+1)); ok(c) {
			return c
		}
	}
	start := rendezvous(seed, 0) % n
	for i := range n {
		if c := at(start + i); ok(c) {
			return c
		}
	}
	return -1
}
