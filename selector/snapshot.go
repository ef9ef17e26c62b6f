package selector

import (
	"cmp"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Snapshot is an immutable view of the registry at one moment. Build it once
// (NewSnapshot) and share it read-only among all requests.
//
// Besides the relays themselves it holds the candidate index Rank works
// from: only the relays that could ever be chosen from this snapshot
// (not draining, not drained, not full, not down by probe, offering some
// transport), each with its position as a unit vector, its static penalty
// (load and probe figures), its site as a small
// integer and its rendezvous hash precomputed, plus a spatial index over
// their positions (geoIndex) and their order by penalty. Everything that
// depends on the request or on the clock (freshness, transports, distance)
// is left to Rank.
type Snapshot struct {
	relays []relay.Relay    // sorted by ID; never modified after NewSnapshot
	byID   map[string]int32 // relay ID → index into relays

	// The candidate index; pos[i] and cands[i] describe the same relay.
	pos    []vec3      // unit vector of the relay's location; zero vector when it has none
	cands  []candidate // everything else Rank needs about a candidate
	candOf []int32     // relay index → candidate index, -1 when the relay can never be chosen

	// For every relay (by relay index): its region numbered, its unit
	// vector and whether its location is usable; measurements may name
	// relays that are not candidates.
	regionOf []int32
	posOf    []vec3
	locOf    []bool
	// regionPos is each region's centre (the normalised mean of its located
	// relays' unit vectors; zero vector when none is located): the places a
	// wrongly located client is tried at (see calibrate).
	regionPos []vec3
	// anchors are the regions a wrongly located client is tried at (see
	// searchAnchors) and Candidates spreads over: every region when there
	// are at most maxAnchors, else maxAnchors of them, in farthest-point
	// order, so every prefix of the list is spread over the globe.
	anchors []int32
	// anchorKids[j] lists, in order, the anchors (indices into anchors)
	// whose parent is anchors[j]: a coarse-to-fine hierarchy the placement
	// search descends (see anchorLevels).
	anchorKids [][]int32
	// regionCands lists each region's candidates.
	regionCands [][]int32

	// geo is the spatial index the geo pass walks (see geoIndex).
	geo geoIndex

	// byPenalty lists the candidates by ascending static penalty (ties in
	// index order), so the fallback pass can stop at the first candidate
	// whose penalty alone puts it out of the running. Each carries what that
	// pass reads, so it streams through one array (at 100,000 relays, the
	// candidates in one 0.1 ms step of load number in the hundreds).
	byPenalty []fallbackCand
}

// fallbackCand is a candidate as the fallback pass sees it: its score
// without an estimate and the fields eligible and offer read.
type fallbackCand struct {
	score, step float64
	hash        uint64
	expires     int64
	cand, site  int32
	country     relay.Country
	transports  uint8
}

// vec3 is a point on the unit sphere (or the zero vector: no location).
// Kept apart from candidate so the hot loop of Rank streams 24 bytes per
// relay.
type vec3 struct{ x, y, z float64 }

// candidate is the precomputed, request-independent part of one relay's
// ranking.
type candidate struct {
	expires    int64   // ExpiresAt in Unix nanoseconds, saturated (see unixNanoSat)
	penalty    float64 // static penalty in ms (load); added to every estimate
	hash       uint64  // FNV-1a of the relay ID, the relay's half of the rendezvous weight
	relay      int32   // index into Snapshot.relays
	site       int32   // the relay's site, numbered in order of appearance
	region     int32   // the relay's region, numbered likewise
	country    relay.Country
	transports uint8 // bit set of offered transports (transportBit)
	located    bool  // the relay's location is usable; pos is the zero vector otherwise
}

// NewSnapshot copies relays into a new snapshot sorted by ID and builds the
// candidate index Rank uses.
func NewSnapshot(relays []relay.Relay) *Snapshot {
	rs := make([]relay.Relay, len(relays))
	for i := range relays {
		rs[i] = relays[i].Clone()
	}
	slices.SortFunc(rs, func(a, b relay.Relay) int { return strings.Compare(a.ID, b.ID) })
	s := &Snapshot{relays: rs, byID: make(map[string]int32, len(rs)), candOf: make([]int32, len(rs)),
		regionOf: make([]int32, len(rs)), posOf: make([]vec3, len(rs)), locOf: make([]bool, len(rs))}
	siteIndex := make(map[string]int32)
	regionIndex := make(map[string]int32)
	for i := range rs {
		r := &rs[i]
		s.byID[r.ID] = int32(i)
		s.candOf[i] = -1
		s.regionOf[i] = number(regionIndex, r.Region)
		s.posOf[i], s.locOf[i] = unitVector(r.Location)
		offered := offeredTransports(r)
		if r.Draining || r.Drained || r.Full() || offered == 0 || r.Down() {
			continue
		}
		site := number(siteIndex, r.Site)
		p, located := unitVector(r.Location)
		s.candOf[i] = int32(len(s.cands)) //nolint:gosec // G115: at most one candidate per relay, and relay indices are int32s
		s.pos = append(s.pos, p)
		s.cands = append(s.cands, candidate{
			expires:    unixNanoSat(r.ExpiresAt),
			penalty:    loadPenaltyMS*loadFraction(r) + probePenalty(r.Probe),
			hash:       idHash(r.ID),
			relay:      int32(i),
			site:       site,
			region:     s.regionOf[i],
			country:    r.Country,
			transports: offered,
			located:    located,
		})
	}
	type keyed struct {
		penalty float64
		cand    int32
	}
	keys := make([]keyed, len(s.cands))
	for i := range s.cands {
		keys[i] = keyed{s.cands[i].penalty, int32(i)}
	}
	slices.SortFunc(keys, func(a, b keyed) int { return cmp.Or(cmp.Compare(a.penalty, b.penalty), cmp.Compare(a.cand, b.cand)) })
	s.byPenalty = make([]fallbackCand, len(keys))
	for i, k := range keys {
		cd := &s.cands[k.cand]
		score := unknownRTTMS + cd.penalty
		s.byPenalty[i] = fallbackCand{score: score, step: scoreStep(score), hash: cd.hash, expires: cd.expires,
			cand: k.cand, site: cd.site, country: cd.country, transports: cd.transports}
	}
	s.regionPos = make([]vec3, len(regionIndex))
	for i, reg := range s.regionOf {
		if s.locOf[i] {
			p, q := &s.regionPos[reg], s.posOf[i]
			p.x, p.y, p.z = p.x+q.x, p.y+q.y, p.z+q.z
		}
	}
	for i, p := range s.regionPos {
		if n := math.Sqrt(p.x*p.x + p.y*p.y + p.z*p.z); n > 1e-9 {
			s.regionPos[i] = vec3{p.x / n, p.y / n, p.z / n}
		}
	}
	s.regionCands = make([][]int32, len(regionIndex))
	for c := range s.cands {
		reg := s.cands[c].region
		s.regionCands[reg] = append(s.regionCands[reg], int32(c))
	}
	s.anchors = spreadAnchors(s.regionPos, maxAnchors)
	s.anchorKids = anchorTree(s.regionPos, s.anchors)
	s.geo = newGeoIndex(s.pos, s.cands)
	return s
}

// Len is the number of relays in the snapshot.
func (s *Snapshot) Len() int { return len(s.relays) }

// Relays returns a copy of the snapshot's relays, sorted by ID.
func (s *Snapshot) Relays() []relay.Relay {
	out := make([]relay.Relay, len(s.relays))
	for i := range s.relays {
		out[i] = s.relays[i].Clone()
	}
	return out
}

// Relay returns a copy of the relay with the given ID.
func (s *Snapshot) Relay(id string) (relay.Relay, bool) {
	i, ok := s.index(id)
	if !ok {
		return relay.Relay{}, false
	}
	return s.relays[i].Clone(), true
}

// State returns the state of the relay with the given ID (relay.Relay.State)
// without copying it; false for an ID the snapshot does not hold, or a nil
// snapshot.
func (s *Snapshot) State(id string) (relay.State, bool) {
	if s == nil {
		return "", false
	}
	i, ok := s.index(id)
	if !ok {
		return "", false
	}
	return s.relays[i].State(), true
}

// number returns key's number in m, giving it the next one (m's size) if
// it has none yet.
func number(m map[string]int32, key string) int32 {
	n, ok := m[key]
	if !ok {
		n = int32(len(m)) //nolint:gosec // G115: one number per region or site, fewer than the relays, whose indices are int32s
		m[key] = n
	}
	return n
}

// index finds a relay by ID.
func (s *Snapshot) index(id string) (int32, bool) {
	i, ok := s.byID[id]
	return i, ok
}

// transportBit maps a transport to its bit in candidate.transports. Unknown
// transports map to a bit no relay ever has, so asking for one matches
// nothing.
func transportBit(t relay.Transport) uint8 {
	if !t.Valid() {
		return 1 << 7
	}
	return 1 << t
}

// A transport's bit must fit below the "unknown" bit.
var _ [7 - relay.NumTransports]struct{}

// offeredTransports is the bit set of transports r offers.
func offeredTransports(r *relay.Relay) uint8 {
	var m uint8
	for _, t := range relay.Transports() {
		if r.Offers(t) {
			m |= transportBit(t)
		}
	}
	return m
}

// loadFraction is the share of its capacity a relay uses, on whichever
// stated axis (allocations, bandwidth) is fuller, clamped to [0, 1]. An
// axis with no stated capacity does not count. A static relay reports no
// load: it counts as staticLoadFraction.
func loadFraction(r *relay.Relay) float64 {
	if r.Static {
		return staticLoadFraction
	}
	f := 0.0
	if c := r.Capacity.Allocations; c > 0 {
		f = max(f, float64(r.Load.Allocations)/float64(c))
	}
	if c := r.Capacity.BandwidthBPS; c > 0 {
		f = max(f, float64(r.Load.BandwidthBPS)/float64(c))
	}
	return min(max(f, 0), 1)
}

// unitVector converts a location to a point on the unit sphere. A location
// that is not finite or out of range is unusable: it yields the zero vector
// and false.
func unitVector(l relay.Location) (vec3, bool) {
	lat, lon := l.Latitude, l.Longitude
	if math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return vec3{}, false
	}
	sinLat, cosLat := math.Sincos(lat * math.Pi / 180)
	sinLon, cosLon := math.Sincos(lon * math.Pi / 180)
	return vec3{cosLat * cosLon, cosLat * sinLon, sinLat}, true
}

