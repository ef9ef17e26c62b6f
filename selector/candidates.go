package selector

import (
	"math"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// MaxCandidates bounds Candidates' answer: measuring more sites before a
// call costs the client more round trips than the answer gains.
const MaxCandidates = 8

// spreadShare is the eighths of a located client's candidates that are
// spread over the world rather than near its GeoIP location: when GeoIP is
// wrong, only far sites tell where the client really is. relaysim
// --first-call (seed 1), first-call regret p95 of all prefixes / of wrongly
// located ones: GeoIP only 158.2 / 329.5 ms; measured first with no spread
// sites 118.2 / 329.5 ms, 2 of 8: 45.2 / 280.5 ms, 3: 32.3 / 264.7 ms, 4:
// 22.4 / 153.3 ms, 5: 20.6 / 99.4 ms. Correctly located prefixes pay for
// it in their tail: p99 4.4 ms GeoIP only, 5.8 ms with no spread site, 6.6
// with 4, 7.7 with 5.
const spreadShare = 4

// Candidates lists up to n relays (at most MaxCandidates), one per site,
// that a client should measure before its first call, so that even that
// call is placed on measurements (see Request.Measurements). For a located
// client, half of them are the sites nearest its location by the geo
// estimate plus static penalty (each site by its best eligible relay), best
// first; the rest, and all of an unlocated client's, are sites spread over
// the world (the anchor regions in the order farthest-point sampling chose
// them, each by its least loaded eligible relay), which place a client
// whose GeoIP location is wrong (see spreadShare). Only relays Rank could choose
// for this client are listed: fresh, offering the transports in want (any
// when empty), in a country within permits. Like Rank it is pure and
// visits only the part of the index that could make the list.
func Candidates(s *Snapshot, client relay.Client, want []relay.Transport, within relay.Jurisdiction, now time.Time, n int) []relay.Relay {
	n = min(n, MaxCandidates)
	if s == nil || n <= 0 {
		return nil
	}
	r := ranking{s: s, now: unixNanoSat(now), want: wantTransports(want), req: Request{Within: within}}
	l := siteList{max: n}
	if p, ok := unitVector(client.Location); client.Located && ok && len(s.geo.pts) > 0 {
		l.max = n - n*spreadShare/8
		r.candidatesNear(&l, 0, 0, len(s.geo.pts), p)
		l.max = n
	}
	// Then (unlocated: only) sites spread over the world.
	for _, reg := range s.anchors {
		if l.n == l.max {
			break
		}
		best, pen := int32(-1), math.Inf(1)
		for _, c := range s.regionCands[reg] {
			if p := s.cands[c].penalty; p < pen && r.eligible(c) && !l.has(s.cands[c].site) {
				best, pen = c, p
			}
		}
		if best >= 0 {
			l.append(best, s.cands[best].site, pen)
		}
	}
	out := make([]relay.Relay, l.n)
	for i, e := range l.e[:l.n] {
		out[i] = s.relays[s.cands[e.cand].relay].Clone()
	}
	return out
}

// siteList is the best max sites seen, best first, each by its best
// candidate.
type siteList struct {
	max, n int
	e      [MaxCandidates]struct {
		score      float64
		cand, site int32
	}
}

// has reports whether site is listed.
func (l *siteList) has(site int32) bool {
	for _, e := range l.e[:l.n] {
		if e.site == site {
			return true
		}
	}
	return false
}

// append lists c of site after the others.
func (l *siteList) append(c, site int32, score float64) {
	l.e[l.n].score, l.e[l.n].cand, l.e[l.n].site = score, c, site
	l.n++
}

// bar is the score a candidate must beat to change the list.
func (l *siteList) bar() float64 {
	if l.n < l.max {
		return math.Inf(1)
	}
	return l.e[l.n-1].score
}

// offer puts candidate c of site at score into the list if it improves it;
// equal scores keep the lower candidate index first.
func (l *siteList) offer(c, site int32, score float64) {
	before := func(i int) bool { // does entry i rank before (score, c)?
		return l.e[i].score < score || l.e[i].score == score && l.e[i].cand < c
	}
	i := 0
	for i < l.n && l.e[i].site != site {
		i++
	}
	switch {
	case i < l.n && before(i):
		return // its site is listed with a better relay
	case i == l.n && l.n == l.max:
		if before(l.n - 1) {
			return
		}
		i = l.n - 1 // drop the last
	case i == l.n:
		l.n++
	}
	// Slot i is free: move it up to where (score, c) belongs.
	for ; i > 0 && !before(i-1); i-- {
		l.e[i] = l.e[i-1]
	}
	l.e[i].score, l.e[i].cand, l.e[i].site = score, c, site
}

// candidatesNear offers the eligible candidates of node (pts[lo:hi]) that
// could make l, nearest subtree first.
func (r *ranking) candidatesNear(l *siteList, node, lo, hi int, q vec3) {
	ix := &r.s.geo
	if hi-lo <= kdLeaf {
		for _, p := range ix.pts[lo:hi] {
			if score := geoRTT(chord2(p.p, q)) + p.pen; score <= l.bar() && r.eligible(p.cand) {
				l.offer(p.cand, r.s.cands[p.cand].site, score)
			}
		}
		return
	}
	mid := lo + (hi-lo)/2
	kids := [2]struct{ node, lo, hi int }{{2*node + 1, lo, mid}, {2*node + 2, mid, hi}}
	bound := func(k int) float64 { // no candidate below scores less
		nd := &ix.node[kids[k].node]
		return geoBaseMS + geoMSPerRadian*math.Sqrt(nd.box.dist2(q)) + nd.minPen - 1e-6
	}
	order := []int{0, 1}
	if bound(1) < bound(0) {
		order = []int{1, 0}
	}
	for _, k := range order {
		if bound(k) <= l.bar() {
			r.candidatesNear(l, kids[k].node, kids[k].lo, kids[k].hi, q)
		}
	}
}
