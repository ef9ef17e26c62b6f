package selector

import "math"

// geoIndex lets the geo pass visit the likeliest candidates first and skip
// the rest in bulk: a k-d tree over the located candidates' unit vectors
// and static penalties. Squared chords on the unit sphere are squared
// Euclidean distances in 3-D, so the tree needs nothing spherical. A
// candidate's score is at least geoBaseMS + offset + geoMSPerRadian ×
// chord + penalty (an arc is never shorter than its chord), so a subtree
// whose bounding box is too far, or whose smallest penalty is too high, to
// get under the pass's limit is skipped whole. Children are visited lower
// bound first: good candidates come early and tighten the limit, so a
// request costs the relays that could compete, not a scan of all of them
// (a full scan read 24 bytes per relay: 12 µs at 10,000 relays). Penalty is
// a dimension of the tree because relays cluster: a metro with a hundred
// relays at one spot is told apart by load, not by distance.
//
// The tree is implicit: node i covers pts[lo:hi), its children are 2i+1
// (the lower half, pts[lo:mid]) and 2i+2 (pts[mid:hi]) with
// mid = lo + (hi-lo)/2, split along whichever dimension spreads the node's
// scores most (a coordinate's extent in ms of modelled RTT, or the penalty
// range); ranges of at most kdLeaf points are leaves. Only each node's box
// and smallest penalty are stored.
type geoIndex struct {
	pts       []kdPoint // located candidates, in tree order
	node      []kdNode  // node i's bounds
	unlocated []int32   // candidates without a usable location
}

type kdNode struct {
	box    kdBox
	minPen float64 // the smallest static penalty below this node
}

// kdLeaf is the most points a leaf holds: scanning a few points costs less
// than descending further.
const kdLeaf = 8

type kdPoint struct {
	p    vec3
	pen  float64 // the candidate's static penalty
	cand int32
}

type kdBox struct{ lo, hi vec3 }

// dist2 is the squared distance from q to the nearest point of b (0 inside).
// It is computed like a point's squared chord, term by term, so it never
// exceeds the squared chord of any point in b, rounding included.
func (b *kdBox) dist2(q vec3) float64 {
	dx := max(b.lo.x-q.x, 0, q.x-b.hi.x)
	dy := max(b.lo.y-q.y, 0, q.y-b.hi.y)
	dz := max(b.lo.z-q.z, 0, q.z-b.hi.z)
	return dx*dx + dy*dy + dz*dz
}

// newGeoIndex builds the index over the snapshot's candidates.
func newGeoIndex(pos []vec3, cands []candidate) geoIndex {
	var ix geoIndex
	for c := range cands {
		if cands[c].located {
			ix.pts = append(ix.pts, kdPoint{p: pos[c], pen: cands[c].penalty, cand: int32(c)})
		} else {
			ix.unlocated = append(ix.unlocated, int32(c))
		}
	}
	if len(ix.pts) == 0 {
		return ix
	}
	nodes := 1
	for n := len(ix.pts); n > kdLeaf; n = (n + 1) / 2 {
		nodes = 2*nodes + 1
	}
	ix.node = make([]kdNode, nodes)
	ix.build(0, 0, len(ix.pts), make([]float64, len(ix.pts)))
	return ix
}

// The dimensions a node can be split along: the three coordinates, and the
// penalty.
const (
	axisX = iota
	axisY
	axisZ
	axisPenalty
)

// build sets node's bounds and splits its range, recursively; keys is
// scratch space as long as pts.
func (ix *geoIndex) build(node, lo, hi int, keys []float64) {
	b := kdBox{lo: vec3{math.Inf(1), math.Inf(1), math.Inf(1)}, hi: vec3{math.Inf(-1), math.Inf(-1), math.Inf(-1)}}
	minPen, maxPen := math.Inf(1), math.Inf(-1)
	for _, p := range ix.pts[lo:hi] {
		b.lo = vec3{min(b.lo.x, p.p.x), min(b.lo.y, p.p.y), min(b.lo.z, p.p.z)}
		b.hi = vec3{max(b.hi.x, p.p.x), max(b.hi.y, p.p.y), max(b.hi.z, p.p.z)}
		minPen, maxPen = min(minPen, p.pen), max(maxPen, p.pen)
	}
	ix.node[node] = kdNode{box: b, minPen: minPen}
	if hi-lo <= kdLeaf {
		return
	}
	// Split where scores spread most: a coordinate's extent is worth
	// geoMSPerRadian ms per unit (chord ≈ arc at these scales).
	axis, spread := axisPenalty, maxPen-minPen
	for a, w := range [...]float64{b.hi.x - b.lo.x, b.hi.y - b.lo.y, b.hi.z - b.lo.z} {
		if w*geoMSPerRadian > spread {
			axis, spread = a, w*geoMSPerRadian
		}
	}
	mid := lo + (hi-lo)/2
	for i, p := range ix.pts[lo:hi] {
		keys[lo+i] = coord(p, axis)
	}
	selectNth(ix.pts[lo:hi], keys[lo:hi], mid-lo)
	ix.build(2*node+1, lo, mid, keys)
	ix.build(2*node+2, mid, hi, keys)
}

