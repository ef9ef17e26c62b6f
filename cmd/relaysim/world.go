package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/selector"
)

// The ground-truth model. None of these numbers is the selector's: the point
// is to see how well its simpler model (RTT = 5 ms + great circle × 1.5 at
// 200 km/ms) picks in a world that does not follow it.
const (
	earthRadiusKM = 6371.0088
	fibreKMPerMS  = 200.0
	// Route inflation per (client city, relay city) pair: measured paths run
	// 1.2 to 2.5 times the great circle, depending on cables and peering.
	minInflation, maxInflation = 1.2, 2.5
	// A relay's own delay is M/M/1 queueing with a 0.5 ms service time:
	// negligible while it is lightly loaded, tens of ms near capacity.
	serviceMS = 0.5
	// Users do not hear loss up to 2 %; above it each percentage point
	// costs like 10 ms of RTT. This is the selector's own exchange rate, on
	// purpose: regret then measures how well it estimates, not a
	// disagreement about what matters.
	lossAudible        = 0.02
	lossCostMSPerPoint = 10.0
	// A client reports the median of this many STUN round trips per relay,
	// and loss over this many packets of a call (getStats).
	pingsPerReport   = 5
	packetsPerReport = 500
	// The gateway's probe window for loss.
	probesPerWindow = 100
)

// relayKind says how a relay misbehaves, if at all.
type relayKind uint8

const (
	kindNormal relayKind = iota
	kindOverloaded
	kindLossy
	kindDown
)

// simRelay is a simulated relay and its hidden truth.
type simRelay struct {
	id       string
	city     int
	site     int
	loc      relay.Location
	pos      vec3
	capacity int64
	kind     relayKind
	baseLoss float64 // packet loss through the relay, fraction
	gwRTT    float64 // fibre RTT from the gateway in ms (0 without a gateway)
}

// prefix is a client /24: clients in it share a place, an access network
// type and a GeoIP answer.
type prefix struct {
	city       int
	pos        vec3
	geo        relay.Location // what GeoIP says
	geoWrong   bool
	first, n   int     // clients[first:first+n]
	accessLoss float64 // loss on the access network, common to every relay
}

// client is one user.
type client struct {
	addr     netip.Addr
	lastMile float64 // ms added to every RTT
	user     string  // who reports its measurements: each client is a user of its own
}

// world is everything fixed for a whole simulation.
type world struct {
	cfg       config
	relays    []simRelay
	relayIdx  map[string]int
	sites     int
	relayCity []bool
	infl      []float32 // [clientCity*len(cities)+relayCity]
	prefixes  []prefix
	clients   []client
	t0        time.Time
}

// vec3 is a point on the unit sphere.
type vec3 struct{ x, y, z float64 }

func unit(lat, lon float64) vec3 {
	sl, cl := math.Sincos(lat * math.Pi / 180)
	so, co := math.Sincos(lon * math.Pi / 180)
	return vec3{cl * co, cl * so, sl}
}

// distKM is the great-circle distance between two unit vectors.
func distKM(a, b vec3) float64 {
	dx, dy, dz := a.x-b.x, a.y-b.y, a.z-b.z
	chord := math.Sqrt(dx*dx + dy*dy + dz*dz)
	return earthRadiusKM * 2 * math.Asin(min(chord/2, 1))
}

// offset moves (lat, lon) by km in direction bearing (radians).
func offset(lat, lon, km, bearing float64) (float64, float64) {
	d := km / earthRadiusKM
	φ1, λ1 := lat*math.Pi/180, lon*math.Pi/180
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(d) + math.Cos(φ1)*math.Sin(d)*math.Cos(bearing))
	λ2 := λ1 + math.Atan2(math.Sin(bearing)*math.Sin(d)*math.Cos(φ1), math.Cos(d)-math.Sin(φ1)*math.Sin(φ2))
	lon2 := math.Remainder(λ2*180/math.Pi, 360)
	return φ2 * 180 / math.Pi, lon2
}