// idHash is the relay's half of the rendezvous weight: FNV-1a, 64 bit, so
// that every gateway replica (and every release) computes the same value.
func idHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// The instants that Unix nanoseconds in an int64 can represent.
var (
	minUnixNano = time.Unix(0, math.MinInt64)
	maxUnixNano = time.Unix(0, math.MaxInt64)
)

// unixNanoSat is t in Unix nanoseconds, saturated at the ends of int64 (the
// zero time, year 1, saturates to the minimum). Saturation keeps "now <
// expires" sound: it never holds unless now.Before(expires) does.
func unixNanoSat(t time.Time) int64 {
	switch {
	case t.Before(minUnixNano):
		return math.MinInt64
	case t.After(maxUnixNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// maxAnchors bounds the places a wrongly located client is tried at: about
// 2,000 km apart over the inhabited world, finer than a client's RTTs can
// resolve once route inflation is counted.
const maxAnchors = 128

// The anchor hierarchy: level 0 is the first anchorTop anchors (farthest-
// point sampling makes every prefix of the anchors a spread-out set), each
// further level anchorFanout times as many; an anchor's parent is the
// nearest anchor of the levels above its own. The placement search
// evaluates level 0 and then, level by level, only the children of the
// placeBeam places that fit best so far and of the placeBeam best in
// unmeasured regions (see searchAnchors): about 30 places instead of 128.
// relaysim (60 regions, so 60 anchors), wrongly located prefixes' p95
// regret for seeds 1, 2, 3: 23.3 / 23.1 / 24.6 ms, against 23.8 / 23.3 /
// 24.9 ms trying every anchor; one beam over all anchors alone, with the
// anchors not yet in farthest-point order, was 25.9 / 25.6 / 26.7 ms.
const (
	anchorTop    = 8
	anchorFanout = 3
	placeBeam    = 3
)

// anchorLevelEnd returns the end (exclusive) of the level anchor j is in.
func anchorLevelEnd(j int) int {
	end := anchorTop
	for j >= end {
		end *= anchorFanout
	}
	return end
}

// anchorTree gives every anchor below level 0 a parent (see anchorTop) and
// returns each anchor's children.
func anchorTree(pos []vec3, anchors []int32) [][]int32 {
	kids := make([][]int32, len(anchors))
	for j := anchorTop; j < len(anchors); j++ {
		above := anchorLevelEnd(j) / anchorFanout
		parent, d := 0, math.Inf(1)
		for k := range above {
			if x := chord2(pos[anchors[j]], pos[anchors[k]]); x < d {
				parent, d = k, x
			}
		}
		kids[parent] = append(kids[parent], int32(j)) //nolint:gosec // G115: at most maxAnchors
	}
	return kids
}

// spreadAnchors picks up to k located regions spread over the globe, all of
// them when there are no more, in the order of farthest-point sampling from
// the first (deterministic, O(k × regions)): every prefix of the list is
// spread too, which the placement search and Candidates rely on.
func spreadAnchors(pos []vec3, k int) []int32 {
	var located []int32
	for i, p := range pos {
		if p != (vec3{}) {
			located = append(located, int32(i))
		}
	}
	if len(located) == 0 {
		return nil
	}
	k = min(k, len(located))
	out := []int32{located[0]}
	dist := make([]float64, len(located)) // squared chord to the nearest anchor so far; -1 once chosen
	for i, r := range located {
		dist[i] = chord2(pos[r], pos[located[0]])
	}
	dist[0] = -1
	for len(out) < k {
		far := 0
		for i := range dist {
			if dist[i] > dist[far] {
				far = i
			}
		}
		a := located[far]
		out = append(out, a)
		for i, r := range located {
			dist[i] = min(dist[i], chord2(pos[r], pos[a]))
		}
		dist[far] = -1
	}
	return out
}