// coord is p's value along axis.
func coord(p kdPoint, axis int) float64 {
	switch axis {
	case axisX:
		return p.p.x
	case axisY:
		return p.p.y
	case axisZ:
		return p.p.z
	}
	return p.pen
}

// selectNth reorders pts, and keys with them (keys[i] is pts[i]'s coordinate
// along the split axis), so that pts[n] is where sorting by key (ties by
// candidate) would put it, with no larger key before it and no smaller one
// after (Hoare's selection with a middle pivot; expected linear time).
func selectNth(pts []kdPoint, keys []float64, n int) {
	less := func(i int, k float64, c int32) bool { // pts[i] before (k, c)?
		return keys[i] < k || (keys[i] == k && pts[i].cand < c)
	}
	more := func(i int, k float64, c int32) bool { // pts[i] after (k, c)?
		return keys[i] > k || (keys[i] == k && pts[i].cand > c)
	}
	lo, hi := 0, len(pts)-1
	for lo < hi {
		m := lo + (hi-lo)/2
		pk, pc := keys[m], pts[m].cand
		i, j := lo, hi
		for i <= j {
			for less(i, pk, pc) {
				i++
			}
			for more(j, pk, pc) {
				j--
			}
			if i <= j {
				pts[i], pts[j] = pts[j], pts[i]
				keys[i], keys[j] = keys[j], keys[i]
				i++
				j--
			}
		}
		switch {
		case n <= j:
			hi = j
		case n >= i:
			lo = i
		default:
			return
		}
	}
}

// geo scores the candidates that can get under the limit from the client
// at unit vector client, likeliest first. Exhaustive rankings (tests) scan
// every candidate in index order instead: the reference the tree must
// agree with.
func (r *ranking) geo(client vec3) {
	if r.exhaustive {
		r.geoScan(client)
		return
	}
	ix := &r.s.geo
	if len(ix.pts) > 0 {
		if d2 := ix.node[0].box.dist2(client); r.mayCompete(d2, ix.node[0].minPen) {
			r.geoNode(0, 0, len(ix.pts), client)
		}
	}
	// Candidates without a location sit at the origin, like in pos.
	if d2 := chord2(vec3{}, client); len(ix.unlocated) > 0 && d2 <= r.limitChord2 {
		for _, c := range ix.unlocated {
			r.geoCandidate(c, d2)
		}
	}
}

// mayCompete reports whether a candidate at squared chord at least d2 with
// penalty at least pen might score within the limit. It never says no to one
// that would: chord2 is tested exactly as the scan does, and the score's
// lower bound (an arc is at least its chord) is lowered by a nanosecond's
// worth for rounding.
func (r *ranking) mayCompete(d2, pen float64) bool {
	return d2 <= r.limitChord2 &&
		geoBaseMS+r.offset+geoMSPerRadian*math.Sqrt(d2)+pen-1e-6 <= r.limit
}

// geoNode visits node (covering pts[lo:hi]), which may compete.
func (r *ranking) geoNode(node, lo, hi int, q vec3) {
	ix := &r.s.geo
	if hi-lo <= kdLeaf {
		for _, p := range ix.pts[lo:hi] {
			dx, dy, dz := p.p.x-q.x, p.p.y-q.y, p.p.z-q.z
			if d2 := dx*dx + dy*dy + dz*dz; r.mayCompete(d2, p.pen) {
				r.geoCandidate(p.cand, d2)
			}
		}
		return
	}
	mid := lo + (hi-lo)/2
	a, b := &ix.node[2*node+1], &ix.node[2*node+2]
	da, db := a.box.dist2(q), b.box.dist2(q)
	// Lower bound first (the bound without its constant terms). The two
	// orders are written out: a loop over a pair of child structs measured
	// 30 % slower on this, the hottest path of a selection.
	if geoMSPerRadian*math.Sqrt(db)+b.minPen < geoMSPerRadian*math.Sqrt(da)+a.minPen {
		if r.mayCompete(db, b.minPen) {
			r.geoNode(2*node+2, mid, hi, q)
		}
		if r.mayCompete(da, a.minPen) { // the first may have tightened the limit
			r.geoNode(2*node+1, lo, mid, q)
		}
		return
	}
	if r.mayCompete(da, a.minPen) {
		r.geoNode(2*node+1, lo, mid, q)
	}
	if r.mayCompete(db, b.minPen) {
		r.geoNode(2*node+2, mid, hi, q)
	}
}

// geoScan scores every candidate by distance from the client, in index
// order, skipping one as soon as its squared chord exceeds limitChord2.
func (r *ranking) geoScan(client vec3) {
	for c, p := range r.s.pos {
		dx, dy, dz := p.x-client.x, p.y-client.y, p.z-client.z
		d2 := dx*dx + dy*dy + dz*dz
		if d2 > r.limitChord2 {
			continue
		}
		r.geoCandidate(int32(c), d2)
	}
}