// pickWeighted draws an index with probability proportional to w[i].
func pickWeighted(rng *rand.Rand, w []float64, total float64) int {
	x := rng.Float64() * total
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

// seeded is the random stream (seed, stream): a PCG, so that a run replays
// exactly from --seed, and each part of the world draws from its own
// stream.
func seeded(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream)) //nolint:gosec // G404: a simulation's reproducible draws, not secrets
}

// newWorld builds relays, prefixes and clients from cfg.Seed.
func newWorld(cfg config) *world {
	rng := seeded(cfg.Seed, 0x776f726c64) // "world"
	w := &world{cfg: cfg, relayIdx: make(map[string]int), t0: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	nc := len(cities)

	w.infl = make([]float32, nc*nc)
	for i := range w.infl {
		w.infl[i] = float32(minInflation + (maxInflation-minInflation)*rng.Float64())
	}
	gw := -1
	if cfg.Gateway != "" {
		gw = cityIndex(cfg.Gateway)
	}

	// Relay cities: about five relays each, drawn by weight without
	// replacement so big metros are likelier to host relays.
	nRelayCities := min(nc, max(1, (cfg.Relays+4)/5))
	weights := make([]float64, nc)
	for i, c := range cities {
		weights[i] = c.Weight
	}
	w.relayCity = make([]bool, nc)
	var hosts []int
	left := slicesSum(weights)
	for len(hosts) < nRelayCities {
		i := pickWeighted(rng, weights, left)
		left -= weights[i]
		weights[i] = 0
		w.relayCity[i] = true
		hosts = append(hosts, i)
	}
	// Relays per host city, then 1-3 sites per city a few km apart.
	per := make([]int, len(hosts))
	for i := range cfg.Relays {
		per[i%len(hosts)]++
	}
	for hi, ci := range hosts {
		c := cities[ci]
		nSites := min(per[hi], 1+rng.IntN(3))
		siteLoc := make([]relay.Location, nSites)
		for s := range siteLoc {
			lat, lon := offset(c.Lat, c.Lon, 20*rng.Float64(), 2*math.Pi*rng.Float64())
			siteLoc[s] = relay.Location{Latitude: lat, Longitude: lon}
		}
		for k := range per[hi] {
			s := k % nSites
			loc := siteLoc[s]
			r := simRelay{
				id:       fmt.Sprintf("%s-%c-%02d", c.Code, 'a'+rune(s), k+1), //nolint:gosec // G115: s < nSites <= 3
				city:     ci,
				site:     w.sites + s,
				loc:      loc,
				pos:      unit(loc.Latitude, loc.Longitude),
				capacity: int64(1000 * (1 + rng.IntN(5))),
				baseLoss: 0.003 * rng.Float64(),
			}
			if gw >= 0 {
				r.gwRTT = 1 + 2*distKM(unit(cities[gw].Lat, cities[gw].Lon), r.pos)*float64(w.infl[gw*nc+ci])/fibreKMPerMS
			}
			w.relayIdx[r.id] = len(w.relays)
			w.relays = append(w.relays, r)
		}
		w.sites += nSites
	}
	// Misbehaving relays, drawn without replacement.
	order := rng.Perm(len(w.relays))
	nOver := int(math.Round(cfg.Overloaded * float64(len(w.relays))))
	nLossy := int(math.Round(cfg.Lossy * float64(len(w.relays))))
	nDown := int(math.Round(cfg.Down * float64(len(w.relays))))
	for k, i := range order {
		switch {
		case k < nOver:
			w.relays[i].kind = kindOverloaded
		case k < nOver+nLossy:
			w.relays[i].kind = kindLossy
			w.relays[i].baseLoss = 0.03 + 0.07*rng.Float64()
		case k < nOver+nLossy+nDown:
			w.relays[i].kind = kindDown
		}
	}

	// Clients, prefix by prefix: 60 % of prefixes hold one client (a home),
	// the rest 2-64 (offices, campuses, carrier-grade NAT).
	for i := range weights {
		weights[i] = cities[i].Weight
	}
	total := slicesSum(weights)
	for len(w.clients) < cfg.Clients {
		n := 1
		if rng.Float64() >= 0.6 {
			n = min(64, 2+int(rng.ExpFloat64()*6))
		}
		n = min(n, cfg.Clients-len(w.clients))
		ci := pickWeighted(rng, weights, total)
		c := cities[ci]
		// Suburbs: exponentially distributed, mean 40 km, at most 300 km.
		lat, lon := offset(c.Lat, c.Lon, min(300, 40*rng.ExpFloat64()), 2*math.Pi*rng.Float64())
		p := prefix{city: ci, pos: unit(lat, lon), first: len(w.clients), n: n,
			geo: relay.Location{Latitude: c.Lat, Longitude: c.Lon}} // GeoIP knows the city
		if rng.Float64() < cfg.GeoIPWrong {
			o := rng.IntN(nc - 1)
			if o >= ci {
				o++
			}
			p.geo, p.geoWrong = relay.Location{Latitude: cities[o].Lat, Longitude: cities[o].Lon}, true
		}
		if rng.Float64() < 0.05 { // a lossy access network (bad Wi-Fi, mobile)
			p.accessLoss = 0.005 + 0.035*rng.Float64()
		}
		// Access delay: the network type is the prefix's (log-normal, median
		// 6 ms, heavy tail), plus each client's own Wi-Fi; 2-30 ms in all.
		base := 6 * math.Exp(0.6*rng.NormFloat64())
		pi := len(w.prefixes)
		for j := range n {
			ip := netip.AddrFrom4([4]byte{byte(20 + pi>>16), byte(pi >> 8), byte(pi), byte(1 + j)}) //nolint:gosec // G115: j < n <= 64
			lm := min(30, max(2, base+rng.ExpFloat64()))
			w.clients = append(w.clients, client{addr: ip, lastMile: lm, user: strconv.Itoa(len(w.clients))})
		}
		w.prefixes = append(w.prefixes, p)
	}
	return w
}

func slicesSum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// relayState is a relay's truth in one round, and what the gateway sees.
type relayState struct {
	rho      float64 // load fraction
	delayMS  float64 // queueing in the relay
	loss     float64 // packet loss through the relay
	eligible bool    // the selector may choose it (not full, not down)
	costMS   float64 // delay + loss at lossCostMSPerPoint: what a user pays beyond the path
}

// roundState is the relays' truth and the snapshot for one round.
type roundState struct {
	now    time.Time
	relays []relayState
	snap   *selector.Snapshot
}

// evolve returns the relays' state in round k given the previous one (nil
// for the first): loads drift, overloaded relays sometimes fill up.
func (w *world) evolve(k int, prev *roundState) *roundState {
	rng := seeded(w.cfg.Seed, 0x72656c6179<<16|uint64(k)) //nolint:gosec // G115: round k counts from 0 (0x72656c6179: "relay")
	now := w.t0.Add(time.Duration(k) * w.cfg.Interval)
	st := &roundState{now: now, relays: make([]relayState, len(w.relays))}
	rs := make([]relay.Relay, len(w.relays))
	for i := range w.relays {
		r := &w.relays[i]
		var rho float64
		switch {
		case prev == nil && r.kind == kindOverloaded:
			rho = 0.88 + 0.12*rng.Float64()
		case prev == nil:
			rho = 0.05 + (w.cfg.LoadMax-0.05)*rng.Float64()
		case r.kind == kindOverloaded:
			rho = min(1, max(0.88, prev.relays[i].rho+0.01*rng.NormFloat64()))
		default:
			rho = min(0.75, max(0.02, prev.relays[i].rho+0.02*rng.NormFloat64()))
			if w.cfg.LoadMax <= 0.05 {
				rho = 0.05
			}
		}
		loss := r.baseLoss + max(0, rho-0.9)*0.3 // overload drops packets too
		delay := serviceMS * min(rho, 0.995) / (1 - min(rho, 0.995))
		alloc := int64(math.Round(rho * float64(r.capacity)))
		s := relayState{rho: rho, delayMS: delay, loss: loss,
			eligible: r.kind != kindDown && alloc < r.capacity,
			costMS:   delay + max(0, loss-lossAudible)*100*lossCostMSPerPoint}
		st.relays[i] = s

		pr := relay.Probe{Health: relay.HealthUp, ProbedAt: now}
		pr.Loss = sampleLoss(rng, loss, probesPerWindow)
		if w.cfg.Gateway != "" {
			pr.RTT = ms(r.gwRTT + delay + rng.ExpFloat64()*0.5)
			pr.MinRTT = ms(r.gwRTT + delay)
		} else {
			pr.RTT, pr.MinRTT = ms(1+delay), ms(1+delay)
		}
		switch {
		case r.kind == kindDown:
			pr.Health = relay.HealthDown
		case pr.Loss > 0.02 || pr.RTT > 150*time.Millisecond: // the prober's rule
			pr.Health = relay.HealthDegraded
		}
		rs[i] = relay.Relay{
			ID: r.id, Region: cities[r.city].Code, Site: fmt.Sprintf("%s-%d", cities[r.city].Code, r.site),
			Location:  r.loc,
			Addresses: []netip.Addr{netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})},
			Hostname:  r.id + ".relay.example",
			Ports:     relay.Ports{relay.UDP: 3478, relay.TCP: 3478, relay.TLS: 5349},
			Capacity:  relay.Capacity{Allocations: r.capacity},
			Load:      relay.Load{Allocations: alloc},
			LastSeen:  now, ExpiresAt: now.Add(time.Minute),
			Probe: pr,
		}
	}
	st.snap = selector.NewSnapshot(rs)
	return st
}

