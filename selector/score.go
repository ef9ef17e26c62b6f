package selector

import (
	"math"
	"slices"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// The RTT model for the geo basis: RTT = geoBaseMS + geoMSPerRadian × the
// central angle between client and relay.
const (
	// Light in fibre covers about 200 km per ms (refractive index ~1.47).
	fibreKMPerMS = 200.0
	// Internet paths run about 1.5 times the great-circle distance (cables
	// follow coasts and roads, traffic crosses exchange points); measured
	// figures range from 1.3 to 2, 1.5 keeps nearby relays from looking
	// better than they are without overstating long paths.
	routeInflation = 1.5
	// The access network, serialisation and the relay's own processing add
	// a few ms to any path, however short.
	geoBaseMS = 5.0
	// Mean Earth radius (IUGG).
	earthRadiusKM = 6371.0088
	// ms of RTT per radian of great circle: there and back, inflated.
	geoMSPerRadian = 2 * routeInflation * earthRadiusKM / fibreKMPerMS
)

// Penalties and limits, in ms of score.
const (
	// A relay at full capacity scores 30 ms worse than an idle one at the
	// same place, linearly in between. Within a metro or a region (relays a
	// few ms apart) load therefore decides and traffic spreads before any
	// relay fills up; across a continent (tens of ms) distance still
	// decides, because a far relay costs every packet of the call while a
	// busy one only risks it. 30 ms is also about the extra one-way delay
	// (15 ms) below which callers do not notice a change.
	loadPenaltyMS = 30.0
	// A static relay (a coturn listed in a file) never reports its load,
	// so it is scored as half full: the middle of what a heartbeating relay
	// can score. Taken as idle it would win every near tie against busy
	// heartbeating relays and draw the traffic of a whole metro while it
	// may be the fullest of them; taken as full it would be starved. Half
	// costs it 15 ms, which decides only between relays a few ms apart
	// (load's own range); the prober still takes it out when it is down,
	// and its probe loss and congestion penalties apply as to any relay.
	staticLoadFraction = 0.5
	// Above ~2 % random loss users hear it, so such a relay must lose to a
	// slightly farther one: each percentage point of measured loss above 2 %
	// costs as much as 10 ms more RTT (5 % loss: +30 ms).
	lossThreshold         = 0.02
	lossPenaltyMSPerPoint = 10.0
	// Probe penalties. The gateway's probes measure the path from the
	// gateway to the relay, not the client's: a relay far from the gateway
	// has a high probe RTT and nothing wrong with it (relaysim showed that
	// penalising absolute probe RTT, or the "degraded" state it drives,
	// sends clients away from perfectly good distant relays). What probes do
	// tell about the relay itself is loss, which costs like client-measured
	// loss, and congestion: smoothed RTT rising above the relay's own
	// recent minimum means queues are building there. Congestion beyond
	// 20 ms (ordinary jitter) costs half its excess.
	congestionAllowance  = 20 * time.Millisecond
	congestionPenaltyPer = 0.5
	// Hysteresis: a new primary must beat the previous one by at least
	// 10 ms and score under two thirds of it. 10 ms is about what a caller
	// can notice; the ratio keeps long paths (where 10 ms is noise) stable.
	switchMinGainMS = 10.0
	switchMaxRatio  = 2.0 / 3.0
	// The score of a relay with no RTT estimate (the fallback basis): worse
	// than any estimate, so measured and geo relays always come first, but
	// finite, so load penalties still order fallback relays among
	// themselves.
	unknownRTTMS = 1e6
	// Client-reported RTTs are capped at a minute: anything above is
	// nonsense and must not overflow the fallback band.
	maxMeasuredRTTMS = float64(relay.MaxMeasuredRTT / time.Millisecond)
	// Scores are compared in steps of 0.1 ms: scores in the same step are
	// equal, and equal scores are ordered by rendezvous weight. 0.1 ms is
	// about 7 km of geo distance or 0.3 % of load, less than any of our
	// figures can resolve. Steps rather than "closer than 0.1 ms" because
	// steps make the order transitive, so the answer does not depend on the
	// order candidates are visited in (the geo index visits them nearest
	// first, tests scan them in index order).
	scoreEpsilon = 0.1
)

// basisKind is a Basis as a small integer, for entry.
type basisKind uint8

const (
	kindMeasured basisKind = iota
	kindGeo
	kindFallback
)

var basisOf = [...]relay.Basis{kindMeasured: relay.BasisMeasured, kindGeo: relay.BasisGeo, kindFallback: relay.BasisFallback}

// entry is a scored candidate.
type entry struct {
	cand  int32 // candidate index; -1 for no entry
	basis basisKind
	score float64 // ms, lower is better: estimate + penalties
	step  float64 // scoreStep(score), computed once (see consider)
	est   float64 // the RTT estimate in ms, without penalties
	w     uint64  // rendezvous weight, for ties
}

var noEntry = entry{cand: -1}

// scoreStep is the step of scoreEpsilon a score falls in.
func scoreStep(score float64) float64 { return math.Floor(score / scoreEpsilon) }

// better reports whether a ranks before b: a lower score step, or the same
// step and a higher rendezvous weight (then the lower candidate index). It
// is a strict total order. Any entry is better than no entry. Both entries'
// steps are set (consider sets them).
func better(a, b entry) bool {
	if b.cand < 0 {
		return true
	}
	if a.step != b.step {
		return a.step < b.step
	}
	if a.w != b.w {
		return a.w > b.w
	}
	return a.cand < b.cand
}

// ranking is the state of one Rank call: the best entry, the best at
// another site than best (other), and the best at best's own site (same,
// only needed while no other site has been seen).
//
// New estimate sources (probe penalties, prefix measurements) plug in as
// another pass like measured, or as another term of a candidate's static
// penalty; what they must keep is that score never falls below the bound
// the geo pass prunes with (the modelled RTT of the distance plus the
// candidate's static penalty; see geoIndex).
type ranking struct {
	s          *Snapshot
	now        int64 // Unix ns, saturated
	want       uint8 // transport bits every choice must have
	prefixHash uint64

	// Candidates already scored by measurement, skipped by the other
	// passes: the first len(scoredA) in place (no allocation; ranking must
	// not point into itself or it escapes), the rest in scoredX.
	scoredN int
	scoredA [8]int32
	scoredX []int32

	best, other, same entry

	// A candidate scoring above limit cannot change the answer; a geo
	// candidate farther than limitChord2 (squared chord on the unit sphere)
	// scores above limit on distance alone.
	limit, limitChord2 float64

	exhaustive bool // never prune: tests compare pruned and exhaustive results

	// The request: its policy for eligible, and for the passes that score
	// single candidates later (hysteresis, exploration).
	req    Request
	client vec3
	geoOK  bool

	// Calibration (see calibrate): ms added to every geo estimate, whether
	// the client was placed at its best-measured relay, and whether it is
	// still far from everything it measured.
	offset          float64
	recentred, lost bool
	measuredN       uint64                // relays calibrate used; it salts exploreLost's seed
	measuredRegions [maxCalibration]int32 // the first measuredN are set
	exploreRegion   int32                 // the unmeasured region the measurements fit best; -1 none
}

// wantTransports is the bit set a choice must offer.
func wantTransports(ts []relay.Transport) uint8 {
	var m uint8
	for _, t := range ts {
		m |= transportBit(t)
	}
	return m
}

// eligible checks what NewSnapshot could not: freshness, the requested
// transports and the jurisdiction policy. Every pass picks through it, so
// no answer is ever outside the policy.
func (r *ranking) eligible(c int32) bool {
	cd := &r.s.cands[c]
	return r.now < cd.expires && cd.transports&r.want == r.want && r.req.Within.Permits(cd.country)
}

// eligibleAnywhere reports whether some candidate would be eligible but for
// the jurisdiction policy: it tells "none in the permitted countries" from
// "none at all". Only asked when no candidate was eligible, and it stops
// at the first.
func (r *ranking) eligibleAnywhere() bool {
	for c := range r.s.cands {
		cd := &r.s.cands[c]
		if r.now < cd.expires && cd.transports&r.want == r.want {
			return true
		}
	}
	return false
}

// isScored reports whether a measurement already scored c.
func (r *ranking) isScored(c int32) bool {
	for _, x := range r.scoredA[:min(r.scoredN, len(r.scoredA))] {
		if x == c {
			return true
		}
	}
	return r.scoredN > len(r.scoredA) && slices.Contains(r.scoredX, c)
}

// measured scores the relays the client reported measurements for. The
// first usable measurement for a relay counts; one with a negative RTT or a
// NaN loss is ignored (the relay is then estimated like any other).
func (r *ranking) measured(ms []relay.Measurement) {
	for _, m := range ms {
		if m.RTT < 0 || math.IsNaN(m.Loss) {
			continue
		}
		i, ok := r.s.index(m.RelayID)
		if !ok {
			continue
		}
		c := r.s.candOf[i]
		if c < 0 || r.isScored(c) {
			continue
		}
		if r.scoredN < len(r.scoredA) {
			r.scoredA[r.scoredN] = c
		} else {
			r.scoredX = append(r.scoredX, c)
		}
		r.scoredN++
		if !r.eligible(c) {
			continue
		}
		est := min(float64(m.RTT)/float64(time.Millisecond), maxMeasuredRTTMS)
		r.consider(entry{cand: c, basis: kindMeasured, est: est,
			score: est + lossPenalty(m.Loss) + r.s.cands[c].penalty})
	}
}

// probePenalty is the score added for what the gateway's probes found: loss
// above 2 % and congestion (see congestionAllowance). Down relays are not
// candidates at all.
func probePenalty(p relay.Probe) float64 {
	pen := lossPenalty(p.Loss)
	if p.MinRTT > 0 {
		if excess := p.RTT - p.MinRTT - congestionAllowance; excess > 0 {
			pen += congestionPenaltyPer * float64(excess) / float64(time.Millisecond)
		}
	}
	return pen
}

// lossPenalty is the score added for a measured loss fraction.
func lossPenalty(loss float64) float64 {
	loss = min(max(loss, 0), 1)
	if loss <= lossThreshold {
		return 0
	}
	return (loss - lossThreshold) * 100 * lossPenaltyMSPerPoint
}

// geoCandidate scores candidate c at squared chord d2 from the client.
func (r *ranking) geoCandidate(c int32, d2 float64) {
	if !r.eligible(c) || r.isScored(c) {
		return
	}
	cd := &r.s.cands[c]
	if !cd.located {
		r.consider(entry{cand: c, basis: kindFallback, score: unknownRTTMS + cd.penalty})
		return
	}
	est := geoRTT(d2) + r.offset
	r.consider(entry{cand: c, basis: kindGeo, est: est, score: est + cd.penalty})
}

// geoRTT is the modelled RTT in ms over squared chord d2 on the unit
// sphere. The central angle comes from the haversine, which for unit
// vectors is hav θ = (chord/2)², well conditioned at short distances.
func geoRTT(d2 float64) float64 {
	return geoBaseMS + geoMSPerRadian*2*asin(min(math.Sqrt(d2)/2, 1))
}

// asin is math.Asin on [0, 1] within 2e-14 (TestAsin), in about two thirds
// of its time: the calibration's placement search spends most of its time
// here. Below 1/2 it is x + x³·P(x²), P a degree-10 polynomial
// interpolating (asin √z − √z)/z^1.5 at Chebyshev nodes on [0, 1/4]
// (evaluated by Estrin's scheme); above, asin x = π/2 − 2 asin √((1−x)/2).
func asin(x float64) float64 {
	if x <= 0.5 {
		return asinHalf(x)
	}
	return math.Pi/2 - 2*asinHalf(math.Sqrt((1-x)/2))
}

// asinHalf is asin on [0, 1/2].
func asinHalf(x float64) float64 {
	z := x * x
	z2 := z * z
	z4 := z2 * z2
	p01 := 0.16666666666666949676 + 0.074999999997263017056*z
	p23 := 0.044642857578717756276 + 0.030381917485400309022*z
	p45 := 0.022373010066676287235 + 0.017337192543712075605*z
	p67 := 0.014140941807431191359 + 0.010289641123624901434*z
	p89 := 0.015445133336819307521 - 0.0068220439806712631357*z
	p := (p01 + p23*z2) + (p45+p67*z2)*z4 + (p89+0.027871289137110144687*z2)*(z4*z4)
	return x + x*z*p
}

// fallback scores every candidate without an estimate: by load alone. It
// visits candidates by ascending penalty, so once one scores above limit
// every later one does too and the pass stops: an unlocated client costs a
// few candidates rather than a scan of the snapshot.
func (r *ranking) fallback() {
	for i := range r.s.byPenalty {
		f := &r.s.byPenalty[i]
		if f.score > r.limit {
			break
		}
		w := rendezvous(r.prefixHash, f.hash)
		if o := &r.other; o.cand >= 0 && f.step == o.step && (w < o.w || w == o.w && f.cand > o.cand) {
			// It cannot beat other, so it cannot beat best either, and same
			// is not asked for once other exists. Most candidates in a
			// crowded step end here, before the checks below.
			continue
		}
		if r.now >= f.expires || f.transports&r.want != r.want || !r.req.Within.Permits(f.country) || r.isScored(f.cand) {
			continue // not eligible (see eligible), or measured
		}
		r.offer(entry{cand: f.cand, basis: kindFallback, score: f.score, step: f.step}, f.hash, f.site)
	}
}

// consider offers a scored, eligible candidate to the three slots.
func (r *ranking) consider(e entry) {
	cd := &r.s.cands[e.cand]
	e.step = scoreStep(e.score)
	r.offer(e, cd.hash, cd.site)
}

// offer is consider for an entry whose step is set, given its candidate's
// hash and site (the fallback pass reads them from its own compact list).
func (r *ranking) offer(e entry, hash uint64, site int32) {
	e.w = rendezvous(r.prefixHash, hash)
	switch {
	case better(e, r.best):
		if r.best.cand >= 0 && r.s.cands[r.best.cand].site != site {
			// The old best beat everything seen so far, so it is the best
			// of all sites other than the new best's.
			r.other = r.best
		} else {
			r.same = r.best
		}
		r.best = e
	case site != r.s.cands[r.best.cand].site:
		if !better(e, r.other) {
			return
		}
		r.other = e
	default:
		if better(e, r.same) {
			r.same = e
		}
		return // same does not move the limit
	}
	r.tighten()
}

// tighten recomputes the limits once best and other are both known. A
// candidate can displace one of them only if its score is in the same step
// or a lower one, so anything from the step after the higher of the two on
// is out; the limit sits a hair above that step's start so rounding can
// never put a candidate that still counts beyond it. (same no longer
// matters once other exists.)
func (r *ranking) tighten() {
	if r.other.cand < 0 || r.exhaustive {
		return
	}
	r.limit = (max(r.best.step, r.other.step) + 1) * scoreEpsilon * (1 + 1e-9)
	// Invert geoRTT: the largest central angle whose estimate alone stays
	// within limit (penalties only add), as a squared chord with a little
	// slack for rounding.
	switch a := (r.limit - r.offset - geoBaseMS) / geoMSPerRadian; {
	case a < 0:
		r.limitChord2 = -1
	case a >= math.Pi:
		r.limitChord2 = math.Inf(1)
	default:
		chord := 2 * math.Sin(a/2)
		r.limitChord2 = chord*chord*(1+1e-9) + 1e-15
	}
}

// pair turns the slots into the answer.
func (r *ranking) pair() (relay.Pair, error) {
	if r.best.cand < 0 {
		return relay.Pair{}, relay.ErrNoCandidate
	}
	p := relay.Pair{Primary: r.choice(r.best)}
	backup := r.other
	if backup.cand < 0 {
		backup = r.same
	}
	if backup.cand >= 0 {
		c := r.choice(backup)
		p.Backup = &c
	}
	return p, nil
}

// choice is the public form of an entry.
func (r *ranking) choice(e entry) relay.Choice {
	ch := relay.Choice{
		Relay: r.s.relays[r.s.cands[e.cand].relay].Clone(),
		Basis: basisOf[e.basis],
	}
	if e.basis != kindFallback {
		ch.EstimatedRTT = time.Duration(math.Round(e.est * float64(time.Millisecond)))
		ch.HasEstimate = true
	}
	return ch
}

// scoreOf scores candidate c from scratch as the passes would: measured
// (inline or prefix), else geo, else fallback. ok is false when c is not
// eligible.
func (r *ranking) scoreOf(c int32) (entry, bool) {
	req, client, geo := r.req, r.client, r.geoOK
	if !r.eligible(c) {
		return noEntry, false
	}
	cd := &r.s.cands[c]
	id := r.s.relays[cd.relay].ID
	for _, ms := range [][]relay.Measurement{req.Measurements, req.PrefixMeasurements} {
		for _, m := range ms {
			if m.RelayID != id || m.RTT < 0 || math.IsNaN(m.Loss) {
				continue
			}
			est := min(float64(m.RTT)/float64(time.Millisecond), maxMeasuredRTTMS)
			e := entry{cand: c, basis: kindMeasured, est: est, score: est + lossPenalty(m.Loss) + cd.penalty}
			e.w, e.step = rendezvous(r.prefixHash, cd.hash), scoreStep(e.score)
			return e, true
		}
	}
	e := entry{cand: c, basis: kindFallback, score: unknownRTTMS + cd.penalty}
	if geo && cd.located {
		p := r.s.pos[c]
		dx, dy, dz := p.x-client.x, p.y-client.y, p.z-client.z
		est := geoRTT(dx*dx+dy*dy+dz*dz) + r.offset
		e = entry{cand: c, basis: kindGeo, est: est, score: est + cd.penalty}
	}
	e.w, e.step = rendezvous(r.prefixHash, cd.hash), scoreStep(e.score)
	return e, true
}

// keepPrevious applies hysteresis: the previous primary stays unless the
// best is clearly better. The backup is then re-derived for the kept
// primary: the best relay at another site than it.
func (r *ranking) keepPrevious() {
	req := r.req
	i, ok := r.s.index(req.Previous)
	if !ok || r.best.cand < 0 {
		return
	}
	c := r.s.candOf[i]
	if c < 0 || c == r.best.cand {
		return
	}
	prev, ok := r.scoreOf(c)
	if !ok {
		return
	}
	gain := prev.score - r.best.score
	clearly := gain >= switchMinGainMS
	if prev.basis != kindFallback && r.best.basis != kindFallback {
		clearly = clearly && r.best.score <= prev.score*switchMaxRatio
	}
	if clearly {
		return
	}
	old, prevSite := r.best, r.s.cands[c].site
	r.best = prev
	switch {
	case r.s.cands[old.cand].site != prevSite:
		// The old best beat everything, so it is the best at any site but
		// the previous primary's.
		r.other = old
	case r.other.cand >= 0:
		// other is the best away from old's site, which is prev's site too.
	default:
		r.same = old
		if r.same.cand == c {
			r.same = noEntry
		}
	}
	if r.other.cand == c {
		r.other = noEntry
	}
}

// explore replaces the backup with the eligible relay at another site than
// the primary that has the highest rendezvous weight under seed. A full pass,
// but only for the few answers that explore.
func (r *ranking) explore(seed uint64) {
	if r.best.cand < 0 {
		return
	}
	site := r.s.cands[r.best.cand].site
	// Any relay at another site, uniformly (O(1) expected): a pass over
	// every relay would cost as much as the ranking itself.
	pick := r.sampleCandidate(seed, func(c int32) bool { return r.s.cands[c].site != site && r.eligible(c) })
	if pick < 0 || pick == r.other.cand {
		return
	}
	// Score it like any candidate so the answer's estimate is honest.
	e, ok := r.scoreOf(pick)
	if ok {
		r.other = e
	}
}
