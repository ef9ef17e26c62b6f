package selector

import (
	"math"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Request asks for a primary and a backup relay for one client.
type Request struct {
	Client       relay.Client
	Transports   []relay.Transport   // each must be offered; empty means any one will do
	Measurements []relay.Measurement // inline measurements from the client, if any

	// PrefixMeasurements are the trusted aggregates of what clients in the
	// same prefix reported (see Aggregate); inline Measurements take
	// precedence for the same relay.
	PrefixMeasurements []relay.Measurement

	// Previous is the primary this client prefix was last given, "" if
	// none. It stays primary unless another relay is clearly better (see
	// Rank), so near-equal relays do not flap.
	Previous string

	// Explore, when not zero, makes this answer offer a different backup:
	// the eligible relay at another site than the primary with the highest
	// rendezvous weight under this seed. The caller sets it for a small
	// share of answers so that client measurements keep covering relays
	// that are rarely the best.
	Explore uint64

	// Within is the jurisdiction policy every choice must satisfy: the
	// relay's country must be one it permits. The zero value permits every
	// relay.
	Within relay.Jurisdiction
}

// Rank chooses a primary and a backup relay for one client from s, as of
// now. It is a pure function: it reads s and req, allocates only the answer
// and never looks at the clock.
//
// Eligible relays are fresh (now is before ExpiresAt), neither draining nor
// drained, not full, offer every transport in req.Transports (any one
// transport when the list is empty), and are in a country req.Within
// permits. Every choice (primary, backup, hysteresis's kept primary,
// exploration's backup, fallback) is eligible. When none is, Rank returns
// ErrNoCandidate, or ErrOutsideJurisdiction when some relay would have
// been eligible but for req.Within.
//
// Each eligible relay gets a score in milliseconds, lower is better: an RTT
// estimate plus penalties (the constants in score.go say why each number).
// The estimate is, in order of trust:
//
//   - measured: the RTT the client reported for that relay in
//     req.Measurements, with a penalty for loss above 2 %;
//   - geo: when the client is located, the great-circle distance to the
//     relay turned into an RTT by a simple model: light in fibre covers about
//     200 km per ms, real routes are about 1.5 times longer than the great
//     circle, and the access network and relay add a few ms, so
//     RTT = 5 ms + 2 × 1.5 × distance / (200 km/ms);
//   - fallback: when the client cannot be located there is no estimate. Such
//     relays rank behind every relay with an estimate and among themselves
//     by load (least loaded first), ties spread by rendezvous hashing on the
//     client prefix. The order is deterministic rather than random on
//     purpose: the same prefix gets the same relays on every request and
//     from every gateway replica (so a retry or a second call lands where
//     the first did, and a report of a bad choice can be reproduced), while
//     different prefixes still spread over the relays; and Rank stays pure.
//
// Measurements come from the request itself (inline) or from the client's
// prefix (PrefixMeasurements, aggregated over time by the caller); both count
// as measured.
//
// Every score also carries the relay's load penalty (up to 30 ms at full
// capacity, see loadPenaltyMS) and its probe penalty (probe loss above 2 %,
// congestion: smoothed probe RTT well above the relay's own minimum; see
// congestionAllowance). Relays the probes call down are never chosen.
//
// Hysteresis: when req.Previous names an eligible relay, it stays primary
// unless the best relay is clearly better: at least 10 ms better and, when
// both have estimates, under two thirds of its score (Tailscale's rule for
// changing home relays). Without this, two relays at nearly the same
// distance would swap whenever a measurement or a load report wobbles,
// moving calls for nothing.
//
// Exploration: with req.Explore set the backup is instead a relay at another
// site picked by rendezvous weight under that seed (see Request.Explore).
//
// The primary is the best score. The backup is the best relay at another
// site, so that one site failing does not take both; if every eligible relay
// shares the primary's site, it is the next best there; with a single
// eligible relay it is nil. Scores are compared in steps of scoreEpsilon
// (0.1 ms): scores in the same step are equal, and equal candidates are
// ordered by rendezvous (highest random weight) hashing of the client prefix
// (see ClientPrefix) and the relay ID, so that co-located relays share a
// region's clients evenly while each client prefix keeps getting the same
// answer. The order is strict and total, so the answer does not depend on
// the order relays are looked at. A relay whose reported location is
// unusable ranks with the fallback relays.
//
// Rank does not look at every relay. A located client walks the snapshot's
// spatial index (a k-d tree over position and static penalty), likeliest
// first; once a primary and an other-site backup are known, every part of
// the index whose nearest point is too far, or whose least loaded relay too
// loaded, to beat them is skipped, so the cost grows with the relays that
// could compete, not with the snapshot (1-2 µs at 10,000 and at 100,000
// relays). An unlocated client visits relays by ascending penalty and stops
// at the first that cannot win. A prefix whose measurements do not fit its
// GeoIP location is placed by a coarse-to-fine search over at most 128
// region centres (see searchAnchors), whose cost follows the measurements,
// not the snapshot: under 5 µs in every benchmarked case at 100,000 relays.
func Rank(s *Snapshot, req Request, now time.Time) (relay.Pair, error) {
	return rank(s, req, now, false)
}

// rank is Rank, optionally without pruning (for tests).
func rank(s *Snapshot, req Request, now time.Time, exhaustive bool) (relay.Pair, error) {
	if s == nil {
		return relay.Pair{}, relay.ErrNoCandidate
	}
	r := ranking{
		s:          s,
		now:        unixNanoSat(now),
		want:       wantTransports(req.Transports),
		req:        req, // before the passes: eligible reads req.Within
		prefixHash: prefixHash(req.Client.Prefix),
		best:       noEntry, other: noEntry, same: noEntry,
		limit: math.Inf(1), limitChord2: math.Inf(1),
		exhaustive: exhaustive,
	}
	r.measured(req.Measurements)
	r.measured(req.PrefixMeasurements)
	client, located := unitVector(req.Client.Location)
	client, geo := r.calibrate(client, req.Client.Located && located)
	r.client, r.geoOK = client, geo
	if r.geoOK {
		r.geo(client)
	} else {
		r.fallback()
	}
	if req.Previous != "" {
		r.keepPrevious()
	}
	switch {
	case req.Explore != 0:
		r.explore(req.Explore)
	case r.lost:
		r.exploreLost()
	}
	if r.best.cand < 0 && !req.Within.Any() && r.eligibleAnywhere() {
		return relay.Pair{}, relay.ErrOutsideJurisdiction
	}
	return r.pair()
}
