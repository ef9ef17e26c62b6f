package selector

import "math"

// geoIndex lets the geo pass visit candidates nearest first and skip whole
// parts of the globe: a k-d tree over the located candidates' unit vectors.
// Squared chords on the unit sphere are squared Euclidean distances in 3-D,
// so the tree needs nothing spherical, and the pass's limit (limitChord2)
// prunes a subtree as soon as the nearest point of its bounding box is
// beyond it. Relays near the client come first and tighten the limit at
// once, so a request costs the relays near enough to compete, not a scan of
// all of them (a full scan read 24 bytes per relay: 12 µs at 10,000 relays).
//
// The tree is implicit: node i covers pts[lo:hi), its children are 2i+1
// (the lower half, pts[lo:mid]) and 2i+2 (pts[mid:hi]) with
// mid = lo + (hi-lo)/2, split along the widest axis of the node's box;
// ranges of at most kdLeaf points are leaves. Only the boxes are stored.
type geoIndex struct {
	pts       []kdPoint // located candidates, in tree order
	box       []kdBox   // node i's bounding box
	unlocated []int32   // candidates without a usable location
}

// kdLeaf is the most points a leaf holds: scanning a few points costs less
// than descending further.
const kdLeaf = 8

type kdPoint struct {
	p    vec3
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
			ix.pts = append(ix.pts, kdPoint{pos[c], int32(c)})
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
	ix.box = make([]kdBox, nodes)
	ix.build(0, 0, len(ix.pts))
	return ix
}

// build sets node's box and splits its range, recursively.
func (ix *geoIndex) build(node, lo, hi int) {
	b := kdBox{lo: vec3{math.Inf(1), math.Inf(1), math.Inf(1)}, hi: vec3{math.Inf(-1), math.Inf(-1), math.Inf(-1)}}
	for _, p := range ix.pts[lo:hi] {
		b.lo = vec3{min(b.lo.x, p.p.x), min(b.lo.y, p.p.y), min(b.lo.z, p.p.z)}
		b.hi = vec3{max(b.hi.x, p.p.x), max(b.hi.y, p.p.y), max(b.hi.z, p.p.z)}
	}
	ix.box[node] = b
	if hi-lo <= kdLeaf {
		return
	}
	axis := 0
	if w := b.hi.y - b.lo.y; w > b.hi.x-b.lo.x {
		axis = 1
	}
	if w := b.hi.z - b.lo.z; w > b.hi.x-b.lo.x && w > b.hi.y-b.lo.y {
		axis = 2
	}
	mid := lo + (hi-lo)/2
	selectNth(ix.pts[lo:hi], mid-lo, axis)
	ix.build(2*node+1, lo, mid)
	ix.build(2*node+2, mid, hi)
}

func coord(p vec3, axis int) float64 {
	switch axis {
	case 0:
		return p.x
	case 1:
		return p.y
	}
	return p.z
}

// selectNth reorders pts so that pts[n] is where sorting by the axis
// coordinate (ties by candidate) would put it, with no larger point before
// it and no smaller one after (Hoare's selection with a middle pivot;
// expected linear time).
func selectNth(pts []kdPoint, n, axis int) {
	less := func(a, b kdPoint) bool {
		ca, cb := coord(a.p, axis), coord(b.p, axis)
		return ca < cb || (ca == cb && a.cand < b.cand)
	}
	lo, hi := 0, len(pts)-1
	for lo < hi {
		pivot := pts[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for less(pts[i], pivot) {
				i++
			}
			for less(pivot, pts[j]) {
				j--
			}
			if i <= j {
				pts[i], pts[j] = pts[j], pts[i]
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

// geo scores the candidates whose squared chord from the client at unit
// vector client is within limitChord2, nearest parts of the tree first.
// Exhaustive rankings (tests) scan every candidate in index order instead:
// the reference the tree must agree with.
func (r *ranking) geo(client vec3) {
	if r.exhaustive {
		r.geoScan(client)
		return
	}
	ix := &r.s.geo
	if len(ix.pts) > 0 && ix.box[0].dist2(client) <= r.limitChord2 {
		r.geoNode(0, 0, len(ix.pts), client)
	}
	// Candidates without a location sit at the origin, like in pos.
	if d2 := chord2(vec3{}, client); len(ix.unlocated) > 0 && d2 <= r.limitChord2 {
		for _, c := range ix.unlocated {
			r.geoCandidate(c, d2)
		}
	}
}

// geoNode visits node (covering pts[lo:hi]), whose box is within the limit.
func (r *ranking) geoNode(node, lo, hi int, q vec3) {
	ix := &r.s.geo
	if hi-lo <= kdLeaf {
		for _, p := range ix.pts[lo:hi] {
			dx, dy, dz := p.p.x-q.x, p.p.y-q.y, p.p.z-q.z
			if d2 := dx*dx + dy*dy + dz*dz; d2 <= r.limitChord2 {
				r.geoCandidate(p.cand, d2)
			}
		}
		return
	}
	mid := lo + (hi-lo)/2
	near, far := 2*node+1, 2*node+2
	nearLo, nearHi, farLo, farHi := lo, mid, mid, hi
	dNear, dFar := ix.box[near].dist2(q), ix.box[far].dist2(q)
	if dFar < dNear {
		near, far, dNear, dFar = far, near, dFar, dNear
		nearLo, nearHi, farLo, farHi = mid, hi, lo, mid
	}
	if dNear <= r.limitChord2 {
		r.geoNode(near, nearLo, nearHi, q)
	}
	if dFar <= r.limitChord2 { // the near half may have tightened the limit
		r.geoNode(far, farLo, farHi, q)
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