// report folds one client measurement of relay id into the prefix's
// aggregates: the median of a few noisy pings (jitter grows with the path,
// and now and then a ping meets a queue) and the loss seen over a call.
func (w *world) report(rng *rand.Rand, st *roundState, ps *prefixState, cl *client, pf *prefix, sc *scratch, id string) {
	ri := w.relayIdx[id]
	rs := &st.relays[ri]
	base := sc.path[ri] + cl.lastMile + rs.delayMS
	for i := range sc.ping {
		x := base + rng.ExpFloat64()*(0.5+0.03*base)
		if rng.Float64() < 0.05 {
			x += 5 + 45*rng.Float64()
		}
		sc.ping[i] = x
	}
	slices.Sort(sc.ping[:])
	m := relay.Measurement{
		RelayID: id,
		RTT:     ms(sc.ping[pingsPerReport/2]),
		Loss:    sampleLoss(rng, 1-(1-rs.loss)*(1-pf.accessLoss), packetsPerReport),
	}
	for i := range ps.aggs {
		if ps.aggs[i].relay == ri {
			ps.aggs[i].a = ps.aggs[i].a.Add(cl.user, m, st.now, relay.AggregateConfig{})
			return
		}
	}
	ps.aggs = append(ps.aggs, agg{relay: ri, a: relay.Aggregate{}.Add(cl.user, m, st.now, relay.AggregateConfig{})})
}

// sampleLoss is the loss fraction observed over n packets when the true
// rate is p (normal approximation of the binomial).
func sampleLoss(rng *rand.Rand, p float64, n int) float64 {
	if p <= 0 {
		return 0
	}
	return min(1, max(0, p+rng.NormFloat64()*math.Sqrt(p*(1-p)/float64(n))))
}

func ms(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }
