package selector

import (
	"math"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// MaxCandidates bounds Candidates' answer: measuring more sites before a
// call costs the client more round trips than the answer gains.
const MaxCandidates = 8

// Candidates lists up to n relays (at most MaxCandidates), one per site,
// that a client should measure before its first call, so that even that
// call is placed on measurements (see Request.Measurements). For a located
// client they are the sites nearest its location by the geo estimate plus
// static penalty (each site by its best eligible relay), best first; for an
// unlocated client, sites spread over the world (the anchor regions, in the
// order farthest-point sampling chose them). Only relays Rank could choose
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
		r.candidatesNear(&l, 0, 0, len(s.geo.pts), p)
	} else {
		for _, reg := range s.anchors {
			best, pen := int32(-1), math.Inf(1)
			for _, c := range s.regionCands[reg] {
				if p := s.cands[c].penalty; p < pen && r.eligible(c) {
					best, pen = c, p
				}
			}
			if best >= 0 {
				l.offer(best, s.cands[best].site, pen)
			}
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
